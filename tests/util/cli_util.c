// cli_util.c: see cli_util.h.
#include "cli_util.h"

#include <check.h>
#include <dirent.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

void cu_find_roto(char roto[PATH_MAX], char root[PATH_MAX], const char *marker) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    ck_assert(n > 0);
    exe[n] = '\0';
    char *dir = dirname(exe);  // <builddir>/tests
    snprintf(roto, PATH_MAX, "%s/../roto", dir);
    ck_assert_msg(access(roto, X_OK) == 0, "roto binary not found at %s", roto);
    if (access(marker, R_OK) == 0)
        ck_assert_ptr_nonnull(getcwd(root, PATH_MAX));
    else
        snprintf(root, PATH_MAX, "%s/../..", dir);
}

void cu_make_tmp(char *buf, size_t size, const char *name) {
    snprintf(buf, size, "/tmp/roto_%s_XXXXXX", name);
    ck_assert_ptr_nonnull(mkdtemp(buf));
}

void cu_rm_rf(const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
            cu_rm_rf(p);
        else
            unlink(p);
    }
    closedir(d);
    rmdir(path);
}

char *cu_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    size_t k = fread(s, 1, (size_t)n, f);
    s[k] = '\0';
    fclose(f);
    if (len) *len = k;
    return s;
}

char *cu_read_text(const char *path) {
    char *s = cu_read_file(path, NULL);
    return s ? s : strdup("");
}

cu_result cu_run(const char *dir, const char *cmd, int capture_stdout) {
    char o[PATH_MAX], e[PATH_MAX], o_quoted[PATH_MAX + 2];
    snprintf(o, sizeof o, "%s/.stdout", dir);
    snprintf(e, sizeof e, "%s/.stderr", dir);
    snprintf(o_quoted, sizeof o_quoted, "'%s'", o);
    const char *out_to = capture_stdout ? o_quoted : "/dev/null";
    int len = snprintf(NULL, 0, "cd '%s' && %s >%s 2>'%s'", dir, cmd, out_to, e);
    char *full = malloc((size_t)len + 1);
    snprintf(full, (size_t)len + 1, "cd '%s' && %s >%s 2>'%s'", dir, cmd, out_to, e);
    int st = system(full);
    free(full);
    cu_result r = {WIFEXITED(st) ? WEXITSTATUS(st) : -1, capture_stdout ? cu_read_text(o) : strdup(""),
                   cu_read_text(e)};
    if (capture_stdout) unlink(o);
    unlink(e);
    return r;
}

void cu_result_free(cu_result *r) {
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}
