/* lock.h - one writer per folder: an exclusive flock(2) on DIR/.lock, taken without
 * waiting. The holder writes its pid into the file, so a second writer is refused at
 * once with "another attnviz is writing DIR (pid N)" instead of doing the same work and
 * colliding at the end. The kernel drops the lock when its holder exits, however it
 * ends, so a killed process never leaves a stale lock; the file itself stays (removing
 * it would let a third process lock a new file while the old one is still held).
 *
 * Why refuse rather than wait: a second job on the same folder is nearly always the
 * same command typed twice (or a script started twice); waiting would then redo the
 * first one's work, or silently sit behind an hour-long projection. */
#ifndef AV_BASE_LOCK_H
#define AV_BASE_LOCK_H

typedef struct {
    int fd;     /* the open .lock while held */
    int held;
} av_folder_lock;

/* Takes dir's lock (dir must exist). `name` is how the message calls the folder. */
int av_folder_lock_take(av_folder_lock *l, const char *dir, const char *name);
/* Releases it; a lock never taken (zeroed) is fine. */
void av_folder_lock_release(av_folder_lock *l);
#endif
