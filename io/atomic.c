// atomic.c: temp-file + fsync + rename writes, mkdir -p, writability probes,
// resume checks (see atomic.h).
#include "io/atomic.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

static _Thread_local long g_fail_after = -1;

void roto_atomic_fail_after(long bytes) { g_fail_after = bytes; }

// Split path into directory ("." when none) and base name.
static roto_status split_path(const char *path, char *dir, size_t dcap, const char **base) {
    const char *slash = strrchr(path, '/');
    if (!slash) {
        if (dcap < 2) return roto_fail(ROTO_ERR_INVALID_ARG, "%s: path too long", path);
        strcpy(dir, ".");
        *base = path;
        return ROTO_OK;
    }
    size_t dl = (size_t)(slash - path);
    if (dl == 0) dl = 1;  // "/name": the root directory
    if (dl + 1 > dcap) return roto_fail(ROTO_ERR_INVALID_ARG, "%s: path too long", path);
    memcpy(dir, path, dl);
    dir[dl] = '\0';
    *base = slash + 1;
    return ROTO_OK;
}

roto_status roto_atomic_temp_path(const char *path, char *out, size_t cap) {
    if (!path || !*path) return roto_fail(ROTO_ERR_INVALID_ARG, "empty output path");
    char dir[PATH_MAX];
    const char *base;
    ROTO_TRY(split_path(path, dir, sizeof dir, &base));
    if (!*base) return roto_fail(ROTO_ERR_INVALID_ARG, "%s: output path names a directory", path);
    const char *slash = strrchr(path, '/');
    int n;
    if (slash)
        n = snprintf(out, cap, "%.*s/.%s.tmp.%ld", (int)(slash - path), path, base, (long)getpid());
    else
        n = snprintf(out, cap, ".%s.tmp.%ld", base, (long)getpid());
    if (n < 0 || (size_t)n >= cap) return roto_fail(ROTO_ERR_INVALID_ARG, "%s: path too long", path);
    return ROTO_OK;
}

// fsync a directory so a rename inside it is durable. Failure to open the
// directory for reading (some file systems) is not fatal.
static void fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return;
    (void)fsync(fd);
    close(fd);
}

roto_status roto_atomic_write(const char *path, const void *data, size_t n) {
    char tmp[PATH_MAX], dir[PATH_MAX];
    const char *base;
    ROTO_TRY(roto_atomic_temp_path(path, tmp, sizeof tmp));
    ROTO_TRY(split_path(path, dir, sizeof dir, &base));
    long fail_after = g_fail_after;
    g_fail_after = -1;

    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return roto_fail(ROTO_ERR_IO, "%s: is a directory, cannot write a file there", path);

    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        return roto_fail(ROTO_ERR_IO, "%s: cannot create temp file %s: %s", path, tmp, strerror(errno));
    // The simulated failure (test hook) writes `fail_after` bytes, then fails
    // like a full disk would.
    size_t limit = n;
    int simulate = fail_after >= 0 && (size_t)fail_after <= n;
    if (simulate) limit = (size_t)fail_after;
    const unsigned char *p = (const unsigned char *)data;
    size_t done = 0;
    while (done < limit) {
        size_t chunk = limit - done;
        if (chunk > ((size_t)1 << 30)) chunk = (size_t)1 << 30;
        ssize_t w = write(fd, p + done, chunk);
        if (w < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            unlink(tmp);
            return roto_fail(ROTO_ERR_IO, "%s: write failed after %zu bytes: %s", path, done, strerror(e));
        }
        done += (size_t)w;
    }
    if (simulate) {
        close(fd);
        unlink(tmp);
        return roto_fail(ROTO_ERR_IO, "%s: write failed after %zu bytes: %s (simulated)", path, done,
                         strerror(ENOSPC));
    }
    if (fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return roto_fail(ROTO_ERR_IO, "%s: fsync failed: %s", path, strerror(e));
    }
    if (close(fd) != 0) {
        int e = errno;
        unlink(tmp);
        return roto_fail(ROTO_ERR_IO, "%s: close failed: %s", path, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return roto_fail(ROTO_ERR_IO, "%s: rename from %s failed: %s", path, tmp, strerror(e));
    }
    fsync_dir(dir);
    return ROTO_OK;
}

roto_status roto_mkdir_p(const char *dir) {
    if (!dir || !*dir) return roto_fail(ROTO_ERR_INVALID_ARG, "empty directory path");
    char buf[PATH_MAX];
    size_t len = strlen(dir);
    if (len >= sizeof buf) return roto_fail(ROTO_ERR_INVALID_ARG, "%s: path too long", dir);
    memcpy(buf, dir, len + 1);
    while (len > 1 && buf[len - 1] == '/') buf[--len] = '\0';
    // Walk the components, creating each one that is missing.
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
            int e = errno;
            return roto_fail(ROTO_ERR_IO, "cannot create directory %s: %s", buf, strerror(e));
        }
        struct stat st;
        if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
            return roto_fail(ROTO_ERR_IO, "cannot create directory %s: %s exists and is not a directory",
                             dir, buf);
        buf[i] = saved;
    }
    return ROTO_OK;
}

roto_status roto_mkdir_parent(const char *path) {
    char dir[PATH_MAX];
    const char *base;
    ROTO_TRY(split_path(path, dir, sizeof dir, &base));
    return roto_mkdir_p(dir);
}

roto_status roto_check_writable_dir(const char *dir) {
    if (!dir || !*dir) return roto_fail(ROTO_ERR_INVALID_ARG, "empty directory path");
    struct stat st;
    if (stat(dir, &st) != 0)
        return roto_fail(ROTO_ERR_IO, "output directory %s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return roto_fail(ROTO_ERR_IO, "output directory %s is not a directory", dir);
    char probe[PATH_MAX];
    int n = snprintf(probe, sizeof probe, "%s/.roto_write_probe.%ld", dir, (long)getpid());
    if (n < 0 || (size_t)n >= sizeof probe) return roto_fail(ROTO_ERR_INVALID_ARG, "%s: path too long", dir);
    int fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        return roto_fail(ROTO_ERR_IO, "output directory %s is not writable: %s", dir, strerror(errno));
    ssize_t w = write(fd, "x", 1);
    int e = errno;
    close(fd);
    unlink(probe);
    if (w != 1) return roto_fail(ROTO_ERR_IO, "output directory %s is not writable: %s", dir, strerror(e));
    return ROTO_OK;
}

int roto_output_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

// ".<name>.tmp.<pid>" -> pid, or -1 when the name is not one of our temp files.
static long temp_name_pid(const char *name) {
    if (name[0] != '.') return -1;
    const char *t = strstr(name, ".tmp.");
    if (!t || t == name) return -1;
    // the last ".tmp." wins (a name may contain ".tmp." itself)
    const char *next;
    while ((next = strstr(t + 1, ".tmp.")) != NULL) t = next;
    const char *digits = t + 5;
    if (!*digits) return -1;
    char *end;
    long pid = strtol(digits, &end, 10);
    if (*end != '\0' || pid <= 0) return -1;
    return pid;
}

roto_status roto_atomic_remove_stale(const char *dir, int *removed) {
    if (removed) *removed = 0;
    DIR *d = opendir(dir);
    if (!d) return roto_fail(ROTO_ERR_IO, "cannot open directory %s: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long pid = temp_name_pid(e->d_name);
        if (pid < 0 || pid == (long)getpid()) continue;
        if (kill((pid_t)pid, 0) == 0 || errno == EPERM) continue;  // still running
        char p[PATH_MAX];
        int n = snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (n < 0 || (size_t)n >= sizeof p) continue;
        if (unlink(p) == 0 && removed) (*removed)++;
    }
    closedir(d);
    return ROTO_OK;
}
