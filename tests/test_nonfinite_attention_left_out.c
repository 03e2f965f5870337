/* test_nonfinite_attention_left_out.c - the attention the viewer recomputes from q/k
 * (av_vdata_attention) never holds NaN when q or k does: a token with a non-finite q
 * gets an empty row, one with a non-finite k gets weight 0 from every query, every other
 * row is still a distribution over the remaining keys, and av_vdata_nonfinite counts what
 * was left out for the message the views show. (Before: NaN weights, drawn as lines and
 * printed as "nan" in the sentence view's list.)
 *
 * The run is a copy of tests/fixtures/viewer/run_text (f32, 2 x 3 heads, head_dim 16)
 * with head 0:0 poisoned: q of token 11 ("dog", item 1, position 2) all NaN, one value
 * of k of token 13 ("in", position 4) +Inf. */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/npy.h"
#include "kernels/ops.h"
#include "viewer/viewdata.h"
#include "tests/check.h"

/* A flat copy of src (and its subfolders) into dst. */
static int copy_tree(const char *src, const char *dst) {
    if (av_mkdir_p(dst) != AV_OK) return AV_ERR;
    DIR *d = opendir(src);
    if (!d) return AV_ERR;
    struct dirent *e;
    int rc = AV_OK;
    while (rc == AV_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char s[4200], t[4200];
        av_path_join(s, sizeof s, src, e->d_name);
        av_path_join(t, sizeof t, dst, e->d_name);
        if (av_is_dir(s)) { rc = copy_tree(s, t); continue; }
        size_t n;
        char *buf = av_read_file(s, &n);
        rc = buf ? av_write_file_atomic(t, buf, n) : AV_ERR;
        free(buf);
    }
    closedir(d);
    return rc;
}

/* Overwrites `count` f32 values of head (0, 0), token t, from component c, in file. */
static void poison(const char *dir, const char *file, int64_t T, int d, int64_t t, int c, int count, float v) {
    char path[4200];
    av_path_join(path, sizeof path, dir, file);
    av_npy a;
    CHECK(av_npy_open(path, &a) == AV_OK);
    size_t hdr = (size_t)((const char *)a.data - (const char *)a.map.data);
    av_npy_close(&a);
    int fd = open(path, O_WRONLY);
    for (int i = 0; i < count; i++)
        CHECK(pwrite(fd, &v, sizeof v, (off_t)(hdr + ((size_t)(0 * T + t) * d + c + i) * sizeof v)) == sizeof v);
    close(fd);
}

int main(void) {
    char dir[] = "/tmp/av_nonfinite_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char run[4200];
    av_path_join(run, sizeof run, dir, "run");
    CHECK(copy_tree("tests/fixtures/viewer/run_text", run) == AV_OK);
    const int64_t T = 48;
    const int d = 16;
    poison(run, "q.npy", T, d, 11, 0, d, NAN);
    poison(run, "k.npy", T, d, 13, 5, 1, INFINITY);

    av_vdata vd;
    CHECK_MSG(av_vdata_open(run, &vd) == AV_OK, "%s", av_last_error());
    int64_t bq = -1, bk = -1;
    CHECK(av_vdata_nonfinite(&vd, 0, 0, 1, &bq, &bk) == AV_OK);
    CHECK_MSG(bq == 16 && bk == 1, "counted %lld in q, %lld in k", (long long)bq, (long long)bk);
    CHECK(av_vdata_nonfinite(&vd, 0, 1, 1, &bq, &bk) == AV_OK && bq == 0 && bk == 0); /* another head: clean */
    CHECK(av_vdata_nonfinite(&vd, 0, 0, 0, &bq, &bk) == AV_OK && bq == 0 && bk == 0); /* another item */

    for (int hide = 0; hide < 2; hide++) {
        float *A = NULL;
        int64_t n = 0;
        CHECK(av_vdata_attention(&vd, 0, 0, 1, hide, 0, &A, &n) == AV_OK);
        CHECK(n == vd.item_len[1]);
        const int64_t q_bad = 11 - vd.item_start[1], k_bad = 13 - vd.item_start[1];
        int64_t nonfinite = 0;
        for (int64_t i = 0; A && i < n; i++) {
            double s = 0;
            for (int64_t j = 0; j < n; j++) {
                nonfinite += !isfinite(A[i * n + j]);
                s += A[i * n + j];
            }
            if (i == q_bad) CHECK_MSG(s == 0, "the row of the NaN query sums to %g", s);
            else CHECK_NEAR(s, 1, 1e-5);
            CHECK_MSG(A[i * n + k_bad] == 0, "query %lld gives the Inf key %g", (long long)i, A[i * n + k_bad]);
        }
        CHECK_MSG(nonfinite == 0, "%lld non-finite attention weights (hide_special %d)", (long long)nonfinite, hide);
        free(A);
    }
    /* the clean head of the same item is untouched by the rule: exactly the attention
     * stats computes (av_attention_probs_cpu over the item's q/k), bit for bit */
    float *A = NULL;
    int64_t n = 0;
    CHECK(av_vdata_attention(&vd, 0, 1, 1, 0, 0, &A, &n) == AV_OK);
    float *P = malloc((size_t)(n * n + 1) * sizeof *P);
    const float *q = (const float *)vd.run.q.data + ((int64_t)1 * T + vd.item_start[1]) * d;
    const float *k = (const float *)vd.run.k.data + ((int64_t)1 * T + vd.item_start[1]) * d;
    CHECK(vd.run.q.dtype == AV_DT_F32 && P && av_attention_probs_cpu(P, q, k, (int)n, d, vd.is_gpt2) == AV_OK);
    CHECK_MSG(A && P && !memcmp(A, P, (size_t)(n * n) * sizeof *A), "the clean head's attention is not the stats' one");
    for (int64_t i = 0; A && i < n; i++) {
        double s = 0;
        for (int64_t j = 0; j < n; j++) s += A[i * n + j];
        CHECK_NEAR(s, 1, 1e-5);
    }
    free(A);
    free(P);
    av_vdata_close(&vd);
    av_rm_rf(dir);
    return av_check_summary("test_nonfinite_attention_left_out");
}
