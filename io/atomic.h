// atomic.h: crash-safe output files and output-directory checks.
//
// Every output is written to `<dir>/.<name>.tmp.<pid>`, fsync'ed, then renamed
// over `<dir>/<name>` (rename is atomic on POSIX file systems), and the
// directory is fsync'ed so the rename itself survives a crash. A process killed
// at any moment leaves either the old file, the complete new file, or (at
// worst, for a SIGKILL between open and rename) a hidden temp file: never a
// truncated frame under the real name. roto_atomic_remove_stale() cleans such
// leftovers on the next run.
#ifndef ROTO_IO_ATOMIC_H
#define ROTO_IO_ATOMIC_H

#include <stddef.h>

#include "engine/status.h"

#ifdef __cplusplus
extern "C" {
#endif

// Write `n` bytes to `path` atomically. On any failure no file is left under
// `path` (an existing file there is untouched) and the temp file is removed.
roto_status roto_atomic_write(const char *path, const void *data, size_t n);

// The temp path used for `path`: "<dir>/.<name>.tmp.<pid>". Returns
// INVALID_ARG if it would not fit in `cap` bytes.
roto_status roto_atomic_temp_path(const char *path, char *out, size_t cap);

// mkdir -p: create `dir` and its missing parents (mode 0777 & ~umask).
// An existing directory is fine; an existing non-directory is an error.
roto_status roto_mkdir_p(const char *dir);

// Create the parent directory of a file path (mkdir -p of dirname(path)).
roto_status roto_mkdir_parent(const char *path);

// Check that `dir` exists and we can create files in it, by creating and
// removing a probe file. Call before any compute so a bad output path fails
// in a second, not after an hour of tracking.
roto_status roto_check_writable_dir(const char *dir);

// Resume support: 1 if `path` exists, is a regular file and is non-empty (a
// finished frame: temp files never carry the final name), else 0.
int roto_output_exists(const char *path);

// Remove leftover temp files "<dir>/.<name>.tmp.<pid>" of dead processes in
// `dir` (those whose pid is not running). Returns the number removed via
// *removed (may be NULL).
roto_status roto_atomic_remove_stale(const char *dir, int *removed);

// Test hook: make the next roto_atomic_write on this thread fail after
// writing `bytes` bytes of the temp file (as if the disk filled up), once.
// -1 disables. Used by tests to check that a failure mid-write leaves neither
// an output nor a temp file.
void roto_atomic_fail_after(long bytes);

#ifdef __cplusplus
}
#endif
#endif
