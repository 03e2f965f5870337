/* live_gpu.h - a live projection's positions on the GPU, for a viewer to show while the
 * projection runs (viewer/live.h is the only caller): three device slots [n, dim] f32
 * row-major, the frames of a triple buffer whose indices the caller keeps, and the two
 * ways out of a slot:
 *   to_gl    CUDA-OpenGL interop: the caller's GL vertex buffer, registered once with
 *            cudaGraphicsGLRegisterBuffer, is mapped, a kernel writes the slot's
 *            positions straight into it at the given offset and measures their bounds,
 *            and it is unmapped; nothing passes through the host but the six bounds.
 *   to_host  one device-to-host copy, where interop is impossible (software renderer,
 *            GL context on another device, registration refused, or turned off).
 * Both give the same bytes: the slot's floats, unchanged.
 *
 * Threads: put runs on the projection's thread, in the projection's stream order;
 * attach_gl, to_gl and to_host on the thread whose GL context is current, on a stream
 * of their own that waits (on the device) for the slot's put. A slot must not be put
 * while another thread reads it (the triple buffer's rule). The GL buffer is only ever
 * named by its number: this layer includes no viewer code.
 *
 * av_live_gpu_open allocates everything; av_live_gpu_close (call it with the GL context
 * current when attached) unregisters the buffer and frees it. Builds without CUDA have
 * the functions too: open fails saying so. */
#ifndef AV_KERNELS_BACKEND_LIVE_GPU_H
#define AV_KERNELS_BACKEND_LIVE_GPU_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct av_live_gpu av_live_gpu;

/* Three slots of n points in dim (2 or 3) on device 0. AV_ERR with the reason when the
 * build has no CUDA or no device is usable. */
int av_live_gpu_open(int64_t n, int dim, av_live_gpu **out);
/* Enqueues on `stream` (a cudaStream_t) the gathering of positions laid out as point i's
 * axis a at pos[i * point_stride + a * axis_stride] (a t-SNE's structure of arrays, a
 * UMAP's rows) into slot (0..2), and records that the slot is ready there. No wait. */
int av_live_gpu_put(av_live_gpu *g, int slot, const float *pos, int64_t axis_stride, int64_t point_stride,
                    void *stream);
/* Registers GL buffer object `buffer` of the current context for CUDA writes (replacing
 * any earlier one). AV_ERR saying why when the context's GL device is not the CUDA
 * device (or none: a software renderer) or the driver refuses. */
int av_live_gpu_attach_gl(av_live_gpu *g, unsigned buffer);
/* Whether a buffer is attached, and which. */
unsigned av_live_gpu_attached(const av_live_gpu *g);
/* Writes slot's positions into the attached buffer from float offset `at` on ([n, dim]
 * floats), through interop; bounds [6] gets min xyz, max xyz of the finite positions
 * (-1 and 1 on an axis without any, and z when dim is 2: the viewer's fit_bounds).
 * Returns when the buffer is unmapped (GL may draw it). */
int av_live_gpu_to_gl(av_live_gpu *g, int slot, int64_t at, float bounds[6]);
/* One device-to-host copy of slot into Y [n, dim]; returns when Y holds it. */
int av_live_gpu_to_host(av_live_gpu *g, int slot, float *Y);
void av_live_gpu_close(av_live_gpu *g);

#ifdef __cplusplus
}
#endif
#endif
