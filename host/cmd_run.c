/* cmd_run.c - `attnviz run`. Not implemented yet: says so and exits 2. */
#include <stdio.h>
#include <string.h>
#include "host/cli.h"

int av_cmd_run(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--help")) {
        printf("usage: attnviz run ... (not implemented yet)\n");
        return 0;
    }
    return av_cli_fail("run", "not implemented yet");
}
