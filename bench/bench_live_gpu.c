/* bench_live_gpu.c - a live t-SNE on the GPU with a display taking its frames, through
 * CUDA-OpenGL interop and through the copy path, beside the same t-SNE with no display
 * (bench/bench_live.sh runs it on a GPU machine; bench/RESULTS-live.md).
 *   bench_live_gpu [N_POINTS [ITERS]]      (default 200000 points, 500 iterations)
 * The cloud is synthetic: 64 dimensions, 20 Gaussian blobs. The display is this
 * program's main thread on an EGL context of the GPU (viewer/headless.c) polling the
 * live job (viewer/live.h) at 60 Hz as the viewer does: interop writes each taken
 * frame into a GL buffer with a kernel (av_live_gpu_to_gl), copy downloads it once
 * (av_live_take) and uploads it (glBufferSubData). Prints per mode the seconds from
 * start to done, iterations per second over the iterations (after the kNN and
 * affinities), frames taken and the display's milliseconds per frame. Exits 77 when
 * there is no device, 3 when interop is impossible on this context (the copy and
 * no-display figures are printed first). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "base/rng.h"
#include "base/util.h"
#include "kernels/backend/device.h"
#include "kernels/backend/live_gpu.h"
#include "kernels/project.h"
#include "viewer/gl.h"
#include "viewer/headless.h"
#include "viewer/live.h"

typedef enum { MODE_OFF, MODE_COPY, MODE_INTEROP } mode;
static const char *mode_name[] = {"no display", "copy", "interop"};

/* One run; returns AV_OK and prints its line. */
static int run(mode m, const float *X, int64_t n, int d, int iters, unsigned buf, av_gl_buffer *gb) {
    av_project_opts o;
    av_project_defaults(&o);
    o.method = AV_PROJ_TSNE;
    o.dim = 2;
    o.device = AV_DEVICE_CUDA;
    o.tsne.iters = iters;
    double t0 = av_now();
    if (m == MODE_OFF) {
        av_project_backend be;
        if (av_project_backend_for(AV_DEVICE_CUDA, &be, NULL, 0) != AV_OK) return AV_ERR;
        float *Y = av_malloc((size_t)n * 2 * sizeof *Y);
        if (!Y) return AV_ERR;
        int rc = be.tsne(X, n, d, &o.tsne, Y, NULL);
        free(Y);
        if (rc != AV_OK) return AV_ERR;
        printf("%-11s %9.2f %9s %8s %10s\n", mode_name[m], av_now() - t0, "-", "-", "-");
        return AV_OK;
    }
    av_live lv;
    if (av_live_start_cloud(&lv, X, n, d, &o) != AV_OK) return AV_ERR;
    if (!lv.gpu) {
        av_live_free(&lv);
        return av_fail("the live job got no device slots");
    }
    int64_t seen = 0, frames = 0;
    double frame_secs = 0, t_first = 0;
    int first_iter = 0, rc = AV_OK;
    av_live_frame f = {0};
    while (rc == AV_OK && f.done == 0) {
        struct timespec ts = {0, 16666667};
        nanosleep(&ts, NULL);
        double a = av_now();
        int r = av_live_take(&lv, &seen, m == MODE_COPY, &f);
        if (r == AV_ERR) { rc = AV_ERR; break; }
        if (r == 1) {
            if (f.on_device) {
                float b[6];
                rc = av_live_gpu_to_gl(lv.gpu, f.slot, gb, 0, b);
            } else {
                glBindBuffer(GL_ARRAY_BUFFER, buf);
                glBufferSubData(GL_ARRAY_BUFFER, 0, (GLsizeiptr)(n * 2 * (int64_t)sizeof(float)), lv.host[f.slot]);
                glFinish();
            }
            frame_secs += av_now() - a;
            frames++;
            if (!t_first) { t_first = av_now(); first_iter = f.iter; }
        }
    }
    double total = av_now() - t0, t_done = lv.t_iter;
    double rate = t_done > t_first && t_first > 0 ? (iters - first_iter) / (t_done - t_first) : 0;
    if (f.done < 0) rc = av_fail("%s", lv.err);
    av_live_free(&lv);
    if (rc != AV_OK) return AV_ERR;
    printf("%-11s %9.2f %9.1f %8lld %10.3f\n", mode_name[m], total, rate, (long long)frames,
           frames ? 1e3 * frame_secs / frames : 0);
    return AV_OK;
}

int main(int argc, char **argv) {
    int64_t n = argc > 1 ? atoll(argv[1]) : 200000;
    int iters = argc > 2 ? atoi(argv[2]) : 500;
    const int d = 64;
    char why[256] = "";
    if (av_cuda_device_count(why, sizeof why) <= 0) {
        printf("SKIP: %s\n", why);
        return 77;
    }
    av_headless h;
    if (av_headless_open(&h, 64, 64) != AV_OK) {
        printf("bench_live_gpu: no OpenGL context: %s\n", av_last_error());
        return 1;
    }
    printf("bench_live_gpu: %s, GL %s, %lld points, t-SNE 2-D %d iterations\n", av_cuda_device_name(),
           (const char *)glGetString(GL_RENDERER), (long long)n, iters);
    float *X = av_malloc((size_t)n * d * sizeof *X);
    if (!X) return 1;
    uint64_t s = 11;
    float centre[20][64];
    for (int c = 0; c < 20; c++)
        for (int k = 0; k < d; k++) centre[c][k] = (float)(4 * av_rng_normal(&s));
    for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < d; k++) X[i * d + k] = centre[i % 20][k] + (float)av_rng_normal(&s);
    unsigned buf;
    glGenBuffers(1, &buf);
    glBindBuffer(GL_ARRAY_BUFFER, buf);
    glBufferData(GL_ARRAY_BUFFER, (GLsizeiptr)(n * 2 * (int64_t)sizeof(float)), NULL, GL_DYNAMIC_DRAW);
    glFinish();
    av_gl_buffer *gb = NULL;
    int interop = av_gl_buffer_register(buf, &gb) == AV_OK;
    if (!interop) printf("interop impossible here: %s\n", av_last_error());
    printf("%-11s %9s %9s %8s %10s\n", "mode", "total_s", "it/s", "frames", "frame_ms");
    int rc = 0;
    for (int m = MODE_OFF; m <= MODE_INTEROP && !rc; m++) {
        if (m == MODE_INTEROP && !interop) { rc = 3; break; }
        if (run((mode)m, X, n, d, iters, buf, gb) != AV_OK) {
            printf("bench_live_gpu: %s failed: %s\n", mode_name[m], av_last_error());
            rc = 1;
        }
    }
    av_gl_buffer_unregister(gb);
    glDeleteBuffers(1, &buf);
    av_headless_close(&h);
    free(X);
    return rc;
}
