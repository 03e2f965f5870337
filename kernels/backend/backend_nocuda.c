/* backend_nocuda.c - av_backend_cuda(), av_project_backend_cuda() and the live
 * positions' functions (live_gpu.h) for builds without CUDA (no nvcc, or sanitizer
 * builds): there is no CUDA backend, and they say so. CUDA builds define them in
 * kernels/backend/backend_cuda.cu, project_backend_cuda.cu and live_gpu.cu. */
#include "kernels/ops.h"
#include "kernels/project.h"
#include "kernels/backend/live_gpu.h"

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
/* No device slots or registrations can be had, so nothing can call the others with one. */
int av_live_gpu_open(int64_t n, int dim, av_live_gpu **out) {
    (void)n; (void)dim;
    *out = NULL;
    return av_fail("this build has no CUDA backend (nvcc was not found at build time)");
}
int av_live_gpu_put(av_live_gpu *g, int slot, const float *pos, int64_t axis_stride, int64_t point_stride, void *stream) {
    (void)g; (void)slot; (void)pos; (void)axis_stride; (void)point_stride; (void)stream;
    return av_fail("this build has no CUDA backend");
}
int av_gl_buffer_register(unsigned buffer, av_gl_buffer **out) {
    (void)buffer;
    *out = NULL;
    return av_fail("this build has no CUDA backend");
}
unsigned av_gl_buffer_name(const av_gl_buffer *b) { (void)b; return 0; }
void av_gl_buffer_unregister(av_gl_buffer *b) { (void)b; }
int av_live_gpu_to_gl(av_live_gpu *g, int slot, av_gl_buffer *b, int64_t at, float bounds[6]) {
    (void)g; (void)slot; (void)b; (void)at; (void)bounds;
    return av_fail("this build has no CUDA backend");
}
int av_live_gpu_to_host(av_live_gpu *g, int slot, float *Y) {
    (void)g; (void)slot; (void)Y;
    return av_fail("this build has no CUDA backend");
}
void av_live_gpu_close(av_live_gpu *g) { (void)g; }
#else
/* ISO C forbids an empty translation unit. */
typedef int av_backend_nocuda_unused;
#endif
