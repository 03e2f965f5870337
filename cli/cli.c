/* cli.c - shared pieces of the subcommands (see cli.h). */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "base/util.h"
#include "engine/dist.h"

int av_cli_fail(const char *cmd, const char *fmt, ...) {
    if (av_dist_rank() != 0) return 2; /* the processes of an MPI job meet the same fault */
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "attnviz %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

int av_cli_fail_last(void) {
    /* under MPI, an error every process agreed on is said once */
    if (av_dist_rank() == 0 || !av_dist_error_shared()) fprintf(stderr, "attnviz: %s\n", av_last_error());
    return 2;
}

int av_cli_usage(const char *cmd, const char *fmt, ...) {
    if (av_dist_rank() != 0) return 2; /* every process of an MPI job reads the same argv */
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "attnviz %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see attnviz %s --help)\n", cmd);
    va_end(ap);
    return 2;
}

int av_cli_int(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return av_cli_usage(cmd, "%s expects a whole number from %ld to %ld, got '%s'", opt, lo, hi, s);
    *out = v;
    return 0;
}

int av_cli_double(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return av_cli_usage(cmd, "%s expects a number from %g to %g, got '%s'", opt, lo, hi, s);
    *out = v;
    return 0;
}

int av_cli_bytes(const char *cmd, const char *opt, const char *s, int64_t *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    double unit = 1;
    if (end != s) switch (*end) {
        case 'k': case 'K': unit = 1024.0; end++; break;
        case 'm': case 'M': unit = 1024.0 * 1024; end++; break;
        case 'g': case 'G': unit = 1024.0 * 1024 * 1024; end++; break;
        case 't': case 'T': unit = 1024.0 * 1024 * 1024 * 1024; end++; break;
        default: break;
        }
    if (unit > 1 && (*end == 'B' || *end == 'b')) end++;   /* "8GB" reads as 8G */
    v *= unit;
    if (errno || end == s || *end || !(v >= 1 && v < 9e18))
        return av_cli_usage(cmd, "%s expects a size such as 8G, 512M or a number of bytes, got '%s'", opt, s);
    *out = (int64_t)v;
    return 0;
}

void av_cli_reset_getopt(void) {
    optind = 0; /* glibc: 0 re-initialises getopt fully */
    opterr = 0; /* we print our own one-line message */
}
