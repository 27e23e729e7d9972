// test_io_pipeline.c: decode-ahead delivers frames in order whatever order the
// workers finish in, never holds more than the queue length, carries worker
// errors to the consumer and can stop mid-sequence; write-behind runs every
// job, bounds pending jobs, and reports (and stops at) the first failure.
#include <dirent.h>
#include <ftw.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/image.h"
#include "io/pipeline.h"
#include "io/sequence.h"
#include "util/test_util.h"

static atomic_int g_alive, g_alive_peak, g_loads;

static void sleep_us(long us) {
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

// A 1x1 frame holding its index; later indices are often faster, so workers
// finish out of order.
static roto_status load_index(void *user, int index, roto_frame *out, int *missing) {
    (void)user;
    *missing = 0;
    atomic_fetch_add(&g_loads, 1);
    sleep_us(((index * 7919) % 5) * 1500);
    if (index == 5 && user) return roto_fail(ROTO_ERR_FORMAT, "boom at item %d", index);
    ROTO_TRY(roto_frame_alloc(out, 1, 1, 1, ROTO_PIX_U16, 16));
    ((uint16_t *)out->data)[0] = (uint16_t)index;
    int alive = atomic_fetch_add(&g_alive, 1) + 1;
    int peak = atomic_load(&g_alive_peak);
    while (alive > peak && !atomic_compare_exchange_weak(&g_alive_peak, &peak, alive)) {
    }
    return ROTO_OK;
}

START_TEST(test_prefetch_order_and_bound) {
    const int Q[3] = {1, 3, 8}, T[3] = {1, 4, 3};
    for (int k = 0; k < 3; k++) {
        atomic_store(&g_alive, 0);
        atomic_store(&g_alive_peak, 0);
        roto_prefetch *p;
        ck_assert_int_eq(roto_prefetch_start(&p, 40, load_index, NULL, Q[k], T[k]), ROTO_OK);
        for (int i = 0; i < 40; i++) {
            roto_frame f;
            int idx = -1, missing = 1;
            ck_assert_int_eq(roto_prefetch_next(p, &f, &idx, &missing), ROTO_OK);
            ck_assert_int_eq(idx, i);
            ck_assert_int_eq(missing, 0);
            ck_assert_int_eq(((uint16_t *)f.data)[0], i);
            if (i % 4 == 0) sleep_us(2000);  // a slow consumer lets the queue fill
            roto_frame_free(&f);
            atomic_fetch_sub(&g_alive, 1);
        }
        roto_frame f;
        ck_assert_int_eq(roto_prefetch_next(p, &f, NULL, NULL), ROTO_ERR_INVALID_ARG);  // past the end
        ck_assert_msg(roto_prefetch_peak(p) <= Q[k], "queue %d held %d", Q[k], roto_prefetch_peak(p));
        // Frames alive at once: the queue plus the one the consumer holds.
        ck_assert_msg(atomic_load(&g_alive_peak) <= Q[k] + 1, "queue %d: %d frames alive", Q[k],
                      atomic_load(&g_alive_peak));
        if (Q[k] > 1) ck_assert(roto_prefetch_peak(p) >= 2);  // it did decode ahead
        roto_prefetch_stop(p);
    }
}
END_TEST

START_TEST(test_prefetch_error_and_stop) {
    roto_prefetch *p;
    int flag = 1;  // non-NULL user: item 5 fails
    ck_assert_int_eq(roto_prefetch_start(&p, 10, load_index, &flag, 2, 2), ROTO_OK);
    for (int i = 0; i < 10; i++) {
        roto_frame f;
        roto_status st = roto_prefetch_next(p, &f, NULL, NULL);
        if (i == 5) {
            ck_assert_int_eq(st, ROTO_ERR_FORMAT);
            ck_assert_ptr_nonnull(strstr(roto_last_error(), "boom at item 5"));
            ck_assert_ptr_null(f.data);
        } else {
            ck_assert_int_eq(st, ROTO_OK);
            ck_assert_int_eq(((uint16_t *)f.data)[0], i);
            roto_frame_free(&f);
        }
    }
    roto_prefetch_stop(p);
    // Stop early: workers exit, decoded frames are freed, no more loads start.
    atomic_store(&g_loads, 0);
    ck_assert_int_eq(roto_prefetch_start(&p, 1000, load_index, NULL, 4, 3), ROTO_OK);
    roto_frame f;
    ck_assert_int_eq(roto_prefetch_next(p, &f, NULL, NULL), ROTO_OK);
    roto_frame_free(&f);
    roto_prefetch_stop(p);
    ck_assert_int_le(atomic_load(&g_loads), 1 + 4 + 3);
    ck_assert_int_eq(roto_prefetch_start(&p, 10, load_index, NULL, 0, 1), ROTO_ERR_INVALID_ARG);
}
END_TEST

static char g_dir[64];
static int rm_cb(const char *p, const struct stat *s, int t, struct FTW *f) {
    (void)s, (void)t, (void)f;
    return remove(p);
}

START_TEST(test_seq_prefetch) {
    strcpy(g_dir, "/tmp/roto_io_pipe_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
    char pat[256];
    snprintf(pat, sizeof pat, "%s/s.####.png", g_dir);
    for (int n = 1001; n <= 1012; n++) {
        if (n == 1004 || n == 1005) continue;  // gap
        char path[512];
        ck_assert_int_eq(roto_seq_output_path(pat, NULL, n, path, sizeof path), ROTO_OK);
        roto_frame f;
        ck_assert_int_eq(roto_frame_alloc(&f, 6, 4, 3, ROTO_PIX_U16, 8), ROTO_OK);
        ((uint16_t *)f.data)[0] = (uint16_t)(n - 1000);
        ck_assert_int_eq(roto_image_write(path, &f, NULL), ROTO_OK);
        roto_frame_free(&f);
    }
    roto_seq_reader r;
    ck_assert_int_eq(roto_seq_open(&r, pat, NULL, NULL, 1), ROTO_OK);
    ck_assert_int_eq(roto_seq_count(&r), 12);
    roto_prefetch *p;
    ck_assert_int_eq(roto_seq_prefetch_start(&p, &r, 3, 2), ROTO_OK);
    for (int i = 0; i < 12; i++) {
        roto_frame f;
        int idx, held;
        ck_assert_msg(roto_seq_prefetch_next(p, &r, &f, &idx, &held) == ROTO_OK, "%s", roto_last_error());
        ck_assert_int_eq(idx, i);
        int n = 1001 + i;
        int want = (n == 1004 || n == 1005) ? 3 : n - 1000;
        ck_assert_int_eq(((uint16_t *)f.data)[0], want);
        ck_assert_int_eq(held, n == 1004 || n == 1005);
        roto_frame_free(&f);
    }
    roto_prefetch_stop(p);
    roto_seq_close(&r);
    // Without hold the gap is an error naming the frame, in order.
    ck_assert_int_eq(roto_seq_open(&r, pat, NULL, NULL, 0), ROTO_OK);
    ck_assert_int_eq(roto_seq_prefetch_start(&p, &r, 4, 2), ROTO_OK);
    for (int i = 0; i < 4; i++) {
        roto_frame f;
        roto_status st = roto_seq_prefetch_next(p, &r, &f, NULL, NULL);
        if (i < 3) {
            ck_assert_int_eq(st, ROTO_OK);
            roto_frame_free(&f);
        } else {
            ck_assert_int_eq(st, ROTO_ERR_NOT_FOUND);
            ck_assert_ptr_nonnull(strstr(roto_last_error(), "frame 1004"));
        }
    }
    roto_prefetch_stop(p);
    roto_seq_close(&r);
    nftw(g_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}
END_TEST

// ---- write-behind ---------------------------------------------------------------

typedef struct {
    int id;
} job;

static atomic_int g_ran, g_freed, g_running, g_running_peak;

static roto_status run_job(void *user, void *j) {
    int fail_at = user ? *(int *)user : -1;
    int id = ((job *)j)->id;
    int now = atomic_fetch_add(&g_running, 1) + 1;
    int peak = atomic_load(&g_running_peak);
    while (now > peak && !atomic_compare_exchange_weak(&g_running_peak, &peak, now)) {
    }
    sleep_us((id % 3) * 1000);
    atomic_fetch_sub(&g_running, 1);
    atomic_fetch_add(&g_ran, 1);
    if (id == fail_at) return roto_fail(ROTO_ERR_IO, "disk full writing job %d", id);
    return ROTO_OK;
}

static void free_job(void *user, void *j) {
    (void)user;
    atomic_fetch_add(&g_freed, 1);
    free(j);
}

START_TEST(test_writer_runs_all_bounded) {
    atomic_store(&g_ran, 0);
    atomic_store(&g_freed, 0);
    atomic_store(&g_running_peak, 0);
    roto_writer *w;
    ck_assert_int_eq(roto_writer_start(&w, 3, 2, run_job, free_job, NULL), ROTO_OK);
    for (int i = 0; i < 30; i++) {
        job *j = malloc(sizeof *j);
        j->id = i;
        ck_assert_int_eq(roto_writer_push(w, j), ROTO_OK);
    }
    int peak = roto_writer_peak(w);
    ck_assert_int_eq(roto_writer_finish(w), ROTO_OK);
    ck_assert_int_eq(atomic_load(&g_ran), 30);
    ck_assert_int_eq(atomic_load(&g_freed), 30);
    ck_assert_int_le(peak, 3);
    ck_assert_int_le(atomic_load(&g_running_peak), 2);
}
END_TEST

START_TEST(test_writer_failure) {
    atomic_store(&g_ran, 0);
    atomic_store(&g_freed, 0);
    int fail_at = 4;
    roto_writer *w;
    ck_assert_int_eq(roto_writer_start(&w, 2, 1, run_job, free_job, &fail_at), ROTO_OK);
    roto_status first_err = ROTO_OK;
    int pushed = 0;
    for (int i = 0; i < 50; i++) {
        job *j = malloc(sizeof *j);
        j->id = i;
        roto_status st = roto_writer_push(w, j);
        pushed++;
        if (st != ROTO_OK) {
            first_err = st;
            ck_assert_ptr_nonnull(strstr(roto_last_error(), "disk full writing job 4"));
            break;
        }
    }
    ck_assert_int_eq(first_err, ROTO_ERR_IO);
    ck_assert_int_eq(roto_writer_finish(w), ROTO_ERR_IO);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "job 4"));
    ck_assert_int_eq(atomic_load(&g_freed), pushed);  // every job freed, run or dropped
    ck_assert_int_lt(atomic_load(&g_ran), pushed);    // jobs after the failure were dropped
}
END_TEST

START_TEST(test_frame_writer) {
    strcpy(g_dir, "/tmp/roto_io_pipe_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
    roto_writer *w;
    ck_assert_int_eq(roto_frame_writer_start(&w, 2, 2), ROTO_OK);
    for (int n = 1; n <= 8; n++) {
        roto_frame f;
        ck_assert_int_eq(roto_frame_alloc(&f, 16, 9, 1, ROTO_PIX_F32, 32), ROTO_OK);
        for (int i = 0; i < 16 * 9; i++) ((float *)f.data)[i] = (float)n / 8.0f;
        char path[256];
        snprintf(path, sizeof path, "%s/m.%04d.exr", g_dir, n);
        ck_assert_int_eq(roto_writer_push_frame(w, path, &f, NULL), ROTO_OK);
        ck_assert_ptr_null(f.data);  // moved into the writer
    }
    ck_assert_int_eq(roto_writer_finish(w), ROTO_OK);
    for (int n = 1; n <= 8; n++) {
        char path[256];
        snprintf(path, sizeof path, "%s/m.%04d.exr", g_dir, n);
        roto_frame g;
        ck_assert_msg(roto_image_read(path, NULL, &g) == ROTO_OK, "%s", roto_last_error());
        ck_assert_float_eq(((float *)g.data)[100], (float)n / 8.0f);
        roto_frame_free(&g);
    }
    // Only the 8 outputs, no temp files.
    DIR *d = opendir(g_dir);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') count++;
        else ck_assert_msg(!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."), "left over: %s", e->d_name);
    closedir(d);
    ck_assert_int_eq(count, 8);
    // A write error (missing directory) comes back from finish.
    ck_assert_int_eq(roto_frame_writer_start(&w, 2, 1), ROTO_OK);
    roto_frame f;
    ck_assert_int_eq(roto_frame_alloc(&f, 2, 2, 1, ROTO_PIX_U16, 8), ROTO_OK);
    char bad[256];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.png", g_dir);
    roto_writer_push_frame(w, bad, &f, NULL);
    ck_assert_int_eq(roto_writer_finish(w), ROTO_ERR_IO);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "x.png"));
    nftw(g_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}
END_TEST

static Suite *io_pipeline_suite(void) {
    Suite *s = suite_create("io_pipeline");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_prefetch_order_and_bound);
    tcase_add_test(tc, test_prefetch_error_and_stop);
    tcase_add_test(tc, test_seq_prefetch);
    tcase_add_test(tc, test_writer_runs_all_bounded);
    tcase_add_test(tc, test_writer_failure);
    tcase_add_test(tc, test_frame_writer);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(io_pipeline_suite)
