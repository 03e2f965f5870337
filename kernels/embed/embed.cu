// embed.cu - the embedding gather and the ViT patchify on the GPU (CPU twins in
// embed_cpu.c): one pass over the data with coalesced accesses.
#include "kernels/backend/common.cuh"

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
#endif
