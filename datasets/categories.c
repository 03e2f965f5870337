/* categories.c - token flags and token frequency counting (see categories.h). */
#include "datasets/categories.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#include "base/util.h"

int av_tok_scheme_for_model(const char *model_type, av_tok_scheme *out) {
    if (!strcmp(model_type, "bert")) *out = AV_TOKSCHEME_WORDPIECE;
    else if (!strcmp(model_type, "gpt2")) *out = AV_TOKSCHEME_BYTE_BPE;
    else if (!strcmp(model_type, "vit")) *out = AV_TOKSCHEME_PATCH;
    /* the Llama family: byte-level BPE (Llama 3, Qwen, SmolLM) or SentencePiece pieces
     * (Llama 2, Mistral), which token_bytes tells apart token by token */
    else if (!strcmp(model_type, "llama") || !strcmp(model_type, "mistral") || !strcmp(model_type, "qwen2") ||
             !strcmp(model_type, "qwen3"))
        *out = AV_TOKSCHEME_BYTE_BPE;
    else return av_fail("unknown model type '%s' (bert, gpt2, vit, llama, mistral, qwen2 or qwen3)", model_type);
    return AV_OK;
}

static int is_special(const char *t) {
    static const char *const names[] = {"[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]", "<|endoftext|>",
                                        "<s>", "</s>", "<pad>", "<unk>", "<mask>", "<cls>"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(t, names[i])) return 1;
    /* the control tokens of the LLMs' chat templates: <|im_start|>, <|begin_of_text|>,
     * <|eot_id|>, <|fim_prefix|>... */
    size_t n = strlen(t);
    if (n > 4 && !strncmp(t, "<|", 2) && !strcmp(t + n - 2, "|>")) return 1;
    /* BERT's reserved "[unused0]".."[unused993]" */
    if (strncmp(t, "[unused", 7) || !t[7]) return 0;
    size_t i = 7;
    while (t[i] >= '0' && t[i] <= '9') i++;
    return i > 7 && t[i] == ']' && !t[i + 1];
}

/* GPT-2's bytes_to_unicode: bytes 33..126, 161..172 and 174..255 stand for themselves;
 * the other 68 bytes, in increasing order, become U+0100 + k. */
static int byte_is_self(int b) { return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174; }

int av_byte_bpe_decode(const char *token, char *out, int cap) {
    const utf8proc_uint8_t *s = (const utf8proc_uint8_t *)token;
    utf8proc_ssize_t n = (utf8proc_ssize_t)strlen(token);
    int len = 0;
    while (n > 0) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(s, n, &cp);
        if (k <= 0) return -1;
        int byte;
        if (cp < 256 && byte_is_self(cp)) byte = cp;
        else if (cp >= 256 && cp < 256 + 68) {
            int k = cp - 256; /* the k-th byte that is not its own image: 0..32, 127..160, 173 */
            byte = k <= 32 ? k : k <= 66 ? k - 33 + 127 : 173;
        }
        else return -1;
        if (len + 1 < cap) out[len] = (char)byte;
        len++;
        s += k;
        n -= k;
    }
    if (cap > 0) out[len < cap ? len : cap - 1] = 0;
    return len < cap ? len : cap - 1;
}

static int is_space_cp(utf8proc_int32_t c) {
    if (c == ' ' || (c >= 9 && c <= 13)) return 1;
    utf8proc_category_t k = utf8proc_category(c);
    return k == UTF8PROC_CATEGORY_ZS || k == UTF8PROC_CATEGORY_ZL || k == UTF8PROC_CATEGORY_ZP;
}

static int is_punct_cp(utf8proc_int32_t c) {
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return 1;
    utf8proc_category_t k = utf8proc_category(c);
    return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}

static int is_word_cp(utf8proc_int32_t c) {
    utf8proc_category_t k = utf8proc_category(c);
    return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) ||
           (k >= UTF8PROC_CATEGORY_MN && k <= UTF8PROC_CATEGORY_ME) ||
           (k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO);
}

/* Classifies s[0..n) (bytes that may end or start in the middle of a UTF-8 character):
 * all punctuation, all digits, all white space; and whether it starts / ends inside a
 * word. */
typedef struct { int punct, digit, space, starts_in_word, ends_in_word, nonempty; } text_class;

static text_class classify(const char *str, size_t n) {
    text_class c = {1, 1, 1, 0, 0, n > 0};
    const utf8proc_uint8_t *s = (const utf8proc_uint8_t *)str;
    size_t i = 0;
    int first = 1;
    while (i < n) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (k <= 0) {
            /* A fragment of a character split across tokens: inside a word. */
            c.punct = c.digit = c.space = 0;
            if (first) c.starts_in_word = 1;
            c.ends_in_word = 1;
            i++;
            first = 0;
            continue;
        }
        if (!is_punct_cp(cp)) c.punct = 0;
        if (utf8proc_category(cp) != UTF8PROC_CATEGORY_ND) c.digit = 0;
        if (!is_space_cp(cp)) c.space = 0;
        int w = is_word_cp(cp);
        if (first) c.starts_in_word = w;
        c.ends_in_word = w;
        first = 0;
        i += (size_t)k;
    }
    if (!c.nonempty) c.punct = c.digit = c.space = 0;
    return c;
}

/* The bytes a BPE token stands for, in out (at most cap - 1 and a NUL): a byte-fallback
 * token <0xNN> (SentencePiece) is its byte; else the byte-level spelling decoded; failing
 * that (a SentencePiece piece, whose "\u2581" word marker is no byte's image), the piece
 * with the marker read as a space. Returns the byte count. */
static int token_bytes(const char *token, char *out, int cap) {
    unsigned x;
    char tail;
    if (strlen(token) == 6 && sscanf(token, "<0x%2X%c", &x, &tail) == 2 && tail == '>' && cap > 1) {
        out[0] = (char)x;
        out[1] = 0;
        return 1;
    }
    int n = av_byte_bpe_decode(token, out, cap);
    if (n >= 0) return n;
    n = 0;
    for (const char *p = token; *p && n < cap - 1;) {
        if (!strncmp(p, "\xe2\x96\x81", 3)) { out[n++] = ' '; p += 3; }
        else out[n++] = *p++;
    }
    out[n] = 0;
    return n;
}

uint32_t av_token_flags(const char *token, const char *prev, av_tok_scheme scheme) {
    if (!token) return 0;
    if (is_special(token)) return AV_TOK_SPECIAL;
    if (scheme == AV_TOKSCHEME_PATCH) return 0;
    uint32_t f = 0;
    text_class c;
    if (scheme == AV_TOKSCHEME_WORDPIECE) {
        const char *body = token;
        if (!strncmp(token, "##", 2) && token[2]) { f |= AV_TOK_CONTINUATION; body += 2; }
        c = classify(body, strlen(body));
    } else {
        char bytes[1024];
        int n = token_bytes(token, bytes, sizeof bytes);
        c = classify(bytes, (size_t)n);
        if (c.starts_in_word && prev && !is_special(prev)) {
            char pb[1024];
            int pn = token_bytes(prev, pb, sizeof pb);
            if (classify(pb, (size_t)pn).ends_in_word) f |= AV_TOK_CONTINUATION;
        }
        /* The leading space marks a new word; punctuation and digits are judged
         * without it. */
        if (n > 0 && (bytes[0] == ' ') && !c.space) c = classify(bytes + 1, (size_t)n - 1);
    }
    if (c.space) f |= AV_TOK_SPACE;
    if (c.punct) f |= AV_TOK_PUNCT;
    if (c.digit) f |= AV_TOK_DIGIT;
    if (f & (AV_TOK_SPACE | AV_TOK_PUNCT)) f &= ~(uint32_t)AV_TOK_CONTINUATION;
    return f;
}

av_tok_category av_token_category(uint32_t f) {
    if (f & AV_TOK_SPECIAL) return AV_TOKCAT_SPECIAL;
    if (f & AV_TOK_SPACE) return AV_TOKCAT_SPACE;
    if (f & AV_TOK_PUNCT) return AV_TOKCAT_PUNCT;
    if (f & AV_TOK_DIGIT) return AV_TOKCAT_DIGIT;
    if (f & AV_TOK_CONTINUATION) return AV_TOKCAT_CONTINUATION;
    return AV_TOKCAT_WORD;
}

const char *av_token_category_name(av_tok_category c) {
    static const char *const names[AV_TOKCAT_COUNT] = {"word", "continuation", "digit", "punctuation",
                                                       "space", "special"};
    return (unsigned)c < AV_TOKCAT_COUNT ? names[c] : "?";
}

/* ---- token counts: open addressing, linear probing, FNV-1a ---------------------- */

typedef struct { char *key; uint64_t hash; int64_t count; } slot;
struct av_token_counts { slot *slots; size_t cap, used; int64_t total; };

static uint64_t fnv1a(const char *s) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001B3ull;
    return h;
}

int av_token_counts_new(av_token_counts **out) {
    *out = NULL;
    av_token_counts *c = av_calloc(1, sizeof *c);
    if (!c) return AV_ERR_NOMEM;
    c->cap = 1024;
    c->slots = av_calloc(c->cap, sizeof *c->slots);
    if (!c->slots) { free(c); return AV_ERR_NOMEM; }
    *out = c;
    return AV_OK;
}

static slot *find(const av_token_counts *c, const char *key, uint64_t h) {
    size_t i = (size_t)h & (c->cap - 1);
    while (c->slots[i].key && (c->slots[i].hash != h || strcmp(c->slots[i].key, key)))
        i = (i + 1) & (c->cap - 1);
    return &c->slots[i];
}

static int grow(av_token_counts *c) {
    size_t cap = c->cap * 2;
    slot *old = c->slots, *s = av_calloc(cap, sizeof *s);
    if (!s) return AV_ERR_NOMEM;
    size_t oldcap = c->cap;
    c->slots = s;
    c->cap = cap;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].key) *find(c, old[i].key, old[i].hash) = old[i];
    free(old);
    return AV_OK;
}

int av_token_counts_add(av_token_counts *c, const char *token) {
    uint64_t h = fnv1a(token);
    slot *s = find(c, token, h);
    if (!s->key) {
        if ((c->used + 1) * 10 > c->cap * 7) { /* keep the load under 0.7 */
            if (grow(c) != AV_OK) return AV_ERR_NOMEM;
            s = find(c, token, h);
        }
        s->key = strdup(token);
        if (!s->key) return av_fail("out of memory counting tokens");
        s->hash = h;
        c->used++;
    }
    s->count++;
    c->total++;
    return AV_OK;
}

int64_t av_token_counts_get(const av_token_counts *c, const char *token) {
    const slot *s = find(c, token, fnv1a(token));
    return s->key ? s->count : 0;
}

int64_t av_token_counts_distinct(const av_token_counts *c) { return (int64_t)c->used; }
int64_t av_token_counts_total(const av_token_counts *c) { return c->total; }

void av_token_counts_free(av_token_counts *c) {
    if (!c) return;
    for (size_t i = 0; i < c->cap; i++) free(c->slots[i].key);
    free(c->slots);
    free(c);
}

int av_token_frequencies(const char *const *tokens, int64_t n, int64_t *freq) {
    av_token_counts *c;
    if (av_token_counts_new(&c) != AV_OK) return AV_ERR_NOMEM;
    for (int64_t i = 0; i < n; i++)
        if (av_token_counts_add(c, tokens[i]) != AV_OK) { av_token_counts_free(c); return AV_ERR_NOMEM; }
    for (int64_t i = 0; i < n; i++) freq[i] = av_token_counts_get(c, tokens[i]);
    av_token_counts_free(c);
    return AV_OK;
}
