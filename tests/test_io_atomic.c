// test_io_atomic.c: atomic output files (temp + fsync + rename): the temp file
// is gone after success; a failure mid-write leaves neither an output nor a
// temp file (and keeps an older output intact); mkdir -p, the writability
// probe, the resume check and stale temp cleanup.
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/atomic.h"
#include "io/image.h"
#include "util/test_util.h"

static char g_dir[64];

static void make_dir(void) {
    strcpy(g_dir, "/tmp/roto_io_atomic_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
}
static int rm_cb(const char *p, const struct stat *s, int t, struct FTW *f) {
    (void)s, (void)t, (void)f;
    return remove(p);
}
static void remove_dir(void) { nftw(g_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS); }

// Names in g_dir (excluding . and ..), joined by spaces.
static int list_dir(char *out, size_t cap) {
    DIR *d = opendir(g_dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    out[0] = '\0';
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        strncat(out, e->d_name, cap - strlen(out) - 2);
        strncat(out, " ", cap - strlen(out) - 1);
        n++;
    }
    closedir(d);
    return n;
}

static size_t file_size(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 ? (size_t)st.st_size : 0;
}

START_TEST(test_write_success) {
    make_dir();
    char p[256], tmp[256], names[1024];
    snprintf(p, sizeof p, "%s/frame.1001.exr", g_dir);
    ck_assert_int_eq(roto_atomic_temp_path(p, tmp, sizeof tmp), ROTO_OK);
    char want[256];
    snprintf(want, sizeof want, "%s/.frame.1001.exr.tmp.%ld", g_dir, (long)getpid());
    ck_assert_str_eq(tmp, want);
    ck_assert_int_eq(roto_atomic_write(p, "hello", 5), ROTO_OK);
    ck_assert_uint_eq(file_size(p), 5);
    ck_assert_int_eq(list_dir(names, sizeof names), 1);  // no temp left
    ck_assert_str_eq(names, "frame.1001.exr ");
    // Overwrite.
    ck_assert_int_eq(roto_atomic_write(p, "hello world", 11), ROTO_OK);
    ck_assert_uint_eq(file_size(p), 11);
    ck_assert_int_eq(list_dir(names, sizeof names), 1);
    // No directory part.
    ck_assert_int_eq(roto_atomic_temp_path("x.png", tmp, sizeof tmp), ROTO_OK);
    snprintf(want, sizeof want, ".x.png.tmp.%ld", (long)getpid());
    ck_assert_str_eq(tmp, want);
    ck_assert_int_eq(roto_atomic_temp_path("dir/", tmp, sizeof tmp), ROTO_ERR_INVALID_ARG);
    remove_dir();
}
END_TEST

START_TEST(test_failure_mid_write) {
    make_dir();
    char p[256], names[1024];
    static char data[100000];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (char)i;
    snprintf(p, sizeof p, "%s/out.png", g_dir);
    const long cuts[4] = {0, 10, 65536, (long)sizeof data};
    for (int k = 0; k < 4; k++) {
        roto_atomic_fail_after(cuts[k]);
        ck_assert_int_eq(roto_atomic_write(p, data, sizeof data), ROTO_ERR_IO);
        ck_assert_ptr_nonnull(strstr(roto_last_error(), "out.png"));
        ck_assert_int_eq(list_dir(names, sizeof names), 0);  // no output, no temp
    }
    // The hook fires once: the next write works.
    ck_assert_int_eq(roto_atomic_write(p, data, sizeof data), ROTO_OK);
    ck_assert_uint_eq(file_size(p), sizeof data);
    // A failing rewrite keeps the complete older file.
    roto_atomic_fail_after(500);
    ck_assert_int_eq(roto_atomic_write(p, "new", 3), ROTO_OK);  // 500 > 3 bytes: no failure
    ck_assert_uint_eq(file_size(p), 3);
    roto_atomic_fail_after(1);
    ck_assert_int_eq(roto_atomic_write(p, data, sizeof data), ROTO_ERR_IO);
    ck_assert_uint_eq(file_size(p), 3);
    ck_assert_int_eq(list_dir(names, sizeof names), 1);

    // Through the image writer: an EXR frame that fails half way.
    roto_frame f;
    ck_assert_int_eq(roto_frame_alloc(&f, 64, 32, 3, ROTO_PIX_F32, 32), ROTO_OK);
    char e[256];
    snprintf(e, sizeof e, "%s/plate.1001.exr", g_dir);
    roto_atomic_fail_after(100);
    ck_assert_int_eq(roto_image_write(e, &f, NULL), ROTO_ERR_IO);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "plate.1001.exr"));
    ck_assert(access(e, F_OK) != 0);
    ck_assert_int_eq(list_dir(names, sizeof names), 1);  // still only out.png
    ck_assert_int_eq(roto_image_write(e, &f, NULL), ROTO_OK);
    ck_assert_int_eq(list_dir(names, sizeof names), 2);
    roto_frame_free(&f);
    remove_dir();
}
END_TEST

START_TEST(test_mkdir_p) {
    make_dir();
    char p[256];
    snprintf(p, sizeof p, "%s/a/b/c/", g_dir);
    ck_assert_int_eq(roto_mkdir_p(p), ROTO_OK);
    struct stat st;
    snprintf(p, sizeof p, "%s/a/b/c", g_dir);
    ck_assert(stat(p, &st) == 0 && S_ISDIR(st.st_mode));
    ck_assert_int_eq(roto_mkdir_p(p), ROTO_OK);  // exists: fine
    snprintf(p, sizeof p, "%s/x/y/out.####.exr", g_dir);
    ck_assert_int_eq(roto_mkdir_parent(p), ROTO_OK);
    snprintf(p, sizeof p, "%s/x/y", g_dir);
    ck_assert(stat(p, &st) == 0 && S_ISDIR(st.st_mode));
    // A file in the way.
    snprintf(p, sizeof p, "%s/file", g_dir);
    ck_assert_int_eq(roto_atomic_write(p, "x", 1), ROTO_OK);
    snprintf(p, sizeof p, "%s/file/sub", g_dir);
    ck_assert_int_eq(roto_mkdir_p(p), ROTO_ERR_IO);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "file"));
    ck_assert_int_eq(roto_mkdir_p(""), ROTO_ERR_INVALID_ARG);
    remove_dir();
}
END_TEST

START_TEST(test_writable_and_exists) {
    make_dir();
    char p[256], names[1024];
    ck_assert_int_eq(roto_check_writable_dir(g_dir), ROTO_OK);
    ck_assert_int_eq(list_dir(names, sizeof names), 0);  // the probe is removed
    snprintf(p, sizeof p, "%s/missing", g_dir);
    ck_assert_int_eq(roto_check_writable_dir(p), ROTO_ERR_IO);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "missing"));
    // /proc refuses new files even for root.
    ck_assert_int_eq(roto_check_writable_dir("/proc"), ROTO_ERR_IO);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "not writable"));
    snprintf(p, sizeof p, "%s/f.png", g_dir);
    ck_assert_int_eq(roto_output_exists(p), 0);
    FILE *fp = fopen(p, "w");
    fclose(fp);
    ck_assert_int_eq(roto_output_exists(p), 0);  // empty: not a finished frame
    ck_assert_int_eq(roto_check_writable_dir(p), ROTO_ERR_IO);  // a file, not a directory
    ck_assert_int_eq(roto_atomic_write(p, "png", 3), ROTO_OK);
    ck_assert_int_eq(roto_output_exists(p), 1);
    ck_assert_int_eq(roto_output_exists(g_dir), 0);  // a directory
    remove_dir();
}
END_TEST

START_TEST(test_remove_stale) {
    make_dir();
    char p[256], names[1024];
    const char *files[] = {".a.exr.tmp.2000000000", ".b.exr.tmp.1", "c.exr", ".d.exr.tmp.x"};
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s", g_dir, files[i]);
        FILE *fp = fopen(p, "w");
        fputs("x", fp);
        fclose(fp);
    }
    snprintf(p, sizeof p, "%s/.e.exr.tmp.%ld", g_dir, (long)getpid());  // ours: kept
    FILE *fp = fopen(p, "w");
    fclose(fp);
    int removed = -1;
    ck_assert_int_eq(roto_atomic_remove_stale(g_dir, &removed), ROTO_OK);
    ck_assert_int_eq(removed, 1);  // only the dead process's temp file
    ck_assert_int_eq(list_dir(names, sizeof names), 4);
    ck_assert_ptr_null(strstr(names, ".a.exr"));
    snprintf(p, sizeof p, "%s/nodir", g_dir);
    ck_assert_int_eq(roto_atomic_remove_stale(p, &removed), ROTO_ERR_IO);
    remove_dir();
}
END_TEST

static Suite *io_atomic_suite(void) {
    Suite *s = suite_create("io_atomic");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_write_success);
    tcase_add_test(tc, test_failure_mid_write);
    tcase_add_test(tc, test_mkdir_p);
    tcase_add_test(tc, test_writable_and_exists);
    tcase_add_test(tc, test_remove_stale);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(io_atomic_suite)
