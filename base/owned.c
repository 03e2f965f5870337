/* owned.c - see owned.h. */
#include "base/owned.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "base/util.h"

/* The marker's first bytes: enough to tell it from a stranger's file of the same name. */
static int marker_prefix(char *out, size_t n, const char *what) {
    return snprintf(out, n, "{\"made_by\": \"attnviz\", \"what\": \"%s\"", what);
}

int av_marker_write(const char *dir, const char *what, int origin) {
    char path[4200], host[256] = "", when[64] = "", line[1024];
    av_path_join(path, sizeof path, dir, AV_MARKER_FILE);
    int n = marker_prefix(line, sizeof line, what);
    if (origin) {
        if (gethostname(host, sizeof host - 1) != 0) snprintf(host, sizeof host, "unknown");
        time_t now = time(NULL);
        struct tm tm;
        if (gmtime_r(&now, &tm)) strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        snprintf(line + n, sizeof line - (size_t)n, ", \"pid\": %ld, \"host\": \"%s\", \"time\": \"%s\"}\n",
                 (long)getpid(), host, when);
    } else {
        snprintf(line + n, sizeof line - (size_t)n, "}\n");
    }
    return av_write_file_atomic(path, line, strlen(line));
}

int av_marker_says(const char *dir, const char *what) {
    char path[4200], want[512], got[512];
    av_path_join(path, sizeof path, dir, AV_MARKER_FILE);
    struct stat st;
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t want_len = (size_t)marker_prefix(want, sizeof want, what);
    size_t got_len = fread(got, 1, want_len, f);
    fclose(f);
    return got_len == want_len && !memcmp(got, want, want_len);
}

int av_path_within(const char *path, const char *dir) {
    struct stat sd;
    if (stat(dir, &sd) != 0 || !S_ISDIR(sd.st_mode)) return 0;
    char buf[PATH_MAX], real[PATH_MAX];
    if ((size_t)snprintf(buf, sizeof buf, "%s", path) >= sizeof buf) return 0;
    /* the nearest existing ancestor of path: where path is, or would be created */
    while (access(buf, F_OK) != 0) {
        char *slash = strrchr(buf, '/');
        while (slash && slash > buf && slash[1] == 0) { /* "a/b/" -> "a/b" first */
            *slash = 0;
            slash = strrchr(buf, '/');
        }
        if (!slash) snprintf(buf, sizeof buf, ".");
        else if (slash == buf) buf[1] = 0; /* "/x" -> "/" */
        else *slash = 0;
    }
    if (!realpath(buf, real)) return 0;
    for (;;) {
        struct stat s;
        if (stat(real, &s) == 0 && s.st_dev == sd.st_dev && s.st_ino == sd.st_ino) return 1;
        char *slash = strrchr(real, '/');
        if (!slash || !strcmp(real, "/")) return 0;
        if (slash == real) real[1] = 0;
        else *slash = 0;
    }
}

int av_dir_is_empty(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int empty = 1;
    while (empty && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) empty = 0;
    closedir(d);
    return empty;
}
