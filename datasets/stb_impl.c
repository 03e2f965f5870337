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
#include <stb_image.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
