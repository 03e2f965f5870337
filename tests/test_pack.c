/* test_pack.c - the CPU q/k packer (kernels/pack/pack.h) against values worked out by hand:
 * layout [H, n, d] with padding removed, f16 rounding, norms added to the caller's sums,
 * and the refusals. The CUDA packer is held to this one in tests/test_backend_ops.c. */
#include <math.h>
#include <string.h>

#include "base/dtype.h"
#include "base/util.h"
#include "kernels/pack/pack.h"
#include "tests/check.h"

enum { B = 2, T = 3, H = 2, D = 2, LD = 3 * H * D };   /* fused qkv rows: q | k | v */

int main(void) {
    /* Row r = b*T + t, column c: q = 100 r + c, k = -(100 r + c), v = 3 at column c of
     * the v part, so every |v| of a head is sqrt(2 * 9). */
    float qkv[B * T * LD];
    for (int r = 0; r < B * T; r++)
        for (int c = 0; c < H * D; c++) {
            qkv[r * LD + c] = 100.0f * r + c;
            qkv[r * LD + H * D + c] = -(100.0f * r + c);
            qkv[r * LD + 2 * H * D + c] = 3.0f;
        }
    const int32_t lengths[B] = {2, 1};   /* rows 0, 1 of item 0 and row 3 of item 1 are real */
    CHECK(av_pack_count(lengths, B, T) == 3);
    const int real_rows[3] = {0, 1, 3};

    float q[H * 3 * D], k[H * 3 * D], vn[H * 3];
    double sums[3 * H] = {10, 10, 20, 20, 30, 30};   /* added to, not overwritten */
    CHECK(av_pack_heads_cpu(q, k, vn, sums, AV_DT_F32, qkv, qkv + H * D, qkv + 2 * H * D, LD, B, T, H, H, D, lengths) == AV_OK);
    for (int h = 0; h < H; h++)
        for (int i = 0; i < 3; i++)
            for (int c = 0; c < D; c++) {
                float want = 100.0f * real_rows[i] + h * D + c;
                CHECK_NEAR(q[(h * 3 + i) * D + c], want, 0);
                CHECK_NEAR(k[(h * 3 + i) * D + c], -want, 0);
            }
    for (int h = 0; h < H; h++) {
        double sq = 0;
        for (int i = 0; i < 3; i++) {
            double a = 100.0 * real_rows[i] + h * D, b = a + 1;
            sq += sqrt(a * a + b * b);
            CHECK_NEAR(vn[h * 3 + i], sqrt(18.0), 1e-6);
        }
        CHECK_NEAR(sums[h], 10 + sq, 1e-9);
        CHECK_NEAR(sums[H + h], 20 + sq, 1e-9);
        CHECK_NEAR(sums[2 * H + h], 30 + 3 * sqrt(18.0), 1e-9);
    }

    /* f16 rounds to nearest even: halves step by 2 above 2048, so 2049 is a tie -> 2048. */
    float odd[B * T * LD];
    memcpy(odd, qkv, sizeof odd);
    odd[0] = 2049.0f;
    uint16_t q16[H * 3 * D], k16[H * 3 * D];
    double none[3 * H] = {0};
    CHECK(av_pack_heads_cpu(q16, k16, NULL, none, AV_DT_F16, odd, odd + H * D, NULL, LD, B, T, H, H, D, lengths) == AV_OK);
    CHECK_NEAR(av_f16_to_f32(q16[0]), 2048.0, 0);
    CHECK_NEAR(av_f16_to_f32(q16[(1 * 3 + 2) * D + 1]), 100.0 * 3 + 3, 0);   /* head 1, packed row 2 = row 3 */
    CHECK_NEAR(av_f16_to_f32(k16[(0 * 3 + 1) * D + 0]), -100.0, 0);
    CHECK(none[2 * H] == 0 && none[2 * H + 1] == 0);   /* no v: its sums stay as they were */

    /* Refusals: a dtype the run folder does not store q/k in; a stride too small; |v| without v. */
    CHECK(av_pack_heads_cpu(q, k, NULL, NULL, AV_DT_I32, qkv, qkv, NULL, LD, B, T, H, H, D, lengths) == AV_ERR);
    CHECK(strstr(av_last_error(), "i32") != NULL);
    CHECK(av_pack_heads_cpu(q, k, NULL, NULL, AV_DT_F32, qkv, qkv, NULL, H * D - 1, B, T, H, H, D, lengths) == AV_ERR);
    CHECK(av_pack_heads_cpu(q, k, vn, NULL, AV_DT_F32, qkv, qkv, NULL, LD, B, T, H, H, D, lengths) == AV_ERR);
    return av_check_summary("test_pack");
}
