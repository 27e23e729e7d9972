// bench_env.h: what a benchmark records about where it ran, shared by
// gpu_bench.c and matte_bench.c: a shell command's first line, the commit,
// the date and the result file's name <dir>/<date>-<machine slug>-<what>.json.
#ifndef ROTO_BENCH_ENV_H
#define ROTO_BENCH_ENV_H

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

// The first line of `cmd`'s output ("" when it fails).
static inline void bench_shell_line(const char *cmd, char *out, size_t n) {
    out[0] = '\0';
    FILE *f = popen(cmd, "r");
    if (!f) return;
    if (fgets(out, (int)n, f)) out[strcspn(out, "\r\n")] = '\0';
    pclose(f);
}

// The commit this was built from (the Makefile passes ROTO_GIT_COMMIT), else
// the checkout's, else "unknown".
static inline void bench_commit(char *out, size_t n) {
#ifdef ROTO_GIT_COMMIT
    snprintf(out, n, "%s", ROTO_GIT_COMMIT);
#else
    bench_shell_line("git describe --always --dirty 2>/dev/null", out, n);
#endif
    if (!out[0]) snprintf(out, n, "unknown");
}

// Today's UTC date, YYYY-MM-DD.
static inline void bench_date(char *out, size_t n) {
    time_t now = time(NULL);
    strftime(out, n, "%Y-%m-%d", gmtime(&now));
}

// dir/<date>-<machine, lower-case, other characters '-'>-<what>.json
static inline void bench_result_path(char *out, size_t n, const char *dir, const char *date, const char *machine,
                                     const char *what) {
    char slug[256];
    size_t j = 0;
    for (const char *c = machine; *c && j + 1 < sizeof slug; c++)
        slug[j++] = isalnum((unsigned char)*c) ? (char)tolower((unsigned char)*c) : '-';
    slug[j] = '\0';
    snprintf(out, n, "%s/%s-%s-%s.json", dir, date, slug, what);
}

#endif
