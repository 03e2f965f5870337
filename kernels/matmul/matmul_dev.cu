// matmul.cu - the forward pass's GEMMs through cuBLAS at every precision the backend
// offers (kernels/matmul/matmul.cu), with the fraction of the card's dense peak reached.
//   dev_matmul
// Shapes: BERT-base / GPT-2 small at 32 x 128 tokens (M = 4096): the fused qkv projection
// (768 -> 2304), the attention output (768 -> 768), the MLP up (768 -> 3072) and down
// (3072 -> 768), in both weight layouts (nn.Linear [out, in], Conv1D [in, out]).
//   f32   cublasSgemm
//   tf32  cublasGemmEx, f32 data, CUBLAS_COMPUTE_32F_FAST_TF32
//   bf16  operands rounded to bf16 (timed separately: "+round"), cublasGemmEx with f32
//         accumulate and f32 output
// Checked against a CPU double-precision product on a sample of outputs.
#include "kernels/backend/dev_common.cuh"

#include <cuda_bf16.h>

// Dense (no sparsity) peaks in TFLOP/s from NVIDIA's data sheets, by device name.
struct peak { const char *name; double f32, tf32, bf16; };
static const peak peaks[] = {
    {"H100 80GB HBM3", 67, 495, 989},   // SXM
    {"H100 PCIe", 51, 378, 756},
    {"H100 NVL", 60, 418, 835},
    {"H200", 67, 495, 989},
    {"A100", 19.5, 156, 312},
};

static const peak *find_peak(const char *name) {
    for (const peak &p : peaks)
        if (strstr(name, p.name)) return &p;
    return NULL;
}

__global__ void round_bf16(__nv_bfloat16 *out, const float *in, int64_t n) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        out[i] = __float2bfloat16_rn(in[i]);
}

// Relative L2 error over a sample of 4096 outputs against a double-precision product.
static double sample_error(const float *dout, const float *in, const float *w, int M, int K, int N, int nk) {
    float *out = (float *)malloc((size_t)M * N * sizeof(float));
    cudaCheck(cudaDeviceSynchronize());
    cudaCheck(cudaMemcpy(out, dout, (size_t)M * N * sizeof(float), cudaMemcpyDeviceToHost));
    double e = 0, s = 0;
    uint64_t r = 12345;
    for (int t = 0; t < 4096; t++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        int i = (int)((r >> 33) % M), j = (int)((r >> 13) % N);
        double acc = 0;
        for (int kk = 0; kk < K; kk++) acc += (double)in[(int64_t)i * K + kk] * (nk ? w[(int64_t)j * K + kk] : w[(int64_t)kk * N + j]);
        e += (out[(int64_t)i * N + j] - acc) * (out[(int64_t)i * N + j] - acc);
        s += acc * acc;
    }
    free(out);
    return sqrt(e / s);
}

int main(void) {
    require_device("dev_matmul");
    cudaDeviceProp prop;
    cudaCheck(cudaGetDeviceProperties(&prop, 0));
    const peak *pk = find_peak(prop.name);
    if (!pk) printf("(no peak figures known for %s: fractions not shown)\n", prop.name);
    cublasHandle_t h;
    cublasCheck(cublasCreate(&h));
    const int M = 32 * 128;
    const int shapes[][2] = {{768, 2304}, {768, 768}, {768, 3072}, {3072, 768}};
    printf("%-22s %-6s %9s %9s %7s %9s\n", "M x K x N layout", "prec", "ms", "TFLOP/s", "peak%", "rel err");
    for (auto &sh : shapes) {
        const int K = sh[0], N = sh[1];
        float *in = make_random((int64_t)M * K, -1, 1, 21), *w = make_random((int64_t)K * N, -0.1f, 0.1f, 22);
        float *din = to_device(in, (int64_t)M * K), *dw = to_device(w, (int64_t)K * N), *dout;
        cudaCheck(cudaMalloc(&dout, (size_t)M * N * sizeof(float)));
        __nv_bfloat16 *a16, *w16;
        cudaCheck(cudaMalloc(&a16, (size_t)M * K * 2));
        cudaCheck(cudaMalloc(&w16, (size_t)K * N * 2));
        const double flops = 2.0 * M * K * N;
        const float one = 1, zero = 0;
        for (int nk = 1; nk >= 0; nk--) {
            cublasOperation_t opw = nk ? CUBLAS_OP_T : CUBLAS_OP_N;
            int lda = nk ? K : N;
            char label[48];
            snprintf(label, sizeof label, "%dx%dx%d %s", M, K, N, nk ? "NK" : "KN");
            auto row = [&](const char *prec, float ms, double pk_tf) {
                double tf = flops / ms / 1e9;
                printf("%-22s %-6s %9.4f %9.1f %6.1f%% %9.2e\n", label, prec, ms, tf, pk ? 100 * tf / pk_tf : 0.0,
                       sample_error(dout, in, w, M, K, N, nk));
            };
            auto f32 = [&] { cublasCheck(cublasSgemm(h, opw, CUBLAS_OP_N, N, M, K, &one, dw, lda, din, K, &zero, dout, N)); };
            row("f32", time_ms(20, f32), pk ? pk->f32 : 1);
            auto tf32 = [&] {
                cublasCheck(cublasGemmEx(h, opw, CUBLAS_OP_N, N, M, K, &one, dw, CUDA_R_32F, lda, din, CUDA_R_32F, K,
                                         &zero, dout, CUDA_R_32F, N, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT));
            };
            row("tf32", time_ms(20, tf32), pk ? pk->tf32 : 1);
            auto rnd = [&] {
                round_bf16<<<4096, 256>>>(a16, din, (int64_t)M * K);
                round_bf16<<<1024, 256>>>(w16, dw, (int64_t)K * N);
                cudaCheck(cudaGetLastError());
            };
            auto bf16 = [&] {
                cublasCheck(cublasGemmEx(h, opw, CUBLAS_OP_N, N, M, K, &one, w16, CUDA_R_16BF, lda, a16, CUDA_R_16BF, K,
                                         &zero, dout, CUDA_R_32F, N, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
            };
            rnd();
            row("bf16", time_ms(20, bf16), pk ? pk->bf16 : 1);
            row("+round", time_ms(20, [&] { rnd(); bf16(); }), pk ? pk->bf16 : 1);
        }
        free(in); free(w);
        cudaCheck(cudaFree(din)); cudaCheck(cudaFree(dw)); cudaCheck(cudaFree(dout));
        cudaCheck(cudaFree(a16)); cudaCheck(cudaFree(w16));
    }
    cublasCheck(cublasDestroy(h));
    return 0;
}
