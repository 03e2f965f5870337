/* test_dataset_images.c - JPEG/PNG decoding against Pillow (the .npy files in fixtures/datasets),
 * the structure checks that stb_image lacks (truncation, bad CRC, wrong signature),
 * PNG writing, and image-folder datasets (recursion, order, labels, bad files). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "datasets/dataset.h"
#include "datasets/image.h"
#include "base/npy.h"
#include "base/util.h"
#include "tests/check.h"

#define FIX "tests/fixtures/datasets/"
static char dir[] = "/tmp/av_test_dataset_images_XXXXXX";

static uint8_t *slurp(const char *path, size_t *n) { return (uint8_t *)av_read_file(path, n); }

static void put(const char *rel, const void *bytes, size_t n) {
    char path[4200];
    av_path_join(path, sizeof path, dir, rel);
    char *slash = strrchr(path, '/');
    *slash = 0;
    av_mkdir_p(path);
    *slash = '/';
    FILE *f = fopen(path, "wb");
    if (f) { fwrite(bytes, 1, n, f); fclose(f); }
}

/* Decodes FIX name.ext and compares with Pillow's pixels: max and mean abs difference. */
static void compare_with_pillow(const char *name, const char *ext, int max_tol, double mean_tol) {
    char path[512], ref[512];
    snprintf(path, sizeof path, FIX "%s.%s", name, ext);
    snprintf(ref, sizeof ref, FIX "%s.npy", name);
    av_image img;
    av_npy want;
    CHECK_MSG(av_image_load(path, &img) == AV_OK, "%s: %s", path, av_last_error());
    CHECK(av_npy_open(ref, &want) == AV_OK);
    if (!img.rgb || !want.data) return;
    CHECK(want.ndim == 3 && want.shape[0] == img.height && want.shape[1] == img.width && want.shape[2] == 3);
    int maxd = 0;
    double sum = 0;
    for (int64_t i = 0; i < want.count && i < (int64_t)img.width * img.height * 3; i++) {
        int d = abs((int)img.rgb[i] - ((const int32_t *)want.data)[i]);
        maxd = d > maxd ? d : maxd;
        sum += d;
    }
    double mean = sum / (double)want.count;
    CHECK_MSG(maxd <= max_tol && mean <= mean_tol, "%s: max |diff| %d, mean %.3f vs Pillow", path, maxd, mean);
    int w, h;
    CHECK(av_image_check(path, &w, &h) == AV_OK && w == img.width && h == img.height);
    av_npy_close(&want);
    av_image_free(&img);
    CHECK(img.rgb == NULL && img.width == 0);
}

static void test_decode(void) {
    /* PNG is lossless: exact, including grey -> RGB and alpha dropped */
    compare_with_pillow("rgb_7x5", "png", 0, 0);
    compare_with_pillow("grey_6x4", "png", 0, 0);
    compare_with_pillow("greya_4x4", "png", 0, 0);
    compare_with_pillow("rgba_5x3", "png", 0, 0);
    compare_with_pillow("palette_6x5", "png", 0, 0);
    compare_with_pillow("grey16_4x3", "png", 0, 0); /* 16 bits: the high byte */
    /* JPEG decoders differ in IDCT rounding and chroma upsampling (libjpeg's fancy
     * upsampling vs stb's): measured max 3 / mean 0.15 on the colour file, 0 on grey. */
    compare_with_pillow("photo_40x30", "jpg", 6, 0.5);
    compare_with_pillow("grey_16x8", "jpg", 1, 0.1);
    compare_with_pillow("progressive_40x30", "jpg", 6, 0.5);
}

/* Expects the check and the load of `bytes` (as dir/name) to fail with `fault` in the
 * message, which must also name the file. */
static void expect_bad(const char *name, const uint8_t *bytes, size_t n, const char *fault) {
    put(name, bytes, n);
    char path[4200];
    av_path_join(path, sizeof path, dir, name);
    av_image img;
    CHECK_MSG(av_image_load(path, &img) == AV_ERR, "%s decoded but should fail (%s)", name, fault);
    CHECK_MSG(strstr(av_last_error(), path) == av_last_error() && strstr(av_last_error(), fault),
              "%s: got '%s', want '%s'", name, av_last_error(), fault);
    CHECK(img.rgb == NULL);
    CHECK(av_image_check(path, NULL, NULL) == AV_ERR);
}

static void test_corrupt(void) {
    size_t jn, pn;
    uint8_t *jpg = slurp(FIX "photo_40x30.jpg", &jn);
    uint8_t *png = slurp(FIX "rgb_7x5.png", &pn);
    CHECK(jpg && png);
    if (!jpg || !png) return;
    CHECK(av_image_sniff(jpg, jn) == AV_IMAGE_JPEG && av_image_sniff(png, pn) == AV_IMAGE_PNG);

    expect_bad("trunc.jpg", jpg, jn * 6 / 10, "JPEG data ends before EOI (truncated)");
    expect_bad("noeoi.jpg", jpg, jn - 2, "JPEG data ends before EOI (truncated)");
    expect_bad("header_only.jpg", jpg, 40, "truncated");
    expect_bad("trunc.png", png, pn - 20, "truncated");
    expect_bad("sig_only.png", png, 8, "PNG data ends before IEND (truncated)");
    uint8_t *bad = malloc(pn);
    memcpy(bad, png, pn);
    bad[pn - 20] ^= 0x40; /* a byte inside IDAT */
    expect_bad("badcrc.png", bad, pn, "PNG chunk 'IDAT' has a bad CRC");
    memcpy(bad, png, pn);
    bad[16] ^= 0x01; /* the width inside IHDR */
    expect_bad("badihdr.png", bad, pn, "PNG chunk 'IHDR' has a bad CRC");
    free(bad);
    /* a PNG renamed .jpg is still a PNG: the bytes decide, not the name */
    put("really_png.jpg", png, pn);
    char path[4200];
    CHECK(av_image_check(av_path_join(path, sizeof path, dir, "really_png.jpg"), NULL, NULL) == AV_OK);

    uint8_t noise[1000];
    uint64_t x = 12345;
    for (size_t i = 0; i < sizeof noise; i++) { x = x * 6364136223846793005ull + 1442695040888963407ull; noise[i] = (uint8_t)(x >> 56); }
    noise[0] = 0x42;
    expect_bad("noise.jpg", noise, sizeof noise, "not a JPEG or PNG file");
    /* random bytes after a valid JPEG start marker */
    noise[0] = 0xFF; noise[1] = 0xD8; noise[2] = 0xFF; noise[3] = 0x01;
    expect_bad("noise2.jpg", noise, sizeof noise, "JPEG");
    /* a Huffman table with more than 256 codes: stb_image 2.27 would write past its
     * arrays (found by fuzz_dataset_image) */
    uint8_t *dht = malloc(jn);
    memcpy(dht, jpg, jn);
    size_t at = 2;
    while (at + 1 < jn && !(dht[at] == 0xFF && dht[at + 1] == 0xC4)) at++;
    CHECK(at + 21 < jn);
    if (at + 21 < jn) {
        memset(dht + at + 5, 0xFF, 16); /* the 16 code counts after FF C4, length, class/id */
        expect_bad("bigdht.jpg", dht, jn, "JPEG: Huffman table with 4080 codes (at most 256)");
    }
    free(dht);
    /* found by fuzz_dataset_image: a progressive scan decoded with a Huffman table that
     * was never defined sends stb_image 2.27 far outside its arrays */
    av_image img0;
    CHECK(av_image_load(FIX "fuzz_undefined_huffman.jpg", &img0) == AV_ERR);
    CHECK_MSG(strstr(av_last_error(), "scan uses an undefined Huffman table") != NULL, "%s", av_last_error());
    /* ... and a sequential scan with Se = 0 still decodes AC coefficients */
    CHECK(av_image_load(FIX "fuzz_sequential_no_ac_table.jpg", &img0) == AV_ERR);
    CHECK_MSG(strstr(av_last_error(), "scan uses an undefined Huffman table") != NULL, "%s", av_last_error());
    expect_bad("empty.png", (const uint8_t *)"", 0, "empty file");
    expect_bad("text.png", (const uint8_t *)"hello\n", 6, "not a JPEG or PNG file");
    /* every prefix of a good file is refused, never decoded into garbage */
    int all_refused = 1;
    for (size_t k = 0; k < jn; k += 7) all_refused &= av_image_check_mem("p", jpg, k, NULL, NULL) == AV_ERR;
    for (size_t k = 0; k < pn; k++) all_refused &= av_image_check_mem("p", png, k, NULL, NULL) == AV_ERR;
    CHECK(all_refused);
    /* trailing bytes after EOI are tolerated (cameras append them) */
    uint8_t *tail = malloc(jn + 16);
    memcpy(tail, jpg, jn);
    memset(tail + jn, 0, 16);
    CHECK(av_image_check_mem("tail", tail, jn + 16, NULL, NULL) == AV_OK);
    free(tail);
    av_image img;
    CHECK(av_image_load("/nonexistent/x.png", &img) == AV_ERR && strstr(av_last_error(), "cannot open"));
    free(jpg);
    free(png);
}

static void test_write_png(void) {
    enum { W = 9, H = 4 };
    uint8_t px[W * H * 3];
    for (int i = 0; i < W * H * 3; i++) px[i] = (uint8_t)(i * 37 + 11);
    char path[4200];
    av_path_join(path, sizeof path, dir, "written.png");
    CHECK(av_image_write_png(path, px, W, H) == AV_OK);
    av_image img;
    CHECK(av_image_load(path, &img) == AV_OK);
    CHECK(img.width == W && img.height == H && img.rgb && !memcmp(img.rgb, px, sizeof px));
    av_image_free(&img);
    CHECK(av_image_write_png("/nonexistent/dir/x.png", px, W, H) == AV_ERR);
}

static void test_folder(void) {
    size_t jn, pn, gn;
    uint8_t *jpg = slurp(FIX "photo_40x30.jpg", &jn);
    uint8_t *png = slurp(FIX "rgb_7x5.png", &pn);
    uint8_t *grey = slurp(FIX "grey_6x4.png", &gn);
    if (!jpg || !png || !grey) { CHECK(0); return; }
    put("imgs/dog/c.PNG", png, pn);
    put("imgs/cat/b.jpeg", jpg, jn);
    put("imgs/cat/a.png", grey, gn);
    put("imgs/cat/deeper/z.jpg", jpg, jn);
    put("imgs/root.jpg", jpg, jn);
    put("imgs/.hidden/x.png", png, pn);
    put("imgs/.y.png", png, pn);
    put("imgs/notes.txt", "not an image", 12);
    put("imgs/bad/broken.jpg", jpg, jn / 2);
    char root[4200], path[4200];
    av_path_join(root, sizeof root, dir, "imgs");

    av_dataset_t ds;
    CHECK(av_dataset_load(root, NULL, &ds) == AV_ERR);
    char want[9000];
    snprintf(want, sizeof want, "%s/bad/broken.jpg: JPEG data ends before EOI (truncated)", root);
    CHECK_MSG(!strcmp(av_last_error(), want), "got '%s'", av_last_error());

    av_dataset_opts o = av_dataset_opts_default();
    o.strict = 0;
    CHECK(av_dataset_load(root, &o, &ds) == AV_OK);
    CHECK(ds.kind == AV_DATA_IMAGES && ds.count == 5 && ds.bad == 1 && ds.skipped == 1);
    CHECK(!strcmp(ds.first_bad, want));
    static const char *rel[] = {"cat/a.png", "cat/b.jpeg", "cat/deeper/z.jpg", "dog/c.PNG", "root.jpg"};
    static const char *label[] = {"cat", "cat", "cat", "dog", NULL};
    for (int i = 0; i < 5 && ds.count == 5; i++) {
        av_path_join(path, sizeof path, root, rel[i]);
        CHECK_MSG(!strcmp(ds.items[i].text, path), "item %d is %s", i, ds.items[i].text);
        CHECK(label[i] ? ds.items[i].label && !strcmp(ds.items[i].label, label[i]) : ds.items[i].label == NULL);
        av_image img;
        CHECK(av_image_load(ds.items[i].text, &img) == AV_OK);
        av_image_free(&img);
    }
    av_dataset_free(&ds);
    o.max_items = 2;
    o.sample_seed = 3;
    CHECK(av_dataset_load(root, &o, &ds) == AV_OK && ds.count == 2 && ds.total == 5);
    av_dataset_free(&ds);

    /* a folder without images: an error in both modes */
    put("none/readme.txt", "x", 1);
    av_path_join(root, sizeof root, dir, "none");
    o.max_items = 0;
    CHECK(av_dataset_load(root, &o, &ds) == AV_ERR);
    snprintf(want, sizeof want, "%s: no JPEG or PNG images in this folder", root);
    CHECK_MSG(!strcmp(av_last_error(), want), "got '%s'", av_last_error());
    /* only broken images: an error naming the first */
    put("allbad/a.png", png, pn / 2);
    av_path_join(root, sizeof root, dir, "allbad");
    CHECK(av_dataset_load(root, &o, &ds) == AV_ERR);
    CHECK(strstr(av_last_error(), "no items: all 1 images are unreadable; first:") != NULL);
    free(jpg);
    free(png);
    free(grey);
}

int main(void) {
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    test_decode();
    test_corrupt();
    test_write_png();
    test_folder();
    av_rm_rf(dir);
    return av_check_summary("test_dataset_images");
}
