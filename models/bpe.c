/* bpe.c - see bpe.h. Merging keeps the symbols of a piece in a linked list and candidate
 * merges in a binary heap ordered by (rank, position), as tokenizers' BPE model does, so a
 * long word costs O(n log n), not O(n^2). The merge table is a hash from the id pair to
 * (rank, merged id). */
#include "models/bpe.h"

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
    av_bpe_opts opts;
    int32_t byte_id[256];    /* byte-level: id of each byte's character, -1 if absent */
    int32_t fallback_id[256];/* id of "<0xXX>", -1 if absent */
    merge_slot *merges;
    size_t merge_slots;      /* power of two */
    size_t merge_count;
    int32_t next_rank;
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

static int byte_is_self(int x) { return (x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF); }

/* Printable Latin-1 bytes stand for themselves, the other 68 bytes for U+0100 onwards in
 * byte order. */
int32_t av_byte_char(int x) {
    if (byte_is_self(x)) return x;
    int n = 0;
    for (int y = 0; y < x; y++) n += !byte_is_self(y);
    return 256 + n;
}

int av_char_byte(int32_t cp) {
    if (cp >= 0 && cp < 256) return byte_is_self(cp) ? cp : -1;
    if (cp < 256 || cp >= 256 + 68) return -1;
    int k = cp - 256;   /* the k-th byte that is not its own image: 0..32, 127..160, 173 */
    return k <= 32 ? k : k <= 66 ? k - 33 + 127 : 173;
}

/* ---- construction ------------------------------------------------------------------- */

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

int av_bpe_new(av_vocab *vocab, const av_bpe_opts *o, size_t merges_hint, av_bpe **out) {
    *out = NULL;
    av_bpe *b = av_calloc(1, sizeof *b);
    if (!b) { av_vocab_free(vocab); return AV_ERR_NOMEM; }
    b->vocab = *vocab;
    av_vocab_init(vocab);
    b->opts = *o;
    b->merge_slots = 1024;
    while (b->merge_slots < 2 * merges_hint + 2) b->merge_slots *= 2;
    b->merges = calloc(b->merge_slots, sizeof *b->merges);
    b->cache = cache_new();
    if (!b->merges || !b->cache) { av_bpe_free(b); return av_fail("out of memory (merge table)"), AV_ERR_NOMEM; }
    for (int x = 0; x < 256; x++) {
        uint8_t u8[4];
        utf8proc_ssize_t n = utf8proc_encode_char(av_byte_char(x), u8);
        b->byte_id[x] = av_vocab_find(&b->vocab, (const char *)u8, (size_t)n);
        char hex[8];
        snprintf(hex, sizeof hex, "<0x%02X>", x);
        b->fallback_id[x] = av_vocab_find(&b->vocab, hex, 6);
    }
    *out = b;
    return AV_OK;
}

static int merge_grow(av_bpe *b) {
    size_t ns = b->merge_slots * 2;
    merge_slot *m = calloc(ns, sizeof *m);
    if (!m) return av_fail("out of memory (merge table)"), AV_ERR_NOMEM;
    for (size_t k = 0; k < b->merge_slots; k++) {
        if (!b->merges[k].key) continue;
        size_t i = mix64(b->merges[k].key) & (ns - 1);
        while (m[i].key) i = (i + 1) & (ns - 1);
        m[i] = b->merges[k];
    }
    free(b->merges);
    b->merges = m;
    b->merge_slots = ns;
    return AV_OK;
}

int av_bpe_add_merge(av_bpe *b, const char *l, size_t ll, const char *r, size_t rl, const char *where) {
    int32_t li = av_vocab_find(&b->vocab, l, ll), ri = av_vocab_find(&b->vocab, r, rl), mi = -1;
    char tok[1024];
    if (li >= 0 && ri >= 0 && ll + rl <= sizeof tok) {
        memcpy(tok, l, ll);
        memcpy(tok + ll, r, rl);
        mi = av_vocab_find(&b->vocab, tok, ll + rl);
    }
    if (li < 0 || ri < 0 || mi < 0) {
        if (li < 0) return av_fail("%s: merge '%.*s %.*s': '%.*s' is not in the vocabulary", where, (int)ll, l, (int)rl, r, (int)ll, l);
        if (ri < 0) return av_fail("%s: merge '%.*s %.*s': '%.*s' is not in the vocabulary", where, (int)ll, l, (int)rl, r, (int)rl, r);
        return av_fail("%s: merge '%.*s %.*s': '%.*s%.*s' is not in the vocabulary", where, (int)ll, l, (int)rl, r,
                       (int)ll, l, (int)rl, r);
    }
    if (2 * (b->merge_count + 1) > b->merge_slots && merge_grow(b)) return AV_ERR_NOMEM;
    uint64_t key = pair_key(li, ri);
    size_t i = mix64(key) & (b->merge_slots - 1);
    while (b->merges[i].key && b->merges[i].key != key) i = (i + 1) & (b->merge_slots - 1);
    if (!b->merges[i].key) b->merge_count++;
    b->merges[i] = (merge_slot){ key, b->next_rank++, mi };
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
const av_bpe_opts *av_bpe_options(const av_bpe *b) { return &b->opts; }

/* ---- merging ------------------------------------------------------------------------ */

typedef struct { int32_t rank, pos, merged; } cand;

static int cand_less(cand a, cand b) { return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos); }

static void heap_push(av_bpe_work *w, cand c) {
    cand *h = w->heap;
    size_t i = w->nheap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!cand_less(c, h[p])) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = c;
}

static cand heap_pop(av_bpe_work *w) {
    cand *h = w->heap;
    cand top = h[0], last = h[--w->nheap];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        cand mc = last;
        if (l < w->nheap && cand_less(h[l], mc)) { m = l; mc = h[l]; }
        if (r < w->nheap && cand_less(h[r], mc)) { m = r; }
        if (m == i) break;
        h[i] = h[m];
        i = m;
    }
    if (w->nheap) h[i] = last;
    return top;
}

static int work_reserve(av_bpe_work *w, size_t n) {
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

void av_bpe_work_free(av_bpe_work *w) {
    free(w->id); free(w->prev); free(w->next); free(w->heap); free(w->spell);
    memset(w, 0, sizeof *w);
}

static void push_pair(const av_bpe *b, av_bpe_work *w, int32_t pos) {
    if (pos < 0 || w->next[pos] < 0) return;
    int32_t nx = w->next[pos];
    const merge_slot *m = merge_find(b, w->id[pos], w->id[nx]);
    if (m) heap_push(w, (cand){ m->rank, pos, m->merged });
}

/* Symbol builder state: the pending unknown token (fuse_unk joins a run of them). */
typedef struct { int32_t count; int unk_pending; } sym_state;

static void sym_add(av_bpe_work *w, sym_state *st, int32_t id) {
    w->id[st->count] = id;
    w->prev[st->count] = st->count - 1;
    w->next[st->count] = st->count + 1;
    st->count++;
}

static void sym_flush_unk(const av_bpe *b, av_bpe_work *w, sym_state *st) {
    if (st->unk_pending) sym_add(w, st, b->opts.unk);
    st->unk_pending = 0;
}

/* A character (UTF-8 bytes c[0..n)) the vocabulary lacks: its byte tokens, else the
 * unknown token, else nothing. */
static void sym_unknown(const av_bpe *b, av_bpe_work *w, sym_state *st, const uint8_t *c, size_t n) {
    if (b->opts.byte_fallback) {
        size_t k = 0;
        while (k < n && b->fallback_id[c[k]] >= 0) k++;
        if (k == n) {
            sym_flush_unk(b, w, st);
            for (k = 0; k < n; k++) sym_add(w, st, b->fallback_id[c[k]]);
            return;
        }
    }
    if (b->opts.unk < 0) return;
    if (st->unk_pending && !b->opts.fuse_unk) sym_add(w, st, b->opts.unk);
    st->unk_pending = 1;
}

static void sym_known(const av_bpe *b, av_bpe_work *w, sym_state *st, int32_t id) {
    sym_flush_unk(b, w, st);
    sym_add(w, st, id);
}

/* The byte-level spelling of s[0..n) in w->spell; its length. */
static int spell_bytes(av_bpe_work *w, const uint8_t *s, size_t n, size_t *len) {
    if (2 * n + 1 > w->spell_cap) {
        char *p = realloc(w->spell, 2 * n + 1);
        if (!p) return av_fail("out of memory (tokenizer buffer)"), AV_ERR_NOMEM;
        w->spell = p;
        w->spell_cap = 2 * n + 1;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) o += (size_t)utf8proc_encode_char(av_byte_char(s[i]), (uint8_t *)w->spell + o);
    *len = o;
    return AV_OK;
}

static int merge_piece(const av_bpe *b, const uint8_t *s, size_t n, av_bpe_work *w, int32_t type_id,
                       av_encoding *enc) {
    if (b->opts.ignore_merges) {
        int32_t id;
        if (b->opts.byte_level) {
            size_t len;
            if (spell_bytes(w, s, n, &len)) return AV_ERR_NOMEM;
            id = av_vocab_find(&b->vocab, w->spell, len);
        } else {
            id = av_vocab_find(&b->vocab, (const char *)s, n);
        }
        if (id >= 0) return av_encoding_push(enc, id, type_id);
    }
    /* a character may become up to 4 byte tokens */
    if (work_reserve(w, 4 * n + 1)) return AV_ERR_NOMEM;
    sym_state st = {0, 0};
    for (size_t i = 0; i < n;) {
        if (b->opts.byte_level) {
            if (b->byte_id[s[i]] >= 0) sym_known(b, w, &st, b->byte_id[s[i]]);
            else {
                uint8_t u8[4];
                utf8proc_ssize_t k = utf8proc_encode_char(av_byte_char(s[i]), u8);
                sym_unknown(b, w, &st, u8, (size_t)k);
            }
            i++;
            continue;
        }
        int32_t cp;
        int k = av_utf8_next(s + i, n - i, &cp);
        int32_t id = av_vocab_find(&b->vocab, (const char *)s + i, (size_t)k);
        if (id >= 0) sym_known(b, w, &st, id);
        else sym_unknown(b, w, &st, s + i, (size_t)k);
        i += (size_t)k;
    }
    sym_flush_unk(b, w, &st);
    int32_t count = st.count;
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
    return av_vocab_hash(AV_VOCAB_HASH0, (const char *)s, n) | 1;
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

int av_bpe_encode_piece(const av_bpe *b, const uint8_t *s, size_t n, av_bpe_work *w, int32_t type_id,
                        av_encoding *enc) {
    if (!n) return AV_OK;
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
