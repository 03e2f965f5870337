/* owned.h - what attnviz may delete or replace: only what it can prove it made.
 *
 * Proof is a marker file, ".made-by-attnviz", that attnviz writes into every folder it
 * creates to fill and later remove or replace (an extraction's RUN.partial, a synthetic
 * image set): one line of JSON naming what the folder is, with the pid, host and time of
 * the process that made it. A finished run folder proves itself by its manifest
 * (engine/runfolder.h); an empty folder holds nothing to lose. Anything else is refused
 * by the caller with a line that says what is there and how to go on.
 *
 * Whatever proves itself, a folder that is, or holds, the model or the data being read
 * is never removed: av_path_within compares folders by device and inode after resolving
 * symbolic links, so "../m", a symlink to m and m itself are the same folder. */
#ifndef AV_BASE_OWNED_H
#define AV_BASE_OWNED_H

#define AV_MARKER_FILE ".made-by-attnviz"

/* Writes dir/.made-by-attnviz saying dir is `what` ("extract RUN.partial", "synth set"),
 * with origin also the pid, host and time of the writer (for a folder in the making; a
 * finished product that must repeat byte for byte, a synthetic set, goes without). */
int av_marker_write(const char *dir, const char *what, int origin);
/* 1 when dir holds attnviz's marker and it says `what`; 0 otherwise (never an error). */
int av_marker_says(const char *dir, const char *what);

/* 1 when `path` is folder `dir` or lies somewhere inside it; 0 otherwise (also when dir
 * does not exist). `path` need not exist: its nearest existing ancestor decides, since
 * that is where it would be created. */
int av_path_within(const char *path, const char *dir);

/* 1 when dir is an empty folder (nothing in it, not even hidden files). */
int av_dir_is_empty(const char *dir);
#endif
