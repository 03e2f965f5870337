// gelu.cu - GELU variants, alone and fused with the bias of the MLP's up-projection
// (kernels/embed/embed.cu and kernels/gelu/gelu.cu uses variant 3 for both).
//   dev_gelu [variant]     (no argument: every variant)
// Shape: BERT-base MLP, 32 x 128 tokens x 3072. Both forms: erf (BERT, ViT) and tanh
// (GPT-2's gelu_new). Memory-bound: GB/s of the bytes that must move.
//   1: bias add and GELU as two kernels (two read-write passes)
//   2: fused bias + GELU, one thread per element
//   3: fused, grid-stride loop with the grid capped at 65535 blocks
//   4: fused, float4 (N % 4 == 0), one thread per 4 elements
#include "kernels/backend/dev_common.cuh"
extern "C" {
#include "kernels/ops.h"   // the reference: the CPU twin, av_gelu_cpu
}

__device__ __forceinline__ float gelu(float x, int tanh_form) {
    if (tanh_form) return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
    return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));
}

__global__ void add_bias(float *x, const float *bias, int64_t n, int N) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] += bias[i % N];
}
__global__ void gelu_only(float *x, int64_t n, int tf) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] = gelu(x[i], tf);
}
__global__ void fused(float *x, const float *bias, int64_t n, int N, int tf) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] = gelu(x[i] + bias[i % N], tf);
}
__global__ void fused_stride(float *x, const float *bias, int64_t n, int N, int tf) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        x[i] = gelu(x[i] + bias[i % N], tf);
}
__global__ void fused4(float4 *x, const float4 *bias, int64_t n4, int N4, int tf) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n4) return;
    float4 a = x[i], b = bias[i % N4];
    x[i] = make_float4(gelu(a.x + b.x, tf), gelu(a.y + b.y, tf), gelu(a.z + b.z, tf), gelu(a.w + b.w, tf));
}

static void launch(int v, int block, float *x, const float *bias, int64_t n, int N, int tf) {
    switch (v) {
    case 1: add_bias<<<ceil_div(n, block), block>>>(x, bias, n, N); gelu_only<<<ceil_div(n, block), block>>>(x, n, tf); break;
    case 2: fused<<<ceil_div(n, block), block>>>(x, bias, n, N, tf); break;
    case 3: { int g = ceil_div(n, block); fused_stride<<<g > 65535 ? 65535 : g, block>>>(x, bias, n, N, tf); break; }
    case 4: fused4<<<ceil_div(n / 4, block), block>>>((float4 *)x, (const float4 *)bias, n / 4, N / 4, tf); break;
    }
    cudaCheck(cudaGetLastError());
}

int main(int argc, char **argv) {
    require_device("dev_gelu");
    int only = argc > 1 ? atoi(argv[1]) : 0;
    const int64_t rows = 32 * 128;
    const int N = 3072;
    const int64_t n = rows * N;
    float *x = make_random(n, -5, 5, 11), *bias = make_random(N, -1, 1, 12), *ref = (float *)malloc(n * sizeof(float));
    float *dx = to_device(x, n), *dbias = to_device(bias, N), *dwork;
    cudaCheck(cudaMalloc(&dwork, n * sizeof(float)));
    for (int tf = 0; tf <= 1; tf++) {
        for (int64_t i = 0; i < n; i++) ref[i] = x[i] + bias[i % N];
        av_gelu_cpu(ref, n, tf ? AV_GELU_TANH : AV_GELU_ERF);
        printf("%lld x %d, %s form\n", (long long)rows, N, tf ? "tanh" : "erf");
        for (int v = 1; v <= 4; v++) {
            if (only && v != only) continue;
            char what[32];
            snprintf(what, sizeof what, "variant %d", v);
            cudaCheck(cudaMemcpy(dwork, dx, n * sizeof(float), cudaMemcpyDeviceToDevice));
            launch(v, 256, dwork, dbias, n, N, tf);
            validate(what, dwork, ref, n, 1e-6);
            // Repeated application changes the values, not the work: time on the same buffer.
            double bytes = (v == 1 ? 4.0 : 2.0) * n * 4;
            for (int block : {128, 256, 512, 1024}) {
                float ms = time_ms(20, [&] { launch(v, block, dwork, dbias, n, N, tf); });
                printf("  variant %d block %4d: %8.4f ms  %7.1f GB/s\n", v, block, ms, bytes / ms / 1e6);
            }
        }
    }
    free(x); free(bias); free(ref);
    cudaCheck(cudaFree(dx)); cudaCheck(cudaFree(dbias)); cudaCheck(cudaFree(dwork));
    return 0;
}
