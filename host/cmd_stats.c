/* cmd_stats.c - `attnviz stats`. Not implemented yet: says so and exits 2. */
#include <stdio.h>
#include <string.h>
#include "host/cli.h"

int av_cmd_stats(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--help")) {
        printf("usage: attnviz stats ... (not implemented yet)\n");
        return 0;
    }
    return av_cli_fail("stats", "not implemented yet");
}
