/* lock.c - see lock.h. */
#include "base/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include "base/util.h"

int av_folder_lock_take(av_folder_lock *l, const char *dir, const char *name) {
    l->held = 0;
    l->fd = -1;
    char path[4200];
    av_path_join(path, sizeof path, dir, ".lock");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return av_fail("%s: cannot create (%s)", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char buf[32] = "";
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        close(fd);
        if (e != EWOULDBLOCK) return av_fail("%s: cannot lock (%s)", path, strerror(e));
        long pid = n > 0 ? strtol(buf, NULL, 10) : 0;
        if (pid > 0) return av_fail("another attnviz is writing %s (pid %ld); wait for it to finish", name, pid);
        return av_fail("another attnviz is writing %s; wait for it to finish", name);
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    /* the pid is for the message above only: a lock whose pid could not be written (a
     * full disk) is still a lock */
    int wrote = ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)n, 0) == n;
    (void)wrote;
    l->fd = fd;
    l->held = 1;
    return AV_OK;
}

void av_folder_lock_release(av_folder_lock *l) {
    if (l->held) close(l->fd); /* closing the last descriptor drops the flock */
    l->held = 0;
    l->fd = -1;
}
