// dev_common.cuh - shared by the kernels/<op>/<op>_dev.cu experiments (llm.c dev/cuda
// style): each program holds numbered kernel variants of one op, checks every variant
// against the CPU reference (the op's CPU twin from the kernels library where there is
// one, so the reference exists once), then times it over block sizes. They are programs
// of their own (cudart, cuBLAS and the kernels library, not the engine), so unlike
// library code they may exit.
// Built by CMake as dev_<name> when nvcc is present; bench/gpu_run.sh runs them all.
#ifndef AV_KERNELS_DEV_COMMON_CUH
#define AV_KERNELS_DEV_COMMON_CUH
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define cudaCheck(call) do { cudaError_t e_ = (call); if (e_ != cudaSuccess) { \
    fprintf(stderr, "CUDA error %s at %s:%d: %s\n", #call, __FILE__, __LINE__, cudaGetErrorString(e_)); exit(1); } } while (0)
#define cublasCheck(call) do { cublasStatus_t s_ = (call); if (s_ != CUBLAS_STATUS_SUCCESS) { \
    fprintf(stderr, "cuBLAS error %s at %s:%d: %s\n", #call, __FILE__, __LINE__, cublasGetStatusString(s_)); exit(1); } } while (0)

static inline int ceil_div(int64_t a, int64_t b) { return (int)((a + b - 1) / b); }

// No device: say so on one line and exit 77, the same "skip" code as the gpu tests.
static void require_device(const char *prog) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0) {
        printf("%s: SKIP: no usable CUDA device (%s)\n", prog, e != cudaSuccess ? cudaGetErrorString(e) : "none found");
        exit(77);
    }
    cudaDeviceProp p;
    cudaCheck(cudaGetDeviceProperties(&p, 0));
    printf("%s on %s (sm_%d%d, %d SMs)\n", prog, p.name, p.major, p.minor, p.multiProcessorCount);
}

static float *make_random(int64_t n, float lo, float hi, uint64_t seed) {
    float *x = (float *)malloc((size_t)n * sizeof(float));
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int64_t i = 0; i < n; i++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        x[i] = lo + (hi - lo) * (float)((s >> 40) * (1.0 / 16777216.0));
    }
    return x;
}

static float *to_device(const float *h, int64_t n) {
    float *d;
    cudaCheck(cudaMalloc(&d, (size_t)n * sizeof(float)));
    cudaCheck(cudaMemcpy(d, h, (size_t)n * sizeof(float), cudaMemcpyHostToDevice));
    return d;
}

// Compares a device result with the CPU reference by relative L2 error; a variant that
// misses the bound fails the whole program (exit 1), so a wrong kernel never gets timed.
static void validate(const char *what, const float *dev, const float *ref, int64_t n, double bound) {
    float *h = (float *)malloc((size_t)n * sizeof(float));
    cudaCheck(cudaDeviceSynchronize());
    cudaCheck(cudaMemcpy(h, dev, (size_t)n * sizeof(float), cudaMemcpyDeviceToHost));
    double e = 0, w = 0, maxabs = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)h[i] - ref[i];
        if (!isfinite(h[i])) { e = INFINITY; break; }
        e += d * d;
        w += (double)ref[i] * ref[i];
        if (fabs(d) > maxabs) maxabs = fabs(d);
    }
    double rel = w > 0 ? sqrt(e / w) : sqrt(e);
    printf("  check %-28s rel L2 %.2e  max abs %.2e  %s\n", what, rel, maxabs, rel <= bound ? "ok" : "FAILED");
    free(h);
    if (!(rel <= bound)) exit(1);
}

// Mean milliseconds of f() over reps launches, after one warm-up.
template <typename F>
static float time_ms(int reps, F f) {
    cudaEvent_t a, b;
    cudaCheck(cudaEventCreate(&a));
    cudaCheck(cudaEventCreate(&b));
    f();
    cudaCheck(cudaEventRecord(a));
    for (int i = 0; i < reps; i++) f();
    cudaCheck(cudaEventRecord(b));
    cudaCheck(cudaEventSynchronize(b));
    cudaCheck(cudaGetLastError());
    float ms = 0;
    cudaCheck(cudaEventElapsedTime(&ms, a, b));
    cudaCheck(cudaEventDestroy(a));
    cudaCheck(cudaEventDestroy(b));
    return ms / reps;
}

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
#endif
