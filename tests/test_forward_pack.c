/* test_forward_pack.c - the forward pass's packed sink (av_model_set_pack) on the CPU, and
 * its GPU choreography without a GPU.
 *
 * "lazy" is the CPU backend dressed as a device: it has the optional entries a GPU has
 * (matmul_gelu, keep_weight, host_alloc, download_async/download_wait, mem_info), and its asynchronous
 * download copies nothing until download_wait is called for that slot, the latest point
 * a real copy may finish. Pinned buffers start as NaNs. So a forward pass that reads a
 * slot's host copy before waiting for it, lets a later layer's pack overwrite a slot
 * whose copy is still "in flight", or queues two copies in one slot sees NaNs or another
 * layer's numbers, and the comparison with the unpacked rows fails. The same check runs
 * on CUDA in tests/gpu_forward.c. The model offers the backend each linear weight once at
 * load (keep_weight: a GPU keeps a 16-bit copy), and only those. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "base/util.h"
#include "kernels/ops.h"
#include "models/model.h"
#include "tests/check.h"
#include "tests/forward_pack.h"

static struct {
    void *dst;
    const void *src;
    size_t bytes;
    int queued;
} lazy_copy[AV_DOWNLOAD_SLOTS];
static int lazy_violations, lazy_copies, lazy_matmul_gelu_calls;
static int64_t lazy_kept, lazy_kept_floats;

static void *lazy_host_alloc(size_t bytes) {
    float *p = malloc(bytes ? bytes : 1);
    if (!p) return NULL;
    for (size_t i = 0; i < bytes / sizeof(float); i++) p[i] = NAN;
    return p;
}
static void lazy_host_free(void *p) { free(p); }

static int lazy_download_async(void *dst, const void *src, size_t bytes, int slot) {
    if (slot < 0 || slot >= AV_DOWNLOAD_SLOTS) return av_fail("lazy: slot %d", slot);
    if (lazy_copy[slot].queued) lazy_violations++; /* the slot's last copy was never waited for */
    lazy_copy[slot].dst = dst;
    lazy_copy[slot].src = src;
    lazy_copy[slot].bytes = bytes;
    lazy_copy[slot].queued = 1;
    return AV_OK;
}

static int lazy_download_wait(int slot) {
    if (slot < 0 || slot >= AV_DOWNLOAD_SLOTS) return av_fail("lazy: slot %d", slot);
    if (lazy_copy[slot].queued) {
        memcpy(lazy_copy[slot].dst, lazy_copy[slot].src, lazy_copy[slot].bytes);
        lazy_copy[slot].queued = 0;
        lazy_copies++;
    }
    return AV_OK;
}

/* The GEMM without bias, then bias and GELU in one pass, as the GPU does in f32. */
static int lazy_matmul_gelu(float *out, const float *in, const float *w, const float *bias, int64_t M, int K, int N,
                            av_wlayout wl, av_gelu_kind kind) {
    lazy_matmul_gelu_calls++;
    av_matmul_cpu(out, in, w, NULL, M, K, N, wl);
    for (int64_t r = 0; bias && r < M; r++)
        for (int i = 0; i < N; i++) out[r * N + i] += bias[i];
    av_gelu_cpu(out, M * N, kind);
    return AV_OK;
}

static int lazy_keep_weight(const float *w, int64_t count) {
    (void)w;
    lazy_kept++;
    lazy_kept_floats += count;
    return AV_OK;
}

static int lazy_mem_info(size_t *free_bytes, size_t *total_bytes) {
    *free_bytes = (size_t)1 << 30;
    *total_bytes = (size_t)2 << 30;
    return AV_OK;
}

static av_backend lazy_backend(void) {
    av_backend b = *av_backend_cpu();
    b.name = "lazy";
    b.matmul_gelu = lazy_matmul_gelu;
    b.keep_weight = lazy_keep_weight;
    b.host_alloc = lazy_host_alloc;
    b.host_free = lazy_host_free;
    b.download_async = lazy_download_async;
    b.download_wait = lazy_download_wait;
    b.mem_info = lazy_mem_info;
    return b;
}

static const char *models[] = {
    "tests/fixtures/models/bert-tiny", "tests/fixtures/models/gpt2-tiny", "tests/fixtures/models/vit-tiny",
    /* six layers: slots are reused (the tiny ones have two layers, one per slot) */
    ".deps/models/all-MiniLM-L6-v2",
};

/* set_pack refuses what the run folder cannot store. */
static void test_set_pack_errors(void) {
    av_model m;
    CHECK(av_model_load(models[0], av_backend_cpu(), &m) == AV_OK);
    CHECK(av_model_set_pack(&m, AV_DT_I32) == AV_ERR);
    CHECK(strstr(av_last_error(), "f32 or f16") != NULL);
    CHECK(av_model_set_pack(&m, AV_DT_F16) == AV_OK);
    av_model_free(&m);
}

/* Each layer's four linear weights (and ViT's patch projection) are offered once at load,
 * none of the vectors or embeddings: what a GPU keeps in 16 bits. */
static void test_kept_weights(const av_backend *lazy) {
    for (int i = 0; i < 3; i++) {
        av_model m;
        lazy_kept = lazy_kept_floats = 0;
        CHECK_MSG(av_model_load(models[i], lazy, &m) == AV_OK, "%s: %s", models[i], av_last_error());
        const av_model_config *c = &m.cfg;
        int64_t C = c->hidden, I = c->intermediate, per_layer = 3 * C * C + C * C + 2 * C * I;
        int vit = c->type == AV_MODEL_VIT;
        int64_t want = c->num_layers * per_layer + (vit ? C * 3 * c->patch_size * c->patch_size : 0);
        CHECK_MSG(lazy_kept == 4 * c->num_layers + vit && lazy_kept_floats == want,
                  "%s: %lld weights (%lld floats) offered, want %d (%lld)", models[i], (long long)lazy_kept,
                  (long long)lazy_kept_floats, 4 * c->num_layers + vit, (long long)want);
        av_model_free(&m);
    }
}

/* The memory plan grows with the packed slots and never comes out empty. */
static void test_memory_plan(void) {
    av_model m;
    CHECK(av_model_load(models[0], av_backend_cpu(), &m) == AV_OK);
    int64_t per0, fixed0, per1, fixed1;
    av_model_memory(&m, &per0, &fixed0);
    CHECK(av_model_set_pack(&m, AV_DT_F32) == AV_OK);
    av_model_memory(&m, &per1, &fixed1);
    const av_model_config *c = &m.cfg;
    CHECK(per0 >= (int64_t)sizeof(float) * (7 * c->hidden + c->intermediate));   /* the float workspace */
    /* two slots of q and k in f32 at least */
    CHECK_MSG(per1 - per0 >= 2 * 2 * (int64_t)c->hidden * 4, "pack adds %lld bytes per row", (long long)(per1 - per0));
    CHECK(fixed0 > 0 && fixed1 == fixed0);
    av_model_free(&m);
}

int main(void) {
    const av_backend *cpu = av_backend_cpu();
    av_backend lazy = lazy_backend();
    for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
        check_packed(cpu, models[i], AV_DT_F32, 1e-6, "cpu f32");
        check_packed(cpu, models[i], AV_DT_F16, 1e-6, "cpu f16");
        int before = lazy_copies;
        lazy_matmul_gelu_calls = 0;
        /* lazy fuses bias + GELU, which rounds differently from the BLAS bias: ~5e-7 in
         * f32, and in f16 a few values land on the other side of a rounding step */
        check_packed(&lazy, models[i], AV_DT_F32, 5e-6, "lazy copies f32");
        check_packed(&lazy, models[i], AV_DT_F16, 1e-4, "lazy copies f16");
        CHECK_MSG(lazy_copies > before, "%s: no deferred copy was made", models[i]);
        CHECK_MSG(lazy_matmul_gelu_calls > 0, "%s: the fused GEMM + GELU was not used", models[i]);
    }
    CHECK_MSG(lazy_violations == 0, "%d copies queued into a slot still in flight", lazy_violations);
    test_set_pack_errors();
    test_memory_plan();
    test_kept_weights(&lazy);
    return av_check_summary("test_forward_pack");
}
