// common.cuh - what every .cu file of the CUDA backend shares: the check macros that
// turn CUDA / cuBLAS failures into av_fail messages (library code never exits), the
// backend's stream and cuBLAS handle, and warp reductions.
#ifndef AV_KERNELS_CUDA_COMMON_CUH
#define AV_KERNELS_CUDA_COMMON_CUH
#ifdef AV_CUDA_EMU
// The kernels compiled as plain C++ by kernels/emu (a CPU emulation of the few CUDA
// built-ins they use), so their logic can be checked on a machine without a GPU.
#include "kernels/emu/emu.h"
extern "C" {
#include "base/util.h"
}
#include "kernels/backend/ops_cuda.h"
#define AV_DYNAMIC_SMEM(name) float *name = emu_dynamic_smem()
#else
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdint.h>

extern "C" {
#include "base/util.h"
}
#include "kernels/backend/ops_cuda.h"

// The block's dynamic shared memory (the launch's third argument), as floats.
#define AV_DYNAMIC_SMEM(name) extern __shared__ float name[]

// Both return from the enclosing function with AV_ERR and a message naming the call.
#define cudaCheck(call) do { cudaError_t e_ = (call); if (e_ != cudaSuccess) \
    return av_fail("CUDA: %s: %s (%s:%d)", #call, cudaGetErrorString(e_), __FILE__, __LINE__); } while (0)
#define cublasCheck(call) do { cublasStatus_t s_ = (call); if (s_ != CUBLAS_STATUS_SUCCESS) \
    return av_fail("cuBLAS: %s: %s (%s:%d)", #call, cublasGetStatusString(s_), __FILE__, __LINE__); } while (0)
// After a kernel launch: configuration errors show here, faults inside the kernel later.
#define launchCheck() cudaCheck(cudaGetLastError())

// Backend state (backend.cu). av_cuda_ready() initializes on first use.
int av_cuda_ready(void);
cudaStream_t av_cuda_compute_stream(void);
cublasHandle_t av_cuda_cublas(void);
cublasLtHandle_t av_cuda_cublaslt(void);
// cuBLASLt's workspace (the GEMMs of the compute stream share it: they run in order).
void *av_cuda_lt_workspace(size_t *bytes);
// matmul.cu's state that av_cuda_shutdown releases: cuBLASLt plans, kept 16-bit weights.
void av_cuda_forget_plans(void);
void av_cuda_forget_all_weights(void);
// A device scratch buffer of at least bytes, owned by the backend, reused across calls;
// valid until the next call (ops run in stream order, so one buffer is enough).
int av_cuda_scratch(size_t bytes, void **out);

#define AV_CUDA_READY() do { int r_ = av_cuda_ready(); if (r_ != AV_OK) return r_; } while (0)


static inline unsigned av_grid(int64_t n, int block) { return (unsigned)((n + block - 1) / block); }

// Nanoseconds of the GPU's global timer: for waits that must give up instead of hanging.
__device__ __forceinline__ long long av_time_ns(void) {
    long long t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
    return t;
}

// A global array that threads of other blocks write while this kernel reads it. On the
// GPU a plain pointer: its plain loads may be served by this SM's L1, which other SMs'
// stores do not update (sm_70+), so a value another block wrote during the kernel must
// be read with __ldcg (or volatile). Under the CPU emulation (emu.h) plain loads through
// it do go through a per-SM cache that keeps old values, so a missing __ldcg shows.
template <class T> using av_gmem = T *;
#endif

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}
#endif
