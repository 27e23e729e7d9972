// roto_main.c: the `roto` command: dispatches to one file per subcommand.
#include <stdio.h>
#include <string.h>

#include "tools/commands.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: roto <command> [options]\n"
            "\n"
            "commands:\n"
            "  version         print the version and the backends built in\n"
            "  info            describe a checkpoint, an image or a frame sequence\n"
            "  segment         SAM 2.1 masks for an image from clicks, a box or a mask\n"
            "  convert         rewrite a checkpoint as roto's canonical safetensors file\n"
            "  track           SAM 2.1 video tracking of objects through an image sequence\n"
            "  bench           time a network (load, frames, memory, FLOPs) against the targets\n"
            "\n"
            "Run 'roto <command> --help' for a command's options.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "version")) return cmd_version(argc - 1, argv + 1);
    if (!strcmp(cmd, "info")) return cmd_info(argc - 1, argv + 1);
    if (!strcmp(cmd, "segment")) return cmd_segment(argc - 1, argv + 1);
    if (!strcmp(cmd, "convert")) return cmd_convert(argc - 1, argv + 1);
    if (!strcmp(cmd, "track")) return cmd_track(argc - 1, argv + 1);
    if (!strcmp(cmd, "bench")) return cmd_bench(argc - 1, argv + 1);
    fprintf(stderr, "roto: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
