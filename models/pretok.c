/* pretok.c - see pretok.h. Each pre-tokenizer step turns a piece into sub-pieces (spans of
 * the piece, or of a rewritten copy of it held per step), and the next step runs on each
 * sub-piece in turn: depth first, so no list of all pieces is ever built. Splitting follows
 * tokenizers' NormalizedString::split: the pattern's matches and the text between them
 * tile the piece, and the behaviour says which to keep and what to join. */
#include "models/pretok.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "models/unichar.h"

struct av_regex { pcre2_code *code; };

const char *const AV_GPT2_SPLIT_REGEX =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

int av_regex_new(const char *pattern, int literal, const char *where, av_regex **out) {
    *out = NULL;
    int err;
    PCRE2_SIZE at;
    /* PCRE2_LITERAL admits no UCP (nothing in a literal depends on it) */
    uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP);
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, opts, &err, &at, NULL);
    if (!code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        return av_fail("%s: regex '%.60s': %s at offset %zu", where, pattern, (const char *)msg, (size_t)at);
    }
    /* JIT is only a speed-up: where the platform has none, the interpreter matches the same */
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
    av_regex *re = av_calloc(1, sizeof *re);
    if (!re) { pcre2_code_free(code); return AV_ERR_NOMEM; }
    re->code = code;
    *out = re;
    return AV_OK;
}

void av_regex_free(av_regex *re) {
    if (!re) return;
    pcre2_code_free(re->code);
    free(re);
}

void av_textpipe_free(av_textpipe *p) {
    for (int i = 0; i < p->n_norm; i++) { free(p->norm[i].text); av_regex_free(p->norm[i].pattern); }
    for (int i = 0; i < p->n_pre; i++) av_regex_free(p->pre[i].pattern);
    memset(p, 0, sizeof *p);
}

int av_buf_put(av_buf *b, const void *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) return av_fail("out of memory (tokenizer buffer)"), AV_ERR_NOMEM;
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
    return AV_OK;
}

void av_buf_free(av_buf *b) { free(b->p); memset(b, 0, sizeof *b); }

/* ---- matches ------------------------------------------------------------------------ */

typedef struct { size_t s, e; int match; } span;
typedef struct { span *v; size_t n, cap; } spans;

struct av_textpipe_work {
    pcre2_match_data *md;
    av_buf norm[2];
    av_buf text[AV_TEXTPIPE_MAX];    /* rewritten piece per pre-tokenizer step */
    spans found, kept[AV_TEXTPIPE_MAX];
};

av_textpipe_work *av_textpipe_work_new(void) {
    av_textpipe_work *w = av_calloc(1, sizeof *w);
    if (!w) return NULL;
    w->md = pcre2_match_data_create(16, NULL);
    if (!w->md) { free(w); av_fail("out of memory (regex match data)"); return NULL; }
    return w;
}

void av_textpipe_work_free(av_textpipe_work *w) {
    if (!w) return;
    pcre2_match_data_free(w->md);
    for (int i = 0; i < 2; i++) av_buf_free(&w->norm[i]);
    for (int i = 0; i < AV_TEXTPIPE_MAX; i++) { av_buf_free(&w->text[i]); free(w->kept[i].v); }
    free(w->found.v);
    free(w);
}

static int spans_push(spans *sp, size_t s, size_t e, int match) {
    if (sp->n == sp->cap) {
        size_t cap = sp->cap ? sp->cap * 2 : 64;
        span *v = realloc(sp->v, cap * sizeof *v);
        if (!v) return av_fail("out of memory (tokenizer buffer)"), AV_ERR_NOMEM;
        sp->v = v;
        sp->cap = cap;
    }
    sp->v[sp->n++] = (span){ s, e, match };
    return AV_OK;
}

/* The matches of re in s[0..n) and the stretches between them, in order, tiling s.
 * An empty match is passed over (the search moves on one character), as no piece can
 * come of it. */
static int regex_tile(const av_regex *re, pcre2_match_data *md, const char *s, size_t n, spans *out) {
    out->n = 0;
    size_t off = 0, prev = 0;
    while (off <= n) {
        int rc = pcre2_match(re->code, (PCRE2_SPTR)s, n, off, 0, md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return av_fail("regex match failed: %s", (const char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t ms = ov[0], me = ov[1];
        if (me <= ms) {
            if (ms >= n) break;
            int32_t cp;
            off = ms + (size_t)av_utf8_next((const uint8_t *)s + ms, n - ms, &cp);
            continue;
        }
        if (prev < ms && spans_push(out, prev, ms, 0)) return AV_ERR_NOMEM;
        if (spans_push(out, ms, me, 1)) return AV_ERR_NOMEM;
        prev = off = me;
    }
    if (prev < n && spans_push(out, prev, n, 0)) return AV_ERR_NOMEM;
    return AV_OK;
}

/* The same for single characters that satisfy is_match (or equal the UTF-8 char). */
static int is_numeric_cp(int32_t c) { return av_uc_is_number(c); }

static int char_tile(const char *s, size_t n, int (*pred)(int32_t), const char *ch, spans *out) {
    out->n = 0;
    size_t prev = 0, chn = ch ? strlen(ch) : 0;
    for (size_t i = 0; i < n;) {
        int32_t cp;
        size_t k = (size_t)av_utf8_next((const uint8_t *)s + i, n - i, &cp);
        int m = pred ? pred(cp) : (k == chn && memcmp(s + i, ch, k) == 0);
        if (m) {
            if (prev < i && spans_push(out, prev, i, 0)) return AV_ERR_NOMEM;
            if (spans_push(out, i, i + k, 1)) return AV_ERR_NOMEM;
            prev = i + k;
        }
        i += k;
    }
    if (prev < n && spans_push(out, prev, n, 0)) return AV_ERR_NOMEM;
    return AV_OK;
}

/* tokenizers' split behaviours over a tiling; out holds the kept spans. */
static int apply_behavior(const spans *in, int behavior, int invert, spans *out) {
    out->n = 0;
    int prev_match = 0;
    if (behavior == AV_SPLIT_MERGED_NEXT) {
        /* right to left: a match joins the piece after it */
        for (size_t k = in->n; k-- > 0;) {
            int m = in->v[k].match ^ invert;
            if (m && !prev_match && out->n) out->v[out->n - 1].s = in->v[k].s;
            else if (spans_push(out, in->v[k].s, in->v[k].e, 0)) return AV_ERR_NOMEM;
            prev_match = m;
        }
        for (size_t a = 0, b = out->n ? out->n - 1 : 0; a < b; a++, b--) {
            span t = out->v[a]; out->v[a] = out->v[b]; out->v[b] = t;
        }
        return AV_OK;
    }
    for (size_t k = 0; k < in->n; k++) {
        int m = in->v[k].match ^ invert;
        switch (behavior) {
        case AV_SPLIT_REMOVED:
            if (!m && spans_push(out, in->v[k].s, in->v[k].e, 0)) return AV_ERR_NOMEM;
            break;
        case AV_SPLIT_ISOLATED:
            if (spans_push(out, in->v[k].s, in->v[k].e, 0)) return AV_ERR_NOMEM;
            break;
        case AV_SPLIT_CONTIGUOUS:
            if (m == prev_match && out->n) out->v[out->n - 1].e = in->v[k].e;
            else if (spans_push(out, in->v[k].s, in->v[k].e, 0)) return AV_ERR_NOMEM;
            break;
        default: /* AV_SPLIT_MERGED_PREV: a match joins the piece before it */
            if (m && !prev_match && out->n) out->v[out->n - 1].e = in->v[k].e;
            else if (spans_push(out, in->v[k].s, in->v[k].e, 0)) return AV_ERR_NOMEM;
            break;
        }
        prev_match = m;
    }
    return AV_OK;
}

/* ---- normalization ------------------------------------------------------------------ */

/* Unicode normalization of the valid UTF-8 stretches of s; a byte that starts no valid
 * character is copied as it is (composition cannot reach across it). */
static int unicode_form(const char *s, size_t n, int kind, av_buf *out) {
    utf8proc_option_t opts = UTF8PROC_STABLE;
    if (kind == AV_NORM_NFC || kind == AV_NORM_NFKC) opts |= UTF8PROC_COMPOSE;
    else opts |= UTF8PROC_DECOMPOSE;
    if (kind == AV_NORM_NFKC || kind == AV_NORM_NFKD) opts |= UTF8PROC_COMPAT;
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n) {
            int32_t cp;
            utf8proc_ssize_t k = utf8proc_iterate((const uint8_t *)s + j, (utf8proc_ssize_t)(n - j > 4 ? 4 : n - j), &cp);
            if (k <= 0) break;
            j += (size_t)k;
        }
        if (j > i) {
            utf8proc_uint8_t *dst = NULL;
            utf8proc_ssize_t k = utf8proc_map((const uint8_t *)s + i, (utf8proc_ssize_t)(j - i), &dst, opts);
            if (k < 0) return av_fail("unicode normalization failed: %s", utf8proc_errmsg(k));
            int rc = av_buf_put(out, dst, (size_t)k);
            free(dst);
            if (rc) return rc;
        }
        if (j < n && av_buf_put(out, s + j, 1)) return AV_ERR_NOMEM;
        i = j + (j < n);
    }
    return AV_OK;
}

int av_textpipe_normalize(const av_textpipe *p, av_textpipe_work *w, const char *s, size_t n, av_buf *out) {
    const char *cur = s;
    size_t len = n;
    int which = 0;
    for (int i = 0; i < p->n_norm; i++) {
        const av_norm_step *st = &p->norm[i];
        av_buf *o = &w->norm[which];
        o->len = 0;
        int rc = AV_OK;
        if (st->kind == AV_NORM_PREPEND) {
            if (len) rc = av_buf_put(o, st->text, strlen(st->text));
            if (rc == AV_OK) rc = av_buf_put(o, cur, len);
        } else if (st->kind == AV_NORM_REPLACE) {
            rc = regex_tile(st->pattern, w->md, cur, len, &w->found);
            for (size_t k = 0; rc == AV_OK && k < w->found.n; k++) {
                const span *sp = &w->found.v[k];
                rc = sp->match ? av_buf_put(o, st->text, strlen(st->text)) : av_buf_put(o, cur + sp->s, sp->e - sp->s);
            }
            if (rc == AV_OK && !len) rc = av_buf_put(o, "", 0);
        } else {
            rc = unicode_form(cur, len, st->kind, o);
            if (rc == AV_OK && !len) rc = av_buf_put(o, "", 0);
        }
        if (rc) return rc;
        cur = o->p;
        len = o->len;
        which ^= 1;
    }
    out->len = 0;
    return av_buf_put(out, cur, len);
}

/* ---- pre-tokenization --------------------------------------------------------------- */

static int run_step(const av_textpipe *p, av_textpipe_work *w, int depth, const char *s, size_t n, int at_start,
                    av_piece_fn piece, void *user) {
    if (!n) return AV_OK;
    if (depth == p->n_pre) return piece(user, (const uint8_t *)s, n);
    const av_pre_step *st = &p->pre[depth];
    av_buf *t = &w->text[depth];
    spans *kept = &w->kept[depth];
    int rc = AV_OK;
    switch (st->kind) {
    case AV_PRE_SPLIT:
        rc = regex_tile(st->pattern, w->md, s, n, &w->found);
        if (rc == AV_OK) rc = apply_behavior(&w->found, st->behavior, st->invert, kept);
        break;
    case AV_PRE_BYTELEVEL:
        if (st->add_prefix_space && s[0] != ' ') {
            t->len = 0;
            if (av_buf_put(t, " ", 1) || av_buf_put(t, s, n)) return AV_ERR_NOMEM;
            s = t->p;
            n = t->len;
        }
        if (st->pattern) {
            rc = regex_tile(st->pattern, w->md, s, n, &w->found);
            if (rc == AV_OK) rc = apply_behavior(&w->found, AV_SPLIT_ISOLATED, 0, kept);
        } else {
            kept->n = 0;
            rc = spans_push(kept, 0, n, 0);
        }
        break;
    case AV_PRE_METASPACE: {
        size_t rl = strlen(st->replacement);
        t->len = 0;
        int starts = n >= rl ? memcmp(s, st->replacement, rl) == 0 || s[0] == ' ' : s[0] == ' ';
        if (!starts && (st->prepend_scheme == AV_PREPEND_ALWAYS || (st->prepend_scheme == AV_PREPEND_FIRST && at_start)))
            rc = av_buf_put(t, st->replacement, rl);
        for (size_t i = 0; rc == AV_OK && i < n; i++)
            rc = s[i] == ' ' ? av_buf_put(t, st->replacement, rl) : av_buf_put(t, s + i, 1);
        if (rc) return rc;
        s = t->p;
        n = t->len;
        if (st->split) {
            rc = char_tile(s, n, NULL, st->replacement, &w->found);
            if (rc == AV_OK) rc = apply_behavior(&w->found, AV_SPLIT_MERGED_NEXT, 0, kept);
        } else {
            kept->n = 0;
            rc = spans_push(kept, 0, n, 0);
        }
        break;
    }
    default: /* AV_PRE_DIGITS */
        rc = char_tile(s, n, is_numeric_cp, NULL, &w->found);
        if (rc == AV_OK) rc = apply_behavior(&w->found, st->individual ? AV_SPLIT_ISOLATED : AV_SPLIT_CONTIGUOUS, 0, kept);
        break;
    }
    /* the deeper steps reuse w->found, never kept[depth] */
    for (size_t k = 0; rc == AV_OK && k < kept->n; k++) {
        span sp = kept->v[k];
        rc = run_step(p, w, depth + 1, s + sp.s, sp.e - sp.s, at_start && sp.s == 0, piece, user);
    }
    return rc;
}

int av_textpipe_pretokenize(const av_textpipe *p, av_textpipe_work *w, const char *s, size_t n, int at_start,
                            av_piece_fn piece, void *user) {
    return run_step(p, w, 0, s, n, at_start, piece, user);
}
