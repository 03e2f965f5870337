/* gpu_live_interop.c - a live projection's frames on the GPU (kernels/backend/live_gpu.h)
 * through CUDA-OpenGL interop and through the copy path, on an EGL context of the GPU
 * (viewer/headless.c): after N iterations of t-SNE on the GPU (and N epochs of UMAP),
 * handed over on the device by on_iter_device / on_epoch_device, the GL buffer read back
 * must hold exactly the projection's own result at that iteration (the bytes
 * av_tsne_cuda / av_umap_cuda return when run for N), at the head's offset, with the
 * buffer around it untouched and the bounds of those positions; the copy path
 * (interop off: one download) must give the same bytes. SKIPs without a device, and
 * with the reason when the GL context is not on the CUDA device (software renderer). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/util.h"
#include "kernels/backend/live_gpu.h"
#include "kernels/project.h"
#include "tests/gpu_skip.h"
#include "viewer/gl.h"
#include "viewer/headless.h"

#ifdef AV_HAVE_CUDA
typedef struct {
    av_live_gpu *g;
    int calls, last_iter;
} hook;

static void on_device(void *user, int iter, const float *pos, int64_t as, int64_t ps, void *stream) {
    hook *k = user;
    k->calls++;
    k->last_iter = iter;
    CHECK_MSG(av_live_gpu_put(k->g, 1, pos, as, ps, stream) == AV_OK, "put: %s", av_last_error());
}

/* The viewer's fit_bounds of Y. */
static void bounds_of(const float *Y, int64_t n, int dim, float *b) {
    for (int k = 0; k < 3; k++) { b[k] = INFINITY; b[3 + k] = -INFINITY; }
    for (int64_t i = 0; i < n; i++)
        for (int k = 0; k < dim; k++) {
            float v = Y[i * dim + k];
            if (v < b[k]) b[k] = v;
            if (v > b[3 + k]) b[3 + k] = v;
        }
    for (int k = 0; k < 3; k++)
        if (!(b[k] <= b[3 + k])) { b[k] = -1; b[3 + k] = 1; }
}

/* Slot 1 of g holds the positions of iteration N; Y the projection's own result. */
static void check_paths(const char *what, av_live_gpu *g, av_gl_buffer *gb, unsigned buf, const float *Y, int64_t n,
                        int dim) {
    const int64_t at = 1000;  /* the head's offset among others in the buffer */
    size_t bytes = (size_t)n * dim * sizeof(float);
    float b[6], want[6];
    CHECK_MSG(av_live_gpu_to_gl(g, 1, gb, at, b) == AV_OK, "%s: to_gl: %s", what, av_last_error());
    float *back = malloc((size_t)(at + n * dim + 1000) * sizeof(float));
    glBindBuffer(GL_ARRAY_BUFFER, buf);
    glGetBufferSubData(GL_ARRAY_BUFFER, 0, (GLsizeiptr)((at + n * dim + 1000) * sizeof(float)), back);
    CHECK_MSG(!memcmp(back + at, Y, bytes), "%s: the GL buffer differs from the projection's result", what);
    int untouched = 1;
    for (int64_t e = 0; e < at; e++) untouched &= back[e] == -7.0f;
    for (int64_t e = at + n * dim; e < at + n * dim + 1000; e++) untouched &= back[e] == -7.0f;
    CHECK_MSG(untouched, "%s: interop wrote outside the head's range", what);
    bounds_of(Y, n, dim, want);
    CHECK_MSG(!memcmp(b, want, sizeof b), "%s: bounds %g..%g differ from %g..%g", what, b[0], b[3], want[0], want[3]);
    float *host = malloc(bytes);
    CHECK_MSG(av_live_gpu_to_host(g, 1, host) == AV_OK, "%s: to_host: %s", what, av_last_error());
    CHECK_MSG(!memcmp(host, back + at, bytes), "%s: the copy path differs from interop", what);
    printf("  %-14s %lld points: interop and copy give the projection's bytes\n", what, (long long)n);
    free(host);
    free(back);
}
#endif

int main(void) {
    AV_GPU_TEST_OPEN();
#ifdef AV_HAVE_CUDA
    av_headless h;
    if (av_headless_open(&h, 64, 64) != AV_OK) AV_SKIP("no OpenGL context: %s", av_last_error());
    printf("GL renderer: %s\n", (const char *)glGetString(GL_RENDERER));
    const int64_t n = 3000;
    const int d = 16, N = 60;
    float *X = malloc((size_t)n * d * sizeof *X);
    uint64_t s = 7;
    for (int64_t i = 0; i < n * d; i++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        X[i] = (float)((s >> 40) % 1000) / 100.0f + (float)(i / d % 5) * 4.0f;  /* five blobs */
    }
    for (int dim = 2; dim <= 3; dim++) {
        av_live_gpu *g;
        if (av_live_gpu_open(n, dim, &g) != AV_OK) { printf("FAIL: open: %s\n", av_last_error()); return 1; }
        unsigned buf;
        glGenBuffers(1, &buf);
        glBindBuffer(GL_ARRAY_BUFFER, buf);
        size_t count = (size_t)(1000 + n * dim + 1000);
        float *fill = malloc(count * sizeof(float));
        for (size_t e = 0; e < count; e++) fill[e] = -7.0f;
        glBufferData(GL_ARRAY_BUFFER, (GLsizeiptr)(count * sizeof(float)), fill, GL_DYNAMIC_DRAW);
        free(fill);
        glFinish();
        av_gl_buffer *gb;
        if (av_gl_buffer_register(buf, &gb) != AV_OK) {
            printf("SKIP: interop impossible here (%s)\n", av_last_error());
            av_live_gpu_close(g);
            av_headless_close(&h);
            free(X);
            return 77;
        }
        float *Y = malloc((size_t)n * dim * sizeof *Y);
        hook k = {g, 0, 0};
        av_tsne_params p;
        av_tsne_defaults(&p);
        p.dim = dim;
        p.iters = N;
        p.early_iters = N / 2;
        p.on_iter_device = on_device;
        p.user = &k;
        p.every = N;
        CHECK_MSG(av_tsne_cuda(X, n, d, &p, Y, NULL) == AV_OK, "t-SNE: %s", av_last_error());
        CHECK_MSG(k.calls == 1 && k.last_iter == N, "t-SNE: on_iter_device %d calls, last %d", k.calls, k.last_iter);
        check_paths(dim == 2 ? "t-SNE 2-D" : "t-SNE 3-D", g, gb, buf, Y, n, dim);
        av_umap_params u;
        av_umap_defaults(&u);
        u.dim = dim;
        u.epochs = N;
        u.on_epoch_device = on_device;
        u.user = &k;
        u.every = N;
        k.calls = 0;
        CHECK_MSG(av_umap_cuda(X, n, d, &u, Y) == AV_OK, "UMAP: %s", av_last_error());
        CHECK_MSG(k.calls == 1 && k.last_iter == N, "UMAP: on_epoch_device %d calls, last %d", k.calls, k.last_iter);
        check_paths(dim == 2 ? "UMAP 2-D" : "UMAP 3-D", g, gb, buf, Y, n, dim);
        av_gl_buffer_unregister(gb);
        av_live_gpu_close(g);
        glDeleteBuffers(1, &buf);
        free(Y);
    }
    free(X);
    av_headless_close(&h);
#endif
    return av_check_summary("gpu_live_interop");
}
