/* util.c - see util.h. */
#include "base/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static _Thread_local char av_err_buf[1024];

int av_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(av_err_buf, sizeof av_err_buf, fmt, ap);
    va_end(ap);
    return AV_ERR;
}

const char *av_last_error(void) { return av_err_buf[0] ? av_err_buf : "unknown error"; }
void av_clear_error(void) { av_err_buf[0] = 0; }

void *av_malloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) av_fail("out of memory (%zu bytes)", n);
    return p;
}

void *av_calloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) av_fail("out of memory (%zu x %zu bytes)", count, size);
    return p;
}

char *av_read_file(const char *path, size_t *len_out) {
    FILE *f = fopen(path, "rb");
    if (!f) { av_fail("%s: cannot open: %s", path, strerror(errno)); return NULL; }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        av_fail("%s: not a regular file", path);
        return NULL;
    }
    size_t n = (size_t)st.st_size;
    char *buf = av_malloc(n + 1);
    if (!buf) { fclose(f); return NULL; }
    if (n && fread(buf, 1, n, f) != n) {
        free(buf);
        fclose(f);
        av_fail("%s: read error", path);
        return NULL;
    }
    fclose(f);
    buf[n] = 0;
    if (len_out) *len_out = n;
    return buf;
}

int av_mmap_open(const char *path, av_mmap *m) {
    m->data = NULL;
    m->size = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return av_fail("%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return av_fail("%s: not a regular file", path);
    }
    m->size = (size_t)st.st_size;
    if (m->size == 0) { close(fd); return AV_OK; }
    void *p = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return av_fail("%s: mmap failed: %s", path, strerror(errno));
    m->data = p;
    return AV_OK;
}

void av_mmap_close(av_mmap *m) {
    if (m->data && m->size) munmap((void *)m->data, m->size);
    m->data = NULL;
    m->size = 0;
}

int av_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

int av_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int av_mkdir_p(const char *path) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return av_fail("%s: bad folder name", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == 0) {
            char c = buf[i];
            buf[i] = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return av_fail("%s: cannot create folder: %s", buf, strerror(errno));
            buf[i] = c;
        }
    }
    if (!av_is_dir(path)) return av_fail("%s: exists and is not a folder", path);
    return AV_OK;
}

int av_rm_rf(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return AV_OK;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d) return av_fail("%s: cannot open folder: %s", path, strerror(errno));
        struct dirent *e;
        char sub[4096];
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            av_path_join(sub, sizeof sub, path, e->d_name);
            if (av_rm_rf(sub) != AV_OK) { closedir(d); return AV_ERR; }
        }
        closedir(d);
        if (rmdir(path) != 0) return av_fail("%s: cannot remove: %s", path, strerror(errno));
    } else if (unlink(path) != 0) {
        return av_fail("%s: cannot remove: %s", path, strerror(errno));
    }
    return AV_OK;
}

char *av_path_join(char *out, size_t n, const char *dir, const char *name) {
    size_t dl = strlen(dir);
    if (dl && dir[dl - 1] == '/') snprintf(out, n, "%s%s", dir, name);
    else snprintf(out, n, "%s/%s", dir, name);
    return out;
}

int av_atomic_open(av_atomic_file *a, const char *path) {
    a->f = NULL;
    if (strlen(path) >= sizeof a->path) return av_fail("%s: path too long", path);
    snprintf(a->path, sizeof a->path, "%s", path);
    snprintf(a->tmp, sizeof a->tmp, "%s.tmp.%ld", path, (long)getpid());
    a->f = fopen(a->tmp, "wb");
    if (!a->f) return av_fail("%s: cannot write: %s", a->tmp, strerror(errno));
    return AV_OK;
}

const char *av_write_reason(int e) { return e ? strerror(e) : "I/O error"; }

const char *av_shown(const char *s, size_t n, char *buf, size_t size) {
    size_t i = 0;
    for (; i < n && i + 4 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    if (i < n) memcpy(buf + i, "...", 3), i += 3;
    buf[i] = 0;
    return buf;
}

int av_atomic_commit(av_atomic_file *a) {
    if (!a->f) return av_fail("%s: not open", a->path);
    errno = 0;
    int bad = fflush(a->f) != 0 || ferror(a->f), e = errno;
    if (!bad && fsync(fileno(a->f)) != 0) bad = 1, e = errno;
    if (fclose(a->f) != 0 && !bad) bad = 1, e = errno;
    a->f = NULL;
    if (bad) {
        unlink(a->tmp);
        return av_fail("%s: write failed: %s (nothing written)", a->path, av_write_reason(e));
    }
    if (rename(a->tmp, a->path) != 0) {
        int e = errno;
        unlink(a->tmp);
        return av_fail("%s: rename failed: %s", a->path, strerror(e));
    }
    return AV_OK;
}

void av_atomic_abort(av_atomic_file *a) {
    if (a->f) fclose(a->f);
    a->f = NULL;
    unlink(a->tmp);
}

int av_write_file_atomic(const char *path, const void *data, size_t len) {
    av_atomic_file a;
    if (av_atomic_open(&a, path) != AV_OK) return AV_ERR;
    errno = 0;
    if (len && fwrite(data, 1, len, a.f) != len) {
        int e = errno;
        av_atomic_abort(&a);
        return av_fail("%s: write failed: %s (nothing written)", path, av_write_reason(e));
    }
    return av_atomic_commit(&a);
}

double av_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
