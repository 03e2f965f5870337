// half.cu - 16-bit stored weights (IEEE half, bfloat16) widened to f32 on the device:
// checkpoints stay in their stored precision in device memory and each layer's weights
// are widened just before the layer runs (models/forward.c). The CPU does the same from
// the mapped file (models/tensor.c, with base/dtype.c's conversions, which the emulation
// case compares against). Both widenings are exact.
#include "kernels/backend/common.cuh"

#ifndef AV_CUDA_EMU
#include <cuda_fp16.h>
#endif

__global__ void half_to_f32_kernel(float *out, const uint16_t *in, int64_t n, av_half kind) {
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        out[i] = kind == AV_HALF_BF16 ? __uint_as_float((unsigned)in[i] << 16) : __half2float(__ushort_as_half(in[i]));
}

#ifndef AV_CUDA_EMU   // host code: not part of the CPU emulation
extern "C" int av_cuda_half_to_f32(float *out, const uint16_t *in, int64_t n, av_half kind) {
    AV_CUDA_READY();
    if (n <= 0) return AV_OK;
    unsigned grid = av_grid(n, 256);
    half_to_f32_kernel<<<grid > 65535u ? 65535u : grid, 256, 0, av_cuda_compute_stream()>>>(out, in, n, kind);
    launchCheck();
    return AV_OK;
}
#endif
