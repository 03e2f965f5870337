/* stb_impl.c - the one place where the stb single-file libraries are compiled:
 * stb_image (decoding, JPEG and PNG only) and stb_image_write (PNG/JPEG/BMP/TGA
 * writing). Every other file includes <stb_image.h> / <stb_image_write.h> for the
 * declarations only; defining the *_IMPLEMENTATION macros anywhere else would give
 * duplicate symbols. Engine code decodes through datasets/image.h, which checks the
 * file's structure first (stb does not check PNG CRCs or JPEG truncation). */

/* Only the formats attnviz accepts: less code that untrusted bytes can reach. */
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STB_IMAGE_IMPLEMENTATION
/* stb_image 2.27 (Debian bookworm's) lets its JPEG bit counter go negative on corrupt
 * entropy-coded data and then shifts by 32 or more (fixed upstream in 2.28). That is
 * undefined behaviour but touches no memory (x86 masks the count: garbage pixels, no
 * crash). Under clang, exempt stb's functions from the shift check only, so the
 * fuzzer (tests/fuzz_dataset_image.c) stops on it no longer and keeps looking for the
 * memory errors that matter; datasets/image.c's structure checks guard the two
 * out-of-bounds bugs this stb version has (Huffman tables with > 256 codes, scans
 * using undefined tables). */
#if defined(__clang__)
#pragma clang attribute push(__attribute__((no_sanitize("shift"))), apply_to = function)
#endif
#include <stb_image.h>
#if defined(__clang__)
#pragma clang attribute pop
#endif

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
