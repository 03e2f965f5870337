/* dist_none.c - see dist.h: the build without MPI. The job is this one process: rank 0
 * of 1, the counter a shared atomic, agreement and sharing nothing to do. */
#include "engine/dist.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "base/util.h"

/* Started by an MPI launcher as one of several processes, this build would run the
 * whole job once per process, all of them writing the same files: refused. */
int av_dist_init(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    const char *n = getenv("OMPI_COMM_WORLD_SIZE");
    if (!n) n = getenv("PMI_SIZE");
    if (n && atoi(n) > 1) return av_fail("this attnviz was built without MPI: run it without mpirun or srun");
    return AV_OK;
}
void av_dist_finalize(void) {}
int av_dist_rank(void) { return 0; }
int av_dist_size(void) { return 1; }
int av_dist_local_rank(void) { return 0; }
int av_dist_agree(int rc) { return rc; }
int av_dist_error_shared(void) { return 0; }
int av_dist_bcast(void *buf, size_t bytes) {
    (void)buf;
    (void)bytes;
    return AV_OK;
}
int av_dist_share(void *base, size_t elem, int count, const unsigned char *mine) {
    (void)base;
    (void)elem;
    (void)count;
    (void)mine;
    return AV_OK;
}
int av_dist_any(int flag) { return flag != 0; }
int av_dist_sum_f64(double *v, int64_t n) {
    (void)v;
    (void)n;
    return AV_OK;
}
int av_dist_min_i64(int64_t *v) {
    (void)v;
    return AV_OK;
}

struct av_dist_counter { int64_t next, done, failed; };

int av_dist_counter_open(av_dist_counter **c) { return (*c = av_calloc(1, sizeof **c)) ? AV_OK : AV_ERR; }
int64_t av_dist_counter_take(av_dist_counter *c, int64_t n) { return __atomic_fetch_add(&c->next, n, __ATOMIC_SEQ_CST); }
int64_t av_dist_counter_done(av_dist_counter *c, int64_t units) {
    return __atomic_add_fetch(&c->done, units, __ATOMIC_SEQ_CST);
}
void av_dist_counter_fail(av_dist_counter *c) { __atomic_store_n(&c->failed, 1, __ATOMIC_SEQ_CST); }
int av_dist_counter_failed(av_dist_counter *c) { return (int)__atomic_load_n(&c->failed, __ATOMIC_SEQ_CST); }
void av_dist_counter_close(av_dist_counter *c) { free(c); }

/* The one process writes its parts with pwrite. */
struct av_dist_file { int fd; char path[4096]; };

int av_dist_file_open(const char *path, av_dist_file **out) {
    av_dist_file *f = av_calloc(1, sizeof *f);
    *out = NULL;
    if (!f) return AV_ERR;
    snprintf(f->path, sizeof f->path, "%s", path);
    if ((f->fd = open(path, O_WRONLY)) < 0) {
        free(f);
        return av_fail("%s: cannot open for writing (%s)", path, strerror(errno));
    }
    *out = f;
    return AV_OK;
}

int av_dist_file_write_at(av_dist_file *f, int64_t offset, const void *buf, size_t bytes) {
    for (size_t at = 0; at < bytes;) {
        ssize_t w = pwrite(f->fd, (const char *)buf + at, bytes - at, (off_t)(offset + (int64_t)at));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return av_fail("%s: write failed (%s)", f->path, strerror(errno));
        at += (size_t)w;
    }
    return AV_OK;
}

int av_dist_file_sync(av_dist_file *f) {
    return fsync(f->fd) == 0 ? AV_OK : av_fail("%s: write failed (%s)", f->path, strerror(errno));
}

int av_dist_file_close(av_dist_file *f, int keep) {
    if (!f) return AV_OK;
    int rc = keep ? av_dist_file_sync(f) : AV_OK;
    close(f->fd);
    free(f);
    return rc;
}
