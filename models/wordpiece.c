/* wordpiece.c - see wordpiece.h. Text flows through code point buffers that live for
 * one call (a few allocations per text, none per token). The order of the normalization
 * steps is BertNormalizer's: clean, CJK padding, accents (after NFD), lowercase. */
#include "models/wordpiece.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "models/unichar.h"

/* ---- loading ------------------------------------------------------------------------ */

/* A special token's name in tokenizer_config.json: a string, or {"content": "..."}. */
static const char *config_token(const cJSON *cfg, const char *key, const char *dflt) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (cJSON_IsObject(it)) it = cJSON_GetObjectItemCaseSensitive(it, "content");
    return cJSON_IsString(it) && it->valuestring[0] ? it->valuestring : dflt;
}

/* A boolean option: absent or null keeps dflt; anything but a boolean is an error. */
static int config_bool(const cJSON *cfg, const char *key, const char *path, int dflt, int *out) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(cfg, key);
    if (!it || cJSON_IsNull(it)) { *out = dflt; return AV_OK; }
    if (!cJSON_IsBool(it)) return av_fail("%s: '%s' is not true, false or null", path, key);
    *out = cJSON_IsTrue(it);
    return AV_OK;
}

static int load_vocab_txt(av_vocab *v, const char *path) {
    size_t len;
    char *text = av_read_file(path, &len);
    if (!text) return AV_ERR;
    int rc = AV_OK;
    int32_t id = 0;
    size_t p = 0;
    /* One token per line, id = line number from 0; a last line without '\n' counts. */
    while (p < len && rc == AV_OK) {
        char *nl = memchr(text + p, '\n', len - p);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t tl = end - p;
        if (tl && text[p + tl - 1] == '\r') tl--;
        if (memchr(text + p, 0, tl)) { rc = av_fail("%s: line %d: NUL byte in a token", path, (int)id + 1); break; }
        rc = av_vocab_add(v, text + p, tl, id++);
        p = end + 1;
    }
    free(text);
    if (rc == AV_OK && v->count == 0) rc = av_fail("%s: empty vocabulary", path);
    if (rc == AV_OK) rc = av_vocab_finish(v);
    return rc;
}

int av_wordpiece_load(const char *dir, av_wordpiece **out) {
    *out = NULL;
    char vpath[4096], cpath[4096];
    av_path_join(vpath, sizeof vpath, dir, "vocab.txt");
    av_path_join(cpath, sizeof cpath, dir, "tokenizer_config.json");
    av_wordpiece *w = av_calloc(1, sizeof *w);
    if (!w) return AV_ERR_NOMEM;
    av_vocab_init(&w->vocab);
    w->opts = (av_wordpiece_opts){ .lowercase = 1, .strip_accents = -1, .chinese_chars = 1 };
    int rc = load_vocab_txt(&w->vocab, vpath);
    cJSON *cfg = NULL;
    if (rc == AV_OK && av_file_exists(cpath)) {
        size_t len;
        char *text = av_read_file(cpath, &len);
        if (!text) rc = AV_ERR;
        else {
            cfg = cJSON_ParseWithLength(text, len);
            free(text);
            if (!cJSON_IsObject(cfg)) rc = av_fail("%s: not a JSON object", cpath);
        }
    }
    const char *names[5] = { "[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]" };
    if (rc == AV_OK && cfg) {
        rc = config_bool(cfg, "do_lower_case", cpath, 1, &w->opts.lowercase);
        if (rc == AV_OK) rc = config_bool(cfg, "strip_accents", cpath, -1, &w->opts.strip_accents);
        if (rc == AV_OK) rc = config_bool(cfg, "tokenize_chinese_chars", cpath, 1, &w->opts.chinese_chars);
        const char *keys[5] = { "unk_token", "sep_token", "pad_token", "cls_token", "mask_token" };
        for (int i = 0; i < 5; i++) names[i] = config_token(cfg, keys[i], names[i]);
    }
    if (rc == AV_OK) {
        if (w->opts.strip_accents < 0) w->opts.strip_accents = w->opts.lowercase;
        int32_t *ids[5] = { &w->unk, &w->sep, &w->pad, &w->cls, &w->mask };
        for (int i = 0; i < 5; i++) {
            *ids[i] = av_vocab_find(&w->vocab, names[i], strlen(names[i]));
            av_specials_add(&w->specials, &w->vocab, names[i]);
        }
        for (int i = 0; i < 4 && rc == AV_OK; i++)
            if (*ids[i] < 0 && i != 2)
                rc = av_fail("%s: no %s token in the vocabulary (a BERT vocabulary needs %s, %s and %s)",
                             vpath, names[i], names[3], names[1], names[0]);
    }
    cJSON_Delete(cfg);
    if (rc != AV_OK) { av_wordpiece_free(w); return rc; }
    *out = w;
    return AV_OK;
}

void av_wordpiece_free(av_wordpiece *w) {
    if (!w) return;
    av_vocab_free(&w->vocab);
    free(w);
}

/* ---- normalization ------------------------------------------------------------------ */

typedef struct { int32_t *v; size_t n, cap; } cpbuf;

static int cp_reserve(cpbuf *b, size_t extra) {
    if (b->n + extra <= b->cap) return AV_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + extra) cap *= 2;
    int32_t *v = realloc(b->v, cap * sizeof *v);
    if (!v) return av_fail("out of memory (tokenizer buffer)"), AV_ERR_NOMEM;
    b->v = v;
    b->cap = cap;
    return AV_OK;
}

/* Clean text and pad CJK ideographs: src bytes -> code points in out. */
static int clean_and_pad(const av_wordpiece *w, const uint8_t *s, size_t n, cpbuf *out) {
    if (cp_reserve(out, 3 * n)) return AV_ERR_NOMEM;
    for (size_t p = 0; p < n;) {
        int32_t c = s[p];
        if (c < 0x80) {
            /* ASCII, most of any text: the same rules without the table lookups */
            p++;
            if (c == '\t' || c == '\n' || c == '\r') out->v[out->n++] = ' ';
            else if (c >= 0x20 && c != 0x7F) out->v[out->n++] = c;
            continue;
        }
        p += (size_t)av_utf8_next(s + p, n - p, &c);
        if (c == 0xFFFD || av_uc_is_bert_control(c)) continue;
        if (av_uc_is_white_space(c)) { out->v[out->n++] = ' '; continue; }
        if (w->opts.chinese_chars && av_uc_is_bert_cjk(c)) {
            out->v[out->n++] = ' ';
            out->v[out->n++] = c;
            out->v[out->n++] = ' ';
            continue;
        }
        out->v[out->n++] = c;
    }
    return AV_OK;
}

/* NFD of in (canonical decomposition and reordering, by utf8proc) minus the Mn marks. */
static int strip_accents(const cpbuf *in, cpbuf *out) {
    out->n = 0;
    size_t ascii = 0;
    while (ascii < in->n && in->v[ascii] < 0x80) ascii++;
    if (ascii == in->n) {   /* ASCII is its own NFD and has no marks */
        if (cp_reserve(out, in->n + 1)) return AV_ERR_NOMEM;
        if (in->n) memcpy(out->v, in->v, in->n * sizeof *in->v);
        out->n = in->n;
        return AV_OK;
    }
    size_t bytes = 0;
    for (size_t i = 0; i < in->n; i++) bytes += in->v[i] < 0x80 ? 1 : in->v[i] < 0x800 ? 2 : in->v[i] < 0x10000 ? 3 : 4;
    uint8_t *u8 = malloc(bytes + 1);
    if (!u8) return av_fail("out of memory (tokenizer buffer)"), AV_ERR_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < in->n; i++) k += (size_t)utf8proc_encode_char(in->v[i], u8 + k);
    utf8proc_ssize_t need = utf8proc_decompose(u8, (utf8proc_ssize_t)k, NULL, 0, UTF8PROC_DECOMPOSE);
    if (need >= 0 && cp_reserve(out, (size_t)need + 1) == AV_OK)
        need = utf8proc_decompose(u8, (utf8proc_ssize_t)k, out->v, (utf8proc_ssize_t)out->cap, UTF8PROC_DECOMPOSE);
    free(u8);
    if (need < 0) return av_fail("unicode normalization failed: %s", utf8proc_errmsg(need));
    if ((size_t)need > out->cap) return av_fail("out of memory (tokenizer buffer)"), AV_ERR_NOMEM;
    size_t m = 0;
    for (size_t i = 0; i < (size_t)need; i++)
        if (utf8proc_category(out->v[i]) != UTF8PROC_CATEGORY_MN) out->v[m++] = out->v[i];
    out->n = m;
    return AV_OK;
}

/* Full lowercase mapping as Rust's char::to_lowercase: the simple mapping, except U+0130
 * (capital I with dot), the one character whose unconditional lowercase is two
 * characters, "i" + U+0307. */
static int lowercase(cpbuf *b) {
    size_t extra = 0;
    for (size_t i = 0; i < b->n; i++) extra += b->v[i] == 0x130;
    if (cp_reserve(b, extra)) return AV_ERR_NOMEM;
    size_t j = b->n + extra;
    for (size_t i = b->n; i-- > 0;) {
        if (b->v[i] == 0x130) { b->v[--j] = 0x307; b->v[--j] = 'i'; }
        else if (b->v[i] < 0x80) b->v[--j] = b->v[i] >= 'A' && b->v[i] <= 'Z' ? b->v[i] + 32 : b->v[i];
        else b->v[--j] = utf8proc_tolower(b->v[i]);
    }
    b->n += extra;
    return AV_OK;
}

/* ---- WordPiece ---------------------------------------------------------------------- */

/* One word (code points w[0..n)) -> ids, or [UNK] for the whole word. */
static int encode_word(const av_wordpiece *wp, const int32_t *w, size_t n, int32_t type_id,
                       av_encoding *enc) {
    if (n > AV_WORDPIECE_MAX_CHARS) return av_encoding_push(enc, wp->unk, type_id);
    char word[4 * AV_WORDPIECE_MAX_CHARS], cand[2 + 4 * AV_WORDPIECE_MAX_CHARS];
    size_t bounds[AV_WORDPIECE_MAX_CHARS + 1];   /* bounds[i] = byte offset of character i in word */
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        bounds[i] = len;
        len += (size_t)utf8proc_encode_char(w[i], (uint8_t *)word + len);
    }
    bounds[n] = len;
    cand[0] = cand[1] = '#';
    int start_count = enc->count;
    size_t start = 0;
    while (start < n) {
        /* Longest piece first; a continuation piece is looked up as "##" + piece. */
        const char *key = word;
        size_t pre = 0;
        if (start > 0) {
            memcpy(cand + 2, word + bounds[start], len - bounds[start]);
            key = cand;
            pre = 2;
        }
        /* hash every prefix once (FNV runs left to right), then probe longest first */
        uint64_t hs[AV_WORDPIECE_MAX_CHARS + 1];
        uint64_t h = av_vocab_hash(AV_VOCAB_HASH0, key, pre);
        size_t last = start;
        for (size_t e = start + 1; e <= n && pre + bounds[e] - bounds[start] <= wp->vocab.max_len; e++) {
            h = av_vocab_hash(h, word + bounds[e - 1], bounds[e] - bounds[e - 1]);
            hs[e - start] = h;
            last = e;
        }
        int32_t id = -1;
        size_t end = last;
        for (; end > start && id < 0; end--)
            id = av_vocab_find_hashed(&wp->vocab, key, pre + bounds[end] - bounds[start], hs[end - start]);
        if (id < 0) {
            enc->count = start_count;
            return av_encoding_push(enc, wp->unk, type_id);
        }
        int rc = av_encoding_push(enc, id, type_id);
        if (rc) return rc;
        start = end + 1;
    }
    return AV_OK;
}

/* Normalizes one stretch of text (no special tokens in it) and encodes its words. */
static int encode_segment(const av_wordpiece *wp, const uint8_t *s, size_t n, int32_t type_id,
                          av_encoding *enc, cpbuf *a, cpbuf *b) {
    a->n = 0;
    int rc = clean_and_pad(wp, s, n, a);
    cpbuf *cur = a;
    if (rc == AV_OK && wp->opts.strip_accents) {
        rc = strip_accents(a, b);
        cur = b;
    }
    if (rc == AV_OK && wp->opts.lowercase) rc = lowercase(cur);
    /* Words: runs between whitespace, with every punctuation character a word of its own. */
    size_t i = 0;
    while (rc == AV_OK && i < cur->n) {
        int32_t c = cur->v[i];
        if (av_uc_is_white_space(c)) { i++; continue; }
        if (av_uc_is_bert_punct(c)) { rc = encode_word(wp, cur->v + i, 1, type_id, enc); i++; continue; }
        size_t j = i + 1;
        while (j < cur->n && !av_uc_is_white_space(cur->v[j]) && !av_uc_is_bert_punct(cur->v[j])) j++;
        rc = encode_word(wp, cur->v + i, j - i, type_id, enc);
        i = j;
    }
    return rc;
}

int av_wordpiece_encode(const av_wordpiece *wp, const char *text, int32_t type_id, av_encoding *enc) {
    cpbuf a = {0}, b = {0};
    size_t n = strlen(text);
    int rc = AV_OK;
    while (rc == AV_OK) {
        size_t at;
        int sp = av_specials_next(&wp->specials, text, n, &at);
        rc = encode_segment(wp, (const uint8_t *)text, sp < 0 ? n : at, type_id, enc, &a, &b);
        if (sp < 0 || rc) break;
        rc = av_encoding_push(enc, wp->specials.id[sp], type_id);
        text += at + wp->specials.len[sp];
        n -= at + wp->specials.len[sp];
    }
    free(a.v);
    free(b.v);
    return rc;
}
