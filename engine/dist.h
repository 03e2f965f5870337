/* dist.h - one job spread over several processes with MPI (mpirun, srun), or run by one
 * process: the only module that talks to MPI. Built as engine/dist.c where Open MPI's
 * mpi.h was found and as engine/dist_none.c (one process, always) where it was not.
 *
 * A process takes part in an MPI job only when an MPI launcher started it (mpirun sets
 * OMPI_COMM_WORLD_SIZE and PMIX_RANK, srun PMIX_RANK or PMI_RANK); started any other way
 * it never initialises MPI and is the job's only process, rank 0 of 1, so every call
 * below is then the single-process job's plain behaviour (the counter a shared atomic,
 * agreement and sharing no-ops). Nothing here prints.
 *
 * Under MPI, av_dist_init also divides the machine between the processes on it: each
 * gets the GPU of its local rank (CUDA_VISIBLE_DEVICES narrowed to one entry, taken in
 * turn from the list given or the driver's GPUs) and, when the launcher bound it to no
 * cores of its own and OMP_NUM_THREADS is unset, its share of the cores as OpenMP
 * threads. A build without MPI started as one of several processes refuses to run.
 *
 * The collective calls (agree, bcast, share, counter open/close, the file calls) must be
 * made by every process of the job, in the same order. Calls are safe from any thread
 * (they are serialised inside). A counter and a file belong to their opener; close
 * frees them. */
#ifndef AV_ENGINE_DIST_H
#define AV_ENGINE_DIST_H
#include <stddef.h>
#include <stdint.h>

/* Joins the MPI job when launched as part of one; otherwise does nothing. Call once,
 * first thing in main. AV_ERR when MPI cannot start. */
int av_dist_init(int *argc, char ***argv);
/* Leaves the MPI job (no-op when not in one). */
void av_dist_finalize(void);

int av_dist_rank(void);        /* 0 .. size-1 */
int av_dist_size(void);        /* processes in the job, 1 without MPI */
int av_dist_local_rank(void);  /* among the job's processes on this machine */

/* Every process's outcome of a step (rc), made common: AV_OK when every process had
 * AV_OK, else AV_ERR on every process with the lowest failing rank's message, as
 * "rank R: <message>" when only some of the processes failed. */
int av_dist_agree(int rc);
/* Whether the last error is one av_dist_agree made common: every process has it, so
 * rank 0 alone need say it. */
int av_dist_error_shared(void);

/* bytes from rank 0 to every process. */
int av_dist_bcast(void *buf, size_t bytes);
/* Whether flag is set on any process. */
int av_dist_any(int flag);
/* In place on every process: the sum of v[0..n) over the processes, the minimum of *v. */
int av_dist_sum_f64(double *v, int64_t n);
int av_dist_min_i64(int64_t *v);
/* Array elements computed by different processes, made whole everywhere: element i of
 * base[count] (of elem bytes each) comes from the process with mine[i] set (at most
 * one; elements nobody set keep each process's own bytes). */
int av_dist_share(void *base, size_t elem, int count, const unsigned char *mine);

/* Work handed out on demand: a counter shared by every thread of every process. */
typedef struct av_dist_counter av_dist_counter;
int av_dist_counter_open(av_dist_counter **c);
/* The first of the next n work items (fetch and add); a value past the last item
 * means nothing is left. */
int64_t av_dist_counter_take(av_dist_counter *c, int64_t n);
/* Adds units of finished work to the job's total and returns that total (units 0 only
 * reads it): rank 0 shows the whole job's progress from it. */
int64_t av_dist_counter_done(av_dist_counter *c, int64_t units);
/* Tells every process that this one failed, so none takes more work. */
void av_dist_counter_fail(av_dist_counter *c);
int av_dist_counter_failed(av_dist_counter *c);
void av_dist_counter_close(av_dist_counter *c);

/* A file that several processes write parts of in place (MPI-IO: the file system's own
 * rules for concurrent writers, NFS included, are the MPI library's business). Each
 * process opens its own handle (not collective), so each may flush at its own pace.
 * The file must exist with its final size. */
typedef struct av_dist_file av_dist_file;
int av_dist_file_open(const char *path, av_dist_file **f);
int av_dist_file_write_at(av_dist_file *f, int64_t offset, const void *buf, size_t bytes);
/* What this process wrote is on the disk when it returns. */
int av_dist_file_sync(av_dist_file *f);
/* Flushes (keep 1) and closes; keep 0 only releases it. NULL is allowed. */
int av_dist_file_close(av_dist_file *f, int keep);
#endif
