// cmd_version.c: `roto version`: version and the backends compiled in.
#include <stdio.h>

#include "engine/backend.h"
#include "roto.h"
#include "tools/commands.h"

int cmd_version(int argc, char **argv) {
    (void)argc;
    (void)argv;
    printf("roto %s\nbackends: cpu%s\n", ROTO_VERSION, rt_cuda_backend() ? ", cuda" : "");
    return 0;
}
