// attention.cu - multi-head attention variants (kernels/attention/attention.cu is variant 3
// with 4 queries per warp).
//   dev_attention [variant]     (no argument: every variant)
// Shapes: BERT-base (32 x 128 tokens, 12 heads of 64, padding: lengths 1..128) and
// GPT-2 (the same, causal). q, k, v in one fused [rows, 3C] buffer, as the models have.
//   1: one thread per query, three passes over the keys straight from global memory
//      (max, sum, weighted V): what the CPU twin (av_attention_cpu) does, on a thread.
//   2: online softmax, one block per (item, head, 4 * QPW queries); 32-key K/V tiles in
//      shared memory; a warp scores 32 keys at once (a lane per key) and accumulates
//      output dimensions per lane. Swept over QPW (queries per warp) = 1, 2, 4, 8.
//      The loops over the warp's queries and the accumulators are left rolled, as
//      attention.cu first had them: m, l and acc then live in local memory (ptxas -v:
//      a 64-byte stack frame at d 64).
//   3: variant 2 with those loops unrolled and the loop over a tile's 32 keys unrolled
//      by 4 (what attention.cu ships): the state stays in registers (0-byte stack frame)
//      at 48 registers a thread at d 64 on sm_90 instead of 32 (fully unrolled, the key
//      loop took 115: 4 blocks an SM), so a little lower occupancy: measured here.
// Figure of merit: time per call, and "effective" GFLOP/s counting 4 T^2 d per head
// (padding and causal skipping make less work than that, so it is a lower bound).
#include "kernels/backend/dev_common.cuh"
extern "C" {
#include "kernels/ops.h"   // the reference: the CPU twin, av_attention_cpu
}

__global__ void attn1(float *out, const float *q, const float *k, const float *v, int ld, int B, int T, int H,
                      int d, const int32_t *lengths, int causal) {
    int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (int64_t)B * H * T) return;
    int i = idx % T, h = (idx / T) % H, b = idx / ((int64_t)T * H);
    float *o = out + ((int64_t)b * T + i) * H * d + h * d;
    if (i >= lengths[b]) { for (int c = 0; c < d; c++) o[c] = 0; return; }
    int kend = causal ? i + 1 : lengths[b];
    const float scale = rsqrtf((float)d);
    const float *qi = q + ((int64_t)b * T + i) * ld + h * d;
    float m = -INFINITY;
    for (int j = 0; j < kend; j++) {
        const float *kj = k + ((int64_t)b * T + j) * ld + h * d;
        float s = 0;
        for (int c = 0; c < d; c++) s += qi[c] * kj[c];
        m = fmaxf(m, s * scale);
    }
    float sum = 0;
    for (int j = 0; j < kend; j++) {
        const float *kj = k + ((int64_t)b * T + j) * ld + h * d;
        float s = 0;
        for (int c = 0; c < d; c++) s += qi[c] * kj[c];
        sum += expf(s * scale - m);
    }
    for (int c = 0; c < d; c++) o[c] = 0;
    for (int j = 0; j < kend; j++) {
        const float *kj = k + ((int64_t)b * T + j) * ld + h * d;
        float s = 0;
        for (int c = 0; c < d; c++) s += qi[c] * kj[c];
        float p = expf(s * scale - m) / sum;
        for (int c = 0; c < d; c++) o[c] += p * v[((int64_t)b * T + j) * ld + h * d + c];
    }
}

enum { WARPS = 4, KT = 32 };

// UNROLL: variant 3 (the loops over j and r unrolled) instead of variant 2.
template <int NR, int QPW, bool UNROLL>
__global__ void __launch_bounds__(WARPS * 32)
attn2(float *out, const float *q, const float *k, const float *v, int ld, int T, int H, int d,
      const int32_t *lengths, int causal) {
    const int QT = QPW * WARPS;
    extern __shared__ float smem[];
    float *Qs = smem, *Ks = Qs + QT * d, *Vs = Ks + KT * (d + 1);
    const int b = blockIdx.z, h = blockIdx.y, q0 = blockIdx.x * QT;
    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
    const int len = min(max(lengths[b], 0), T);
    const float scale = rsqrtf((float)d);
    const size_t item = (size_t)b * T;
    for (int idx = tid; idx < QT * d; idx += blockDim.x) {
        int r = idx / d, c = idx % d, i = q0 + r;
        Qs[idx] = i < len ? q[(item + i) * ld + (size_t)h * d + c] * scale : 0.0f;
    }
    const int kend = causal ? min(len, q0 + QT) : len;
    constexpr int UJ = UNROLL ? QPW : 1, UR = UNROLL ? NR : 1, UT = UNROLL ? 4 : 1;
    float m[QPW], l[QPW], acc[QPW][NR];
#pragma unroll UJ
    for (int j = 0; j < QPW; j++) {
        m[j] = -INFINITY; l[j] = 0.0f;
#pragma unroll UR
        for (int r = 0; r < NR; r++) acc[j][r] = 0.0f;
    }
    for (int kt = 0; kt < kend; kt += KT) {
        __syncthreads();
        for (int idx = tid; idx < KT * d; idx += blockDim.x) {
            int r = idx / d, c = idx % d, j = kt + r;
            bool in = j < kend;
            size_t at = (item + j) * ld + (size_t)h * d + c;
            Ks[r * (d + 1) + c] = in ? k[at] : 0.0f;
            Vs[idx] = in ? v[at] : 0.0f;
        }
        __syncthreads();
        const int key = kt + lane;
#pragma unroll UJ
        for (int j = 0; j < QPW; j++) {
            const int qr = warp * QPW + j, i = q0 + qr;
            if (i >= len) break;
            const bool valid = key < kend && (!causal || key <= i);
            float s = -INFINITY;
            if (valid) {
                const float *qq = Qs + qr * d, *kk = Ks + lane * (d + 1);
                s = 0.0f;
                for (int c = 0; c < d; c++) s += qq[c] * kk[c];
            }
            const float m_new = fmaxf(m[j], warp_max(s));
            if (m_new == -INFINITY) continue;
            const float p = valid ? expf(s - m_new) : 0.0f;
            const float corr = expf(m[j] - m_new);
            l[j] = l[j] * corr + warp_sum(p);
#pragma unroll UR
            for (int r = 0; r < NR; r++) acc[j][r] *= corr;
#pragma unroll UT
            for (int t = 0; t < KT; t++) {
                const float pt = __shfl_sync(0xffffffffu, p, t);
                const float *vv = Vs + t * d;
#pragma unroll UR
                for (int r = 0; r < NR; r++) {
                    const int c = lane + 32 * r;
                    if (c < d) acc[j][r] += pt * vv[c];
                }
            }
            m[j] = m_new;
        }
    }
#pragma unroll UJ
    for (int j = 0; j < QPW; j++) {
        const int i = q0 + warp * QPW + j;
        if (i >= T) break;
        float *o = out + (item + i) * (size_t)(H * d) + (size_t)h * d;
        const float inv = i < len ? 1.0f / l[j] : 0.0f;
#pragma unroll UR
        for (int r = 0; r < NR; r++) {
            const int c = lane + 32 * r;
            if (c < d) o[c] = i < len ? acc[j][r] * inv : 0.0f;
        }
    }
}

template <int QPW, bool UNROLL>
static void launch2(float *out, const float *q, const float *k, const float *v, int ld, int B, int T, int H, int d,
                    const int32_t *len, int causal) {
    const int QT = QPW * WARPS;
    dim3 grid(ceil_div(T, QT), H, B);
    size_t smem = (size_t)(QT * d + KT * (d + 1) + KT * d) * sizeof(float);
    attn2<2, QPW, UNROLL><<<grid, WARPS * 32, smem>>>(out, q, k, v, ld, T, H, d, len, causal);   // d = 64 here
    cudaCheck(cudaGetLastError());
}

int main(int argc, char **argv) {
    require_device("dev_attention");
    int only = argc > 1 ? atoi(argv[1]) : 0;
    const int B = 32, T = 128, H = 12, d = 64, C = H * d, ld = 3 * C;
    const int64_t rows = (int64_t)B * T;
    float *qkv = make_random(rows * ld, -2, 2, 7);
    int32_t len_pad[B], len_full[B];
    for (int b = 0; b < B; b++) { len_pad[b] = 1 + (b * 37) % T; len_full[b] = T; }
    float *ref = (float *)malloc(rows * C * sizeof(float));
    float *dqkv = to_device(qkv, rows * ld), *dout;
    cudaCheck(cudaMalloc(&dout, rows * C * sizeof(float)));
    int32_t *dlen;
    cudaCheck(cudaMalloc(&dlen, B * sizeof(int32_t)));
    for (int causal = 0; causal <= 1; causal++) {
        const int32_t *lens = causal ? len_full : len_pad;
        cudaCheck(cudaMemcpy(dlen, lens, B * sizeof(int32_t), cudaMemcpyHostToDevice));
        av_attention_cpu(ref, qkv, qkv + C, qkv + 2 * C, ld, B, T, H, d, lens, causal);
        printf("B %d T %d H %d d %d, %s\n", B, T, H, d, causal ? "causal (GPT-2)" : "padded (BERT)");
        const double flops = 4.0 * B * H * T * T * d;
        if (!only || only == 1) {
            attn1<<<ceil_div(rows * H, 128), 128>>>(dout, dqkv, dqkv + C, dqkv + 2 * C, ld, B, T, H, d, dlen, causal);
            validate("variant 1", dout, ref, rows * C, 1e-5);
            for (int block : {64, 128, 256, 512}) {
                float ms = time_ms(5, [&] {
                    attn1<<<ceil_div(rows * H, block), block>>>(dout, dqkv, dqkv + C, dqkv + 2 * C, ld, B, T, H, d, dlen, causal);
                });
                printf("  variant 1 block %3d:        %8.4f ms  %8.1f GFLOP/s\n", block, ms, flops / ms / 1e6);
            }
        }
        for (int variant = 2; variant <= 3; variant++) {
            if (only && only != variant) continue;
            auto run = [&](int qpw) {
                float *o = dout;
                const float *qq = dqkv, *kk = dqkv + C, *vv = dqkv + 2 * C;
                if (variant == 2) {
                    switch (qpw) {
                    case 1: launch2<1, false>(o, qq, kk, vv, ld, B, T, H, d, dlen, causal); break;
                    case 2: launch2<2, false>(o, qq, kk, vv, ld, B, T, H, d, dlen, causal); break;
                    case 4: launch2<4, false>(o, qq, kk, vv, ld, B, T, H, d, dlen, causal); break;
                    default: launch2<8, false>(o, qq, kk, vv, ld, B, T, H, d, dlen, causal); break;
                    }
                } else {
                    switch (qpw) {
                    case 1: launch2<1, true>(o, qq, kk, vv, ld, B, T, H, d, dlen, causal); break;
                    case 2: launch2<2, true>(o, qq, kk, vv, ld, B, T, H, d, dlen, causal); break;
                    case 4: launch2<4, true>(o, qq, kk, vv, ld, B, T, H, d, dlen, causal); break;
                    default: launch2<8, true>(o, qq, kk, vv, ld, B, T, H, d, dlen, causal); break;
                    }
                }
            };
            for (int qpw : {1, 2, 4, 8}) {
                char what[64];
                snprintf(what, sizeof what, "variant %d, %d queries/warp", variant, qpw);
                cudaCheck(cudaMemset(dout, 0xff, rows * C * sizeof(float)));   // NaNs: every row must be written
                run(qpw);
                validate(what, dout, ref, rows * C, 1e-5);
                float ms = time_ms(50, [&] { run(qpw); });
                printf("  variant %d queries/warp %d:   %8.4f ms  %8.1f GFLOP/s\n", variant, qpw, ms, flops / ms / 1e6);
            }
        }
    }
    free(qkv); free(ref);
    cudaCheck(cudaFree(dqkv)); cudaCheck(cudaFree(dout)); cudaCheck(cudaFree(dlen));
    return 0;
}
