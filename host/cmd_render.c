/* cmd_render.c - `attnviz render`. Not implemented yet: says so and exits 2. */
#include <stdio.h>
#include <string.h>
#include "host/cli.h"

int av_cmd_render(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--help")) {
        printf("usage: attnviz render ... (not implemented yet)\n");
        return 0;
    }
    return av_cli_fail("render", "not implemented yet");
}
