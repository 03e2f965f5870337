/* dataset.c - loading text, JSONL and image-folder datasets (see dataset.h for the
 * rules: what is an item, what is bad, how sampling chooses). */
#include "datasets/dataset.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "datasets/image.h"
#include "datasets/textline.h"
#include "base/util.h"
#include "base/rng.h"

/* Deeper than this is taken for a symlink loop. */
#define MAX_FOLDER_DEPTH 64

av_dataset_opts av_dataset_opts_default(void) {
    av_dataset_opts o;
    memset(&o, 0, sizeof o);
    o.strict = 1;
    return o;
}

typedef struct {
    av_dataset_t *ds;
    const av_dataset_opts *opts;
    int64_t cap;
} loader;

/* Reports one bad line or image: an error when strict, else counted and passed on.
 * Returns AV_OK when loading may go on. */
static int bad_item(loader *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad_item(loader *L, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (L->opts->strict) return av_fail("%s", msg);
    L->ds->bad++;
    L->ds->skipped++;
    if (!L->ds->first_bad[0]) snprintf(L->ds->first_bad, sizeof L->ds->first_bad, "%s", msg);
    if (L->opts->on_skip) L->opts->on_skip(L->opts->on_skip_ctx, msg);
    return AV_OK;
}

/* Appends an item, taking ownership of the strings (freed here on failure). */
static int push_item(loader *L, char *text, char *text_b, char *label, int64_t line) {
    av_dataset_t *ds = L->ds;
    if (ds->count == L->cap) {
        int64_t cap = L->cap ? 2 * L->cap : 256;
        av_item *p = realloc(ds->items, (size_t)cap * sizeof *p);
        if (!p) {
            free(text); free(text_b); free(label);
            return av_fail("out of memory reading %s", ds->source);
        }
        ds->items = p;
        L->cap = cap;
    }
    ds->items[ds->count++] = (av_item){text, text_b, label, line};
    return AV_OK;
}

static char *dup_n(const char *s, size_t n) {
    char *d = av_malloc(n + 1);
    if (d) { memcpy(d, s, n); d[n] = 0; }
    return d;
}

static int ends_with_ci(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcasecmp(s + n - m, suffix);
}

static char *read_stdin(size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *buf = av_malloc(cap + 1);
    if (!buf) return NULL;
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, stdin)) > 0) {
        n += got;
        if (n == cap) {
            char *p = realloc(buf, 2 * cap + 1);
            if (!p) { free(buf); av_fail("-: out of memory reading standard input"); return NULL; }
            buf = p;
            cap *= 2;
        }
    }
    if (ferror(stdin)) { free(buf); av_fail("-: read error on standard input"); return NULL; }
    buf[n] = 0;
    *len = n;
    return buf;
}

/* Text and JSONL: one item per non-blank line. */
static int load_lines(loader *L, const char *buf, size_t len, int jsonl) {
    av_dataset_t *ds = L->ds;
    const char *name = strcmp(ds->source, "-") ? ds->source : "<stdin>";
    size_t pos = 0;
    if (len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3)) pos = 3;
    int64_t lineno = 0, blank = 0;
    while (pos < len) {
        const char *s = buf + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += n + (nl ? 1 : 0);
        lineno++;
        size_t tn = n;
        const char *t = av_text_trim(s, &tn);
        if (tn == 0) { blank++; ds->skipped++; continue; }
        if (jsonl) {
            char *text, *text_b;
            int rc = av_jsonl_parse_item(t, tn, &text, &text_b);
            if (rc == AV_ERR_NOMEM) return rc;
            if (rc != AV_OK) {
                char why[1024];
                snprintf(why, sizeof why, "%s", av_last_error());
                if (bad_item(L, "%s:%lld: %s", name, (long long)lineno, why) != AV_OK) return AV_ERR;
                continue;
            }
            if (push_item(L, text, text_b, NULL, lineno) != AV_OK) return AV_ERR;
        } else {
            if (av_utf8_check(t, tn) != AV_OK) {
                /* The byte number counts from the start of the line, not the trimmed text. */
                int64_t off = av_utf8_invalid_at(t, tn);
                const char *what = t[off] == 0 ? "NUL byte" : "invalid UTF-8";
                if (bad_item(L, "%s:%lld: %s at byte %lld", name, (long long)lineno, what,
                             (long long)(off + (t - s) + 1)) != AV_OK)
                    return AV_ERR;
                continue;
            }
            char *text = dup_n(t, tn);
            if (!text) return AV_ERR_NOMEM;
            if (push_item(L, text, NULL, NULL, lineno) != AV_OK) return AV_ERR;
        }
    }
    if (ds->count == 0) {
        if (lineno == 0) return av_fail("%s: no items (empty file)", name);
        if (ds->bad == 0) return av_fail("%s: no items (only blank lines)", name);
        return av_fail("%s: no items: all %lld non-blank lines are bad; first: %s", name,
                       (long long)ds->bad, ds->first_bad);
    }
    return AV_OK;
}

/* ---- image folders ------------------------------------------------------------- */

typedef struct { char **v; size_t n, cap; } strlist;

static int strlist_push(strlist *l, char *s) {
    if (!s) return AV_ERR_NOMEM;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        char **p = realloc(l->v, cap * sizeof *p);
        if (!p) { free(s); return av_fail("out of memory listing images"); }
        l->v = p;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return AV_OK;
}

static void strlist_free(strlist *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static int is_image_name(const char *name) {
    return ends_with_ci(name, ".jpg") || ends_with_ci(name, ".jpeg") || ends_with_ci(name, ".png");
}

/* Collects image paths relative to root below root/rel. */
static int walk(loader *L, const char *root, const char *rel, int depth, strlist *out) {
    char dir[4096];
    if (rel[0]) av_path_join(dir, sizeof dir, root, rel);
    else snprintf(dir, sizeof dir, "%s", root);
    if (depth > MAX_FOLDER_DEPTH)
        return bad_item(L, "%s: folders nested deeper than %d (a symlink loop?)", dir, MAX_FOLDER_DEPTH);
    DIR *d = opendir(dir);
    if (!d) return bad_item(L, "%s: cannot open folder: %s", dir, strerror(errno));
    struct dirent *e;
    int rc = AV_OK;
    while (rc == AV_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue; /* ".", "..", and hidden files / folders */
        char sub[4096], full[4096];
        if (rel[0]) av_path_join(sub, sizeof sub, rel, e->d_name);
        else snprintf(sub, sizeof sub, "%s", e->d_name);
        av_path_join(full, sizeof full, root, sub);
        struct stat st;
        if (stat(full, &st) != 0) continue; /* a dangling symlink is no image */
        if (S_ISDIR(st.st_mode)) rc = walk(L, root, sub, depth + 1, out);
        else if (S_ISREG(st.st_mode) && is_image_name(e->d_name))
            rc = strlist_push(out, strdup(sub));
    }
    closedir(d);
    return rc;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_images(loader *L, const char *root) {
    av_dataset_t *ds = L->ds;
    strlist files = {0};
    int rc = walk(L, root, "", 0, &files);
    if (rc != AV_OK) { strlist_free(&files); return rc; }
    if (files.n) qsort(files.v, files.n, sizeof *files.v, cmp_str); /* v is NULL when empty */
    for (size_t i = 0; i < files.n && rc == AV_OK; i++) {
        char full[4096];
        av_path_join(full, sizeof full, root, files.v[i]);
        if (av_image_check(full, NULL, NULL) != AV_OK) {
            char why[1024];
            snprintf(why, sizeof why, "%s", av_last_error());
            rc = bad_item(L, "%s", why);
            continue;
        }
        const char *slash = strchr(files.v[i], '/');
        char *label = NULL;
        if (slash && !(label = dup_n(files.v[i], (size_t)(slash - files.v[i])))) { rc = AV_ERR_NOMEM; break; }
        char *path = strdup(full);
        if (!path) { free(label); rc = av_fail("out of memory listing images"); break; }
        rc = push_item(L, path, NULL, label, (int64_t)i + 1);
    }
    size_t found = files.n;
    strlist_free(&files);
    if (rc != AV_OK) return rc;
    if (ds->count == 0) {
        if (found == 0) return av_fail("%s: no JPEG or PNG images in this folder", root);
        return av_fail("%s: no items: all %zu images are unreadable; first: %s", root, found, ds->first_bad);
    }
    return AV_OK;
}

/* ---- sampling -------------------------------------------------------------------- */


void av_dataset_sample(int64_t n, int64_t keep, uint64_t seed, unsigned char *sel) {
    if (keep > n) keep = n;
    if (keep < 0) keep = 0;
    uint64_t state = seed;
    int64_t need = keep;
    for (int64_t i = 0; i < n; i++) {
        if (seed == 0) { sel[i] = i < keep; continue; }
        /* Algorithm S: take item i with probability need / (n - i). The 53-bit uniform
         * is exact in a double, so every platform makes the same choices. */
        double u = av_rng_uniform(&state);
        sel[i] = need > 0 && u * (double)(n - i) < (double)need;
        need -= sel[i];
    }
}

static int apply_sampling(av_dataset_t *ds, const av_dataset_opts *opts) {
    ds->total = ds->count;
    if (opts->max_items <= 0 || ds->count <= opts->max_items) return AV_OK;
    unsigned char *sel = av_malloc((size_t)ds->count);
    if (!sel) return AV_ERR_NOMEM;
    av_dataset_sample(ds->count, opts->max_items, opts->sample_seed, sel);
    int64_t w = 0;
    for (int64_t i = 0; i < ds->count; i++) {
        if (sel[i]) { ds->items[w++] = ds->items[i]; continue; }
        free(ds->items[i].text);
        free(ds->items[i].text_b);
        free(ds->items[i].label);
    }
    free(sel);
    ds->count = w;
    return AV_OK;
}

/* ---- entry points ------------------------------------------------------------ */

int av_dataset_load(const char *path, const av_dataset_opts *opts, av_dataset_t *ds) {
    memset(ds, 0, sizeof *ds);
    av_dataset_opts defaults = av_dataset_opts_default();
    if (!opts) opts = &defaults;
    if (!path || !path[0]) return av_fail("no dataset given");
    if (strlen(path) >= sizeof ds->source) return av_fail("%.64s...: path too long", path);
    snprintf(ds->source, sizeof ds->source, "%s", path);
    loader L = {ds, opts, 0};
    int rc;
    if (!strcmp(path, "-")) {
        ds->kind = AV_DATA_TEXT;
        size_t len = 0;
        char *buf = read_stdin(&len);
        if (!buf) return AV_ERR;
        rc = load_lines(&L, buf, len, 0);
        free(buf);
    } else if (av_is_dir(path)) {
        ds->kind = AV_DATA_IMAGES;
        rc = load_images(&L, path);
    } else {
        ds->kind = AV_DATA_TEXT;
        size_t len = 0;
        char *buf = av_read_file(path, &len);
        if (!buf) return AV_ERR;
        rc = load_lines(&L, buf, len, ends_with_ci(path, ".jsonl"));
        free(buf);
    }
    if (rc == AV_OK) rc = apply_sampling(ds, opts);
    if (rc != AV_OK) av_dataset_free(ds); /* the message stays: freeing sets none */
    return rc;
}

void av_dataset_free(av_dataset_t *ds) {
    if (!ds) return;
    for (int64_t i = 0; i < ds->count; i++) {
        free(ds->items[i].text);
        free(ds->items[i].text_b);
        free(ds->items[i].label);
    }
    free(ds->items);
    ds->items = NULL;
    ds->count = 0;
}
