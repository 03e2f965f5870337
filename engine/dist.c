/* dist.c - see dist.h: the build with MPI (Open MPI). Every MPI call of attnviz is in
 * this file. MPI is started with MPI_THREAD_SERIALIZED and every call below is made
 * inside one critical section, so OpenMP worker threads may take work too. */
#include "engine/dist.h"

#include <cblas.h>
#include <mpi.h>
#include <omp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include "base/util.h"

static struct {
    int on;              /* MPI_Init done: this process is part of an MPI job */
    int rank, size, local_rank, local_size;
    char agreed[1024];   /* the message av_dist_agree made common */
} g = {0, 0, 1, 0, 1, ""};

/* Whether an MPI launcher started this process (the variables Open MPI's mpirun and
 * Slurm's srun with PMIx or PMI-2 give each process). */
static int launched_by_mpi(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

/* The GPU of this process: entry local_rank (mod their number) of CUDA_VISIBLE_DEVICES,
 * or of the driver's GPUs when that is unset. Set before anything touches CUDA, so every
 * thread of the process sees that one device as device 0. */
static void choose_gpu(void) {
    char list[1024] = "";
    const char *given = getenv("CUDA_VISIBLE_DEVICES");
    if (given) snprintf(list, sizeof list, "%s", given);
    else {
        DIR *d = opendir("/proc/driver/nvidia/gpus");
        int n = 0;
        for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
        if (d) closedir(d);
        for (int i = 0; i < n; i++) {
            size_t len = strlen(list);
            snprintf(list + len, sizeof list - len, "%s%d", i ? "," : "", i);
        }
    }
    int count = list[0] ? 1 : 0;
    for (const char *s = list; *s; s++) count += *s == ',';
    if (count < 2) return;
    int want = g.local_rank % count;
    char *s = list;
    for (int i = 0; i < want; i++) s = strchr(s, ',') + 1;
    char *end = strchr(s, ',');
    if (end) *end = 0;
    setenv("CUDA_VISIBLE_DEVICES", s, 1);
}

/* The cores of this process: all of them when the launcher bound it to some (OpenMP's
 * and OpenBLAS's defaults follow the binding); when it is free to run anywhere, its share
 * of the machine, so that several processes on one machine do not each start a thread
 * per core. Both pools read their variables before main, hence the calls. */
static void choose_threads(void) {
    if (getenv("OMP_NUM_THREADS") || g.local_size < 2) return;
    cpu_set_t set;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (sched_getaffinity(0, sizeof set, &set) != 0 || CPU_COUNT(&set) < online) return;
    int share = (int)(online / g.local_size);
    omp_set_num_threads(share > 0 ? share : 1);
    openblas_set_num_threads(share > 0 ? share : 1);
}

int av_dist_init(int *argc, char ***argv) {
    if (!launched_by_mpi()) return AV_OK;
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
        return av_fail("MPI: cannot start");
    if (provided < MPI_THREAD_SERIALIZED) {
        MPI_Finalize();
        return av_fail("MPI: the library does not allow calls from several threads (MPI_THREAD_SERIALIZED)");
    }
    g.on = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &g.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g.size);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g.rank, MPI_INFO_NULL, &local);
    MPI_Comm_rank(local, &g.local_rank);
    MPI_Comm_size(local, &g.local_size);
    MPI_Comm_free(&local);
    choose_gpu();
    choose_threads();
    return AV_OK;
}

void av_dist_finalize(void) {
    if (g.on) MPI_Finalize();
    g.on = 0;
}

int av_dist_rank(void) { return g.rank; }
int av_dist_size(void) { return g.size; }
int av_dist_local_rank(void) { return g.local_rank; }

int av_dist_agree(int rc) {
    if (g.size < 2) return rc;
    /* [0] the lowest failing rank (size: none), [1] how many failed */
    int mine[2] = {rc != AV_OK ? g.rank : g.size, rc != AV_OK}, first[2];
    char msg[1024];
#pragma omp critical(av_dist)
    {
        MPI_Allreduce(&mine[0], &first[0], 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        MPI_Allreduce(&mine[1], &first[1], 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
        if (first[0] < g.size) {
            snprintf(msg, sizeof msg, "%s", g.rank == first[0] ? av_last_error() : "");
            MPI_Bcast(msg, sizeof msg, MPI_CHAR, first[0], MPI_COMM_WORLD);
        }
    }
    if (first[0] == g.size) return AV_OK;
    /* a fault every process met (the same input) needs no rank */
    if (first[1] == g.size) av_fail("%s", msg);
    else av_fail("rank %d: %s", first[0], msg);
    snprintf(g.agreed, sizeof g.agreed, "%s", av_last_error());
    return AV_ERR;
}

int av_dist_error_shared(void) { return g.agreed[0] && !strcmp(g.agreed, av_last_error()); }

int av_dist_bcast(void *buf, size_t bytes) {
    if (g.size < 2) return AV_OK;
    int rc = AV_OK;
#pragma omp critical(av_dist)
    for (size_t at = 0; at < bytes && rc == AV_OK; at += 1 << 30) {
        size_t n = bytes - at < (size_t)1 << 30 ? bytes - at : (size_t)1 << 30;
        if (MPI_Bcast((char *)buf + at, (int)n, MPI_BYTE, 0, MPI_COMM_WORLD) != MPI_SUCCESS) rc = AV_ERR;
    }
    return rc == AV_OK ? AV_OK : av_fail("MPI: broadcast failed");
}

int av_dist_any(int flag) {
    if (g.size < 2) return flag != 0;
    int mine = flag != 0, any = mine;
#pragma omp critical(av_dist)
    MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return any;
}

int av_dist_sum_f64(double *v, int64_t n) {
    if (g.size < 2) return AV_OK;
    int rc = MPI_SUCCESS;
#pragma omp critical(av_dist)
    for (int64_t at = 0; at < n && rc == MPI_SUCCESS; at += 1 << 26) {
        int64_t k = n - at < (1 << 26) ? n - at : (1 << 26);
        rc = MPI_Allreduce(MPI_IN_PLACE, v + at, (int)k, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    }
    return rc == MPI_SUCCESS ? AV_OK : av_fail("MPI: summing over the processes failed");
}

int av_dist_min_i64(int64_t *v) {
    if (g.size < 2) return AV_OK;
    int rc;
#pragma omp critical(av_dist)
    rc = MPI_Allreduce(MPI_IN_PLACE, v, 1, MPI_INT64_T, MPI_MIN, MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? AV_OK : av_fail("MPI: the minimum over the processes failed");
}

int av_dist_share(void *base, size_t elem, int count, const unsigned char *mine) {
    if (g.size < 2) return AV_OK;
    int *owner = av_malloc((size_t)(count > 0 ? count : 1) * sizeof *owner);
    if (!owner) return AV_ERR;
    for (int i = 0; i < count; i++) owner[i] = mine[i] ? g.rank : -1;
    int rc = AV_OK;
#pragma omp critical(av_dist)
    {
        if (MPI_Allreduce(MPI_IN_PLACE, owner, count, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS) rc = AV_ERR;
        for (int i = 0; i < count && rc == AV_OK; i++)
            if (owner[i] >= 0 &&
                MPI_Bcast((char *)base + (size_t)i * elem, (int)elem, MPI_BYTE, owner[i], MPI_COMM_WORLD) != MPI_SUCCESS)
                rc = AV_ERR;
    }
    free(owner);
    return rc == AV_OK ? AV_OK : av_fail("MPI: exchanging results failed");
}

/* ---- the counter: three int64 slots on rank 0, reached with one-sided atomics ------- */
enum { SLOT_NEXT, SLOT_DONE, SLOT_FAILED, SLOTS };

struct av_dist_counter {
    MPI_Win win;          /* under MPI: the slots live in rank 0's window */
    int64_t local[SLOTS]; /* one process: the slots themselves */
};

int av_dist_counter_open(av_dist_counter **out) {
    av_dist_counter *c = av_calloc(1, sizeof *c);
    *out = c;
    if (g.size < 2) return c ? AV_OK : AV_ERR;
    int ok = c != NULL, all;
    int64_t *slots = NULL;
#pragma omp critical(av_dist)
    {
        MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        /* MPI_Win_allocate: on one machine Open MPI places it in shared memory, where the
         * atomics need nothing of rank 0 while it computes */
        if (all && MPI_Win_allocate(g.rank == 0 ? SLOTS * sizeof(int64_t) : 0, sizeof(int64_t), MPI_INFO_NULL,
                                    MPI_COMM_WORLD, &slots, &c->win) != MPI_SUCCESS)
            all = 0;
        if (all && g.rank == 0) {
            MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, c->win);
            memset(slots, 0, SLOTS * sizeof(int64_t));
            MPI_Win_unlock(0, c->win);
        }
        if (all) MPI_Barrier(MPI_COMM_WORLD);
    }
    if (!all) {
        free(c);
        *out = NULL;
        return av_fail("MPI: cannot share a work counter");
    }
    return AV_OK;
}

static int64_t fetch_add(av_dist_counter *c, int slot, int64_t n, MPI_Op op) {
    int64_t old;
    if (g.size < 2) {
        if (op == MPI_REPLACE) return __atomic_exchange_n(&c->local[slot], n, __ATOMIC_SEQ_CST);
        return __atomic_fetch_add(&c->local[slot], op == MPI_NO_OP ? 0 : n, __ATOMIC_SEQ_CST);
    }
#pragma omp critical(av_dist)
    {
        MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, c->win);
        MPI_Fetch_and_op(&n, &old, MPI_INT64_T, 0, slot, op, c->win);
        MPI_Win_unlock(0, c->win);
    }
    return old;
}

int64_t av_dist_counter_take(av_dist_counter *c, int64_t n) { return fetch_add(c, SLOT_NEXT, n, MPI_SUM); }
int64_t av_dist_counter_done(av_dist_counter *c, int64_t units) {
    return fetch_add(c, SLOT_DONE, units, units ? MPI_SUM : MPI_NO_OP) + units;
}
void av_dist_counter_fail(av_dist_counter *c) { fetch_add(c, SLOT_FAILED, 1, MPI_REPLACE); }
int av_dist_counter_failed(av_dist_counter *c) { return fetch_add(c, SLOT_FAILED, 0, MPI_NO_OP) != 0; }

void av_dist_counter_close(av_dist_counter *c) {
    if (!c) return;
    if (g.size > 1) {
#pragma omp critical(av_dist)
        MPI_Win_free(&c->win);
    }
    free(c);
}

/* ---- files written in parts by every process ------------------------------------------ */
struct av_dist_file {
    MPI_File fh;
    char path[4096];
};

int av_dist_file_open(const char *path, av_dist_file **out) {
    av_dist_file *f = av_calloc(1, sizeof *f);
    *out = NULL;
    if (!f) return AV_ERR;
    snprintf(f->path, sizeof f->path, "%s", path);
    int err;
#pragma omp critical(av_dist)
    err = MPI_File_open(MPI_COMM_SELF, path, MPI_MODE_WRONLY, MPI_INFO_NULL, &f->fh);
    if (err != MPI_SUCCESS) {
        free(f);
        return av_fail("%s: MPI-IO cannot open it for writing", path);
    }
    *out = f;
    return AV_OK;
}

int av_dist_file_write_at(av_dist_file *f, int64_t offset, const void *buf, size_t bytes) {
    int rc = MPI_SUCCESS;
#pragma omp critical(av_dist)
    for (size_t at = 0; at < bytes && rc == MPI_SUCCESS; at += 1 << 30) {
        size_t n = bytes - at < (size_t)1 << 30 ? bytes - at : (size_t)1 << 30;
        rc = MPI_File_write_at(f->fh, (MPI_Offset)(offset + (int64_t)at), (const char *)buf + at, (int)n, MPI_BYTE,
                               MPI_STATUS_IGNORE);
    }
    return rc == MPI_SUCCESS ? AV_OK : av_fail("%s: MPI-IO write failed", f->path);
}

int av_dist_file_sync(av_dist_file *f) {
    int rc;
#pragma omp critical(av_dist)
    rc = MPI_File_sync(f->fh);
    return rc == MPI_SUCCESS ? AV_OK : av_fail("%s: MPI-IO flush failed", f->path);
}

int av_dist_file_close(av_dist_file *f, int keep) {
    if (!f) return AV_OK;
    int rc = keep ? av_dist_file_sync(f) : AV_OK;
#pragma omp critical(av_dist)
    MPI_File_close(&f->fh);
    free(f);
    return rc;
}
