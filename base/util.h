/* util.h - what every module shares: the error convention, file helpers, atomic writes,
 * monotonic time. Element types and float16/bfloat16 conversion: dtype.h.
 *
 * Error convention (as FAISS's c_api): library functions never exit or abort on bad
 * input. They return AV_OK (0) or a negative status and leave one line in a
 * thread-local buffer, read with av_last_error(). Only main() prints it and exits 2.
 * The message names the file and the fault: "model.safetensors: tensor 'x' ...". */
#ifndef AV_BASE_UTIL_H
#define AV_BASE_UTIL_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum { AV_OK = 0, AV_ERR = -1, AV_ERR_NOMEM = -2 };

/* Sets the last error (printf-style) and returns AV_ERR, so `return av_fail(...)` reads well. */
int av_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *av_last_error(void);
void av_clear_error(void);

/* Allocation that records an error instead of aborting; NULL on failure. */
void *av_malloc(size_t n);
void *av_calloc(size_t count, size_t size);

/* Reads a whole file into a NUL-terminated buffer the caller frees. NULL + error on failure. */
char *av_read_file(const char *path, size_t *len_out);

/* A read-only memory map of a whole file. */
typedef struct { const uint8_t *data; size_t size; } av_mmap;
int av_mmap_open(const char *path, av_mmap *m);
void av_mmap_close(av_mmap *m);

int av_file_exists(const char *path);
int av_is_dir(const char *path);
int av_mkdir_p(const char *path);
/* Removes a folder and everything in it (no-op when absent). */
int av_rm_rf(const char *path);
/* dir + "/" + name into a buffer of size n; returns out. */
char *av_path_join(char *out, size_t n, const char *dir, const char *name);

/* Atomic writes: write to "<path>.tmp.<pid>", then rename over <path>. A killed process
 * leaves at most a stray .tmp file, never a half-written file under the real name. */
typedef struct { FILE *f; char path[4096]; char tmp[4128]; } av_atomic_file;
int av_atomic_open(av_atomic_file *a, const char *path);
int av_atomic_commit(av_atomic_file *a);  /* fflush + fsync + rename; closes */
void av_atomic_abort(av_atomic_file *a);  /* close and unlink the temporary */
/* The reason of a failed write for its message: strerror(e), or "I/O error" when the
 * call left errno 0. stdio keeps only an error flag, so callers pass the errno of the
 * failing call (or of the flush that repeats it), saved before anything else runs. */
const char *av_write_reason(int e);
/* n bytes of s as a one-line message shows them, into buf of size bytes (at least 4):
 * control bytes as '?' (a newline or an escape code in a file's name or key would break
 * the line, or the terminal), cut with "..." when longer. Returns buf. */
const char *av_shown(const char *s, size_t n, char *buf, size_t size);
/* Writes a whole buffer atomically. */
int av_write_file_atomic(const char *path, const void *data, size_t len);

/* Monotonic seconds. */
double av_now(void);
#endif
