// attention.cu - multi-head attention with padding and causal masks, one pass over the
// keys with an online softmax (the running max and sum are rescaled as each key tile
// arrives), so the T x T score matrix never exists in memory.
//
// A block takes one (item, head) and QT = 16 queries: 4 warps, 4 queries each. K and V
// tiles of 32 keys are staged in shared memory by the whole block and reused by all 16
// queries. Within a warp, lane j scores key j of the tile against the query (K rows are
// padded to d + 1 floats so the 32 lanes hit 32 different banks); the probabilities are
// then broadcast by shuffles while each lane accumulates output dimensions lane,
// lane + 32, ... Head sizes up to 128 (NR = ceil(d / 32) accumulators per lane).
// Variants and timings: kernels/attention/attention_dev.cu (this kernel is its variant 3).
#include "kernels/backend/common.cuh"

#include <math.h>

enum { QPW = 4, WARPS = 4, QT = QPW * WARPS, KT = 32, MAX_D = 128 };

template <int NR>
__global__ void __launch_bounds__(WARPS * 32)
attention_kernel(float *out, const float *q, const float *k, const float *v, int ld, int T, int H, int d,
                 const int32_t *lengths, int causal) {
    AV_DYNAMIC_SMEM(smem);
    float *Qs = smem;                  // [QT][d], pre-scaled by 1/sqrt(d)
    float *Ks = Qs + QT * d;           // [KT][d + 1]
    float *Vs = Ks + KT * (d + 1);     // [KT][d]
    const int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * QT;
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    const int len = min(max(lengths[b], 0), T);
    const int C = H * d;
    const float scale = rsqrtf((float)d);
    const size_t item = (size_t)b * T;

    for (int idx = tid; idx < QT * d; idx += blockDim.x) {
        int r = idx / d, c = idx % d, i = q0 + r;
        Qs[idx] = i < len ? q[(item + i) * ld + (size_t)h * d + c] * scale : 0.0f;
    }
    // Keys this tile of queries can see: all real ones, or (causal) up to its last query.
    const int kend = causal ? min(len, q0 + QT) : len;

    // Every loop over j (query of the warp) and r (accumulator) is unrolled: only then are
    // m, l and acc indexed by constants and kept in registers. Left rolled, the key loop's
    // j indexes them at run time and ptxas puts them in local memory (a 48-96 byte stack
    // frame per thread, a local store and load per update); unrolled, the frame is 0 bytes
    // (and 40-56 registers: kernels/attention/attention_dev.cu, variants 2 and 3).
    float m[QPW], l[QPW], acc[QPW][NR];
#pragma unroll
    for (int j = 0; j < QPW; j++) {
        m[j] = -INFINITY;
        l[j] = 0.0f;
#pragma unroll
        for (int r = 0; r < NR; r++) acc[j][r] = 0.0f;
    }

    for (int kt = 0; kt < kend; kt += KT) {
        __syncthreads();   // the previous tile is no longer read (and Qs is written, first time)
        for (int idx = tid; idx < KT * d; idx += blockDim.x) {
            int r = idx / d, c = idx % d, j = kt + r;
            bool in = j < kend;
            size_t at = (item + j) * ld + (size_t)h * d + c;
            Ks[r * (d + 1) + c] = in ? k[at] : 0.0f;
            Vs[idx] = in ? v[at] : 0.0f;
        }
        __syncthreads();
        const int key = kt + lane;
#pragma unroll
        for (int j = 0; j < QPW; j++) {
            const int qr = warp * QPW + j, i = q0 + qr;
            if (i >= len) break;   // warp-uniform: later queries of this warp are padding too
            const bool valid = key < kend && (!causal || key <= i);
            float s = -INFINITY;
            if (valid) {
                const float *qq = Qs + qr * d, *kk = Ks + lane * (d + 1);
                s = 0.0f;
                for (int c = 0; c < d; c++) s += qq[c] * kk[c];
            }
            const float m_new = fmaxf(m[j], warp_max(s));
            if (m_new == -INFINITY) continue;   // no visible key yet (warp-uniform)
            const float p = valid ? expf(s - m_new) : 0.0f;
            const float corr = expf(m[j] - m_new);   // 0 on the first visible tile
            l[j] = l[j] * corr + warp_sum(p);
#pragma unroll
            for (int r = 0; r < NR; r++) acc[j][r] *= corr;
            // Four keys a round: fully unrolled (inside the unrolled j loop) this loop took
            // 115 registers at NR 2, 4 blocks an SM; four at a time, 48 (ptxas, sm_90).
#pragma unroll 4
            for (int t = 0; t < KT; t++) {
                const float pt = __shfl_sync(0xffffffffu, p, t);
                const float *vv = Vs + t * d;
#pragma unroll
                for (int r = 0; r < NR; r++) {
                    const int c = lane + 32 * r;
                    if (c < d) acc[j][r] += pt * vv[c];
                }
            }
            m[j] = m_new;
        }
    }

#pragma unroll
    for (int j = 0; j < QPW; j++) {
        const int i = q0 + warp * QPW + j;
        if (i >= T) break;
        float *o = out + (item + i) * C + (size_t)h * d;
        // Padded queries get zeros; a real query always sees key 0, so l > 0.
        const float inv = i < len ? 1.0f / l[j] : 0.0f;
#pragma unroll
        for (int r = 0; r < NR; r++) {
            const int c = lane + 32 * r;
            if (c < d) o[c] = i < len ? acc[j][r] * inv : 0.0f;
        }
    }
}

#ifndef AV_CUDA_EMU   // host code: not part of the CPU emulation
extern "C" int av_cuda_attention(float *out, const float *q, const float *k, const float *v, int ld,
                                 int B, int T, int H, int d, const int32_t *lengths, int causal) {
    AV_CUDA_READY();
    if (d <= 0 || d > MAX_D) return av_fail("attention: head size %d is not supported on CUDA (1..%d)", d, MAX_D);
    if (ld < H * d) return av_fail("attention: row stride %d is smaller than %d heads x %d", ld, H, d);
    if (B <= 0 || T <= 0 || H <= 0) return AV_OK;
    if (B > 65535 || H > 65535) return av_fail("attention: %d items x %d heads exceed the launch grid", B, H);
    dim3 grid((unsigned)((T + QT - 1) / QT), (unsigned)H, (unsigned)B);
    size_t smem = (size_t)(QT * d + KT * (d + 1) + KT * d) * sizeof(float);
    cudaStream_t s = av_cuda_compute_stream();
    switch ((d + 31) / 32) {
    case 1: attention_kernel<1><<<grid, WARPS * 32, smem, s>>>(out, q, k, v, ld, T, H, d, lengths, causal); break;
    case 2: attention_kernel<2><<<grid, WARPS * 32, smem, s>>>(out, q, k, v, ld, T, H, d, lengths, causal); break;
    case 3: attention_kernel<3><<<grid, WARPS * 32, smem, s>>>(out, q, k, v, ld, T, H, d, lengths, causal); break;
    default: attention_kernel<4><<<grid, WARPS * 32, smem, s>>>(out, q, k, v, ld, T, H, d, lengths, causal); break;
    }
    launchCheck();
    return AV_OK;
}
#endif
