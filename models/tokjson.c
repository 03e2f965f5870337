/* tokjson.c - see tokjson.h. Field defaults follow tokenizers' deserializers. */
#include "models/tokjson.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"

typedef struct { const char *path; av_hftok *h; } ctx;

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

/* A boolean field: absent or null -> def; anything else but true/false is an error. */
static int get_bool(const ctx *c, const cJSON *o, const char *what, const char *k, int def, int *out) {
    const cJSON *v = get(o, k);
    if (!v || cJSON_IsNull(v)) { *out = def; return AV_OK; }
    if (!cJSON_IsBool(v)) return av_fail("%s: %s '%s' is not true or false", c->path, what, k);
    *out = cJSON_IsTrue(v);
    return AV_OK;
}

static const char *type_of(const cJSON *o) {
    const cJSON *t = get(o, "type");
    return cJSON_IsString(t) ? t->valuestring : "";
}

/* {"String": s} or {"Regex": r} */
static int pattern_of(const ctx *c, const cJSON *o, const char *what, av_regex **out) {
    const cJSON *p = get(o, "pattern"), *s = get(p, "String"), *r = get(p, "Regex");
    if (cJSON_IsString(s)) return av_regex_new(s->valuestring, 1, c->path, out);
    if (cJSON_IsString(r)) return av_regex_new(r->valuestring, 0, c->path, out);
    return av_fail("%s: %s has no \"pattern\" {\"String\"|\"Regex\": ...}", c->path, what);
}

/* ---- normalizer --------------------------------------------------------------------- */

static int add_normalizer(ctx *c, const cJSON *n) {
    if (!n || cJSON_IsNull(n)) return AV_OK;
    const char *t = type_of(n);
    av_textpipe *p = &c->h->pipe;
    if (!strcmp(t, "Sequence")) {
        const cJSON *it;
        const cJSON *list = get(n, "normalizers");
        if (!cJSON_IsArray(list)) return av_fail("%s: normalizer Sequence has no \"normalizers\" list", c->path);
        cJSON_ArrayForEach(it, list) if (add_normalizer(c, it)) return AV_ERR;
        return AV_OK;
    }
    if (p->n_norm == AV_TEXTPIPE_MAX) return av_fail("%s: more than %d normalizers", c->path, AV_TEXTPIPE_MAX);
    av_norm_step *st = &p->norm[p->n_norm];
    memset(st, 0, sizeof *st);
    if (!strcmp(t, "NFC")) st->kind = AV_NORM_NFC;
    else if (!strcmp(t, "NFD")) st->kind = AV_NORM_NFD;
    else if (!strcmp(t, "NFKC")) st->kind = AV_NORM_NFKC;
    else if (!strcmp(t, "NFKD")) st->kind = AV_NORM_NFKD;
    else if (!strcmp(t, "Prepend")) {
        const cJSON *s = get(n, "prepend");
        if (!cJSON_IsString(s)) return av_fail("%s: normalizer Prepend has no \"prepend\" string", c->path);
        st->kind = AV_NORM_PREPEND;
        if (!(st->text = strdup(s->valuestring))) return AV_ERR_NOMEM;
    } else if (!strcmp(t, "Replace")) {
        const cJSON *s = get(n, "content");
        if (!cJSON_IsString(s)) return av_fail("%s: normalizer Replace has no \"content\" string", c->path);
        st->kind = AV_NORM_REPLACE;
        if (!(st->text = strdup(s->valuestring))) return AV_ERR_NOMEM;
        p->n_norm++;   /* owned from here on, freed with the pipeline even if the pattern fails */
        return pattern_of(c, n, "normalizer Replace", &st->pattern);
    } else {
        return av_fail("%s: normalizer '%s' is not supported (NFC, NFD, NFKC, NFKD, Prepend, Replace, Sequence)",
                       c->path, t);
    }
    p->n_norm++;
    return AV_OK;
}

/* ---- pre-tokenizer ------------------------------------------------------------------ */

static int behavior_of(const ctx *c, const cJSON *o, int *out) {
    static const char *names[] = { "Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous" };
    const cJSON *b = get(o, "behavior");
    for (int i = 0; i < 5; i++)
        if (cJSON_IsString(b) && !strcmp(b->valuestring, names[i])) { *out = i; return AV_OK; }
    return av_fail("%s: pre-tokenizer Split: unknown behavior '%s'", c->path, cJSON_IsString(b) ? b->valuestring : "?");
}

static int add_pretokenizer(ctx *c, const cJSON *n) {
    if (!n || cJSON_IsNull(n)) return AV_OK;
    const char *t = type_of(n);
    av_textpipe *p = &c->h->pipe;
    if (!strcmp(t, "Sequence")) {
        const cJSON *it;
        const cJSON *list = get(n, "pretokenizers");
        if (!cJSON_IsArray(list)) return av_fail("%s: pre-tokenizer Sequence has no \"pretokenizers\" list", c->path);
        cJSON_ArrayForEach(it, list) if (add_pretokenizer(c, it)) return AV_ERR;
        return AV_OK;
    }
    if (p->n_pre == AV_TEXTPIPE_MAX) return av_fail("%s: more than %d pre-tokenizers", c->path, AV_TEXTPIPE_MAX);
    if (p->n_pre && p->pre[p->n_pre - 1].kind == AV_PRE_BYTELEVEL)
        return av_fail("%s: pre-tokenizer '%s' after ByteLevel is not supported (ByteLevel must come last)", c->path, t);
    av_pre_step *st = &p->pre[p->n_pre];
    memset(st, 0, sizeof *st);
    int rc = AV_OK;
    if (!strcmp(t, "Split")) {
        st->kind = AV_PRE_SPLIT;
        rc = behavior_of(c, n, &st->behavior);
        if (rc == AV_OK) rc = get_bool(c, n, "pre-tokenizer Split", "invert", 0, &st->invert);
        if (rc == AV_OK) { p->n_pre++; return pattern_of(c, n, "pre-tokenizer Split", &st->pattern); }
        return rc;
    }
    if (!strcmp(t, "ByteLevel")) {
        int use_regex = 1;
        st->kind = AV_PRE_BYTELEVEL;
        rc = get_bool(c, n, "pre-tokenizer ByteLevel", "add_prefix_space", 1, &st->add_prefix_space);
        if (rc == AV_OK) rc = get_bool(c, n, "pre-tokenizer ByteLevel", "use_regex", 1, &use_regex);
        if (rc) return rc;
        p->n_pre++;
        return use_regex ? av_regex_new(AV_GPT2_SPLIT_REGEX, 0, c->path, &st->pattern) : AV_OK;
    }
    if (!strcmp(t, "Metaspace")) {
        const cJSON *r = get(n, "replacement"), *ps = get(n, "prepend_scheme");
        int aps = 1;
        st->kind = AV_PRE_METASPACE;
        if (!cJSON_IsString(r) || !r->valuestring[0] || strlen(r->valuestring) > 4)
            return av_fail("%s: pre-tokenizer Metaspace: \"replacement\" is not one character", c->path);
        strcpy(st->replacement, r->valuestring);
        st->prepend_scheme = AV_PREPEND_ALWAYS;
        if (cJSON_IsString(ps)) {
            if (!strcmp(ps->valuestring, "first")) st->prepend_scheme = AV_PREPEND_FIRST;
            else if (!strcmp(ps->valuestring, "never")) st->prepend_scheme = AV_PREPEND_NEVER;
            else if (strcmp(ps->valuestring, "always"))
                return av_fail("%s: pre-tokenizer Metaspace: unknown prepend_scheme '%s'", c->path, ps->valuestring);
        }
        rc = get_bool(c, n, "pre-tokenizer Metaspace", "add_prefix_space", 1, &aps);
        if (rc == AV_OK && !aps) st->prepend_scheme = AV_PREPEND_NEVER;   /* the older spelling */
        if (rc == AV_OK) rc = get_bool(c, n, "pre-tokenizer Metaspace", "split", 1, &st->split);
        if (rc == AV_OK) p->n_pre++;
        return rc;
    }
    if (!strcmp(t, "Digits")) {
        st->kind = AV_PRE_DIGITS;
        rc = get_bool(c, n, "pre-tokenizer Digits", "individual_digits", 0, &st->individual);
        if (rc == AV_OK) p->n_pre++;
        return rc;
    }
    return av_fail("%s: pre-tokenizer '%s' is not supported (Split, ByteLevel, Metaspace, Digits, Sequence)", c->path, t);
}

/* ---- model -------------------------------------------------------------------------- */

static int load_model(ctx *c, const cJSON *m, int byte_level) {
    const char *t = type_of(m);
    const cJSON *vocab = get(m, "vocab"), *merges = get(m, "merges");
    if (!cJSON_IsObject(m)) return av_fail("%s: no \"model\" object", c->path);
    if (!*t && cJSON_IsArray(merges)) t = "BPE";   /* files written before the type field */
    if (strcmp(t, "BPE")) return av_fail("%s: model type '%s' is not supported (BPE only)", c->path, *t ? t : "?");
    const cJSON *drop = get(m, "dropout");
    if (drop && !cJSON_IsNull(drop) && !(cJSON_IsNumber(drop) && drop->valuedouble == 0))
        return av_fail("%s: BPE dropout is not supported", c->path);
    const char *affix[] = { "continuing_subword_prefix", "end_of_word_suffix" };
    for (int i = 0; i < 2; i++) {
        const cJSON *a = get(m, affix[i]);
        if (a && !cJSON_IsNull(a) && !(cJSON_IsString(a) && !a->valuestring[0]))
            return av_fail("%s: BPE '%s' is not supported", c->path, affix[i]);
    }
    av_bpe_opts o = { .byte_level = byte_level, .unk = -1 };
    if (get_bool(c, m, "model", "byte_fallback", 0, &o.byte_fallback) || get_bool(c, m, "model", "fuse_unk", 0, &o.fuse_unk) ||
        get_bool(c, m, "model", "ignore_merges", 0, &o.ignore_merges))
        return AV_ERR;
    if (!cJSON_IsObject(vocab)) return av_fail("%s: model has no \"vocab\" object", c->path);
    if (!cJSON_IsArray(merges)) return av_fail("%s: model has no \"merges\" list", c->path);
    av_vocab v;
    av_vocab_init(&v);
    const cJSON *it;
    int rc = AV_OK;
    cJSON_ArrayForEach(it, vocab) {
        double d = it->valuedouble;
        if (!cJSON_IsNumber(it) || d < 0 || d > 2e9 || d != (double)(int32_t)d) {
            rc = av_fail("%s: token '%.40s' has no valid id", c->path, it->string ? it->string : "");
            break;
        }
        if ((rc = av_vocab_add(&v, it->string, strlen(it->string), (int32_t)d))) break;
    }
    if (rc == AV_OK && v.count == 0) rc = av_fail("%s: empty vocabulary", c->path);
    if (rc == AV_OK) rc = av_vocab_finish(&v);
    const cJSON *unk = get(m, "unk_token");
    if (rc == AV_OK && cJSON_IsString(unk)) {
        o.unk = av_vocab_find(&v, unk->valuestring, strlen(unk->valuestring));
        if (o.unk < 0) rc = av_fail("%s: unk_token '%.40s' is not in the vocabulary", c->path, unk->valuestring);
    }
    if (rc) { av_vocab_free(&v); return rc; }
    if ((rc = av_bpe_new(&v, &o, (size_t)cJSON_GetArraySize(merges), &c->h->model))) return rc;
    int k = 0;
    cJSON_ArrayForEach(it, merges) {
        char where[4200];
        snprintf(where, sizeof where, "%s: merge %d", c->path, k++);
        const char *l = NULL, *r = NULL;
        size_t ll = 0, rl = 0;
        if (cJSON_IsString(it)) {
            const char *sp = strchr(it->valuestring, ' ');
            if (sp && sp != it->valuestring && sp[1]) { l = it->valuestring; ll = (size_t)(sp - l); r = sp + 1; rl = strlen(r); }
        } else if (cJSON_IsArray(it) && cJSON_GetArraySize(it) == 2 && cJSON_IsString(it->child) && cJSON_IsString(it->child->next)) {
            l = it->child->valuestring; ll = strlen(l);
            r = it->child->next->valuestring; rl = strlen(r);
        }
        if (!l) return av_fail("%s: not \"a b\" nor [a, b]", where);
        if ((rc = av_bpe_add_merge(c->h->model, l, ll, r, rl, where))) return rc;
    }
    return AV_OK;
}

/* ---- added tokens and post-processor ------------------------------------------------ */

static int load_added(ctx *c, const cJSON *list) {
    if (!list || cJSON_IsNull(list)) return AV_OK;
    if (!cJSON_IsArray(list)) return av_fail("%s: \"added_tokens\" is not a list", c->path);
    const cJSON *it;
    cJSON_ArrayForEach(it, list) {
        const cJSON *id = get(it, "id"), *content = get(it, "content");
        if (!cJSON_IsNumber(id) || !cJSON_IsString(content) || id->valuedouble < 0 || id->valuedouble > 2e9)
            return av_fail("%s: an added token has no \"id\" or \"content\"", c->path);
        int f[5];
        const char *flags[] = { "special", "lstrip", "rstrip", "normalized", "single_word" };
        for (int i = 0; i < 5; i++)
            if (get_bool(c, it, "added token", flags[i], i == 3 ? -1 : 0, &f[i])) return AV_ERR;
        if (f[3] < 0) f[3] = !f[0];   /* AddedToken::from: special tokens are not normalized */
        if (av_hftok_add_token(c->h, content->valuestring, (int32_t)id->valuedouble, f[0], f[1], f[2], f[3], f[4]))
            return AV_ERR;
    }
    return AV_OK;
}

static int template_items(ctx *c, const cJSON *list, const cJSON *specials, av_tmpl_item *out, int *n) {
    const cJSON *it;
    *n = 0;
    if (!cJSON_IsArray(list)) return av_fail("%s: TemplateProcessing without single/pair lists", c->path);
    cJSON_ArrayForEach(it, list) {
        if (*n == AV_TMPL_MAX) return av_fail("%s: template longer than %d", c->path, AV_TMPL_MAX);
        av_tmpl_item *ti = &out[(*n)++];
        memset(ti, 0, sizeof *ti);
        const cJSON *sp = get(it, "SpecialToken"), *sq = get(it, "Sequence"), *x = sp ? sp : sq;
        const cJSON *id = get(x, "id"), *ty = get(x, "type_id");
        if (!cJSON_IsString(id)) return av_fail("%s: template element without \"id\"", c->path);
        ti->type_id = cJSON_IsNumber(ty) ? (int32_t)ty->valuedouble : 0;
        if (sq) {
            if (strcmp(id->valuestring, "A") && strcmp(id->valuestring, "B"))
                return av_fail("%s: template sequence '%s' (A or B)", c->path, id->valuestring);
            ti->seq = id->valuestring[0] == 'B';
            continue;
        }
        ti->seq = -1;
        const cJSON *ids = get(get(specials, id->valuestring), "ids"), *e;
        if (!cJSON_IsArray(ids) || cJSON_GetArraySize(ids) > 4)
            return av_fail("%s: template special token '%.40s' has no ids", c->path, id->valuestring);
        cJSON_ArrayForEach(e, ids) ti->ids[ti->nids++] = (int32_t)e->valuedouble;
    }
    return AV_OK;
}

static int load_post(ctx *c, const cJSON *p) {
    if (!p || cJSON_IsNull(p)) return AV_OK;
    const char *t = type_of(p);
    if (!strcmp(t, "Sequence")) {
        const cJSON *it;
        cJSON_ArrayForEach(it, get(p, "processors")) if (load_post(c, it)) return AV_ERR;
        return AV_OK;
    }
    if (!strcmp(t, "ByteLevel")) return AV_OK;   /* offsets only */
    if (!strcmp(t, "TemplateProcessing")) {
        av_hftok *h = c->h;
        h->has_template = 1;
        const cJSON *sp = get(p, "special_tokens");
        if (template_items(c, get(p, "single"), sp, h->single, &h->n_single)) return AV_ERR;
        return template_items(c, get(p, "pair"), sp, h->pair, &h->n_pair);
    }
    return av_fail("%s: post-processor '%s' is not supported (TemplateProcessing, ByteLevel, Sequence)", c->path, t);
}

/* ---- tokenizer_config.json ---------------------------------------------------------- */

/* A special token as the config gives it: a string, {"content": ...}, or null. */
static const char *token_text(const cJSON *v) {
    if (cJSON_IsString(v)) return v->valuestring;
    const cJSON *s = get(v, "content");
    return cJSON_IsString(s) ? s->valuestring : NULL;
}

/* transformers adds each named special token the tokenizer does not have yet as a special
 * added token, with the vocabulary's id or the next free one (tokenizers' add_tokens). */
static int ensure_special(av_hftok *h, const char *s, int32_t *id_out) {
    int32_t id = av_hftok_find(h, s);
    for (int i = 0; i < h->n_added; i++)
        if (!strcmp(h->added[i].content, s)) { if (id_out) *id_out = id; return AV_OK; }
    if (id < 0) {
        int32_t vs = av_bpe_vocab(h->model)->size, max = -1;
        for (int i = 0; i < h->n_added; i++) if (h->added[i].id > max) max = h->added[i].id;
        id = max >= vs ? max + 1 : vs;
    }
    if (id_out) *id_out = id;
    return av_hftok_add_token(h, s, id, 1, 0, 0, 0, 0);
}

static int load_config(ctx *c, const char *path) {
    if (!av_file_exists(path)) return AV_OK;
    size_t len;
    char *text = av_read_file(path, &len);
    if (!text) return AV_ERR;
    cJSON *cfg = cJSON_ParseWithLength(text, len);
    free(text);
    av_hftok *h = c->h;
    int rc = cJSON_IsObject(cfg) ? AV_OK : av_fail("%s: not a JSON object", path);
    const char *names[] = { "bos_token", "eos_token", "unk_token", "pad_token" };
    int32_t *ids[] = { &h->bos, &h->eos, &h->unk, &h->pad };
    for (int i = 0; i < 4 && rc == AV_OK; i++) {
        const cJSON *v = get(cfg, names[i]);
        const char *s = token_text(v);
        if (v && !cJSON_IsNull(v) && !s) rc = av_fail("%s: '%s' is neither a string nor {\"content\": string}", path, names[i]);
        else if (s && *s) rc = ensure_special(h, s, ids[i]);
    }
    const cJSON *extra = get(cfg, "additional_special_tokens"), *it;
    if (rc == AV_OK && extra && !cJSON_IsNull(extra) && !cJSON_IsArray(extra))
        rc = av_fail("%s: 'additional_special_tokens' is not a list", path);
    if (rc == AV_OK && cJSON_IsArray(extra)) {
        cJSON_ArrayForEach(it, extra) {
            const char *s = token_text(it);
            if (s && *s && (rc = ensure_special(h, s, NULL))) break;
        }
    }
    cJSON_Delete(cfg);
    return rc;
}

/* Special ids when the config names none: the template's first and last special token. */
static void ids_from_template(av_hftok *h) {
    for (int i = 0; i < h->n_single; i++) {
        if (h->single[i].seq >= 0) continue;
        if (i == 0 && h->bos < 0) h->bos = h->single[i].ids[0];
        if (i == h->n_single - 1 && h->eos < 0) h->eos = h->single[i].ids[0];
    }
}

int av_tokjson_load(const char *dir, av_hftok **out) {
    *out = NULL;
    char path[4096], cpath[4096];
    av_path_join(path, sizeof path, dir, "tokenizer.json");
    av_path_join(cpath, sizeof cpath, dir, "tokenizer_config.json");
    size_t len;
    char *text = av_read_file(path, &len);
    if (!text) return AV_ERR;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    av_hftok *h = av_hftok_new();
    ctx c = { path, h };
    int rc = !h ? AV_ERR_NOMEM : cJSON_IsObject(root) ? AV_OK : av_fail("%s: not a JSON object", path);
    if (rc == AV_OK) rc = add_normalizer(&c, get(root, "normalizer"));
    if (rc == AV_OK) rc = add_pretokenizer(&c, get(root, "pre_tokenizer"));
    int byte_level = 0, metaspace = 0;
    for (int i = 0; h && i < h->pipe.n_pre; i++) {
        byte_level |= h->pipe.pre[i].kind == AV_PRE_BYTELEVEL;
        metaspace |= h->pipe.pre[i].kind == AV_PRE_METASPACE;
    }
    for (int i = 0; h && i < h->pipe.n_norm; i++)
        metaspace |= h->pipe.norm[i].kind == AV_NORM_REPLACE && !strcmp(h->pipe.norm[i].text, "\xe2\x96\x81");
    if (rc == AV_OK) rc = load_model(&c, get(root, "model"), byte_level);
    if (rc == AV_OK) rc = load_added(&c, get(root, "added_tokens"));
    if (rc == AV_OK) rc = load_post(&c, get(root, "post_processor"));
    if (rc == AV_OK) rc = load_config(&c, cpath);
    cJSON_Delete(root);
    if (rc == AV_OK) {
        h->spelling = byte_level ? AV_SPELL_BYTE_LEVEL : metaspace ? AV_SPELL_METASPACE : AV_SPELL_PLAIN;
        if (h->unk < 0) h->unk = av_bpe_options(h->model)->unk;
        ids_from_template(h);
        rc = av_hftok_finish(h);
    }
    if (rc != AV_OK) { av_hftok_free(h); return rc; }
    *out = h;
    return AV_OK;
}
