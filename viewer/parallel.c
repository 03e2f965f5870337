/* parallel.c - see parallel.h. */
#include "viewer/parallel.h"

#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>

typedef struct {
    void (*fn)(void *ctx, int i);
    void *ctx;
    int n;
    atomic_int next;
} job;

static void *worker(void *arg) {
    job *j = arg;
    for (int i; (i = atomic_fetch_add(&j->next, 1)) < j->n;) j->fn(j->ctx, i);
    return NULL;
}

int av_parallel_threads(void) {
    int t = omp_get_max_threads();  /* reads the setting; starts no threads */
    return t < 1 ? 1 : t > 64 ? 64 : t;
}

void av_parallel_for(int n, void (*fn)(void *ctx, int i), void *ctx) {
    job j = {fn, ctx, n, 0};
    int t = av_parallel_threads();
    if (t > n) t = n;
    pthread_t th[64];
    int started = 0;
    for (; started < t - 1; started++)
        if (pthread_create(&th[started], NULL, worker, &j)) break;  /* fewer threads is still correct */
    worker(&j);
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
}
