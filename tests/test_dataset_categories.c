/* test_dataset_categories.c - token flags and frequencies against the Python reference
 * (fixtures/datasets/categories.jsonl: real MiniLM WordPiece tokens and GPT-2-style
 * byte-level BPE tokens, flags from unicodedata, counts from collections.Counter),
 * plus the byte-level spelling and the hash map under growth. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include "datasets/categories.h"
#include "base/util.h"
#include "tests/check.h"

static void test_against_python(void) {
    char *text = av_read_file("tests/fixtures/datasets/categories.jsonl", NULL);
    CHECK(text != NULL);
    if (!text) return;
    enum { MAXTOK = 1024 };
    const char *toks[2][MAXTOK];
    int64_t want_n[2][MAXTOK], got_n[MAXTOK];
    cJSON *rows[2][MAXTOK];
    int count[2] = {0, 0}, flag_rows = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *r = cJSON_Parse(line);
        CHECK(r != NULL);
        if (!r) continue;
        int s = strcmp(cJSON_GetObjectItem(r, "s")->valuestring, "wordpiece") ? 1 : 0;
        const char *t = cJSON_GetObjectItem(r, "t")->valuestring;
        const cJSON *p = cJSON_GetObjectItem(r, "p");
        const char *prev = cJSON_IsString(p) ? p->valuestring : NULL;
        uint32_t want = (uint32_t)cJSON_GetObjectItem(r, "f")->valueint;
        uint32_t got = av_token_flags(t, prev, s ? AV_TOKSCHEME_BYTE_BPE : AV_TOKSCHEME_WORDPIECE);
        CHECK_MSG(got == want, "%s token '%s' after '%s': flags %u, Python says %u", s ? "bpe" : "wordpiece",
                  t, prev ? prev : "(none)", got, want);
        flag_rows++;
        if (count[s] < MAXTOK) {
            rows[s][count[s]] = r;
            toks[s][count[s]] = t;
            want_n[s][count[s]] = (int64_t)cJSON_GetObjectItem(r, "n")->valuedouble;
            count[s]++;
        } else {
            cJSON_Delete(r);
        }
    }
    CHECK(flag_rows == 727 && count[0] > 200 && count[1] > 400);
    for (int s = 0; s < 2; s++) {
        CHECK(av_token_frequencies(toks[s], count[s], got_n) == AV_OK);
        int same = 1;
        for (int i = 0; i < count[s]; i++) same &= got_n[i] == want_n[s][i];
        CHECK_MSG(same, "scheme %d: frequencies differ from collections.Counter", s);
        for (int i = 0; i < count[s]; i++) cJSON_Delete(rows[s][i]);
    }
    free(text);
}

static void test_rules(void) {
    /* specials, whatever the scheme; a patch is just a patch */
    CHECK(av_token_flags("[CLS]", NULL, AV_TOKSCHEME_WORDPIECE) == AV_TOK_SPECIAL);
    CHECK(av_token_flags("[unused17]", NULL, AV_TOKSCHEME_WORDPIECE) == AV_TOK_SPECIAL);
    CHECK(av_token_flags("[unused]", NULL, AV_TOKSCHEME_WORDPIECE) == 0); /* no number: a plain token */
    CHECK(av_token_flags("<|endoftext|>", "x", AV_TOKSCHEME_BYTE_BPE) == AV_TOK_SPECIAL);
    CHECK(av_token_flags("[CLS]", NULL, AV_TOKSCHEME_PATCH) == AV_TOK_SPECIAL);
    CHECK(av_token_flags("patch", NULL, AV_TOKSCHEME_PATCH) == 0);
    /* "##" alone is punctuation, not an empty continuation */
    CHECK(av_token_flags("##", NULL, AV_TOKSCHEME_WORDPIECE) == AV_TOK_PUNCT);
    CHECK(av_token_flags("##9", NULL, AV_TOKSCHEME_WORDPIECE) == (AV_TOK_CONTINUATION | AV_TOK_DIGIT));
    /* byte-level: the first token of an item never continues; a split UTF-8 character does */
    CHECK(av_token_flags("ing", NULL, AV_TOKSCHEME_BYTE_BPE) == 0);
    CHECK(av_token_flags("ing", "Ġwalk", AV_TOKSCHEME_BYTE_BPE) == AV_TOK_CONTINUATION);
    CHECK(av_token_flags("ing", "Ġ", AV_TOKSCHEME_BYTE_BPE) == 0);
    CHECK(av_token_flags("ing", "<|endoftext|>", AV_TOKSCHEME_BYTE_BPE) == 0);
    CHECK(av_token_flags("¼", "Ġæ", AV_TOKSCHEME_BYTE_BPE) == AV_TOK_CONTINUATION); /* 0xBC after 0xE6 */
    CHECK(av_token_flags("ĊĊ", "x", AV_TOKSCHEME_BYTE_BPE) == AV_TOK_SPACE);
    CHECK(av_token_flags("Ġ.", "x", AV_TOKSCHEME_BYTE_BPE) == AV_TOK_PUNCT);
    CHECK(av_token_category(AV_TOK_CONTINUATION | AV_TOK_DIGIT) == AV_TOKCAT_DIGIT);
    CHECK(av_token_category(AV_TOK_SPECIAL | AV_TOK_PUNCT) == AV_TOKCAT_SPECIAL);
    CHECK(!strcmp(av_token_category_name(av_token_category(0)), "word"));
    CHECK(!strcmp(av_token_category_name(AV_TOKCAT_PUNCT), "punctuation"));
    av_tok_scheme sc;
    CHECK(av_tok_scheme_for_model("gpt2", &sc) == AV_OK && sc == AV_TOKSCHEME_BYTE_BPE);
    CHECK(av_tok_scheme_for_model("t5", &sc) == AV_ERR && strstr(av_last_error(), "'t5'"));
    for (const char *const *m = (const char *const[]){"llama", "mistral", "qwen2", "qwen3", NULL}; *m; m++)
        CHECK_MSG(av_tok_scheme_for_model(*m, &sc) == AV_OK && sc == AV_TOKSCHEME_BYTE_BPE, "%s", *m);
    CHECK(av_tok_scheme_for_model("t5", &sc) == AV_ERR && strstr(av_last_error(), "llama, mistral, qwen2 or qwen3"));

    /* the LLMs' control tokens are special, and what follows one starts a word */
    const char *ctl[] = {"<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|eot_id|>", "<|endoftext|>"};
    for (size_t i = 0; i < sizeof ctl / sizeof ctl[0]; i++)
        CHECK_MSG(av_token_flags(ctl[i], "x", AV_TOKSCHEME_BYTE_BPE) == AV_TOK_SPECIAL, "%s", ctl[i]);
    CHECK(av_token_flags("<||>", NULL, AV_TOKSCHEME_BYTE_BPE) == AV_TOK_PUNCT);   /* no name: punctuation */
    CHECK(av_token_flags("user", "<|im_start|>", AV_TOKSCHEME_BYTE_BPE) == 0);
    /* SentencePiece pieces (Llama 2, Mistral): "▁" is the space, <0xNN> a byte */
    CHECK(av_token_flags("\xe2\x96\x81world", "\xe2\x96\x81hello", AV_TOKSCHEME_BYTE_BPE) == 0);
    CHECK(av_token_flags("llo", "\xe2\x96\x81he", AV_TOKSCHEME_BYTE_BPE) == AV_TOK_CONTINUATION);
    CHECK(av_token_flags("\xe2\x96\x81", "x", AV_TOKSCHEME_BYTE_BPE) == AV_TOK_SPACE);
    CHECK(av_token_flags("\xe2\x96\x81.", "x", AV_TOKSCHEME_BYTE_BPE) == AV_TOK_PUNCT);
    CHECK(av_token_flags("\xe2\x96\x81""42", "x", AV_TOKSCHEME_BYTE_BPE) == AV_TOK_DIGIT);
    CHECK(av_token_flags("<0x0A>", "x", AV_TOKSCHEME_BYTE_BPE) == AV_TOK_SPACE);
    CHECK(av_token_flags("<0x21>", "x", AV_TOKSCHEME_BYTE_BPE) == AV_TOK_PUNCT);
    CHECK(av_token_flags("<0xA9>", "<0xC3>", AV_TOKSCHEME_BYTE_BPE) == AV_TOK_CONTINUATION); /* é in two bytes */

    /* the byte-level spelling inverts GPT-2's bytes_to_unicode for all 256 bytes */
    char out[8];
    CHECK(av_byte_bpe_decode("ĠĊĉ", out, sizeof out) == 3 && !strcmp(out, " \n\t"));
    CHECK(av_byte_bpe_decode("\xc4\x80", out, sizeof out) == 1 && out[0] == 0); /* U+0100 = byte 0 */
    CHECK(av_byte_bpe_decode("\xc5\x83", out, sizeof out) == 1 && (unsigned char)out[0] == 173); /* U+0143 */
    CHECK(av_byte_bpe_decode("\xc5\x84", out, sizeof out) == -1); /* U+0144: no byte's image */
    CHECK(av_byte_bpe_decode("abcdefghij", out, sizeof out) == 7 && !strcmp(out, "abcdefg")); /* capped */
}

static void test_counts(void) {
    av_token_counts *c;
    CHECK(av_token_counts_new(&c) == AV_OK);
    if (!c) return;
    char key[32];
    /* far past the first table size, so the map grows several times */
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 5000; i++) {
            snprintf(key, sizeof key, "tok%d", i);
            if (i % 2 == 0 || round == 0) CHECK(av_token_counts_add(c, key) == AV_OK);
        }
    CHECK(av_token_counts_distinct(c) == 5000);
    CHECK(av_token_counts_total(c) == 5000 + 2 * 2500);
    CHECK(av_token_counts_get(c, "tok0") == 3 && av_token_counts_get(c, "tok1") == 1);
    CHECK(av_token_counts_get(c, "tok4999") == 1 && av_token_counts_get(c, "tok4998") == 3);
    CHECK(av_token_counts_get(c, "absent") == 0 && av_token_counts_get(c, "") == 0);
    CHECK(av_token_counts_add(c, "") == AV_OK && av_token_counts_get(c, "") == 1);
    CHECK(av_token_counts_get(c, "TOK0") == 0); /* case-sensitive */
    av_token_counts_free(c);
}

int main(void) {
    test_against_python();
    test_rules();
    test_counts();
    return av_check_summary("test_dataset_categories");
}
