/* live_gpu.h - a live projection's positions on the GPU, for a viewer to show while the
 * projection runs (viewer/live.h is the only caller): three device slots [n, dim] f32
 * row-major, the frames of a triple buffer whose indices the caller keeps, and the two
 * ways out of a slot:
 *   to_gl    CUDA-OpenGL interop: the caller's GL vertex buffer, registered once with
 *            cudaGraphicsGLRegisterBuffer (av_gl_buffer), is mapped, a kernel writes the slot's
 *            positions straight into it at the given offset and measures their bounds,
 *            and it is unmapped; nothing passes through the host but the six bounds.
 *   to_host  one device-to-host copy, where interop is impossible (software renderer,
 *            GL context on another device, registration refused, or turned off).
 * Both give the same bytes: the slot's floats, unchanged.
 *
 * Threads: put runs on the projection's thread, in the projection's stream order;
 * the av_gl_buffer functions, to_gl and to_host on the thread whose GL context is current, on a stream
 * of their own that waits (on the device) for the slot's put. A slot must not be put
 * while another thread reads it (the triple buffer's rule). The GL buffer is only ever
 * named by its number: this layer includes no viewer code.
 *
 * av_live_gpu_open allocates the slots, av_live_gpu_close frees them; the av_gl_buffer
 * is the caller's (av_gl_buffer_register / _unregister). Builds without CUDA have the
 * functions too: open and register fail saying so. */
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
/* A GL buffer object of the current context registered for CUDA writes. AV_ERR saying
 * why when the context's GL device is not the CUDA device (or none: a software
 * renderer) or the driver refuses. One registration serves every live projection
 * writing into the buffer; unregister it (context current) before deleting the buffer. */
typedef struct av_gl_buffer av_gl_buffer;
int av_gl_buffer_register(unsigned buffer, av_gl_buffer **out);
unsigned av_gl_buffer_name(const av_gl_buffer *b);
void av_gl_buffer_unregister(av_gl_buffer *b);
/* Writes slot's positions into buffer b from float offset `at` on ([n, dim] floats),
 * through interop; bounds [6] gets min xyz, max xyz of the finite positions (-1 and 1
 * on an axis without any, and z when dim is 2: the viewer's fit_bounds). Returns when
 * the buffer is unmapped (GL may draw it) and the slot read. */
int av_live_gpu_to_gl(av_live_gpu *g, int slot, av_gl_buffer *b, int64_t at, float bounds[6]);
/* One device-to-host copy of slot into Y [n, dim]; returns when Y holds it. */
int av_live_gpu_to_host(av_live_gpu *g, int slot, float *Y);
void av_live_gpu_close(av_live_gpu *g);

#ifdef __cplusplus
}
#endif
#endif
