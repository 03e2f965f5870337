/* hftok.c - see hftok.h. The added-token search follows tokenizers' AddedVocabulary:
 * matches are found left to right without overlap (leftmost, then longest), and a match
 * that single_word rejects is passed over, not searched again inside. */
#include "models/hftok.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "models/unichar.h"

av_hftok *av_hftok_new(void) {
    av_hftok *h = av_calloc(1, sizeof *h);
    if (!h) return NULL;
    h->bos = h->eos = h->unk = h->pad = -1;
    return h;
}

void av_hftok_free(av_hftok *h) {
    if (!h) return;
    av_bpe_free(h->model);
    av_textpipe_free(&h->pipe);
    for (int i = 0; i < h->n_added; i++) {
        if (h->added[i].match != h->added[i].content) free(h->added[i].match);
        free(h->added[i].content);
    }
    free(h->added);
    free(h->names);
    free(h->order[0]);
    free(h->order[1]);
    free(h);
}

int av_hftok_add_token(av_hftok *h, const char *content, int32_t id, int special, int lstrip, int rstrip,
                       int normalized, int single_word) {
    size_t len = strlen(content);
    if (!len) return AV_OK;
    if (id < 0) return av_fail("added token '%.40s': negative id %d", content, (int)id);
    av_added_token *t = NULL;
    for (int i = 0; i < h->n_added && !t; i++)
        if (h->added[i].len == len && memcmp(h->added[i].content, content, len) == 0) t = &h->added[i];
    if (!t) {
        if (h->n_added == h->cap_added) {
            int cap = h->cap_added ? 2 * h->cap_added : 16;
            av_added_token *v = realloc(h->added, (size_t)cap * sizeof *v);
            if (!v) return av_fail("out of memory (added tokens)"), AV_ERR_NOMEM;
            h->added = v;
            h->cap_added = cap;
        }
        t = &h->added[h->n_added];
        memset(t, 0, sizeof *t);
        t->content = strdup(content);
        if (!t->content) return av_fail("out of memory (added tokens)"), AV_ERR_NOMEM;
        t->len = len;
        h->n_added++;
    }
    t->id = id;
    t->special = (uint8_t)!!special;
    t->lstrip = (uint8_t)!!lstrip;
    t->rstrip = (uint8_t)!!rstrip;
    t->normalized = (uint8_t)!!normalized;
    t->single_word = (uint8_t)!!single_word;
    return AV_OK;
}

int32_t av_hftok_find(const av_hftok *h, const char *s) {
    size_t len = strlen(s);
    for (int i = 0; i < h->n_added; i++)
        if (h->added[i].len == len && memcmp(h->added[i].content, s, len) == 0) return h->added[i].id;
    return h->model ? av_vocab_find(av_bpe_vocab(h->model), s, len) : -1;
}

/* Sorts the indices of one kind (raw or normalized) by first byte. */
static int build_order(av_hftok *h, int k) {
    int n = 0;
    for (int i = 0; i < h->n_added; i++) n += h->added[i].normalized == k;
    h->order[k] = av_malloc((size_t)(n ? n : 1) * sizeof(int));
    if (!h->order[k]) return AV_ERR_NOMEM;
    int count[257] = {0};
    for (int i = 0; i < h->n_added; i++)
        if (h->added[i].normalized == k && h->added[i].match_len) count[(uint8_t)h->added[i].match[0] + 1]++;
    for (int c = 0; c < 256; c++) count[c + 1] += count[c];
    memcpy(h->first[k], count, sizeof count);
    for (int i = 0; i < h->n_added; i++)
        if (h->added[i].normalized == k && h->added[i].match_len) h->order[k][count[(uint8_t)h->added[i].match[0]]++] = i;
    return AV_OK;
}

int av_hftok_finish(av_hftok *h) {
    const av_vocab *v = av_bpe_vocab(h->model);
    h->size = v->size;
    for (int i = 0; i < h->n_added; i++) if (h->added[i].id >= h->size) h->size = h->added[i].id + 1;
    h->names = av_calloc((size_t)h->size + 1, sizeof *h->names);
    if (!h->names) return AV_ERR_NOMEM;
    for (int32_t id = 0; id < v->size; id++) h->names[id] = v->tokens[id];
    for (int i = 0; i < h->n_added; i++) h->names[h->added[i].id] = h->added[i].content;
    av_textpipe_work *w = h->pipe.n_norm ? av_textpipe_work_new() : NULL;
    if (h->pipe.n_norm && !w) return AV_ERR_NOMEM;
    int rc = AV_OK;
    for (int i = 0; i < h->n_added && rc == AV_OK; i++) {
        av_added_token *t = &h->added[i];
        if (t->match && t->match != t->content) free(t->match);
        t->match = t->content;
        t->match_len = t->len;
        if (!t->normalized || !w) continue;
        av_buf b = {0};
        rc = av_textpipe_normalize(&h->pipe, w, t->content, t->len, &b);
        if (rc == AV_OK && b.len) { t->match = b.p; t->match_len = b.len; }
        else av_buf_free(&b);
    }
    av_textpipe_work_free(w);
    if (rc == AV_OK) rc = build_order(h, 0);
    if (rc == AV_OK) rc = build_order(h, 1);
    return rc;
}

/* ---- finding added tokens ----------------------------------------------------------- */

/* Rust regex's \w: alphabetic, marks, decimal digits, connector punctuation, joiners. */
static int is_word_cp(int32_t c) {
    if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (c == 0x200C || c == 0x200D) return 1;
    utf8proc_category_t k = utf8proc_category(c);
    return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) || (k >= UTF8PROC_CATEGORY_MN && k <= UTF8PROC_CATEGORY_ME) ||
           k == UTF8PROC_CATEGORY_ND || k == UTF8PROC_CATEGORY_NL || k == UTF8PROC_CATEGORY_PC;
}

/* The code point that ends s[0..n) (n > 0). */
static int32_t last_cp(const uint8_t *s, size_t n) {
    size_t i = n - 1;
    while (i > 0 && n - i < 4 && (s[i] & 0xC0) == 0x80) i--;
    int32_t cp;
    size_t k = (size_t)av_utf8_next(s + i, n - i, &cp);
    return i + k == n ? cp : 0xFFFD;
}

typedef struct { size_t s, e; int32_t id; } seg;   /* id -1: text */
typedef struct { seg *v; size_t n, cap; } segs;

static int segs_push(segs *g, size_t s, size_t e, int32_t id) {
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 32;
        seg *v = realloc(g->v, cap * sizeof *v);
        if (!v) return av_fail("out of memory (tokenizer buffer)"), AV_ERR_NOMEM;
        g->v = v;
        g->cap = cap;
    }
    g->v[g->n++] = (seg){ s, e, id };
    return AV_OK;
}

/* Splits s[0..n) into text and added tokens of kind k (0 raw, 1 normalized), appending
 * to g; the pieces tile s except for what lstrip/rstrip swallow into a token. */
static int find_added(const av_hftok *h, int k, const char *s, size_t n, segs *g) {
    const uint8_t *u = (const uint8_t *)s;
    size_t start_offset = 0, pos = 0;
    while (pos < n) {
        int best = -1;
        size_t at = pos;
        for (; at < n && best < 0; at++) {
            int c = u[at];
            for (int q = h->first[k][c]; q < h->first[k][c + 1]; q++) {
                const av_added_token *t = &h->added[h->order[k][q]];
                if (t->match_len > n - at || memcmp(s + at, t->match, t->match_len) != 0) continue;
                if (best < 0 || t->match_len > h->added[best].match_len) best = h->order[k][q];
            }
        }
        if (best < 0) break;
        at--;
        const av_added_token *t = &h->added[best];
        size_t start = at, stop = at + t->match_len;
        pos = stop;
        if (t->single_word) {
            int32_t cp;
            int before = start > 0 && is_word_cp(last_cp(u, start));
            int after = stop < n && (av_utf8_next(u + stop, n - stop, &cp), is_word_cp(cp));
            if (before || after) continue;
        }
        if (t->lstrip) {
            size_t ns = start_offset;
            for (size_t i = start_offset; i < start;) {
                int32_t cp;
                i += (size_t)av_utf8_next(u + i, start - i, &cp);
                if (!av_uc_is_white_space(cp)) ns = i;
            }
            start = ns;
        }
        if (t->rstrip) {
            while (stop < n) {
                int32_t cp;
                int len = av_utf8_next(u + stop, n - stop, &cp);
                if (!av_uc_is_white_space(cp)) break;
                stop += (size_t)len;
            }
            pos = stop;
        }
        if (start_offset < start && segs_push(g, start_offset, start, -1)) return AV_ERR_NOMEM;
        if (segs_push(g, start, stop, t->id)) return AV_ERR_NOMEM;
        start_offset = stop;
    }
    if (start_offset < n && segs_push(g, start_offset, n, -1)) return AV_ERR_NOMEM;
    return AV_OK;
}

/* ---- encoding ----------------------------------------------------------------------- */

typedef struct {
    const av_hftok *h;
    av_bpe_work bw;
    av_textpipe_work *tw;
    av_buf norm;
    segs raw, inner;
    int32_t type_id;
    av_encoding *enc;
} enc_ctx;

static int model_piece(void *user, const uint8_t *s, size_t n) {
    enc_ctx *c = user;
    return av_bpe_encode_piece(c->h->model, s, n, &c->bw, c->type_id, c->enc);
}

/* One stretch of raw text between added tokens: normalize, find the normalized added
 * tokens, pre-tokenize and encode the rest. */
static int encode_stretch(enc_ctx *c, const char *s, size_t n, int at_start) {
    const av_hftok *h = c->h;
    const char *t = s;
    size_t tn = n;
    if (h->pipe.n_norm) {
        if (av_textpipe_normalize(&h->pipe, c->tw, s, n, &c->norm)) return AV_ERR;
        t = c->norm.p;
        tn = c->norm.len;
    }
    c->inner.n = 0;
    if (find_added(h, 1, t, tn, &c->inner)) return AV_ERR_NOMEM;
    int rc = AV_OK;
    for (size_t k = 0; k < c->inner.n && rc == AV_OK; k++) {
        const seg *g = &c->inner.v[k];
        if (g->id >= 0) rc = av_encoding_push(c->enc, g->id, c->type_id);
        else rc = av_textpipe_pretokenize(&h->pipe, c->tw, t + g->s, g->e - g->s, at_start && g->s == 0, model_piece, c);
    }
    return rc;
}

static int encode_with(enc_ctx *c, const char *text, int32_t type_id) {
    c->type_id = type_id;
    size_t n = strlen(text);
    c->raw.n = 0;
    if (find_added(c->h, 0, text, n, &c->raw)) return AV_ERR_NOMEM;
    int rc = AV_OK;
    /* encode_stretch reuses c->inner, never c->raw */
    for (size_t k = 0; k < c->raw.n && rc == AV_OK; k++) {
        const seg *g = &c->raw.v[k];
        if (g->id >= 0) rc = av_encoding_push(c->enc, g->id, type_id);
        else rc = encode_stretch(c, text + g->s, g->e - g->s, g->s == 0);
    }
    return rc;
}

static int ctx_open(enc_ctx *c, const av_hftok *h, av_encoding *enc) {
    memset(c, 0, sizeof *c);
    c->h = h;
    c->enc = enc;
    c->tw = av_textpipe_work_new();
    return c->tw ? AV_OK : AV_ERR_NOMEM;
}

static void ctx_close(enc_ctx *c) {
    av_bpe_work_free(&c->bw);
    av_textpipe_work_free(c->tw);
    av_buf_free(&c->norm);
    free(c->raw.v);
    free(c->inner.v);
}

int av_hftok_encode(const av_hftok *h, const char *text, int32_t type_id, av_encoding *enc) {
    enc_ctx c;
    int rc = ctx_open(&c, h, enc);
    if (rc == AV_OK) rc = encode_with(&c, text, type_id);
    ctx_close(&c);
    return rc;
}

int av_hftok_encode_special(const av_hftok *h, const char *text, const char *text_b, av_encoding *enc) {
    enc_ctx c;
    int rc = ctx_open(&c, h, enc);
    if (rc == AV_OK && !h->has_template) {
        rc = encode_with(&c, text, 0);
        if (rc == AV_OK && text_b) rc = encode_with(&c, text_b, 1);
    } else if (rc == AV_OK) {
        const av_tmpl_item *it = text_b ? h->pair : h->single;
        int n = text_b ? h->n_pair : h->n_single;
        for (int i = 0; i < n && rc == AV_OK; i++) {
            if (it[i].seq < 0)
                for (int k = 0; k < it[i].nids && rc == AV_OK; k++) rc = av_encoding_push(enc, it[i].ids[k], it[i].type_id);
            else rc = encode_with(&c, it[i].seq ? text_b : text, it[i].type_id);
        }
    }
    ctx_close(&c);
    return rc;
}
