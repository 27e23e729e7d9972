// cmd_version.c: `roto version`: version and the backends compiled in.
#include <stdio.h>

#include "engine/backend.h"
#include "tools/commands.h"

int cmd_version(int argc, char **argv) {
    (void)argc;
    (void)argv;
    printf("roto 0.1.0\nbackends: cpu%s\n", rt_cuda_backend() ? ", cuda" : "");
    return 0;
}
