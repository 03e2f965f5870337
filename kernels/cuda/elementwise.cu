// elementwise.cu - the memory-bound ops: embedding gather, patchify, GELU (alone and
// fused with the bias that precedes it), residual add. Each is one pass over its data
// with coalesced accesses; the float4 paths apply when sizes and pointers allow.
#include "kernels/cuda/common.cuh"

// ---- embed: out[t] = wte[ids[t]] + wpe[pos[t]] (+ tte[types[t]]) ---------------------
__global__ void embed_kernel(float *out, const int32_t *ids, const int32_t *pos, const int32_t *types,
                             const float *wte, const float *wpe, const float *tte, int C) {
    int64_t t = blockIdx.x;
    const float *a = wte + (int64_t)ids[t] * C;
    const float *p = wpe + (int64_t)pos[t] * C;
    const float *y = tte ? tte + (int64_t)types[t] * C : NULL;
    float *o = out + t * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) o[c] = a[c] + p[c] + (y ? y[c] : 0.0f);
}

// ---- patchify: [B, 3, S, S] -> [B * (S/P)^2, 3*P*P], (channel, ky, kx) per row -----------
// One thread per output element; consecutive threads write consecutive kx, which are
// also consecutive in the image row, so reads and writes both coalesce.
__global__ void patchify_kernel(float *out, const float *img, int S, int P, int64_t total) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= total) return;
    int G = S / P, R = 3 * P * P;
    int64_t row = i / R;
    int col = (int)(i % R);
    int c = col / (P * P), ky = (col / P) % P, kx = col % P;
    int64_t b = row / (G * G);
    int patch = (int)(row % (G * G));
    int py = patch / G, px = patch % G;
    out[i] = img[((b * 3 + c) * S + (int64_t)py * P + ky) * S + (int64_t)px * P + kx];
}

// ---- GELU ------------------------------------------------------------------------------
__device__ __forceinline__ float gelu(float x, av_gelu_kind kind) {
    if (kind == AV_GELU_TANH) {
        const float k = 0.7978845608028654f;   // sqrt(2/pi)
        return 0.5f * x * (1.0f + tanhf(k * (x + 0.044715f * x * x * x)));
    }
    return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));
}

__global__ void bias_gelu_kernel(float *x, const float *bias, int64_t n, int N, av_gelu_kind kind) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        x[i] = gelu(bias ? x[i] + bias[i % N] : x[i], kind);
}

// ---- residual add -----------------------------------------------------------------------
__global__ void add4_kernel(float4 *out, const float4 *a, const float4 *b, int64_t n4) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n4; i += (int64_t)gridDim.x * blockDim.x) {
        float4 x = a[i], y = b[i];
        out[i] = make_float4(x.x + y.x, x.y + y.y, x.z + y.z, x.w + y.w);
    }
}

__global__ void add_kernel(float *out, const float *a, const float *b, int64_t from, int64_t n) {
    for (int64_t i = from + (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        out[i] = a[i] + b[i];
}

#ifndef AV_CUDA_EMU   // host code: not part of the CPU emulation
extern "C" int av_cuda_embed(float *out, const int32_t *ids, const int32_t *pos, const int32_t *types,
                             const float *wte, const float *wpe, const float *tte, int64_t T, int C) {
    AV_CUDA_READY();
    if (T <= 0) return AV_OK;
    embed_kernel<<<(unsigned)T, 256, 0, av_cuda_compute_stream()>>>(out, ids, pos, types, wte, wpe, tte, C);
    launchCheck();
    return AV_OK;
}

extern "C" int av_cuda_patchify(float *out, const float *img, int B, int S, int P) {
    AV_CUDA_READY();
    if (P <= 0 || S % P) return av_fail("patchify: image size %d is not a multiple of patch size %d", S, P);
    int64_t total = (int64_t)B * (S / P) * (S / P) * 3 * P * P;
    if (total <= 0) return AV_OK;
    patchify_kernel<<<av_grid(total, 256), 256, 0, av_cuda_compute_stream()>>>(out, img, S, P, total);
    launchCheck();
    return AV_OK;
}

// Grid-stride with a capped grid: enough blocks to fill the GPU, no more.
static unsigned stride_grid(int64_t n) {
    unsigned g = av_grid(n, 256);
    return g > 65535u ? 65535u : g;
}

extern "C" int av_cuda_bias_gelu(float *x, const float *bias, int64_t rows, int N, av_gelu_kind kind) {
    AV_CUDA_READY();
    int64_t n = rows * N;
    if (n <= 0) return AV_OK;
    bias_gelu_kernel<<<stride_grid(n), 256, 0, av_cuda_compute_stream()>>>(x, bias, n, N, kind);
    launchCheck();
    return AV_OK;
}

extern "C" int av_cuda_gelu(float *x, int64_t n, av_gelu_kind kind) {
    AV_CUDA_READY();
    if (n <= 0) return AV_OK;
    bias_gelu_kernel<<<stride_grid(n), 256, 0, av_cuda_compute_stream()>>>(x, NULL, n, 1, kind);
    launchCheck();
    return AV_OK;
}

static int aligned16(const void *p) { return ((uintptr_t)p & 15) == 0; }

extern "C" int av_cuda_add(float *out, const float *a, const float *b, int64_t n) {
    AV_CUDA_READY();
    if (n <= 0) return AV_OK;
    cudaStream_t s = av_cuda_compute_stream();
    int64_t done = 0;
    if (aligned16(out) && aligned16(a) && aligned16(b)) {
        int64_t n4 = n / 4;
        if (n4 > 0) {
            add4_kernel<<<stride_grid(n4), 256, 0, s>>>((float4 *)out, (const float4 *)a, (const float4 *)b, n4);
            launchCheck();
        }
        done = n4 * 4;
    }
    if (done < n) {
        add_kernel<<<stride_grid(n - done), 256, 0, s>>>(out, a, b, done, n);
        launchCheck();
    }
    return AV_OK;
}
#endif
