// cli_util.h: helpers for the test programs that run the built `roto` binary as
// a process or read fixtures: finding the binary and the repository next to the
// test program, a private temp dir, reading whole files, and running a shell
// command with its exit code and output.
#ifndef ROTO_CLI_UTIL_H
#define ROTO_CLI_UTIL_H

#include <limits.h>
#include <stddef.h>

// Finds <builddir>/roto next to this test program (<builddir>/tests/test_x),
// asserting it is executable, and the repository root: the current directory
// when `marker` (a repository-relative path) is readable there, else
// <builddir>/../.. (a test program run from elsewhere).
void cu_find_roto(char roto[PATH_MAX], char root[PATH_MAX], const char *marker);

// <builddir>/roto into buf, asserting it is executable.
void cu_roto_path(char *buf, size_t n);

// The directory rel (repository-relative) as seen from here: rel itself when
// rel/marker is readable from the working directory (make runs the tests from
// the repository root), else <builddir>/../../rel, from this program's path.
void cu_repo_dir(char *buf, size_t n, const char *rel, const char *marker);

// Makes a fresh directory /tmp/roto_<name>_XXXXXX into buf (asserted).
void cu_make_tmp(char *buf, size_t size, const char *name);

// Removes path and, for a directory, everything below it (links not followed).
void cu_rm_rf(const char *path);

// Whole file, NUL-terminated, its length (without the NUL) in *len when len is
// given; NULL when it cannot be opened or read. Free with free().
void *cu_read_file(const char *path, size_t *len);
// Same, but asserting that the file could be read ("cannot open <path>").
void *cu_must_read(const char *path, size_t *len);
// Same, but an empty string for a file that cannot be opened.
char *cu_read_text(const char *path);

// A finished process: exit status (-1 if it did not exit normally) and what it
// wrote (out is "" when stdout was not captured).
typedef struct {
    int code;
    char *out, *err;  // stdout and stderr, separately
} cu_result;

// Runs `cd DIR && CMD >DIR/.stdout 2>DIR/.stderr` through the shell (stdout to
// /dev/null unless capture_stdout), reads both streams back and removes the
// two files.
cu_result cu_run(const char *dir, const char *cmd, int capture_stdout);
void cu_result_free(cu_result *r);

// Runs cmd through popen, its stdout into out (at most n - 1 bytes, NUL-terminated);
// returns the exit status (-1 if it did not exit normally).
int cu_run_capture(const char *cmd, char *out, size_t n);

#endif
