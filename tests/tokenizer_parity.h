/* tokenizer_parity.h - the corpus and the comparison with Hugging Face's ids shared by
 * tests/test_tokenizers.c and tests/test_tokenizers_llm.c: corpus lines
 * ({"text", "text_b"?} JSON lines) and expected-<name>.jsonl files ({"plain", "ids",
 * "type_ids"} per line, written by the fixture scripts beside them). */
#ifndef AV_TESTS_TOKENIZER_PARITY_H
#define AV_TESTS_TOKENIZER_PARITY_H
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "models/tokenizer.h"
#include "tests/check.h"

#define FIX "tests/fixtures/tokenizers"

typedef struct { char *text, *text_b; } line_t;
typedef struct { line_t *v; int n; } corpus_t;

/* JSON lines of a file, parsed; NULL entries never occur (a bad line fails the test). */
static cJSON **read_jsonl(const char *path, int *count) {
    size_t len;
    char *text = av_read_file(path, &len);
    *count = 0;
    if (!text) { fprintf(stderr, "%s\n", av_last_error()); return NULL; }
    int cap = 1;
    for (size_t i = 0; i < len; i++) cap += text[i] == '\n';
    cJSON **rows = calloc((size_t)cap, sizeof *rows);
    char *save = NULL;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        cJSON *j = cJSON_Parse(l);
        if (!j) { fprintf(stderr, "%s: bad JSON line %d\n", path, *count + 1); break; }
        rows[(*count)++] = j;
    }
    free(text);
    return rows;
}

static void free_rows(cJSON **rows, int n) {
    for (int i = 0; i < n; i++) cJSON_Delete(rows[i]);
    free(rows);
}

/* Appends the lines of a corpus file to c. */
static int load_corpus(corpus_t *c, const char *path) {
    int n;
    cJSON **rows = read_jsonl(path, &n);
    if (!rows) return -1;
    line_t *v = realloc(c->v, (size_t)(c->n + n) * sizeof *v);
    if (!v) { free_rows(rows, n); return -1; }
    c->v = v;
    for (int i = 0; i < n; i++) {
        const cJSON *t = cJSON_GetObjectItem(rows[i], "text"), *b = cJSON_GetObjectItem(rows[i], "text_b");
        c->v[c->n + i].text = strdup(cJSON_IsString(t) ? t->valuestring : "");
        c->v[c->n + i].text_b = cJSON_IsString(b) ? strdup(b->valuestring) : NULL;
    }
    c->n += n;
    free_rows(rows, n);
    return 0;
}

static int same_ids(const cJSON *want, const int32_t *got, int n) {
    if (cJSON_GetArraySize(want) != n) return 0;
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, want) if ((int32_t)it->valueint != got[i++]) return 0;
    return 1;
}

static void show_diff(const av_tokenizer *t, const char *what, int line, const char *text,
                      const cJSON *want, const av_encoding *e) {
    fprintf(stderr, "  first difference (%s) at corpus line %d: %.80s\n  want:", what, line, text);
    const cJSON *it;
    int k = 0;
    cJSON_ArrayForEach(it, want) if (k++ < 40) {
        const char *s = av_tokenizer_token(t, it->valueint);
        fprintf(stderr, " %d(%s)", it->valueint, s ? s : "?");
    }
    fprintf(stderr, "\n  got: ");
    for (int i = 0; i < e->count && i < 40; i++) {
        const char *s = av_tokenizer_token(t, e->ids[i]);
        fprintf(stderr, " %d(%s)", e->ids[i], s ? s : "?");
    }
    fprintf(stderr, "\n");
}

static void free_corpus(corpus_t *c) {
    for (int i = 0; i < c->n; i++) { free(c->v[i].text); free(c->v[i].text_b); }
    free(c->v);
    memset(c, 0, sizeof *c);
}

/* Encodes the corpus with t and compares with expected-<name>.jsonl; returns lines matched. */
static int parity_with(const char *name, const av_tokenizer *t, const corpus_t *c) {
    char path[512];
    snprintf(path, sizeof path, FIX "/expected-%s.jsonl", name);
    int n;
    cJSON **rows = read_jsonl(path, &n);
    CHECK_MSG(rows && n == c->n, "%s: %d expected lines for %d corpus lines", path, n, c->n);
    if (!rows || n != c->n || !t) { free_rows(rows, n); return 0; }
    av_encoding e = {0};
    int ok_plain = 0, ok_full = 0, shown = 0, tokens = 0, full = 0;
    for (int i = 0; i < n; i++) {
        av_encoding_clear(&e);
        CHECK(av_tokenizer_encode_plain(t, c->v[i].text, &e) == AV_OK);
        const cJSON *want = cJSON_GetObjectItem(rows[i], "plain");
        tokens += e.count;
        if (same_ids(want, e.ids, e.count)) ok_plain++;
        else if (!shown++) show_diff(t, "plain", i + 1, c->v[i].text, want, &e);
        want = cJSON_GetObjectItem(rows[i], "ids");
        if (!want) { ok_full++; continue; }   /* option variants: plain ids only */
        full = 1;
        av_encoding_clear(&e);
        CHECK(av_tokenizer_encode(t, c->v[i].text, c->v[i].text_b, &e) == AV_OK);
        int ids_ok = same_ids(want, e.ids, e.count);
        if (ids_ok && same_ids(cJSON_GetObjectItem(rows[i], "type_ids"), e.type_ids, e.count)) ok_full++;
        else if (!shown++) show_diff(t, ids_ok ? "type ids" : "with special tokens", i + 1, c->v[i].text, want, &e);
    }
    printf("%-20s %d/%d lines identical plain", name, ok_plain, n);
    if (full) printf(", %d/%d with special tokens and type ids", ok_full, n);
    printf(" (%d tokens)\n", tokens);
    CHECK_MSG(ok_plain == n && ok_full == n, "%s: not every line matches Hugging Face", name);
    av_encoding_free(&e);
    free_rows(rows, n);
    return ok_plain;
}

/* The same for the tokenizer of a folder. */
static int parity(const char *name, const char *dir, const char *type, const corpus_t *c) {
    av_tokenizer *t = NULL;
    int rc = av_tokenizer_load(dir, type, &t);
    CHECK_MSG(rc == AV_OK, "%s: %s", dir, av_last_error());
    int ok = parity_with(name, t, c);
    av_tokenizer_free(t);
    return ok;
}
#endif
