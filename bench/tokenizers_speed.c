/* tokenizers_speed.c - throughput of the C tokenizers (bench/bench_tokenizers.sh builds
 * and runs it): encodes every line of a text file without special tokens, one thread,
 * and prints one JSON object: bytes, lines, tokens, seconds (best of REPS passes; the
 * first pass also fills the BPE piece cache, so "cold" is reported apart).
 *   tokenizers_speed MODEL_DIR bert|gpt2|llama TEXT_FILE [REPS]   (llama: any decoder type, tokenizer.json) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "models/tokenizer.h"

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s MODEL_DIR bert|gpt2|llama TEXT_FILE [REPS]\n", argv[0]); return 2; }
    int reps = argc > 4 ? atoi(argv[4]) : 3;
    size_t len;
    char *text = av_read_file(argv[3], &len);
    av_tokenizer *t = NULL;
    if (!text || av_tokenizer_load(argv[1], argv[2], &t) != AV_OK) {
        fprintf(stderr, "tokenizers_speed: %s\n", av_last_error());
        return 2;
    }
    size_t nlines = 0;
    for (char *p = text; *p; p++) if (*p == '\n') { *p = 0; nlines++; }
    av_encoding e = {0};
    double best = 1e30, cold = 0;
    long tokens = 0;
    for (int r = 0; r < reps; r++) {
        tokens = 0;
        double t0 = av_now();
        for (char *p = text; p < text + len; p += strlen(p) + 1) {
            av_encoding_clear(&e);
            av_tokenizer_encode_plain(t, p, &e);
            tokens += e.count;
        }
        double dt = av_now() - t0;
        if (r == 0) cold = dt;
        if (dt < best) best = dt;
    }
    printf("{\"bytes\": %zu, \"lines\": %zu, \"tokens\": %ld, \"seconds\": %.4f, \"cold_seconds\": %.4f, "
           "\"mb_per_s\": %.2f}\n", len, nlines, tokens, best, cold, len / best / 1e6);
    av_encoding_free(&e);
    av_tokenizer_free(t);
    free(text);
    return 0;
}
