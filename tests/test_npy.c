/* test_npy.c - .npy round trips, header parsing, atomic writes, half conversions. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/npy.h"
#include "engine/runfolder.h"
#include "tests/check.h"

int main(void) {
    char dir[] = "/tmp/av_test_npy_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[4200];
    av_path_join(path, sizeof path, dir, "a.npy");

    float data[6] = {1, -2, 3.5f, 0, 1e-3f, 65504};
    int64_t shape[2] = {2, 3};
    CHECK(av_npy_write(path, AV_DT_F32, 2, shape, data) == AV_OK);
    av_npy a;
    CHECK(av_npy_open(path, &a) == AV_OK);
    CHECK(a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3 && a.dtype == AV_DT_F32);
    CHECK(memcmp(a.data, data, sizeof data) == 0);
    /* header is a multiple of 64 bytes, as numpy writes it */
    CHECK((a.map.size - sizeof data) % 64 == 0);
    av_npy_close(&a);

    /* f16 round trip within half precision */
    uint16_t h[6];
    for (int i = 0; i < 6; i++) h[i] = av_f32_to_f16(data[i]);
    int64_t s1 = 6;
    CHECK(av_npy_write(path, AV_DT_F16, 1, &s1, h) == AV_OK);
    CHECK(av_npy_open(path, &a) == AV_OK);
    CHECK(a.ndim == 1 && a.shape[0] == 6 && a.dtype == AV_DT_F16);
    for (int i = 0; i < 6; i++) CHECK_NEAR(av_npy_get_f32(&a, i), data[i], fabs(data[i]) * 1e-3 + 1e-6);
    av_npy_close(&a);

    /* exact half values and rounding */
    CHECK(av_f32_to_f16(1.0f) == 0x3c00);
    CHECK(av_f32_to_f16(-2.0f) == 0xc000);
    CHECK(av_f32_to_f16(65504.0f) == 0x7bff);
    CHECK(av_f32_to_f16(1e6f) == 0x7c00);
    CHECK(av_f16_to_f32(0x0001) == 5.9604644775390625e-08f);
    CHECK(av_f32_to_f16(5.9604644775390625e-08f) == 0x0001);
    CHECK(av_bf16_to_f32(av_f32_to_bf16(3.140625f)) == 3.140625f);

    /* a truncated file is refused with the path in the message */
    FILE *f = fopen(path, "r+b");
    CHECK(f && ftruncate(fileno(f), 100) == 0);
    fclose(f);
    CHECK(av_npy_open(path, &a) != AV_OK);
    CHECK(strstr(av_last_error(), "a.npy") != NULL);

    /* streaming writer refuses to commit a short array and leaves no file */
    char p2[4200];
    av_path_join(p2, sizeof p2, dir, "b.npy");
    av_npy_writer w;
    CHECK(av_npy_writer_open(&w, p2, AV_DT_I32, 1, &s1) == AV_OK);
    int32_t iv[3] = {1, 2, 3};
    CHECK(av_npy_writer_append(&w, iv, 3) == AV_OK);
    CHECK(av_npy_writer_commit(&w) != AV_OK);
    CHECK(!av_file_exists(p2));

    CHECK(av_rm_rf(dir) == AV_OK);
    return av_check_summary("test_npy");
}
