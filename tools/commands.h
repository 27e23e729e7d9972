// commands.h: the CLI's subcommands, one file each (tools/cmd_*.c). Each takes
// argv with argv[0] = the subcommand name and returns the process exit code:
// 0 success, 1 failure (message on stderr), 2 usage error.
#ifndef ROTO_COMMANDS_H
#define ROTO_COMMANDS_H

int cmd_version(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_segment(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_track(int argc, char **argv);
int cmd_bench(int argc, char **argv);

#endif
