/* tokgguf.c - see tokgguf.h. */
#include "models/tokgguf.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "models/gguf.h"
#include "models/unichar.h"

static const char *const LLAMA3_SPLIT =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
    "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char *const QWEN2_SPLIT =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
    "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char *const QWEN35_SPLIT =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}"
    "| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char *const TEKKEN_SPLIT =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"
    "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*"
    "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char *const GPT4O_SPLIT =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* The split regex of a byte-level vocabulary by tokenizer.ggml.pre, or NULL for the
 * GPT-2 default (ByteLevel's own regex): transformers' table, which gives every name it
 * does not list the default. */
static const char *split_for(const char *pre) {
    static const struct { const char *name, *const *re; } table[] = {
        {"llama3", &LLAMA3_SPLIT}, {"llama-v3", &LLAMA3_SPLIT}, {"llama-bpe", &LLAMA3_SPLIT},
        {"falcon3", &LLAMA3_SPLIT}, {"falcon-h1", &LLAMA3_SPLIT}, {"pixtral", &LLAMA3_SPLIT},
        {"midm-2.0", &LLAMA3_SPLIT}, {"lfm2", &LLAMA3_SPLIT}, {"jina-v5-nano", &LLAMA3_SPLIT},
        {"dbrx", &LLAMA3_SPLIT}, {"smaug-bpe", &LLAMA3_SPLIT}, {"tekken", &TEKKEN_SPLIT},
        {"qwen2", &QWEN2_SPLIT}, {"deepseek-r1-qwen", &QWEN2_SPLIT}, {"kormo", &QWEN2_SPLIT},
        {"f2llmv2", &QWEN2_SPLIT}, {"megrez", &QWEN2_SPLIT}, {"qwen35", &QWEN35_SPLIT},
        {"gpt-4o", &GPT4O_SPLIT}, {"llama4", &GPT4O_SPLIT}, {"kanana2", &GPT4O_SPLIT},
        {"talkie", &GPT4O_SPLIT}, {"minimax-m2", &GPT4O_SPLIT},
    };
    for (size_t i = 0; pre && i < sizeof table / sizeof table[0]; i++)
        if (!strcmp(pre, table[i].name)) return *table[i].re;
    return NULL;
}

/* transformers respells a byte-level token that uses a character outside the byte
 * alphabet (a literal space or newline) through the alphabet, byte by byte. */
static int in_alphabet(const char *s) {
    const uint8_t *u = (const uint8_t *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        int32_t cp;
        i += (size_t)av_utf8_next(u + i, n - i, &cp);
        if (av_char_byte(cp) < 0) return 0;
    }
    return 1;
}

static int add_vocab(const av_tok_parts *p, int byte_level, av_vocab *v) {
    av_buf spell = {0};
    int rc = AV_OK;
    for (int64_t i = 0; i < p->n_tokens && rc == AV_OK; i++) {
        const char *t = p->tokens[i];
        if (!t) { rc = av_fail("%s: tokenizer.ggml.tokens[%lld] is missing", p->source, (long long)i); break; }
        size_t n = strlen(t);
        if (byte_level && !in_alphabet(t)) {
            spell.len = 0;
            for (size_t k = 0; k < n && rc == AV_OK; k++) {
                uint8_t u8[4];
                utf8proc_ssize_t m = utf8proc_encode_char(av_byte_char((uint8_t)t[k]), u8);
                rc = av_buf_put(&spell, u8, (size_t)m);
            }
            if (rc == AV_OK) rc = av_vocab_add(v, spell.p, spell.len, (int32_t)i);
        } else {
            rc = av_vocab_add(v, t, n, (int32_t)i);
        }
    }
    av_buf_free(&spell);
    if (rc == AV_OK) rc = av_vocab_finish(v);
    return rc;
}

static int add_given_merges(const av_tok_parts *p, av_bpe *b) {
    for (int64_t i = 0; i < p->n_merges; i++) {
        char where[4200];
        snprintf(where, sizeof where, "%s: tokenizer.ggml.merges[%lld]", p->source, (long long)i);
        const char *m = p->merges[i], *sp = m ? strchr(m, ' ') : NULL;
        if (!sp || sp == m || !sp[1] || strchr(sp + 1, ' ')) return av_fail("%s: not \"left right\"", where);
        int rc = av_bpe_add_merge(b, m, (size_t)(sp - m), sp + 1, strlen(sp + 1), where);
        if (rc) return rc;
    }
    return AV_OK;
}

/* ---- merges from scores (transformers' generate_merges) ----------------------------- */

typedef struct { int32_t l, r; float score; int32_t lcp, rcp; int64_t seq; } gen_merge;

static int cmp_local(const void *a, const void *b) {
    const gen_merge *x = a, *y = b;
    if (x->l != y->l) return x->l < y->l ? -1 : 1;
    if (x->r != y->r) return x->r < y->r ? -1 : 1;
    return 0;
}

/* best first: higher score, then longer left, then longer right; ties keep their order */
static int cmp_rank(const void *a, const void *b) {
    const gen_merge *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    if (x->lcp != y->lcp) return x->lcp > y->lcp ? -1 : 1;
    if (x->rcp != y->rcp) return x->rcp > y->rcp ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int32_t cp_count(const char *s, size_t n) {
    int32_t k = 0;
    for (size_t i = 0; i < n; i++) k += ((uint8_t)s[i] & 0xC0) != 0x80;
    return k;
}

/* Every split of every token into two tokens, ranked by the token's score: the merges a
 * SentencePiece vocabulary implies. Duplicate tokens count once, at their first place,
 * with the score of their last (a Python dict built from the list). */
static int generate_merges(const av_tok_parts *p, av_bpe *b) {
    const av_vocab *v = av_bpe_vocab(b);
    av_vocab seen;
    av_vocab_init(&seen);
    gen_merge *all = NULL;
    size_t n = 0, cap = 0;
    int rc = AV_OK;
    for (int64_t i = 0; i < p->n_tokens && rc == AV_OK; i++) {
        const char *t = p->tokens[i];
        size_t len = strlen(t);
        if (!len || av_vocab_find(&seen, t, len) >= 0) continue;
        if ((rc = av_vocab_add(&seen, t, len, (int32_t)i))) break;
        float score = p->scores[av_vocab_find(v, t, len)];
        size_t first = n;
        for (size_t k = 1; k < len && rc == AV_OK; k++) {
            if (((uint8_t)t[k] & 0xC0) == 0x80) continue;   /* split between code points only */
            int32_t l = av_vocab_find(v, t, k), r = av_vocab_find(v, t + k, len - k);
            if (l < 0 || r < 0) continue;
            if (n == cap) {
                cap = cap ? 2 * cap : 4096;
                gen_merge *g = realloc(all, cap * sizeof *g);
                if (!g) { rc = av_fail("out of memory (merges)"); break; }
                all = g;
            }
            all[n++] = (gen_merge){ l, r, score, cp_count(t, k), cp_count(t + k, len - k), 0 };
        }
        qsort(all + first, n - first, sizeof *all, cmp_local);
    }
    for (size_t k = 0; k < n; k++) all[k].seq = (int64_t)k;
    if (rc == AV_OK) qsort(all, n, sizeof *all, cmp_rank);
    for (size_t k = 0; k < n && rc == AV_OK; k++) {
        const char *l = v->tokens[all[k].l], *r = v->tokens[all[k].r];
        rc = av_bpe_add_merge(b, l, strlen(l), r, strlen(r), p->source);
    }
    free(all);
    av_vocab_free(&seen);
    return rc;
}

/* ---- special tokens and template ---------------------------------------------------- */

static int add_typed_tokens(const av_tok_parts *p, av_hftok *h, int byte_level) {
    if (!p->token_type) return AV_OK;
    for (int64_t i = 0; i < p->n_tokens; i++) {
        const char *t = p->tokens[i];
        int type = p->token_type[i];
        if (type == 3 && (!byte_level || in_alphabet(t))) {          /* control: special */
            if (av_hftok_add_token(h, t, av_hftok_find(h, t), 1, 0, 0, 0, 0)) return AV_ERR;
        } else if (type == 4 && (!byte_level || in_alphabet(t))) {   /* user-defined: added */
            if (av_hftok_add_token(h, t, av_hftok_find(h, t), 0, 0, 0, 0, 0)) return AV_ERR;
        }
    }
    return AV_OK;
}

/* A named special token (bos/eos/unk/pad) is an added special token unless it is one. */
static int name_special(const av_tok_parts *p, av_hftok *h, int32_t id, int32_t *out) {
    *out = -1;
    if (id < 0) return AV_OK;
    if (id >= p->n_tokens) return av_fail("%s: special token id %d is past the vocabulary (%lld tokens)", p->source, id, (long long)p->n_tokens);
    const char *t = p->tokens[id];
    *out = av_hftok_find(h, t);
    for (int i = 0; i < h->n_added; i++) if (!strcmp(h->added[i].content, t)) return AV_OK;
    return av_hftok_add_token(h, t, *out, 1, 0, 0, 0, 0);
}

static void set_template(av_hftok *h, int add_bos, int add_eos) {
    av_tmpl_item bos = { .seq = -1, .ids = { h->bos }, .nids = 1 }, eos = { .seq = -1, .ids = { h->eos }, .nids = 1 };
    add_bos = add_bos && h->bos >= 0;
    add_eos = add_eos && h->eos >= 0;
    int n = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (add_bos) { h->pair[n] = bos; h->pair[n++].type_id = pass; }
        h->pair[n++] = (av_tmpl_item){ .seq = pass, .type_id = pass };
        if (add_eos) { h->pair[n] = eos; h->pair[n++].type_id = pass; }
        if (pass == 0) { memcpy(h->single, h->pair, (size_t)n * sizeof *h->pair); h->n_single = n; }
    }
    h->n_pair = n;
    h->has_template = 1;
}

int av_tokgguf_build(const av_tok_parts *p, av_hftok **out) {
    *out = NULL;
    const char *src = p->source ? p->source : "GGUF";
    av_tok_parts q = *p;
    q.source = src;
    if (!p->model) return av_fail("%s: no tokenizer.ggml.model", src);
    int byte_level = !strcmp(p->model, "gpt2"), spm = !strcmp(p->model, "llama");
    if (!byte_level && !spm) return av_fail("%s: tokenizer.ggml.model '%s' is not supported (gpt2, llama)", src, p->model);
    if (spm && p->architecture && !strncmp(p->architecture, "gemma", 5))
        return av_fail("%s: the SentencePiece vocabulary of '%s' is not supported", src, p->architecture);
    if (!p->tokens || p->n_tokens <= 0 || p->n_tokens > INT32_MAX) return av_fail("%s: no tokenizer.ggml.tokens", src);
    if (byte_level && (!p->merges || p->n_merges <= 0)) return av_fail("%s: a gpt2 tokenizer without tokenizer.ggml.merges", src);
    if (spm && !p->merges && !p->scores) return av_fail("%s: a llama tokenizer with neither merges nor scores", src);
    const char *regex = byte_level ? split_for(p->pre) : NULL;
    av_hftok *h = av_hftok_new();
    if (!h) return AV_ERR_NOMEM;
    av_vocab v;
    av_vocab_init(&v);
    int rc = add_vocab(&q, byte_level, &v);
    av_bpe_opts o = { .byte_level = byte_level, .byte_fallback = spm, .fuse_unk = spm, .unk = -1 };
    if (spm && p->unk >= 0 && p->unk < p->n_tokens) o.unk = av_vocab_find(&v, p->tokens[p->unk], strlen(p->tokens[p->unk]));
    if (rc == AV_OK) rc = av_bpe_new(&v, &o, (size_t)(p->merges ? p->n_merges : 4 * p->n_tokens), &h->model);
    else av_vocab_free(&v);
    if (rc == AV_OK) rc = p->merges ? add_given_merges(&q, h->model) : generate_merges(&q, h->model);
    av_textpipe *pipe = &h->pipe;
    if (rc == AV_OK && byte_level) {
        if (regex) {
            pipe->pre[pipe->n_pre] = (av_pre_step){ .kind = AV_PRE_SPLIT, .behavior = AV_SPLIT_ISOLATED };
            rc = av_regex_new(regex, 0, src, &pipe->pre[pipe->n_pre++].pattern);
        }
        if (rc == AV_OK) {
            pipe->pre[pipe->n_pre] = (av_pre_step){ .kind = AV_PRE_BYTELEVEL };
            if (!regex) rc = av_regex_new(AV_GPT2_SPLIT_REGEX, 0, src, &pipe->pre[pipe->n_pre].pattern);
            pipe->n_pre++;
        }
        h->spelling = AV_SPELL_BYTE_LEVEL;
    } else if (rc == AV_OK) {
        if (p->architecture && !strcmp(p->architecture, "phi3")) {
            /* Phi-3: the metaspace comes from a normalizer, as its tokenizer.json has it */
            pipe->norm[0] = (av_norm_step){ .kind = AV_NORM_PREPEND, .text = strdup("\xe2\x96\x81") };
            pipe->norm[1] = (av_norm_step){ .kind = AV_NORM_REPLACE, .text = strdup("\xe2\x96\x81") };
            pipe->n_norm = 2;
            if (!pipe->norm[0].text || !pipe->norm[1].text) rc = av_fail("out of memory");
            if (rc == AV_OK) rc = av_regex_new(" ", 1, src, &pipe->norm[1].pattern);
        } else {
            /* LlamaTokenizer's own pre-tokenizer (its default add_prefix_space, not legacy) */
            av_pre_step st = { .kind = AV_PRE_METASPACE, .prepend_scheme = AV_PREPEND_FIRST, .split = 0 };
            strcpy(st.replacement, "\xe2\x96\x81");
            pipe->pre[pipe->n_pre++] = st;
        }
        h->spelling = AV_SPELL_METASPACE;
    }
    if (rc == AV_OK) rc = add_typed_tokens(&q, h, byte_level);
    if (rc == AV_OK) rc = name_special(&q, h, p->bos, &h->bos);
    if (rc == AV_OK) rc = name_special(&q, h, p->eos, &h->eos);
    if (rc == AV_OK) rc = name_special(&q, h, p->unk, &h->unk);
    if (rc == AV_OK) rc = name_special(&q, h, p->pad, &h->pad);
    if (rc == AV_OK) {
        /* transformers: a llama vocabulary that does not say otherwise gets BOS */
        set_template(h, p->add_bos >= 0 ? p->add_bos : spm, p->add_eos > 0);
        rc = av_hftok_finish(h);
    }
    if (rc != AV_OK) { av_hftok_free(h); return rc; }
    *out = h;
    return AV_OK;
}

/* ---- from a GGUF file ----------------------------------------------------------------- */

/* A string of the file as a NUL-terminated copy (a NUL inside is refused). */
static int copy_str(const av_gguf *g, av_gguf_str s, const char *key, char **out) {
    if (memchr(s.s, 0, s.n)) return av_fail("%s: %s holds a NUL byte", g->path, key);
    *out = av_malloc(s.n + 1);
    if (!*out) return AV_ERR_NOMEM;
    memcpy(*out, s.s, s.n);
    (*out)[s.n] = 0;
    return AV_OK;
}

static int opt_cstr(const av_gguf *g, const char *key, char **out) {
    *out = NULL;
    return av_gguf_has(g, key) ? av_gguf_get_cstr(g, key, out) : AV_OK;
}

static int opt_i32(const av_gguf *g, const char *key, int32_t *out) {
    *out = -1;
    return av_gguf_has(g, key) ? av_gguf_get_i32(g, key, out) : AV_OK;
}

static int opt_bool(const av_gguf *g, const char *key, int *out) {
    *out = -1;
    return av_gguf_has(g, key) ? av_gguf_get_bool(g, key, out) : AV_OK;
}

/* A string array as NUL-terminated copies; *n = 0 and NULL when the key is absent. */
static int str_array(const av_gguf *g, const char *key, char ***out, int64_t *n) {
    *out = NULL;
    *n = 0;
    const av_gguf_kv *kv = av_gguf_find_kv(g, key);
    if (!kv) return AV_OK;
    if (kv->type != AV_GGUF_ARRAY || kv->elem != AV_GGUF_STRING) return av_fail("%s: %s is not an array of strings", g->path, key);
    *out = av_calloc(kv->count + 1, sizeof **out);
    if (!*out) return AV_ERR_NOMEM;
    for (uint64_t i = 0; i < kv->count; i++) {
        av_gguf_str s;
        int rc = av_gguf_arr_str(g, kv, i, &s);
        if (rc == AV_OK) rc = copy_str(g, s, key, &(*out)[i]);
        if (rc) return rc;
        (*n)++;
    }
    return AV_OK;
}

static void free_strs(char **v, int64_t n) {
    for (int64_t i = 0; v && i < n; i++) free(v[i]);
    free(v);
}

int av_tokenizer_load_gguf(const char *path, av_tokenizer **out) {
    *out = NULL;
    av_gguf g;
    if (av_gguf_open(path, &g) != AV_OK) return AV_ERR;
    char *model = NULL, *pre = NULL, *arch = NULL, **tokens = NULL, **merges = NULL;
    int64_t nt = 0, nm = 0;
    float *scores = NULL;
    int32_t *types = NULL;
    av_tok_parts p = { .source = path };
    int rc = av_gguf_get_cstr(&g, "tokenizer.ggml.model", &model);
    if (rc == AV_OK) rc = opt_cstr(&g, "tokenizer.ggml.pre", &pre);
    if (rc == AV_OK) rc = opt_cstr(&g, "general.architecture", &arch);
    if (rc == AV_OK) rc = str_array(&g, "tokenizer.ggml.tokens", &tokens, &nt);
    if (rc == AV_OK) rc = str_array(&g, "tokenizer.ggml.merges", &merges, &nm);
    const av_gguf_kv *sk = av_gguf_find_kv(&g, "tokenizer.ggml.scores"), *tk = av_gguf_find_kv(&g, "tokenizer.ggml.token_type");
    if (rc == AV_OK && sk && sk->count != (uint64_t)nt) rc = av_fail("%s: %llu scores for %lld tokens", path, (unsigned long long)sk->count, (long long)nt);
    if (rc == AV_OK && tk && tk->count != (uint64_t)nt) rc = av_fail("%s: %llu token types for %lld tokens", path, (unsigned long long)tk->count, (long long)nt);
    if (rc == AV_OK && sk && !(scores = av_malloc((size_t)nt * sizeof *scores + 1))) rc = AV_ERR_NOMEM;
    if (rc == AV_OK && tk && !(types = av_malloc((size_t)nt * sizeof *types + 1))) rc = AV_ERR_NOMEM;
    for (int64_t i = 0; rc == AV_OK && sk && i < nt; i++) rc = av_gguf_arr_f32(&g, sk, (uint64_t)i, &scores[i]);
    for (int64_t i = 0; rc == AV_OK && tk && i < nt; i++) {
        int64_t v;
        rc = av_gguf_arr_i64(&g, tk, (uint64_t)i, &v);
        types[i] = (int32_t)v;
    }
    if (rc == AV_OK) rc = opt_i32(&g, "tokenizer.ggml.bos_token_id", &p.bos);
    if (rc == AV_OK) rc = opt_i32(&g, "tokenizer.ggml.eos_token_id", &p.eos);
    if (rc == AV_OK) rc = opt_i32(&g, "tokenizer.ggml.unknown_token_id", &p.unk);
    if (rc == AV_OK) rc = opt_i32(&g, "tokenizer.ggml.padding_token_id", &p.pad);
    if (rc == AV_OK) rc = opt_bool(&g, "tokenizer.ggml.add_bos_token", &p.add_bos);
    if (rc == AV_OK) rc = opt_bool(&g, "tokenizer.ggml.add_eos_token", &p.add_eos);
    if (rc == AV_OK) rc = opt_bool(&g, "tokenizer.ggml.add_space_prefix", &p.add_space_prefix);
    if (rc == AV_OK) {
        p.model = model; p.pre = pre; p.architecture = arch;
        p.tokens = (const char *const *)tokens; p.n_tokens = nt;
        p.merges = (const char *const *)merges; p.n_merges = nm;
        p.scores = scores; p.token_type = types;
        rc = av_tokenizer_from_gguf_parts(&p, out);
    }
    free(model); free(pre); free(arch); free(scores); free(types);
    free_strs(tokens, nt);
    free_strs(merges, nm);
    av_gguf_close(&g);
    return rc;
}
