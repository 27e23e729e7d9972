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

// The directory of this test program: <builddir>/tests.
static void exe_dir(char *buf, size_t n) {
    char exe[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", exe, sizeof exe - 1);
    ck_assert_msg(k > 0, "cannot find this program's path");
    exe[k] = '\0';
    snprintf(buf, n, "%s", dirname(exe));
}

void cu_roto_path(char *buf, size_t n) {
    char dir[PATH_MAX];
    exe_dir(dir, sizeof dir);
    snprintf(buf, n, "%s/../roto", dir);
    ck_assert_msg(access(buf, X_OK) == 0, "roto binary not found at %s", buf);
}

void cu_find_roto(char roto[PATH_MAX], char root[PATH_MAX], const char *marker) {
    cu_roto_path(roto, PATH_MAX);
    if (access(marker, R_OK) == 0) {
        ck_assert_ptr_nonnull(getcwd(root, PATH_MAX));
    } else {
        char dir[PATH_MAX - 8];  // room for "/../.."
        exe_dir(dir, sizeof dir);
        snprintf(root, PATH_MAX, "%s/../..", dir);
    }
}

void cu_repo_dir(char *buf, size_t n, const char *rel, const char *marker) {
    char probe[2 * PATH_MAX];
    snprintf(probe, sizeof probe, "%s/%s", rel, marker);
    if (access(probe, R_OK) == 0) {
        snprintf(buf, n, "%s", rel);
        return;
    }
    char dir[PATH_MAX];
    exe_dir(dir, sizeof dir);
    snprintf(buf, n, "%s/../../%s", dir, rel);
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

void *cu_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    fclose(f);
    if (!s) return NULL;
    s[n] = '\0';
    if (len) *len = (size_t)n;
    return s;
}

void *cu_must_read(const char *path, size_t *len) {
    char *s = cu_read_file(path, len);
    ck_assert_msg(s != NULL, "cannot open %s", path);
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

int cu_run_capture(const char *cmd, char *out, size_t n) {
    FILE *p = popen(cmd, "r");
    ck_assert(p != NULL);
    size_t k = fread(out, 1, n - 1, p);
    out[k] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
