// test_io_sequence.c: sequence patterns (#### and %04d), frame ranges,
// discovery of what is on disk (with gaps), {obj} output patterns, and the
// sequence reader: missing frames (error or hold), mixed resolutions.
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/image.h"
#include "io/sequence.h"
#include "util/test_util.h"

static char g_dir[64];

static void make_dir(void) {
    strcpy(g_dir, "/tmp/roto_io_seq_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
}
static int rm_cb(const char *p, const struct stat *s, int t, struct FTW *f) {
    (void)s, (void)t, (void)f;
    return remove(p);
}
static void remove_dir(void) { nftw(g_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS); }

// Write frame `n` of a PNG sequence: w x h gray, every pixel = n % 256.
static void write_frame(const char *pattern, int n, int w, int h) {
    char path[512];
    ck_assert_int_eq(roto_seq_output_path(pattern, NULL, n, path, sizeof path), ROTO_OK);
    roto_frame f;
    ck_assert_int_eq(roto_frame_alloc(&f, w, h, 1, ROTO_PIX_U16, 8), ROTO_OK);
    for (size_t i = 0; i < roto_frame_pixels(&f); i++) ((uint16_t *)f.data)[i] = (uint16_t)(n % 256);
    ck_assert_msg(roto_image_write(path, &f, NULL) == ROTO_OK, "%s", roto_last_error());
    roto_frame_free(&f);
}

START_TEST(test_patterns) {
    roto_seq_pattern p;
    char out[512];
    ck_assert_int_eq(roto_seq_parse_pattern("/plates/sh010/plate.####.exr", &p), ROTO_OK);
    ck_assert_str_eq(p.dir, "/plates/sh010");
    ck_assert_str_eq(p.head, "plate.");
    ck_assert_str_eq(p.tail, ".exr");
    ck_assert_int_eq(p.padding, 4);
    ck_assert(p.has_frame);
    ck_assert_int_eq(roto_seq_format(&p, 1001, out, sizeof out), ROTO_OK);
    ck_assert_str_eq(out, "/plates/sh010/plate.1001.exr");
    ck_assert_int_eq(roto_seq_format(&p, 7, out, sizeof out), ROTO_OK);
    ck_assert_str_eq(out, "/plates/sh010/plate.0007.exr");
    ck_assert_int_eq(roto_seq_format(&p, 12345, out, sizeof out), ROTO_OK);
    ck_assert_str_eq(out, "/plates/sh010/plate.12345.exr");
    ck_assert_int_eq(roto_seq_format(&p, -5, out, sizeof out), ROTO_OK);
    ck_assert_str_eq(out, "/plates/sh010/plate.-005.exr");

    ck_assert_int_eq(roto_seq_parse_pattern("plate.%04d.dpx", &p), ROTO_OK);
    ck_assert_int_eq(p.padding, 4);
    ck_assert_str_eq(p.dir, ".");
    ck_assert_int_eq(roto_seq_format(&p, 42, out, sizeof out), ROTO_OK);
    ck_assert_str_eq(out, "plate.0042.dpx");
    ck_assert_int_eq(roto_seq_parse_pattern("a/b_%d.png", &p), ROTO_OK);
    ck_assert_int_eq(p.padding, 0);
    ck_assert_int_eq(roto_seq_format(&p, 42, out, sizeof out), ROTO_OK);
    ck_assert_str_eq(out, "a/b_42.png");
    ck_assert_int_eq(roto_seq_parse_pattern("x.#.png", &p), ROTO_OK);
    ck_assert_int_eq(p.padding, 1);
    ck_assert_int_eq(roto_seq_parse_pattern("/single/still.exr", &p), ROTO_OK);
    ck_assert(!p.has_frame);
    ck_assert_int_eq(roto_seq_format(&p, 99, out, sizeof out), ROTO_OK);
    ck_assert_str_eq(out, "/single/still.exr");

    // Errors
    ck_assert_int_eq(roto_seq_parse_pattern("a.####.%04d.exr", &p), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_seq_parse_pattern("a.##.x.##.exr", &p), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_seq_parse_pattern("shot_####/plate.exr", &p), ROTO_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "directory"));
    ck_assert_int_eq(roto_seq_parse_pattern("a.%4d.exr", &p), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_seq_parse_pattern("a.%s.exr", &p), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_seq_parse_pattern("", &p), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_seq_parse_pattern("dir/", &p), ROTO_ERR_INVALID_ARG);
}
END_TEST

START_TEST(test_obj_patterns) {
    char out[512];
    ck_assert_int_eq(roto_seq_expand_obj("out/{obj}/matte_{obj}.####.exr", "person", out, sizeof out), ROTO_OK);
    ck_assert_str_eq(out, "out/person/matte_person.####.exr");
    ck_assert_int_eq(roto_seq_output_path("out/{obj}.%04d.png", "car", 1001, out, sizeof out), ROTO_OK);
    ck_assert_str_eq(out, "out/car.1001.png");
    ck_assert_int_eq(roto_seq_output_path("out/mattes.####.exr", NULL, 1002, out, sizeof out), ROTO_OK);
    ck_assert_str_eq(out, "out/mattes.1002.exr");
    ck_assert_int_eq(roto_seq_expand_obj("x/{obj}.exr", "a/b", out, sizeof out), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_seq_expand_obj("x/{obj}.exr", "", out, sizeof out), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_seq_expand_obj("x/{obj}.exr", NULL, out, sizeof out), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_seq_expand_obj("x/{obj}.exr", "long_name", out, 8), ROTO_ERR_INVALID_ARG);
}
END_TEST

static void expect_frames(const char *spec, const int *want, int n) {
    roto_frame_list l;
    roto_status st = roto_frames_parse(spec, &l);
    ck_assert_msg(st == ROTO_OK, "'%s': %s", spec, roto_last_error());
    ck_assert_msg(l.n == n, "'%s': %d frames, want %d", spec, l.n, n);
    for (int i = 0; i < n; i++) ck_assert_msg(l.frames[i] == want[i], "'%s'[%d] = %d, want %d", spec, i, l.frames[i], want[i]);
    roto_frames_free(&l);
}

START_TEST(test_ranges) {
    expect_frames("1001", (int[]){1001}, 1);
    expect_frames("1001-1005", (int[]){1001, 1002, 1003, 1004, 1005}, 5);
    expect_frames("1001-1010x3", (int[]){1001, 1004, 1007, 1010}, 4);
    expect_frames("1001-1009x3", (int[]){1001, 1004, 1007}, 3);
    expect_frames("1005-1001", (int[]){1005, 1004, 1003, 1002, 1001}, 5);
    expect_frames("1001-1003,1020,1030-1040x5", (int[]){1001, 1002, 1003, 1020, 1030, 1035, 1040}, 7);
    expect_frames(" 1 - 3 , 2 , 10 ", (int[]){1, 2, 3, 10}, 4);  // whitespace; repeats kept once
    expect_frames("-3--1", (int[]){-3, -2, -1}, 3);
    expect_frames("-2-1", (int[]){-2, -1, 0, 1}, 4);
    roto_frame_list l;
    const char *bad[] = {"", "abc", "1001-", "1001-1010x0", "1001-1010x", "1,,2", "1001-1010y2", "1;2", "99999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_msg(roto_frames_parse(bad[i], &l) == ROTO_ERR_INVALID_ARG, "'%s' accepted", bad[i]);
        ck_assert_ptr_null(l.frames);
    }
    ck_assert_int_eq(roto_frames_parse("0-100000000", &l), ROTO_ERR_INVALID_ARG);  // over the frame cap
}
END_TEST

START_TEST(test_discovery) {
    make_dir();
    char pat[256];
    snprintf(pat, sizeof pat, "%s/plate.####.png", g_dir);
    int present[] = {1001, 1002, 1003, 1006, 1007, 1010};
    for (int i = 0; i < 6; i++) write_frame(pat, present[i], 4, 3);
    // Noise that must not match: other padding, other names, temp files.
    char p[512];
    const char *noise[] = {"plate.01004.png", "plate.104.png", "plate.1005.exr", "other.1005.png", ".plate.1005.png.tmp.1",
                           "plate.10a5.png", "plate..png"};
    for (size_t i = 0; i < sizeof noise / sizeof *noise; i++) {
        snprintf(p, sizeof p, "%s/%s", g_dir, noise[i]);
        FILE *fp = fopen(p, "w");
        fputs("x", fp);
        fclose(fp);
    }
    roto_seq_pattern sp;
    ck_assert_int_eq(roto_seq_parse_pattern(pat, &sp), ROTO_OK);
    roto_seq_scan sc;
    ck_assert_msg(roto_seq_discover(&sp, &sc) == ROTO_OK, "%s", roto_last_error());
    ck_assert_int_eq(sc.n, 6);
    for (int i = 0; i < 6; i++) ck_assert_int_eq(sc.frames[i], present[i]);
    ck_assert_int_eq(sc.first, 1001);
    ck_assert_int_eq(sc.last, 1010);
    ck_assert_int_eq(sc.n_missing, 4);
    ck_assert_int_eq(sc.n_gaps, 2);
    char gaps[128];
    roto_seq_gaps_string(&sc, gaps, sizeof gaps);
    ck_assert_str_eq(gaps, "1004-1005, 1008-1009");
    roto_seq_scan_free(&sc);

    // An unpadded pattern sees only unpadded names.
    snprintf(pat, sizeof pat, "%s/plate.%%d.png", g_dir);
    ck_assert_int_eq(roto_seq_parse_pattern(pat, &sp), ROTO_OK);
    ck_assert_int_eq(roto_seq_discover(&sp, &sc), ROTO_OK);
    ck_assert_int_eq(sc.n, 7);  // 1001..1010 present + "plate.104.png"
    ck_assert_int_eq(sc.first, 104);
    roto_seq_scan_free(&sc);
    // Numbers wider than the padding are found too (frame 12345 with ####).
    snprintf(pat, sizeof pat, "%s/plate.####.png", g_dir);
    write_frame(pat, 12345, 4, 3);
    ck_assert_int_eq(roto_seq_parse_pattern(pat, &sp), ROTO_OK);
    ck_assert_int_eq(roto_seq_discover(&sp, &sc), ROTO_OK);
    ck_assert_int_eq(sc.last, 12345);
    roto_seq_scan_free(&sc);

    // Nothing matches: NOT_FOUND naming the pattern.
    snprintf(pat, sizeof pat, "%s/none.####.exr", g_dir);
    ck_assert_int_eq(roto_seq_parse_pattern(pat, &sp), ROTO_OK);
    ck_assert_int_eq(roto_seq_discover(&sp, &sc), ROTO_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "none."));
    snprintf(pat, sizeof pat, "%s/nodir/x.####.exr", g_dir);
    ck_assert_int_eq(roto_seq_parse_pattern(pat, &sp), ROTO_OK);
    ck_assert_int_eq(roto_seq_discover(&sp, &sc), ROTO_ERR_NOT_FOUND);
    remove_dir();
}
END_TEST

START_TEST(test_reader_missing_and_hold) {
    make_dir();
    char pat[256];
    snprintf(pat, sizeof pat, "%s/p.%%04d.png", g_dir);
    write_frame(pat, 1, 5, 4);
    write_frame(pat, 2, 5, 4);
    write_frame(pat, 4, 5, 4);
    // Discovered range 1..4 with 3 missing: an error naming frame 3.
    roto_seq_reader r;
    ck_assert_int_eq(roto_seq_open(&r, pat, NULL, NULL, 0), ROTO_OK);
    ck_assert_int_eq(roto_seq_count(&r), 4);
    ck_assert_int_eq(r.scan.n_missing, 1);
    roto_frame f;
    int held;
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(roto_seq_read(&r, i, &f, &held), ROTO_OK);
        ck_assert_int_eq(((uint16_t *)f.data)[0], i + 1);
        ck_assert_int_eq(held, 0);
        roto_frame_free(&f);
    }
    ck_assert_int_eq(roto_seq_read(&r, 2, &f, &held), ROTO_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "frame 3"));
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "p.0003.png"));
    ck_assert_ptr_null(f.data);
    roto_seq_close(&r);

    // With hold: frame 3 repeats frame 2.
    ck_assert_int_eq(roto_seq_open(&r, pat, "1-4", NULL, 1), ROTO_OK);
    int want[4] = {1, 2, 2, 4}, want_held[4] = {0, 0, 1, 0};
    for (int i = 0; i < 4; i++) {
        ck_assert_msg(roto_seq_read(&r, i, &f, &held) == ROTO_OK, "%s", roto_last_error());
        ck_assert_int_eq(((uint16_t *)f.data)[0], want[i]);
        ck_assert_int_eq(held, want_held[i]);
        roto_frame_free(&f);
    }
    roto_seq_close(&r);
    // Hold cannot help when the first frame is missing.
    ck_assert_int_eq(roto_seq_open(&r, pat, "3-4", NULL, 1), ROTO_OK);
    ck_assert_int_eq(roto_seq_read(&r, 0, &f, &held), ROTO_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "no previous frame"));
    roto_seq_close(&r);
    // A damaged frame is not "missing": its own error comes through even with hold.
    char p[512];
    snprintf(p, sizeof p, "%s/p.0005.png", g_dir);
    FILE *fp = fopen(p, "w");
    fputs("\x89PNG\r\n\x1a\n garbage", fp);
    fclose(fp);
    ck_assert_int_eq(roto_seq_open(&r, pat, "4-5", NULL, 1), ROTO_OK);
    ck_assert_int_eq(roto_seq_read(&r, 0, &f, &held), ROTO_OK);
    roto_frame_free(&f);
    ck_assert_int_eq(roto_seq_read(&r, 1, &f, &held), ROTO_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "p.0005.png"));
    roto_seq_close(&r);
    remove_dir();
}
END_TEST

START_TEST(test_reader_mixed_resolution) {
    make_dir();
    char pat[256];
    snprintf(pat, sizeof pat, "%s/m.####.png", g_dir);
    write_frame(pat, 1001, 8, 6);
    write_frame(pat, 1002, 8, 6);
    write_frame(pat, 1003, 6, 8);
    roto_seq_reader r;
    ck_assert_int_eq(roto_seq_open(&r, pat, NULL, NULL, 0), ROTO_OK);
    roto_frame f;
    ck_assert_int_eq(roto_seq_read(&r, 0, &f, NULL), ROTO_OK);
    roto_frame_free(&f);
    ck_assert_int_eq(roto_seq_read(&r, 1, &f, NULL), ROTO_OK);
    roto_frame_free(&f);
    ck_assert_int_eq(roto_seq_read(&r, 2, &f, NULL), ROTO_ERR_FORMAT);
    const char *msg = roto_last_error();
    ck_assert_ptr_nonnull(strstr(msg, "frame 1003"));
    ck_assert_ptr_nonnull(strstr(msg, "m.1003.png"));
    ck_assert_ptr_nonnull(strstr(msg, "6x8"));
    ck_assert_ptr_nonnull(strstr(msg, "8x6"));
    ck_assert_ptr_nonnull(strstr(msg, "frame 1001"));
    ck_assert_ptr_null(f.data);
    roto_seq_close(&r);
    // A pattern without a frame field reads one file.
    char single[256];
    snprintf(single, sizeof single, "%s/m.1001.png", g_dir);
    ck_assert_int_eq(roto_seq_open(&r, single, NULL, NULL, 0), ROTO_OK);
    ck_assert_int_eq(roto_seq_count(&r), 1);
    ck_assert_int_eq(roto_seq_read(&r, 0, &f, NULL), ROTO_OK);
    ck_assert_int_eq(f.width, 8);
    roto_frame_free(&f);
    roto_seq_close(&r);
    // Bad range string through open.
    ck_assert_int_eq(roto_seq_open(&r, pat, "10-x", NULL, 0), ROTO_ERR_INVALID_ARG);
    remove_dir();
}
END_TEST

static Suite *io_sequence_suite(void) {
    Suite *s = suite_create("io_sequence");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_patterns);
    tcase_add_test(tc, test_obj_patterns);
    tcase_add_test(tc, test_ranges);
    tcase_add_test(tc, test_discovery);
    tcase_add_test(tc, test_reader_missing_and_hold);
    tcase_add_test(tc, test_reader_mixed_resolution);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(io_sequence_suite)
