/* backend_nocuda.c - av_backend_cuda() for builds without CUDA (no nvcc, or sanitizer
 * builds): there is no CUDA backend, and it says so. CUDA builds define it in
 * kernels/backend/backend_cuda.cu. */
#include "kernels/ops.h"

#include "base/util.h"

#ifndef AV_HAVE_CUDA
const av_backend *av_backend_cuda(void) {
    av_fail("this build has no CUDA backend (nvcc was not found at build time)");
    return NULL;
}
#else
/* ISO C forbids an empty translation unit. */
typedef int av_backend_nocuda_unused;
#endif
