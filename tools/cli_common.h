// cli_common.h: option-parsing and error-reporting helpers shared by the CLI's
// subcommands (tools/cmd_*.c), so that every command reads "--name VALUE" the
// same way and words its usage errors (exit 2) and failures (exit 1) alike.
#ifndef ROTO_CLI_COMMON_H
#define ROTO_CLI_COMMON_H

// "--name VALUE" or "--name=VALUE" (also a short alias, "-n VALUE"). Returns 1
// and sets *val (NULL when the value is missing) if argv[*i] is this option,
// advancing *i past a separate value; returns 0 otherwise.
int cli_option(int argc, char **argv, int *i, const char *name, const char *alias, const char **val);

// "roto <cmd>: <message>" and a pointer to --help on stderr; returns 2.
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

// "roto <cmd>: <message>" on stderr; returns 1.
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
