// pack.cu - what one layer's q/k hand-off to the host costs, two ways
// (kernels/pack/pack.cu is the packing kernel of variant 2).
//   dev_pack
// Shape: BERT-base, batch 32 x 128 tokens (lengths 1..128, about half padding), 12 heads
// of 64, fused qkv [4096, 2304] f32 on the device.
//   1: download the whole qkv buffer (f32, padding included) into pageable host memory,
//      as models/forward.c's emit() does today, and pack on the host
//   2: pack on the device (padding removed, f16, |v| norms and per-head sums computed
//      there), then download only the packed bytes into pinned memory
//   2+overlap: variant 2 with the download on a second stream while the compute stream
//      runs a stand-in for the next layer's work (a GEMM of the layer's size)
// Checked: variant 2's packed q/k against a host-side packing of the same data.
#include "kernels/backend/dev_common.cuh"

#include <cuda_fp16.h>
#include <time.h>

enum { TPB = 8, PACK_WARPS = 8 };

__global__ void pack_f16(__half *q_out, __half *k_out, float *vnorm_out, double *sums, const float *q,
                         const float *k, const float *v, int ld, int T, int H, int d, const int32_t *lengths,
                         int64_t n) {
    __shared__ int64_t first;
    const int b = blockIdx.y, t0 = blockIdx.x * TPB;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (threadIdx.x == 0) {
        int64_t s = 0;
        for (int i = 0; i < b; i++) s += min(max(lengths[i], 0), T);
        first = s;
    }
    __syncthreads();
    const int len = min(max(lengths[b], 0), T);
    for (int pair = warp; pair < TPB * H; pair += PACK_WARPS) {
        const int t = t0 + pair / H, h = pair % H;
        if (t >= len) break;
        const size_t src = ((size_t)b * T + t) * ld + (size_t)h * d;
        const int64_t dst = (int64_t)h * n + first + t;
        float sq = 0, sk = 0, sv = 0;
        for (int c = lane; c < d; c += 32) {
            float x = q[src + c], y = k[src + c], z = v[src + c];
            q_out[dst * d + c] = __float2half_rn(x);
            k_out[dst * d + c] = __float2half_rn(y);
            sq += x * x; sk += y * y; sv += z * z;
        }
        sq = sqrtf(warp_sum(sq)); sk = sqrtf(warp_sum(sk)); sv = sqrtf(warp_sum(sv));
        if (lane == 0) {
            vnorm_out[dst] = sv;
            atomicAdd(sums + h, (double)sq);
            atomicAdd(sums + H + h, (double)sk);
            atomicAdd(sums + 2 * H + h, (double)sv);
        }
    }
}

int main(void) {
    require_device("dev_pack");
    const int B = 32, T = 128, H = 12, d = 64, C = H * d, ld = 3 * C;
    const int64_t rows = (int64_t)B * T;
    int32_t len[B];
    int64_t n = 0;
    for (int b = 0; b < B; b++) n += (len[b] = 1 + (b * 37) % T);
    float *qkv = make_random(rows * ld, -2, 2, 5);
    float *dqkv = to_device(qkv, rows * ld);
    int32_t *dlen;
    cudaCheck(cudaMalloc(&dlen, sizeof len));
    cudaCheck(cudaMemcpy(dlen, len, sizeof len, cudaMemcpyHostToDevice));
    __half *dq, *dk;
    float *dvn;
    double *dsum;
    cudaCheck(cudaMalloc(&dq, (size_t)H * n * d * 2));
    cudaCheck(cudaMalloc(&dk, (size_t)H * n * d * 2));
    cudaCheck(cudaMalloc(&dvn, (size_t)H * n * 4));
    cudaCheck(cudaMalloc(&dsum, 3 * H * sizeof(double)));
    cudaCheck(cudaMemset(dsum, 0, 3 * H * sizeof(double)));
    const size_t packed = (size_t)H * n * d * 2 * 2 + (size_t)H * n * 4;
    float *pageable = (float *)malloc(rows * ld * sizeof(float));
    uint8_t *pinned;
    cudaCheck(cudaMallocHost(&pinned, packed));
    uint16_t *host_q = (uint16_t *)malloc((size_t)H * n * d * 2);
    printf("%d items, %lld real tokens of %lld rows; qkv %.1f MB, packed q+k+|v| %.1f MB\n", B, (long long)n,
           (long long)rows, rows * ld * 4 / 1e6, packed / 1e6);

    // variant 1: whole buffer down, host packs (f32 -> f16 conversion of q and k, real rows only)
    float ms1 = time_ms(10, [&] {
        cudaCheck(cudaMemcpy(pageable, dqkv, rows * ld * sizeof(float), cudaMemcpyDeviceToHost));
    });
    double host_ms = 0;
    {
        struct timespec s, e;
        clock_gettime(CLOCK_MONOTONIC, &s);
        int64_t at = 0;
        for (int b = 0; b < B; b++)
            for (int t = 0; t < len[b]; t++, at++)
                for (int h = 0; h < H; h++)
                    for (int c = 0; c < d; c++) {
                        __half x = __float2half_rn(pageable[((int64_t)b * T + t) * ld + h * d + c]);
                        memcpy(&host_q[((int64_t)h * n + at) * d + c], &x, 2);
                    }
        clock_gettime(CLOCK_MONOTONIC, &e);
        host_ms = (e.tv_sec - s.tv_sec) * 1e3 + (e.tv_nsec - s.tv_nsec) / 1e6;
    }
    printf("  variant 1: download %.3f ms (%.1f GB/s pageable) + host packing of q alone %.3f ms (1 thread)\n", ms1,
           rows * ld * 4 / ms1 / 1e6, host_ms);

    // variant 2: pack on the device, download the packed bytes into pinned memory
    dim3 grid((T + TPB - 1) / TPB, B);
    auto pack = [&] {
        pack_f16<<<grid, PACK_WARPS * 32>>>(dq, dk, dvn, dsum, dqkv, dqkv + C, dqkv + 2 * C, ld, T, H, d, dlen, n);
        cudaCheck(cudaGetLastError());
    };
    pack();
    cudaCheck(cudaDeviceSynchronize());
    uint16_t *got = (uint16_t *)malloc((size_t)H * n * d * 2);
    cudaCheck(cudaMemcpy(got, dq, (size_t)H * n * d * 2, cudaMemcpyDeviceToHost));
    int same = !memcmp(got, host_q, (size_t)H * n * d * 2);
    printf("  check variant 2 packed q against the host packing: %s\n", same ? "identical" : "DIFFERENT");
    if (!same) return 1;
    float msk = time_ms(50, pack);
    auto down = [&](cudaStream_t s) {
        cudaCheck(cudaMemcpyAsync(pinned, dq, (size_t)H * n * d * 2, cudaMemcpyDeviceToHost, s));
        cudaCheck(cudaMemcpyAsync(pinned + (size_t)H * n * d * 2, dk, (size_t)H * n * d * 2, cudaMemcpyDeviceToHost, s));
        cudaCheck(cudaMemcpyAsync(pinned + (size_t)H * n * d * 4, dvn, (size_t)H * n * 4, cudaMemcpyDeviceToHost, s));
    };
    float msd = time_ms(10, [&] { down(0); });
    printf("  variant 2: pack kernel %.3f ms + pinned download %.3f ms (%.1f GB/s) = %.3f ms (variant 1: %.3f ms + host work)\n",
           msk, msd, packed / msd / 1e6, msk + msd, ms1);

    // overlap: the download on its own stream while a GEMM of the layer's size runs
    cublasHandle_t hb;
    cublasCheck(cublasCreate(&hb));
    float *dout;
    cudaCheck(cudaMalloc(&dout, rows * C * sizeof(float)));
    const float one = 1, zero = 0;
    auto gemm = [&] { cublasCheck(cublasSgemm(hb, CUBLAS_OP_T, CUBLAS_OP_N, C, (int)rows, C, &one, dqkv, C, dqkv, ld, &zero, dout, C)); };
    cudaStream_t copy;
    cudaCheck(cudaStreamCreateWithFlags(&copy, cudaStreamNonBlocking));
    float msg = time_ms(10, gemm);
    float mso = time_ms(10, [&] { down(copy); gemm(); cudaCheck(cudaStreamSynchronize(copy)); });
    printf("  2+overlap: GEMM alone %.3f ms, download alone %.3f ms, both overlapped %.3f ms\n", msg, msd, mso);

    cublasCheck(cublasDestroy(hb));
    cudaCheck(cudaStreamDestroy(copy));
    free(qkv); free(pageable); free(host_q); free(got);
    cudaCheck(cudaFreeHost(pinned));
    cudaCheck(cudaFree(dqkv)); cudaCheck(cudaFree(dlen)); cudaCheck(cudaFree(dq)); cudaCheck(cudaFree(dk));
    cudaCheck(cudaFree(dvn)); cudaCheck(cudaFree(dsum)); cudaCheck(cudaFree(dout));
    return 0;
}
