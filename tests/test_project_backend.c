/* test_project_backend.c - the projection backend table (kernels/project.h) and the
 * callers that choose by it:
 *  - the CPU's table; a device's table completed from it slot by slot, with a note that
 *    names what the CPU stands in for; a device without a table (CUDA absent) refused
 *    with a reason;
 *  - `project` on a table with a batch of heads (a stand-in here: av_tsne per head, as
 *    the GPU's batch must give each head what a lone run gives) writes the same bytes as
 *    the CPU's head-by-head job, hands the batch at most batch_heads heads at a time,
 *    and takes the slots the table lacks (UMAP here) from the CPU;
 *  - the live viewer's worker runs on the table it is given.
 * The committed run folder tests/fixtures/projections/run_small is copied to a scratch
 * folder first. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/util.h"
#include "engine/projectrun.h"
#include "kernels/project.h"
#include "tests/check.h"
#include "viewer/live.h"

static int tsne_calls, batch_calls, batch_most, progress_calls;

static int counting_tsne(const float *X, int64_t n, int d, const av_tsne_params *p, float *Y, double *kl) {
    tsne_calls++;
    return av_tsne(X, n, d, p, Y, kl);
}

/* The batch contract without a GPU: each head as av_tsne makes it alone; progress only
 * through on_iter with Y NULL. */
static int lone_batch(const float *const *X, int heads, int64_t n, int d, const av_tsne_params *p, float *const *Y,
                      double *kl) {
    batch_calls++;
    if (heads > batch_most) batch_most = heads;
    av_tsne_params q = *p;
    q.on_iter = NULL;
    for (int h = 0; h < heads; h++)
        if (av_tsne(X[h], n, d, &q, Y[h], kl ? &kl[h] : NULL) != AV_OK) return AV_ERR;
    if (p->on_iter) {
        progress_calls++;
        p->on_iter(p->user, p->iters, NULL, n, NAN);
    }
    return AV_OK;
}

static const av_project_backend stand_in = {
    /* .name             = */ "stand-in",
    /* .knn              = */ NULL,
    /* .pca              = */ NULL,
    /* .tsne             = */ counting_tsne,
    /* .umap             = */ NULL,
    /* .tsne_batch       = */ lone_batch,
    /* .batch_heads      = */ 2,
};

static void test_tables(void) {
    const av_project_backend *cpu = av_project_backend_cpu();
    CHECK(cpu && !strcmp(cpu->name, "cpu"));
    CHECK(cpu->knn == av_knn_build && cpu->pca == av_pca && cpu->tsne == av_tsne && cpu->umap == av_umap);
    CHECK(cpu->tsne_batch == NULL && cpu->batch_heads == 0);

    /* the CPU's own table needs nothing and says nothing */
    av_project_backend got;
    char note[160] = "stale";
    CHECK(av_project_backend_for(AV_DEVICE_CPU, &got, note, sizeof note) == AV_OK);
    CHECK(!memcmp(&got, cpu, sizeof got) && note[0] == 0);

    /* a backend with only t-SNE: the rest comes from the CPU, and the note names it */
    av_project_backend_complete(&stand_in, &got, note, sizeof note);
    CHECK(got.tsne == counting_tsne && got.knn == av_knn_build && got.pca == av_pca && got.umap == av_umap);
    CHECK(!strcmp(got.name, "stand-in") && got.tsne_batch == lone_batch && got.batch_heads == 2);
    CHECK_MSG(!strcmp(note, "the stand-in backend has no knn, pca, umap; using the CPU's"), "note: %s", note);
    /* a complete one is left alone */
    av_project_backend whole = *cpu;
    whole.name = "whole";
    av_project_backend_complete(&whole, &got, note, sizeof note);
    CHECK(!memcmp(&got, &whole, sizeof got) && note[0] == 0);
    av_project_backend_complete(&stand_in, &got, NULL, 0);   /* no note wanted */
    CHECK(got.umap == av_umap);

    /* CUDA: its own table where a device is usable, else a refusal with the reason */
    char why[256] = "";
    if (av_cuda_device_count(why, sizeof why) > 0) {
        CHECK(av_project_backend_for(AV_DEVICE_CUDA, &got, note, sizeof note) == AV_OK);
        CHECK(!strcmp(got.name, "cuda") && got.tsne_batch != NULL && got.batch_heads > 1 && note[0] == 0);
    } else {
        CHECK(av_project_backend_for(AV_DEVICE_CUDA, &got, note, sizeof note) == AV_ERR);
        CHECK(av_project_backend_cuda() == NULL && av_last_error()[0] != 0);
        printf("no CUDA table here: %s\n", av_last_error());
    }
}

static char scratch[] = "/tmp/av_test_project_backend_XXXXXX";

/* A fresh copy of run_small at scratch/name. */
static void fresh_run(const char *name, char *dir, size_t len) {
    snprintf(dir, len, "%s/%s", scratch, name);
    char cmd[8400];
    snprintf(cmd, sizeof cmd, "cp -r '%s/tests/fixtures/projections/run_small' '%s'", AV_SOURCE_DIR, dir);
    CHECK(system(cmd) == 0);
}

/* proj/<file> of a run folder, whole (the caller frees), or NULL */
static char *read_proj(const char *dir, const char *file, size_t *n) {
    char path[8400];
    snprintf(path, sizeof path, "%s/proj/%s", dir, file);
    char *data = av_read_file(path, n);
    if (!data) av_clear_error();
    return data;
}

static int project(const char *dir, av_proj_method method, const av_project_backend *be) {
    av_run r;
    if (av_run_open(dir, &r) != AV_OK) return AV_ERR;
    av_project_opts o;
    av_project_defaults(&o);
    o.method = method;
    static const int heads[] = {0, 0, 0, 1, 1, 2};
    o.heads = heads;
    o.num_heads = 3;
    o.tsne.iters = 120;
    o.tsne.early_iters = 60;
    o.umap.epochs = 30;
    o.backend = be;
    int rc = av_project_run(&r, &o);
    av_run_close(&r);
    return rc;
}

static void test_project(void) {
    char a[4200], b[4200];
    fresh_run("cpu", a, sizeof a);
    fresh_run("batch", b, sizeof b);
    CHECK_MSG(project(a, AV_PROJ_TSNE, NULL) == AV_OK, "t-SNE on the CPU: %s", av_last_error());
    CHECK_MSG(project(b, AV_PROJ_TSNE, &stand_in) == AV_OK, "t-SNE by batches: %s", av_last_error());
    /* three heads, two at a time: a batch of two, then one of one; no lone calls */
    CHECK_MSG(batch_calls == 2 && batch_most == 2 && tsne_calls == 0, "batches %d (largest %d), lone calls %d",
              batch_calls, batch_most, tsne_calls);
    CHECK(progress_calls == 2);
    size_t na = 0, nb = 0;
    char *pa = read_proj(a, "tsne-2d.npy", &na), *pb = read_proj(b, "tsne-2d.npy", &nb);
    CHECK_MSG(pa && pb && na == nb && !memcmp(pa, pb, na), "the batch's t-SNE differs from the CPU's head by head");
    free(pa);
    free(pb);
    /* UMAP: the stand-in has none, so the CPU's runs, with the CPU's bytes */
    CHECK(project(a, AV_PROJ_UMAP, NULL) == AV_OK);
    CHECK(project(b, AV_PROJ_UMAP, &stand_in) == AV_OK);
    pa = read_proj(a, "umap-2d.npy", &na);
    pb = read_proj(b, "umap-2d.npy", &nb);
    CHECK_MSG(pa && pb && na == nb && !memcmp(pa, pb, na), "UMAP from the CPU's slot differs from the CPU's");
    free(pa);
    free(pb);
}

static void test_live(void) {
    char dir[4200];
    fresh_run("live", dir, sizeof dir);
    av_run r;
    CHECK(av_run_open(dir, &r) == AV_OK);
    av_project_opts o;
    av_project_defaults(&o);
    o.tsne.iters = 40;
    o.tsne.early_iters = 20;
    o.backend = &stand_in;
    av_live lv;
    tsne_calls = 0;
    CHECK_MSG(av_live_start(&lv, &r, &o, 1, 2) == AV_OK, "live: %s", av_last_error());
    CHECK(!strcmp(lv.backend, "stand-in") && strstr(lv.note, "no knn, pca, umap") != NULL);
    CHECK_MSG(lv.gpu == NULL, "a table other than CUDA's got device slots");
    int64_t seen = 0;
    av_live_frame f = {.slot = -1};
    int taken = 0, last = 0, ordered = 1;
    for (int i = 0; i < 6000 && f.done == 0; i++) {
        int r = av_live_take(&lv, &seen, 1, &f);
        CHECK(r == 0 || r == 1);
        if (r == 1) {
            taken++;
            ordered &= f.iter >= last && f.slot >= 0 && f.slot < 3 && !f.on_device;
            last = f.iter;
        }
        if (!f.done) usleep(10000);
    }
    CHECK_MSG(f.done == 1 && f.iter == 40, "live: done %d at iteration %d", f.done, f.iter);
    CHECK_MSG(taken >= 1 && ordered, "live: %d frames taken, iterations in order %d", taken, ordered);
    /* the last frame the viewer holds is the finished projection */
    CHECK(f.slot >= 0 && !memcmp(lv.host[f.slot], lv.result, (size_t)lv.n * 2 * sizeof(float)));
    CHECK(av_live_take(&lv, &seen, 1, &f) == 0);  /* nothing newer */
    av_live_free(&lv);
    CHECK_MSG(tsne_calls == 1, "the live worker called the table's t-SNE %d times", tsne_calls);
    av_run_close(&r);
}

int main(void) {
    test_tables();
    if (!mkdtemp(scratch)) { perror("mkdtemp"); return 1; }
    test_project();
    test_live();
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", scratch);
    return av_check_summary("test_project_backend");
}
