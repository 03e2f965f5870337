/* cmd_project.c - `attnviz project`. Not implemented yet: says so and exits 2. */
#include <stdio.h>
#include <string.h>
#include "host/cli.h"

int av_cmd_project(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--help")) {
        printf("usage: attnviz project ... (not implemented yet)\n");
        return 0;
    }
    return av_cli_fail("project", "not implemented yet");
}
