/* bench_dequant.c - dequantization throughput: every tensor of a GGUF file whose type
 * av_dequant reads is converted whole to float32, RUNS times; prints one TSV line per
 * tensor with the median wall and CPU milliseconds and millions of elements per second,
 * then a TOTAL line (the sums of the medians).
 *   bench_dequant FILE.gguf [RUNS]      (bench/bench_dequant.sh runs it beside gguf-py)
 * Threads: OMP_NUM_THREADS (av_dequant splits large tensors over OpenMP threads). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "models/dequant.h"
#include "models/gguf.h"

static double now(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_dequant FILE.gguf [RUNS]\n");
        return 2;
    }
    int runs = argc > 2 ? atoi(argv[2]) : 9;
    if (runs < 1 || runs > 1000) runs = 9;
    av_gguf g;
    if (av_gguf_open(argv[1], &g) != AV_OK) {
        fprintf(stderr, "%s\n", av_last_error());
        return 2;
    }
    int64_t most = 0;
    for (int i = 0; i < g.ntensors; i++)
        if (g.tensors[i].numel > most) most = g.tensors[i].numel;
    float *out = malloc((size_t)(most ? most : 1) * sizeof *out);
    double *wall = malloc((size_t)runs * sizeof *wall), *cpu = malloc((size_t)runs * sizeof *cpu);
    if (!out || !wall || !cpu) return 1;
    printf("tensor\ttype\telements\twall_ms\tcpu_ms\tMelem_per_s\n");
    double total_wall = 0, total_cpu = 0;
    int64_t total_n = 0;
    for (int i = 0; i < g.ntensors; i++) {
        const av_gguf_tensor *t = &g.tensors[i];
        if (!av_ggml_can_dequant(t->type)) continue;
        /* one untimed pass faults the pages of the file and the output in */
        if (av_gguf_to_f32(&g, t, out) != AV_OK) {
            fprintf(stderr, "%s\n", av_last_error());
            return 1;
        }
        for (int r = 0; r < runs; r++) {
            double w = now(CLOCK_MONOTONIC), c = now(CLOCK_PROCESS_CPUTIME_ID);
            av_gguf_to_f32(&g, t, out);
            wall[r] = now(CLOCK_MONOTONIC) - w;
            cpu[r] = now(CLOCK_PROCESS_CPUTIME_ID) - c;
        }
        qsort(wall, (size_t)runs, sizeof *wall, cmp);
        qsort(cpu, (size_t)runs, sizeof *cpu, cmp);
        double mw = wall[runs / 2], mc = cpu[runs / 2];
        printf("%s\t%s\t%lld\t%.3f\t%.3f\t%.1f\n", t->name, av_ggml_type_name(t->type), (long long)t->numel, mw * 1e3,
               mc * 1e3, t->numel / mw * 1e-6);
        total_wall += mw;
        total_cpu += mc;
        total_n += t->numel;
    }
    /* the whole file: sums of the per-tensor medians */
    printf("TOTAL\t-\t%lld\t%.3f\t%.3f\t%.1f\n", (long long)total_n, total_wall * 1e3, total_cpu * 1e3,
           total_wall > 0 ? total_n / total_wall * 1e-6 : 0.0);
    free(out);
    free(wall);
    free(cpu);
    av_gguf_close(&g);
    return 0;
}
