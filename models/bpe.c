/* bpe.c - see bpe.h. Merging keeps the pieces of a word in a linked list and candidate
 * merges in a binary heap ordered by (rank, position), as tokenizers' BPE model does, so a
 * long word costs O(n log n), not O(n^2). The merge table is a hash from the id pair to
 * (rank, merged id). */
#include "models/bpe.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "models/unichar.h"

typedef struct { uint64_t key; int32_t rank, merged; } merge_slot;   /* key 0 = empty */

/* Cache of piece bytes -> ids. Bounded: when a limit is reached it is emptied and refills
 * with what the text repeats now. */
#define CACHE_SLOTS (1u << 16)
#define CACHE_MAX_PIECE 128
typedef struct { uint64_t hash; uint32_t key_off, ids_off; uint16_t key_len, ids_len; } cache_slot;
typedef struct {
    pthread_mutex_t lock;
    cache_slot *slots;       /* CACHE_SLOTS; ids_len 0 = empty (a cached piece has >= 1 id) */
    uint32_t used;
    char *keys; uint32_t keys_len, keys_cap;
    int32_t *ids; uint32_t ids_len, ids_cap;
} piece_cache;

struct av_bpe {
    av_vocab vocab;
    int32_t byte_id[256];    /* id of each byte's bytes_to_unicode character, -1 if absent */
    merge_slot *merges;
    size_t merge_slots;      /* power of two */
    av_specials specials;
    int32_t eos;
    int add_prefix_space;    /* tokenizer_config.json add_prefix_space (default false) */
    piece_cache *cache;      /* mutable behind a const av_bpe: a cache changes no result */
};

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33; x *= 0xff51afd7ed558ccdull; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ull; x ^= x >> 33;
    return x;
}
static uint64_t pair_key(int32_t a, int32_t b) { return ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) + 1; }

static const merge_slot *merge_find(const av_bpe *b, int32_t l, int32_t r) {
    uint64_t key = pair_key(l, r);
    size_t i = mix64(key) & (b->merge_slots - 1);
    while (b->merges[i].key) {
        if (b->merges[i].key == key) return &b->merges[i];
        i = (i + 1) & (b->merge_slots - 1);
    }
    return NULL;
}

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68
 * bytes for U+0100 onwards in byte order. */
static int32_t byte_char(int byte) {
    if ((byte >= 0x21 && byte <= 0x7E) || (byte >= 0xA1 && byte <= 0xAC) || (byte >= 0xAE && byte <= 0xFF))
        return byte;
    int n = 0;
    for (int x = 0; x < byte; x++)
        if (!((x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF))) n++;
    return 256 + n;
}

/* ---- loading ------------------------------------------------------------------------ */

static int load_vocab_json(av_vocab *v, const char *path) {
    size_t len;
    char *text = av_read_file(path, &len);
    if (!text) return AV_ERR;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cJSON_IsObject(root)) { cJSON_Delete(root); return av_fail("%s: not a JSON object", path); }
    int rc = AV_OK;
    const cJSON *it;
    cJSON_ArrayForEach(it, root) {
        double d = it->valuedouble;
        if (!cJSON_IsNumber(it) || d < 0 || d > 2e9 || d != (double)(int32_t)d) {
            rc = av_fail("%s: token '%.40s' has no valid id", path, it->string ? it->string : "");
            break;
        }
        rc = av_vocab_add(v, it->string, strlen(it->string), (int32_t)d);
        if (rc) break;
    }
    cJSON_Delete(root);
    if (rc == AV_OK && v->count == 0) rc = av_fail("%s: empty vocabulary", path);
    if (rc == AV_OK) rc = av_vocab_finish(v);
    return rc;
}

static int merge_insert(av_bpe *b, int32_t l, int32_t r, int32_t rank, int32_t merged) {
    uint64_t key = pair_key(l, r);
    size_t i = mix64(key) & (b->merge_slots - 1);
    while (b->merges[i].key && b->merges[i].key != key) i = (i + 1) & (b->merge_slots - 1);
    /* a repeated pair takes its later rank, as a dict built in file order does */
    b->merges[i] = (merge_slot){ key, rank, merged };
    return AV_OK;
}

static int load_merges(av_bpe *b, const char *path) {
    size_t len;
    char *text = av_read_file(path, &len);
    if (!text) return AV_ERR;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    b->merge_slots = 1024;
    while (b->merge_slots < 2 * lines) b->merge_slots *= 2;
    b->merges = calloc(b->merge_slots, sizeof *b->merges);
    if (!b->merges) { free(text); return av_fail("out of memory (merge table)"), AV_ERR_NOMEM; }
    int rc = AV_OK;
    int32_t rank = 0;
    size_t lineno = 0, p = 0;
    char tok[2048];
    while (p < len && rc == AV_OK) {
        char *nl = memchr(text + p, '\n', len - p);
        size_t end = nl ? (size_t)(nl - text) : len;
        char *line = text + p;
        size_t ll = end - p;
        p = end + 1;
        lineno++;
        if (ll && line[ll - 1] == '\r') ll--;
        /* "#version: 0.2" headers are skipped, as both Hugging Face readers do */
        if (ll >= 8 && memcmp(line, "#version", 8) == 0) continue;
        char *sp = memchr(line, ' ', ll);
        if (!sp || sp == line || sp == line + ll - 1 || memchr(sp + 1, ' ', (size_t)(line + ll - sp - 1)) ||
            ll + 1 > sizeof tok) {
            rc = av_fail("%s: line %zu: not two tokens separated by one space", path, lineno);
            break;
        }
        size_t la = (size_t)(sp - line), lb = ll - la - 1;
        int32_t l = av_vocab_find(&b->vocab, line, la);
        int32_t r = av_vocab_find(&b->vocab, sp + 1, lb);
        memcpy(tok, line, la);
        memcpy(tok + la, sp + 1, lb);
        int32_t m = av_vocab_find(&b->vocab, tok, la + lb);
        if (l < 0 || r < 0 || m < 0) {
            rc = av_fail("%s: line %zu: merge '%.*s %.*s': '%.*s' is not in vocab.json", path, lineno,
                         (int)la, line, (int)lb, sp + 1,
                         l < 0 ? (int)la : r < 0 ? (int)lb : (int)(la + lb),
                         l < 0 ? line : r < 0 ? sp + 1 : tok);
            break;
        }
        rc = merge_insert(b, l, r, rank++, m);
    }
    free(text);
    return rc;
}

static void cache_free(piece_cache *c) {
    if (!c) return;
    pthread_mutex_destroy(&c->lock);
    free(c->slots);
    free(c->keys);
    free(c->ids);
    free(c);
}

static piece_cache *cache_new(void) {
    piece_cache *c = av_calloc(1, sizeof *c);
    if (!c) return NULL;
    c->slots = av_calloc(CACHE_SLOTS, sizeof *c->slots);
    c->keys_cap = 1u << 20;
    c->ids_cap = 1u << 18;
    c->keys = av_malloc(c->keys_cap);
    c->ids = av_malloc(c->ids_cap * sizeof *c->ids);
    if (!c->slots || !c->keys || !c->ids || pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c->slots); free(c->keys); free(c->ids); free(c);
        av_fail("out of memory (tokenizer cache)");
        return NULL;
    }
    return c;
}

/* tokenizer_config.json's add_prefix_space, when the folder has that file. */
static int load_config(av_bpe *b, const char *path) {
    if (!av_file_exists(path)) return AV_OK;
    size_t len;
    char *text = av_read_file(path, &len);
    if (!text) return AV_ERR;
    cJSON *cfg = cJSON_ParseWithLength(text, len);
    free(text);
    int rc = AV_OK;
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(cfg, "add_prefix_space");
    if (!cJSON_IsObject(cfg)) rc = av_fail("%s: not a JSON object", path);
    else if (it && !cJSON_IsNull(it) && !cJSON_IsBool(it))
        rc = av_fail("%s: 'add_prefix_space' is not true, false or null", path);
    else b->add_prefix_space = cJSON_IsTrue(it);
    cJSON_Delete(cfg);
    return rc;
}

int av_bpe_load(const char *dir, av_bpe **out) {
    *out = NULL;
    char vpath[4096], mpath[4096], cpath[4096];
    av_path_join(vpath, sizeof vpath, dir, "vocab.json");
    av_path_join(mpath, sizeof mpath, dir, "merges.txt");
    av_path_join(cpath, sizeof cpath, dir, "tokenizer_config.json");
    av_bpe *b = av_calloc(1, sizeof *b);
    if (!b) return AV_ERR_NOMEM;
    av_vocab_init(&b->vocab);
    int rc = load_vocab_json(&b->vocab, vpath);
    if (rc == AV_OK) rc = load_config(b, cpath);
    if (rc == AV_OK) rc = load_merges(b, mpath);
    if (rc == AV_OK) {
        for (int x = 0; x < 256; x++) {
            uint8_t u8[4];
            utf8proc_ssize_t n = utf8proc_encode_char(byte_char(x), u8);
            b->byte_id[x] = av_vocab_find(&b->vocab, (const char *)u8, (size_t)n);
        }
        b->eos = av_vocab_find(&b->vocab, "<|endoftext|>", 13);
        av_specials_add(&b->specials, &b->vocab, "<|endoftext|>");
        b->cache = cache_new();
        if (!b->cache) rc = AV_ERR_NOMEM;
    }
    if (rc != AV_OK) { av_bpe_free(b); return rc; }
    *out = b;
    return AV_OK;
}

void av_bpe_free(av_bpe *b) {
    if (!b) return;
    av_vocab_free(&b->vocab);
    free(b->merges);
    cache_free(b->cache);
    free(b);
}

const av_vocab *av_bpe_vocab(const av_bpe *b) { return &b->vocab; }
int32_t av_bpe_eos(const av_bpe *b) { return b->eos; }

/* ---- merging ------------------------------------------------------------------------ */

typedef struct { int32_t rank, pos, merged; } cand;
typedef struct {
    int32_t *id, *prev, *next;   /* symbols; id -1 = merged away */
    cand *heap;
    size_t cap, nheap;
} work;

static int cand_less(cand a, cand b) { return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos); }

static void heap_push(work *w, cand c) {
    size_t i = w->nheap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!cand_less(c, w->heap[p])) break;
        w->heap[i] = w->heap[p];
        i = p;
    }
    w->heap[i] = c;
}

static cand heap_pop(work *w) {
    cand top = w->heap[0], last = w->heap[--w->nheap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        cand mc = last;
        if (l < w->nheap && cand_less(w->heap[l], mc)) { m = l; mc = w->heap[l]; }
        if (r < w->nheap && cand_less(w->heap[r], mc)) { m = r; }
        if (m == i) break;
        w->heap[i] = w->heap[m];
        i = m;
    }
    if (w->nheap) w->heap[i] = last;
    return top;
}

static int work_reserve(work *w, size_t n) {
    if (n <= w->cap) return AV_OK;
    size_t cap = w->cap ? w->cap : 64;
    while (cap < n) cap *= 2;
    int32_t *id = realloc(w->id, cap * sizeof *id);
    if (id) w->id = id;
    int32_t *prev = realloc(w->prev, cap * sizeof *prev);
    if (prev) w->prev = prev;
    int32_t *next = realloc(w->next, cap * sizeof *next);
    if (next) w->next = next;
    /* every merge pushes at most two candidates, so 3n bounds the heap */
    cand *heap = realloc(w->heap, 3 * cap * sizeof *heap);
    if (heap) w->heap = heap;
    if (!id || !prev || !next || !heap) return av_fail("out of memory (tokenizer buffer)"), AV_ERR_NOMEM;
    w->cap = cap;
    return AV_OK;
}

static void push_pair(const av_bpe *b, work *w, int32_t pos) {
    if (pos < 0 || w->next[pos] < 0) return;
    int32_t nx = w->next[pos];
    const merge_slot *m = merge_find(b, w->id[pos], w->id[nx]);
    if (m) heap_push(w, (cand){ m->rank, pos, m->merged });
}

/* Byte-level BPE of one piece s[0..n) -> ids appended to enc. */
static int merge_piece(const av_bpe *b, const uint8_t *s, size_t n, work *w, int32_t type_id,
                       av_encoding *enc) {
    if (work_reserve(w, n)) return AV_ERR_NOMEM;
    int32_t count = 0;
    for (size_t i = 0; i < n; i++) {
        /* a byte whose character the vocabulary lacks is dropped, as the BPE model of
         * tokenizers does when it has no unknown token */
        if (b->byte_id[s[i]] < 0) continue;
        w->id[count] = b->byte_id[s[i]];
        w->prev[count] = count - 1;
        w->next[count] = count + 1;
        count++;
    }
    if (!count) return AV_OK;
    w->next[count - 1] = -1;
    w->nheap = 0;
    for (int32_t i = 0; i + 1 < count; i++) push_pair(b, w, i);
    while (w->nheap) {
        cand c = heap_pop(w);
        int32_t nx = w->next[c.pos];
        if (w->id[c.pos] < 0 || nx < 0) continue;
        /* stale candidates: the pair at pos is no longer the one that was queued */
        const merge_slot *m = merge_find(b, w->id[c.pos], w->id[nx]);
        if (!m || m->merged != c.merged) continue;
        w->id[c.pos] = c.merged;
        w->id[nx] = -1;
        w->next[c.pos] = w->next[nx];
        if (w->next[nx] >= 0) w->prev[w->next[nx]] = c.pos;
        push_pair(b, w, w->prev[c.pos]);
        push_pair(b, w, c.pos);
    }
    for (int32_t i = 0; i >= 0; i = w->next[i]) {
        int rc = av_encoding_push(enc, w->id[i], type_id);
        if (rc) return rc;
    }
    return AV_OK;
}

/* ---- cache -------------------------------------------------------------------------- */

static uint64_t piece_hash(const uint8_t *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) { h ^= s[i]; h *= 1099511628211ull; }
    return h | 1;
}

/* Appends the cached ids of s to enc; 1 when found, 0 when not, < 0 on error. */
static int cache_get(piece_cache *c, const uint8_t *s, size_t n, uint64_t h, int32_t type_id,
                     av_encoding *enc) {
    int found = 0, rc = AV_OK;
    pthread_mutex_lock(&c->lock);
    for (uint32_t i = (uint32_t)h & (CACHE_SLOTS - 1);; i = (i + 1) & (CACHE_SLOTS - 1)) {
        const cache_slot *e = &c->slots[i];
        if (!e->ids_len) break;
        if (e->hash == h && e->key_len == n && memcmp(c->keys + e->key_off, s, n) == 0) {
            for (uint32_t k = 0; k < e->ids_len && rc == AV_OK; k++)
                rc = av_encoding_push(enc, c->ids[e->ids_off + k], type_id);
            found = 1;
            break;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return rc ? rc : found;
}

static void cache_put(piece_cache *c, const uint8_t *s, size_t n, uint64_t h, const int32_t *ids,
                      uint32_t nids) {
    if (!nids || n > CACHE_MAX_PIECE || nids > CACHE_MAX_PIECE) return;
    pthread_mutex_lock(&c->lock);
    if (c->used >= CACHE_SLOTS / 2 || c->keys_len + n > c->keys_cap || c->ids_len + nids > c->ids_cap) {
        memset(c->slots, 0, CACHE_SLOTS * sizeof *c->slots);
        c->used = c->keys_len = c->ids_len = 0;
    }
    uint32_t i = (uint32_t)h & (CACHE_SLOTS - 1);
    for (;; i = (i + 1) & (CACHE_SLOTS - 1)) {
        const cache_slot *e = &c->slots[i];
        if (!e->ids_len) break;
        if (e->hash == h && e->key_len == n && memcmp(c->keys + e->key_off, s, n) == 0) {
            pthread_mutex_unlock(&c->lock);   /* another thread cached it meanwhile */
            return;
        }
    }
    memcpy(c->keys + c->keys_len, s, n);
    memcpy(c->ids + c->ids_len, ids, nids * sizeof *ids);
    c->slots[i] = (cache_slot){ h, c->keys_len, c->ids_len, (uint16_t)n, (uint16_t)nids };
    c->keys_len += (uint32_t)n;
    c->ids_len += nids;
    c->used++;
    pthread_mutex_unlock(&c->lock);
}

static int encode_piece(const av_bpe *b, const uint8_t *s, size_t n, work *w, int32_t type_id,
                        av_encoding *enc) {
    uint64_t h = 0;
    if (n <= CACHE_MAX_PIECE) {
        h = piece_hash(s, n);
        int hit = cache_get(b->cache, s, n, h, type_id, enc);
        if (hit) return hit < 0 ? hit : AV_OK;
    }
    int first = enc->count;
    int rc = merge_piece(b, s, n, w, type_id, enc);
    if (rc == AV_OK && n <= CACHE_MAX_PIECE)
        cache_put(b->cache, s, n, h, enc->ids + first, (uint32_t)(enc->count - first));
    return rc;
}

/* ---- pre-tokenization ------------------------------------------------------------------ */

enum { CL_SPACE, CL_LETTER, CL_NUMBER, CL_OTHER };

typedef struct { int32_t *cp; uint8_t *cls; uint32_t *off; size_t cap; } scan_buf;

static int scan_reserve(scan_buf *sb, size_t n) {
    if (n + 1 <= sb->cap) return AV_OK;
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < n + 1) cap *= 2;
    int32_t *cp = realloc(sb->cp, cap * sizeof *cp);
    if (cp) sb->cp = cp;
    uint8_t *cls = realloc(sb->cls, cap);
    if (cls) sb->cls = cls;
    uint32_t *off = realloc(sb->off, cap * sizeof *off);
    if (off) sb->off = off;
    if (!cp || !cls || !off) return av_fail("out of memory (tokenizer buffer)"), AV_ERR_NOMEM;
    sb->cap = cap;
    return AV_OK;
}

/* Length in code points of the contraction ('s 't 're 've 'm 'll 'd, lower case only) at
 * i, or 0. */
static size_t contraction(const int32_t *cp, size_t i, size_t n) {
    if (cp[i] != '\'' || i + 1 >= n) return 0;
    int32_t a = cp[i + 1], c = i + 2 < n ? cp[i + 2] : 0;
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    if ((a == 'r' && c == 'e') || (a == 'v' && c == 'e') || (a == 'l' && c == 'l')) return 3;
    return 0;
}

/* Splits s[0..n) (no special tokens in it) with the GPT-2 pattern and encodes each piece.
 * The alternatives are tried in the pattern's order at each position; every character is
 * a space, letter, number or other, so the matches tile the text. */
static int encode_segment(const av_bpe *b, const uint8_t *s, size_t n, scan_buf *sb, work *w,
                          int32_t type_id, av_encoding *enc) {
    if (n > UINT32_MAX - 1) return av_fail("text too long to tokenize (%zu bytes)", n);
    if (scan_reserve(sb, n)) return AV_ERR_NOMEM;
    size_t m = 0;
    for (size_t p = 0; p < n; m++) {
        int32_t c;
        sb->off[m] = (uint32_t)p;
        p += (size_t)av_utf8_next(s + p, n - p, &c);
        sb->cp[m] = c;
        sb->cls[m] = av_uc_is_white_space(c) ? CL_SPACE : av_uc_is_letter(c) ? CL_LETTER
                   : av_uc_is_number(c) ? CL_NUMBER : CL_OTHER;
    }
    sb->off[m] = (uint32_t)n;
    size_t i = 0;
    while (i < m) {
        size_t k = i + contraction(sb->cp, i, m);
        if (k == i) {
            /* " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+": an optional U+0020, then a run */
            size_t j = (sb->cp[i] == ' ' && i + 1 < m && sb->cls[i + 1] != CL_SPACE) ? i + 1 : i;
            if (sb->cls[j] != CL_SPACE) {
                k = j + 1;
                while (k < m && sb->cls[k] == sb->cls[j]) k++;
            } else {
                /* "\s+(?!\S)": a whitespace run, less its last character when a
                 * non-space follows (that one starts the next piece); "\s+" otherwise */
                k = i + 1;
                while (k < m && sb->cls[k] == CL_SPACE) k++;
                if (k < m && k - i >= 2) k--;
            }
        }
        int rc = encode_piece(b, s + sb->off[i], sb->off[k] - sb->off[i], w, type_id, enc);
        if (rc) return rc;
        i = k;
    }
    return AV_OK;
}

/* add_prefix_space: a non-empty segment not starting with a space is read as " " + it,
 * as tokenizers' ByteLevel pre-tokenizer does for each stretch between special tokens. */
static int encode_prefixed(const av_bpe *b, const uint8_t *s, size_t n, scan_buf *sb, work *w,
                           int32_t type_id, av_encoding *enc) {
    if (!b->add_prefix_space || n == 0 || s[0] == ' ') return encode_segment(b, s, n, sb, w, type_id, enc);
    uint8_t *tmp = av_malloc(n + 1);
    if (!tmp) return AV_ERR_NOMEM;
    tmp[0] = ' ';
    memcpy(tmp + 1, s, n);
    int rc = encode_segment(b, tmp, n + 1, sb, w, type_id, enc);
    free(tmp);
    return rc;
}

int av_bpe_encode(const av_bpe *b, const char *text, int32_t type_id, av_encoding *enc) {
    scan_buf sb = {0};
    work w = {0};
    size_t n = strlen(text);
    int rc = AV_OK;
    while (rc == AV_OK) {
        size_t at;
        int sp = av_specials_next(&b->specials, text, n, &at);
        rc = encode_prefixed(b, (const uint8_t *)text, sp < 0 ? n : at, &sb, &w, type_id, enc);
        if (sp < 0 || rc) break;
        rc = av_encoding_push(enc, b->specials.id[sp], type_id);
        text += at + b->specials.len[sp];
        n -= at + b->specials.len[sp];
    }
    free(sb.cp); free(sb.cls); free(sb.off);
    free(w.id); free(w.prev); free(w.next); free(w.heap);
    return rc;
}
