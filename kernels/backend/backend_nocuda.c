/* backend_nocuda.c - av_backend_cuda() and av_project_backend_cuda() for builds without
 * CUDA (no nvcc, or sanitizer builds): there is no CUDA backend, and they say so. CUDA
 * builds define them in kernels/backend/backend_cuda.cu and project_backend_cuda.cu. */
#include "kernels/ops.h"
#include "kernels/project.h"

#include "base/util.h"

#ifndef AV_HAVE_CUDA
const av_backend *av_backend_cuda(void) {
    av_fail("this build has no CUDA backend (nvcc was not found at build time)");
    return NULL;
}
const av_project_backend *av_project_backend_cuda(void) {
    av_fail("this build has no CUDA backend (nvcc was not found at build time)");
    return NULL;
}
#else
/* ISO C forbids an empty translation unit. */
typedef int av_backend_nocuda_unused;
#endif
