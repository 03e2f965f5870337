/* test_extract.c - the whole extraction pipeline (engine/extract.h) end to end on the CPU:
 * tokenizer + dataset loader + forward pass + run folder, checked against transformers'
 * activations (tests/fixtures/activations/<case>/, with data.jsonl / data.txt / images/
 * holding the same inputs). For every token of the run, found through token_item and
 * token_pos, q, k and |v| of every layer and head must match the fixture with a relative
 * L2 error <= 1e-4 (f32 storage) or <= 1e-3 (f16 storage). Batches of 2 items force the
 * length sorting and padding path. Also: --max-tokens keeps whole items, the run folder
 * opens with av_run_open, and an existing run is refused without force and left intact. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <math.h>
#include <signal.h>
#include <cjson/cJSON.h>
#include "engine/extract.h"
#include "engine/runfolder.h"
#include "base/util.h"
#include "models/model.h"
#include "models/safetensors.h"
#include "tests/check.h"

#define FIX "tests/fixtures/activations/"
static char scratch[] = "/tmp/attnviz_test_extract.XXXXXX";

static float fix_get(const av_npy *a, int64_t i) { return av_npy_get_f32(a, i); }

/* Compares one run with the fixture case; returns the number of arrays compared. */
static int compare_run(const char *run_dir, const char *case_name, double tol) {
    av_run r;
    if (av_run_open(run_dir, &r)) {
        CHECK_MSG(0, "%s", av_last_error());
        return 0;
    }
    char path[512];
    snprintf(path, sizeof path, FIX "%s/hidden.npy", case_name);
    av_npy hid;
    CHECK(av_npy_open(path, &hid) == 0);
    int64_t Tf = hid.shape[1];
    av_npy_close(&hid);
    av_npy vn;
    char vpath[4200];
    CHECK(av_npy_open(av_run_path(&r, vpath, sizeof vpath, "v_norm.npy"), &vn) == 0);
    int H = r.num_heads, d = r.head_dim, compared = 0;
    int64_t T = r.num_tokens;
    const int32_t *ti = r.token_item.data, *tp = r.token_pos.data;
    for (int l = 0; l < r.num_layers; l++) {
        for (int which = 0; which < 3; which++) {
            const char *nm = which == 0 ? "q" : which == 1 ? "k" : "vnorm";
            snprintf(path, sizeof path, FIX "%s/%s%d.npy", case_name, nm, l);
            if (!av_file_exists(path)) continue;
            av_npy ref;
            if (av_npy_open(path, &ref)) {
                CHECK_MSG(0, "%s", av_last_error());
                continue;
            }
            double num = 0, den = 0;
            const av_npy *ours = which == 0 ? &r.q : which == 1 ? &r.k : &vn;
            int w = which == 2 ? 1 : d;
            for (int h = 0; h < H; h++)
                for (int64_t t = 0; t < T; t++)
                    for (int i = 0; i < w; i++) {
                        double x = av_npy_get_f32(ours, ((((int64_t)l * H + h) * T) + t) * w + i);
                        double y = fix_get(&ref, (((int64_t)ti[t] * H + h) * Tf + tp[t]) * w + i);
                        num += (x - y) * (x - y);
                        den += y * y;
                    }
            double err = sqrt(num / den);
            CHECK_MSG(err <= tol, "%s layer %d %s: relative L2 error %.3g", case_name, l, nm, err);
            compared++;
            av_npy_close(&ref);
        }
    }
    av_npy_close(&vn);
    av_run_close(&r);
    return compared;
}

static void run_case(const char *model, const char *data, const char *case_name, int64_t want_tokens) {
    char run[512];
    snprintf(run, sizeof run, "%s/%s", scratch, case_name);
    av_extract_opts o;
    av_extract_defaults(&o);
    o.device = AV_DEVICE_CPU;
    o.batch = 2;
    o.dtype = AV_DT_F32;
    av_extract_result res;
    int rc = av_extract(model, data, run, &o, &res);
    CHECK_MSG(rc == 0, "extract %s: %s", case_name, av_last_error());
    if (rc) return;
    CHECK_MSG(res.tokens == want_tokens, "%s: %lld tokens, fixture has %lld", case_name, (long long)res.tokens,
              (long long)want_tokens);
    int n = compare_run(run, case_name, 1e-4);
    CHECK_MSG(n >= 6, "%s: only %d arrays compared", case_name, n);
    /* f16 storage, replacing the f32 run */
    o.dtype = AV_DT_F16;
    o.force = 1;
    o.batch = 3;
    CHECK(av_extract(model, data, run, &o, NULL) == 0);
    CHECK(compare_run(run, case_name, 1e-3) == n);
    printf("%-10s %lld tokens, %d arrays match (f32 and f16 storage)\n", case_name, (long long)res.tokens, n);
}

static int64_t fixture_tokens(const char *case_name) {
    char path[512];
    snprintf(path, sizeof path, FIX "%s/lengths.npy", case_name);
    av_npy a;
    if (av_npy_open(path, &a)) return -1;
    int64_t s = 0;
    for (int64_t i = 0; i < a.count; i++) s += (int64_t)av_npy_get_f32(&a, i);
    av_npy_close(&a);
    return s;
}

/* Reads a whole f32 array into memory (NULL on failure). */
static float *read_f32(const char *run, const char *name, int64_t *count) {
    char path[700];
    snprintf(path, sizeof path, "%s/%s", run, name);
    av_npy a;
    if (av_npy_open(path, &a)) return NULL;
    float *x = malloc(sizeof(float) * (size_t)a.count);
    for (int64_t i = 0; x && i < a.count; i++) x[i] = av_npy_get_f32(&a, i);
    *count = a.count;
    av_npy_close(&a);
    return x;
}

static void test_max_tokens_and_refusal(void) {
    char run[512];
    snprintf(run, sizeof run, "%s/capped", scratch);
    av_extract_opts o;
    av_extract_defaults(&o);
    o.device = AV_DEVICE_CPU;
    o.max_tokens = 25 + 5 + 3; /* items of 25 and 5 tokens fit, the third (14) does not */
    av_extract_result res;
    CHECK(av_extract("tests/fixtures/models/bert-tiny", FIX "bert-tiny/data.jsonl", run, &o, &res) == 0);
    CHECK(res.items == 2 && res.tokens == 30);
    /* an existing run is refused without force, and stays as it was */
    o.max_tokens = 0;
    CHECK(av_extract("tests/fixtures/models/bert-tiny", FIX "bert-tiny/data.jsonl", run, &o, &res) == AV_ERR);
    CHECK(strstr(av_last_error(), "already exists") != NULL);
    av_run r;
    CHECK(av_run_open(run, &r) == 0);
    CHECK(r.num_tokens == 30 && r.num_items == 2);
    av_run_close(&r);
    /* too small a cap for even one item */
    o.max_tokens = 10;
    o.force = 1;
    CHECK(av_extract("tests/fixtures/models/bert-tiny", FIX "bert-tiny/data.jsonl", run, &o, &res) == AV_ERR);
    CHECK(strstr(av_last_error(), "--max-tokens") != NULL);
    CHECK(av_run_open(run, &r) == 0); /* the failed replacement left the old run */
    av_run_close(&r);
    /* nothing left behind but the run itself */
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.partial", run);
    CHECK(!av_is_dir(tmp));
}

/* Compares two runs' q, k and |v| bit for bit; returns 1 when equal. */
static int same_arrays(const char *a, const char *b) {
    const char *arrays[] = {"q.npy", "k.npy", "v_norm.npy"};
    int same = 1;
    for (int i = 0; i < 3; i++) {
        int64_t na = 0, nb = 0;
        float *x = read_f32(a, arrays[i], &na), *y = read_f32(b, arrays[i], &nb);
        same &= x && y && na == nb && !memcmp(x, y, sizeof(float) * (size_t)na);
        free(x);
        free(y);
    }
    return same;
}

/* Stands in for Ctrl-C at a known point, without racing a signal against the batches: a
 * context whose progress callback raises the stop flag at the end of the given batch of
 * this call. The extraction reads the flag after each batch, as it reads the one the
 * command line's signal handler sets. */
typedef struct {
    av_context ctx;
    volatile sig_atomic_t stop;
    int batches_left;
} stopper;

static void count_batches(void *user, const av_progress_report *r) {
    stopper *s = user;
    if (r->phase == AV_PROGRESS_STEP && --s->batches_left == 0) s->stop = 1;
}

static const av_context *stop_after_batches(stopper *s, int batches) {
    memset(s, 0, sizeof *s);
    s->ctx.stop = &s->stop;
    s->ctx.progress = count_batches;
    s->ctx.user = s;
    s->batches_left = batches;
    return &s->ctx;
}

/* Interrupted twice (the stop flag stands in for Ctrl-C after a batch), resumed twice:
 * the arrays and the manifest's sums equal an uninterrupted run's. A checkpoint made
 * with other parameters is not resumed. */
static void test_resume(void) {
    const char *model = "tests/fixtures/models/bert-tiny", *data = "datasets/samples/sentences.txt";
    char ref[512], run[512], part[600];
    snprintf(ref, sizeof ref, "%s/resume-ref", scratch);
    snprintf(run, sizeof run, "%s/resume", scratch);
    snprintf(part, sizeof part, "%s.partial", run);
    av_extract_opts o;
    av_extract_defaults(&o);
    o.device = AV_DEVICE_CPU;
    o.dtype = AV_DT_F32;
    o.batch = 7;
    o.max_items = 100;
    CHECK_MSG(av_extract(model, data, ref, &o, NULL) == 0, "%s", av_last_error());
    stopper stop;
    o.ctx = stop_after_batches(&stop, 3);   /* batches of 7: the third passes 20 items */
    CHECK(av_extract(model, data, run, &o, NULL) == AV_ERR);
    CHECK_MSG(strstr(av_last_error(), "interrupted after 21 of 100 items"), "%s", av_last_error());
    CHECK(av_is_dir(part) && !av_is_dir(run));
    o.ctx = stop_after_batches(&stop, 6);   /* resumed at 21: the sixth batch passes 60 */
    /* the same batch size: batches line up with the uninterrupted run's, so the numbers
     * must be equal to the bit (other sizes pad differently and round the GEMMs apart) */
    CHECK(av_extract(model, data, run, &o, NULL) == AV_ERR);
    CHECK_MSG(strstr(av_last_error(), "interrupted after 63 of 100 items"), "%s", av_last_error());
    o.ctx = NULL;
    av_extract_result res;
    CHECK_MSG(av_extract(model, data, run, &o, &res) == 0, "%s", av_last_error());
    CHECK(res.items == 100 && !av_is_dir(part));
    CHECK_MSG(same_arrays(ref, run), "resumed arrays differ from an uninterrupted run's");
    av_run ra, rb;
    if (av_run_open(ref, &ra) == 0) {
        if (av_run_open(run, &rb) == 0) {
            const char *keys[] = {"qnorm_mean", "knorm_mean", "vnorm_mean"};
            for (int i = 0; i < 3; i++) {
                const cJSON *x = cJSON_GetObjectItemCaseSensitive(ra.manifest, keys[i]);
                const cJSON *y = cJSON_GetObjectItemCaseSensitive(rb.manifest, keys[i]);
                for (int l = 0; x && y && l < ra.num_layers; l++)
                    for (int h = 0; h < ra.num_heads; h++) {
                        double a = cJSON_GetArrayItem(cJSON_GetArrayItem(x, l), h)->valuedouble;
                        double b = cJSON_GetArrayItem(cJSON_GetArrayItem(y, l), h)->valuedouble;
                        CHECK_MSG(fabs(a - b) <= 1e-12 * fabs(a), "%s[%d][%d]: %.17g vs %.17g", keys[i], l, h, a, b);
                    }
            }
            char rj[700];
            snprintf(rj, sizeof rj, "%s/resume.json", run);
            CHECK(!av_file_exists(rj));
            av_run_close(&rb);
        }
        av_run_close(&ra);
    }
    /* a broken checkpoint (truncated JSON) starts afresh and still completes */
    o.ctx = stop_after_batches(&stop, 5);   /* 35 items */
    o.force = 1;
    CHECK(av_extract(model, data, run, &o, NULL) == AV_ERR);
    o.ctx = NULL;
    char rjson[700];
    snprintf(rjson, sizeof rjson, "%s/resume.json", part);
    FILE *f = fopen(rjson, "w");
    CHECK(f != NULL);
    if (f) { fputs("{\"params\": {\"model\": ", f); fclose(f); }
    CHECK_MSG(av_extract(model, data, run, &o, &res) == 0, "%s", av_last_error());
    CHECK_MSG(same_arrays(ref, run), "a run started afresh over a broken checkpoint differs");
    /* a checkpoint of other parameters (here: dtype) starts afresh and still completes */
    o.ctx = stop_after_batches(&stop, 5);
    o.force = 1;
    CHECK(av_extract(model, data, run, &o, NULL) == AV_ERR);
    o.ctx = NULL;
    o.dtype = AV_DT_F16;
    CHECK_MSG(av_extract(model, data, run, &o, &res) == 0, "%s", av_last_error());
    av_run r16;
    CHECK(av_run_open(run, &r16) == 0 && r16.q.dtype == AV_DT_F16);
    av_run_close(&r16);
    CHECK(!av_is_dir(part));
}

/* --max-memory: a budget that holds one item per batch gives the same arrays as the
 * automatic batches; one too small for any item is refused with the sizes; the
 * manifest's norm means are the means of the stored vectors' norms. */
static void test_memory_budget(void) {
    const char *model = ".deps/models/all-MiniLM-L6-v2", *data = FIX "minilm/data.jsonl";
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/budget-auto", scratch);
    snprintf(b, sizeof b, "%s/budget-small", scratch);
    av_extract_opts o;
    av_extract_defaults(&o);
    o.device = AV_DEVICE_CPU;
    o.dtype = AV_DT_F32;
    CHECK_MSG(av_extract(model, data, a, &o, NULL) == 0, "%s", av_last_error());
    /* what one item of the longest length needs: weights + fixed + per_row * T */
    av_model m;
    CHECK(av_model_load(model, av_backend_cpu(), &m) == 0);
    CHECK(av_model_set_pack(&m, AV_DT_F32) == 0);
    int64_t per, fixed, weights = m.weight_bytes;
    av_model_memory(&m, &per, &fixed);
    av_model_free(&m);
    av_run r;
    int longest = 0;
    av_npy lens;
    CHECK(av_npy_open(FIX "minilm/lengths.npy", &lens) == 0);
    for (int64_t i = 0; i < lens.count; i++)
        if ((int)av_npy_get_f32(&lens, i) > longest) longest = (int)av_npy_get_f32(&lens, i);
    av_npy_close(&lens);
    o.max_memory = weights + fixed + per * longest + per / 2; /* one item of the longest, never two */
    CHECK_MSG(av_extract(model, data, b, &o, NULL) == 0, "%s", av_last_error());
    int64_t na = 0, nb = 0;
    const char *arrays[] = {"q.npy", "k.npy", "v_norm.npy"};
    for (int i = 0; i < 3; i++) {
        float *x = read_f32(a, arrays[i], &na), *y = read_f32(b, arrays[i], &nb);
        CHECK(x && y && na == nb && na > 0);
        double e = 0, w = 0;   /* other batch shapes round the GEMMs differently: ~1e-7 */
        for (int64_t j = 0; x && y && na == nb && j < na; j++) {
            e += ((double)x[j] - y[j]) * ((double)x[j] - y[j]);
            w += (double)y[j] * y[j];
        }
        CHECK_MSG(sqrt(e / (w > 0 ? w : 1)) <= 1e-5, "%s: one item per batch differs by %.2e", arrays[i], sqrt(e / (w > 0 ? w : 1)));
        free(x);
        free(y);
    }
    /* one byte less than the weights, fixed reserve and one longest item */
    o.max_memory = weights + fixed + per * longest - 1;
    o.force = 1;
    CHECK(av_extract(model, data, b, &o, NULL) == AV_ERR);
    CHECK_MSG(strstr(av_last_error(), "--max-memory") && strstr(av_last_error(), "too small"), "%s", av_last_error());
    /* qnorm_mean / knorm_mean / vnorm_mean against the arrays */
    CHECK(av_run_open(a, &r) == 0);
    const char *means[] = {"qnorm_mean", "knorm_mean"};
    int64_t n;
    float *q = read_f32(a, "q.npy", &n), *k = read_f32(a, "k.npy", &n);
    int H = r.num_heads, d = r.head_dim;
    int64_t T = r.num_tokens;
    for (int w = 0; w < 2; w++) {
        const cJSON *arr = cJSON_GetObjectItemCaseSensitive(r.manifest, means[w]);
        CHECK_MSG(cJSON_GetArraySize(arr) == r.num_layers, "manifest %s", means[w]);
        for (int l = 0; l < r.num_layers && cJSON_GetArraySize(arr) == r.num_layers; l++)
            for (int h = 0; h < H; h++) {
                const float *x = (w ? k : q) + ((int64_t)l * H + h) * T * d;
                double s = 0;
                for (int64_t t = 0; t < T; t++) {
                    double nn = 0;
                    for (int i = 0; i < d; i++) nn += (double)x[t * d + i] * x[t * d + i];
                    s += sqrt(nn);
                }
                double got = cJSON_GetArrayItem(cJSON_GetArrayItem(arr, l), h)->valuedouble;
                CHECK_MSG(fabs(got - s / T) <= 1e-5 * (s / T), "%s[%d][%d] %.7g vs %.7g", means[w], l, h, got, s / T);
            }
    }
    free(q);
    free(k);
    av_run_close(&r);
}

/* A query bias of 1e6 pushes q past the f16 range: counted (and in the manifest) with f16
 * storage, absent with f32. The checkpoint is bert-tiny with that bias rewritten in place. */
static void test_f16_overflow(void) {
    char dir[600], path[700];
    snprintf(dir, sizeof dir, "%s/huge-bias", scratch);
    av_mkdir_p(dir);
    const char *files[] = {"config.json", "vocab.txt", "tokenizer_config.json", "model.safetensors"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char src[300];
        size_t n;
        snprintf(src, sizeof src, "tests/fixtures/models/bert-tiny/%s", files[i]);
        char *c = av_read_file(src, &n);
        if (!c) continue;
        if (i == 3) { /* scale the bias where it lies in the file */
            av_safetensors st;
            CHECK(av_safetensors_open(src, &st) == AV_OK);
            const av_st_tensor *t = av_safetensors_find(&st, "encoder.layer.0.attention.self.query.bias");
            CHECK(t && t->dtype == AV_ST_F32);
            if (t) {
                size_t at = (size_t)((const uint8_t *)t->data - st.maps[0].data);
                for (int64_t k = 0; k < t->numel; k++) {
                    float v;
                    memcpy(&v, c + at + 4 * k, 4);
                    v = 1e6f;
                    memcpy(c + at + 4 * k, &v, 4);
                }
            }
            av_safetensors_close(&st);
        }
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        av_write_file_atomic(path, c, n);
        free(c);
    }
    char run[700];
    snprintf(run, sizeof run, "%s/huge-run", scratch);
    av_extract_opts o;
    av_extract_defaults(&o);
    o.device = AV_DEVICE_CPU;
    av_extract_result res;
    CHECK_MSG(av_extract(dir, FIX "bert-tiny/data.jsonl", run, &o, &res) == AV_OK, "%s", av_last_error());
    CHECK_MSG(res.f16_overflow > 0, "f16 overflow not counted (%lld)", (long long)res.f16_overflow);
    av_run r;
    if (av_run_open(run, &r) == AV_OK) {
        const cJSON *ov = cJSON_GetObjectItemCaseSensitive(r.manifest, "f16_overflow");
        CHECK(cJSON_IsNumber(ov) && ov->valuedouble == (double)res.f16_overflow);
        av_run_close(&r);
    }
    o.dtype = AV_DT_F32;
    o.force = 1;
    CHECK(av_extract(dir, FIX "bert-tiny/data.jsonl", run, &o, &res) == AV_OK);
    CHECK(res.f16_overflow == 0);
}

int main(void) {
    if (!mkdtemp(scratch)) {
        perror("mkdtemp");
        return 1;
    }
    run_case("tests/fixtures/models/bert-tiny", FIX "bert-tiny/data.jsonl", "bert-tiny", fixture_tokens("bert-tiny"));
    run_case("tests/fixtures/models/gpt2-tiny", FIX "gpt2-tiny/data.txt", "gpt2-tiny", fixture_tokens("gpt2-tiny"));
    run_case(".deps/models/all-MiniLM-L6-v2", FIX "minilm/data.jsonl", "minilm", fixture_tokens("minilm"));
    run_case("tests/fixtures/models/vit-tiny", FIX "vit-tiny/images", "vit-tiny", 2 * 17);
    test_max_tokens_and_refusal();
    test_f16_overflow();
    test_memory_budget();
    test_resume();
    av_rm_rf(scratch);
    return av_check_summary("test_extract");
}
