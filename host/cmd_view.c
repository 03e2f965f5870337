/* cmd_view.c - `attnviz view`. Not implemented yet: says so and exits 2. */
#include <stdio.h>
#include <string.h>
#include "host/cli.h"

int av_cmd_view(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--help")) {
        printf("usage: attnviz view ... (not implemented yet)\n");
        return 0;
    }
    return av_cli_fail("view", "not implemented yet");
}
