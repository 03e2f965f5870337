// pack.cu - q/k from the activation rows into the run folder's per-head layout on the
// device, padding removed, f32 or f16, with the |q| |k| |v| norms (semantics and the
// CPU twin: kernels/pack/pack.h). Packing on the device means the host downloads exactly the
// bytes it writes: no padding, half of them in f16.
//
// A block takes one item and TPB tokens of it; each warp handles one (token, query head)
// at a time, lanes across the head's dimensions, so reads (a row's head slice) and writes
// (one output row) are both contiguous. With grouped-query attention the first query
// head of each group also writes the group's key row. The per-head sums are added with double
// atomics: their order varies between runs, which moves the sums in the last bits only.
#include "kernels/backend/common.cuh"

#ifndef AV_CUDA_EMU
#include <cuda_fp16.h>
#endif

enum { TPB = 8, PACK_WARPS = 8 };

__device__ __forceinline__ void store(float *p, float x) { *p = x; }
__device__ __forceinline__ void store(__half *p, float x) { *p = __float2half_rn(x); }

template <typename OUT>
__global__ void pack_kernel(OUT *q_out, OUT *k_out, float *vnorm_out, double *sums,
                            const float *q, const float *k, const float *v, int ld,
                            int T, int H, int Hkv, int d, const int32_t *lengths, int64_t n) {
    __shared__ int64_t first;   // packed row of this item's token 0
    __shared__ int64_t part[PACK_WARPS * 32];
    const int b = blockIdx.y, t0 = blockIdx.x * TPB;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    // The lengths of the items before this one, summed by the whole block: with
    // thousands of short items one thread's serial loop per block made the launch
    // quadratic in the item count.
    int64_t s = 0;
    for (int i = threadIdx.x; i < b; i += PACK_WARPS * 32) s += min(max(lengths[i], 0), T);
    part[threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.x == 0) {
        int64_t total = 0;
        for (int i = 0; i < PACK_WARPS * 32; i++) total += part[i];
        first = total;
    }
    __syncthreads();
    const int len = min(max(lengths[b], 0), T);
    for (int pair = warp; pair < TPB * H; pair += PACK_WARPS) {
        const int t = t0 + pair / H, h = pair % H, group = H / Hkv, kh = h / group;
        if (t >= len) break;   // pairs run token-major, so all later ones are padding
        const size_t src = ((size_t)b * T + t) * ld + (size_t)h * d, ksrc = ((size_t)b * T + t) * ld + (size_t)kh * d;
        const int64_t dst = (int64_t)h * n + first + t, kdst = (int64_t)kh * n + first + t;
        const bool kw = h % group == 0;   // warp-uniform
        float sq = 0.0f, sk = 0.0f, sv = 0.0f;
        for (int c = lane; c < d; c += 32) {
            float x = q[src + c], y = k[ksrc + c];
            store(q_out + dst * d + c, x);
            if (kw) store(k_out + kdst * d + c, y);
            sq += x * x;
            sk += y * y;
            if (v) { float z = v[ksrc + c]; sv += z * z; }
        }
        sq = sqrtf(warp_sum(sq));
        sk = sqrtf(warp_sum(sk));
        sv = sqrtf(warp_sum(sv));
        if (lane == 0) {
            if (vnorm_out) vnorm_out[dst] = sv;
            if (sums) {
                atomicAdd(sums + h, (double)sq);
                atomicAdd(sums + H + h, (double)sk);
                if (v) atomicAdd(sums + 2 * H + h, (double)sv);
            }
        }
    }
}

#ifndef AV_CUDA_EMU   // host code: not part of the CPU emulation
extern "C" int av_pack_heads_cuda(void *q_out, void *k_out, float *vnorm_out, double *sums, av_dtype dtype,
                                  const float *q, const float *k, const float *v, int ld,
                                  int B, int T, int H, int Hkv, int d, const int32_t *lengths, int64_t n_out) {
    AV_CUDA_READY();
    if (dtype != AV_DT_F32 && dtype != AV_DT_F16)
        return av_fail("pack: q/k can be stored as f32 or f16, not %s", av_dtype_name(dtype));
    if (B < 0 || T < 0 || H <= 0 || Hkv <= 0 || H % Hkv || d <= 0 || ld < H * d)
        return av_fail("pack: bad sizes (B %d, T %d, H %d, Hkv %d, d %d, ld %d)", B, T, H, Hkv, d, ld);
    if (!v && vnorm_out) return av_fail("pack: v is needed for its norms");
    if (B == 0 || T == 0 || n_out == 0) return AV_OK;
    if (B > 65535) return av_fail("pack: %d items exceed the launch grid", B);
    dim3 grid((unsigned)((T + TPB - 1) / TPB), (unsigned)B);
    cudaStream_t s = av_cuda_compute_stream();
    if (dtype == AV_DT_F32)
        pack_kernel<float><<<grid, PACK_WARPS * 32, 0, s>>>((float *)q_out, (float *)k_out, vnorm_out, sums,
                                                        q, k, v, ld, T, H, Hkv, d, lengths, n_out);
    else
        pack_kernel<__half><<<grid, PACK_WARPS * 32, 0, s>>>((__half *)q_out, (__half *)k_out, vnorm_out, sums,
                                                         q, k, v, ld, T, H, Hkv, d, lengths, n_out);
    launchCheck();
    return AV_OK;
}
#endif
