// layernorm.cu - LayerNorm variants (the one in kernels/layernorm/layernorm.cu is variant 3).
//   dev_layernorm [variant]     (no argument: every variant)
// Shape: BERT-base activations, batch 32 x 128 tokens = 4096 rows of C = 768; also C = 384.
//   1: one thread per row, three passes from global memory (the obvious port of the CPU code)
//   2: one warp per row, scalar loads, two passes (mean, then variance of x - mean)
//   3: one warp per row, float4 loads, two passes              <- kernels/layernorm/layernorm.cu
//   4: one warp per row, the row held in registers (float4, C <= 1024): one read of global
// Memory-bound: the figure of merit is GB/s of (read x + write y).
#include "kernels/backend/dev_common.cuh"
extern "C" {
#include "kernels/ops.h"   // the reference: the CPU twin, av_layernorm_cpu
}

__global__ void ln1(float *out, const float *in, const float *g, const float *b, int rows, int C, float eps) {
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= rows) return;
    const float *x = in + (int64_t)r * C;
    float m = 0, v = 0;
    for (int i = 0; i < C; i++) m += x[i];
    m /= C;
    for (int i = 0; i < C; i++) v += (x[i] - m) * (x[i] - m);
    float rs = rsqrtf(v / C + eps);
    for (int i = 0; i < C; i++) out[(int64_t)r * C + i] = (x[i] - m) * rs * g[i] + b[i];
}

__global__ void ln2(float *out, const float *in, const float *g, const float *b, int rows, int C, float eps) {
    int lane = threadIdx.x % 32, r = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    if (r >= rows) return;
    const float *x = in + (int64_t)r * C;
    float s = 0;
    for (int i = lane; i < C; i += 32) s += x[i];
    float m = warp_sum(s) / C, v = 0;
    for (int i = lane; i < C; i += 32) v += (x[i] - m) * (x[i] - m);
    float rs = rsqrtf(warp_sum(v) / C + eps);
    for (int i = lane; i < C; i += 32) out[(int64_t)r * C + i] = (x[i] - m) * rs * g[i] + b[i];
}

__global__ void ln3(float *out, const float *in, const float *g, const float *b, int rows, int C, float eps) {
    int lane = threadIdx.x % 32, r = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    if (r >= rows) return;
    const float4 *x = (const float4 *)(in + (int64_t)r * C), *g4 = (const float4 *)g, *b4 = (const float4 *)b;
    float4 *y = (float4 *)(out + (int64_t)r * C);
    float s = 0;
    for (int i = lane; i < C / 4; i += 32) { float4 t = x[i]; s += (t.x + t.y) + (t.z + t.w); }
    float m = warp_sum(s) / C, v = 0;
    for (int i = lane; i < C / 4; i += 32) {
        float4 t = x[i];
        float a = t.x - m, bb = t.y - m, c = t.z - m, d = t.w - m;
        v += (a * a + bb * bb) + (c * c + d * d);
    }
    float rs = rsqrtf(warp_sum(v) / C + eps);
    for (int i = lane; i < C / 4; i += 32) {
        float4 t = x[i], gg = g4[i], bv = b4[i];
        y[i] = make_float4((t.x - m) * rs * gg.x + bv.x, (t.y - m) * rs * gg.y + bv.y,
                           (t.z - m) * rs * gg.z + bv.z, (t.w - m) * rs * gg.w + bv.w);
    }
}

// C <= 1024: at most 8 float4 per lane stay in registers between the passes.
__global__ void ln4(float *out, const float *in, const float *g, const float *b, int rows, int C, float eps) {
    int lane = threadIdx.x % 32, r = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    if (r >= rows) return;
    const float4 *x = (const float4 *)(in + (int64_t)r * C), *g4 = (const float4 *)g, *b4 = (const float4 *)b;
    float4 *y = (float4 *)(out + (int64_t)r * C);
    float4 reg[8];
    int n = 0;
    float s = 0;
    #pragma unroll
    for (int k = 0; k < 8; k++) {
        int i = lane + 32 * k;
        if (i < C / 4) { reg[k] = x[i]; s += (reg[k].x + reg[k].y) + (reg[k].z + reg[k].w); n = k + 1; }
    }
    float m = warp_sum(s) / C, v = 0;
    #pragma unroll
    for (int k = 0; k < 8; k++)
        if (k < n) {
            float a = reg[k].x - m, bb = reg[k].y - m, c = reg[k].z - m, d = reg[k].w - m;
            v += (a * a + bb * bb) + (c * c + d * d);
        }
    float rs = rsqrtf(warp_sum(v) / C + eps);
    #pragma unroll
    for (int k = 0; k < 8; k++)
        if (k < n) {
            int i = lane + 32 * k;
            float4 gg = g4[i], bv = b4[i];
            y[i] = make_float4((reg[k].x - m) * rs * gg.x + bv.x, (reg[k].y - m) * rs * gg.y + bv.y,
                               (reg[k].z - m) * rs * gg.z + bv.z, (reg[k].w - m) * rs * gg.w + bv.w);
        }
}

static void launch(int variant, int block, float *out, const float *in, const float *g, const float *b, int rows, int C) {
    const float eps = 1e-12f;   // BERT's
    switch (variant) {
    case 1: ln1<<<ceil_div(rows, block), block>>>(out, in, g, b, rows, C, eps); break;
    case 2: ln2<<<ceil_div(rows, block / 32), block>>>(out, in, g, b, rows, C, eps); break;
    case 3: ln3<<<ceil_div(rows, block / 32), block>>>(out, in, g, b, rows, C, eps); break;
    case 4: ln4<<<ceil_div(rows, block / 32), block>>>(out, in, g, b, rows, C, eps); break;
    }
    cudaCheck(cudaGetLastError());
}

int main(int argc, char **argv) {
    require_device("dev_layernorm");
    int only = argc > 1 ? atoi(argv[1]) : 0;
    const int rows = 32 * 128, Cs[] = {768, 384};
    for (int C : Cs) {
        int64_t n = (int64_t)rows * C;
        float *x = make_random(n, -2, 3, 1), *g = make_random(C, 0.5f, 1.5f, 2), *b = make_random(C, -1, 1, 3);
        float *ref = (float *)malloc(n * sizeof(float));
        av_layernorm_cpu(ref, x, g, b, rows, C, 1e-12f);
        float *dx = to_device(x, n), *dg = to_device(g, C), *db = to_device(b, C), *dy;
        cudaCheck(cudaMalloc(&dy, n * sizeof(float)));
        printf("rows %d, C %d\n", rows, C);
        for (int v = 1; v <= 4; v++) {
            if (only && v != only) continue;
            char what[64];
            snprintf(what, sizeof what, "variant %d", v);
            launch(v, 256, dy, dx, dg, db, rows, C);
            validate(what, dy, ref, n, 1e-5);
            for (int block : {32, 64, 128, 256, 512, 1024}) {
                float ms = time_ms(50, [&] { launch(v, block, dy, dx, dg, db, rows, C); });
                printf("  variant %d block %4d: %8.4f ms  %7.1f GB/s\n", v, block, ms, 2.0 * n * 4 / ms / 1e6);
            }
        }
        free(x); free(g); free(b); free(ref);
        cudaCheck(cudaFree(dx)); cudaCheck(cudaFree(dg)); cudaCheck(cudaFree(db)); cudaCheck(cudaFree(dy));
    }
    return 0;
}
