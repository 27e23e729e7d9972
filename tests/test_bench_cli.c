// test_bench_cli.c: `roto bench` run as a process on the built binary (<builddir>/roto)
// with the committed small SAM 2.1 fixtures (tests/fixtures/sam2/small: image config;
// tests/fixtures/sam2_video/small: with the video tensors and 8 PNG frames). No timing
// is asserted (the machine may be busy): the record must be valid JSON with every key of
// the schema (bench/README.md), counts that follow from the options, times that are
// positive and consistent (frame >= its stages' sum is not assumed: stages are medians),
// the FLOP counter must reproduce the table of sam2_spec.md section 3 for the released
// sizes, the targets must be read and attached, and bad options must fail with a message.
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cli_util.h"
#include "util/test_util.h"

static char g_root[PATH_MAX], g_roto[PATH_MAX], g_tmp[64];
#define ARGS_MAX (5 * (PATH_MAX + 64) + 1024)  // room for every fixture path at once
static char IMG_W[PATH_MAX + 64], IMG_C[PATH_MAX + 64], VID_W[PATH_MAX + 64], VID_C[PATH_MAX + 64];
static char FRAMES[PATH_MAX + 64], FRAME0[PATH_MAX + 64], TARGETS[PATH_MAX + 64];

static void setup(void) {
    cu_find_roto(g_roto, g_root, "tests/fixtures/sam2/small/index.json");
    cu_make_tmp(g_tmp, sizeof g_tmp, "benchcli");
    const char *f = "tests/fixtures";
    snprintf(IMG_W, sizeof IMG_W, "%s/%s/sam2/small/weights.safetensors", g_root, f);
    snprintf(IMG_C, sizeof IMG_C, "%s/%s/sam2/small/index.json", g_root, f);
    snprintf(VID_W, sizeof VID_W, "%s/%s/sam2_video/small/weights.safetensors", g_root, f);
    snprintf(VID_C, sizeof VID_C, "%s/%s/sam2_video/small/index.json", g_root, f);
    snprintf(FRAMES, sizeof FRAMES, "%s/%s/sam2_video/small/frame_%%05d.png", g_root, f);
    snprintf(FRAME0, sizeof FRAME0, "%s/%s/sam2_video/small/frame_00000.png", g_root, f);
    snprintf(TARGETS, sizeof TARGETS, "%s/bench/targets.json", g_root);
}

static void teardown(void) {
    if (g_tmp[0]) cu_rm_rf(g_tmp);
}

typedef cu_result run_result;

// `roto bench <args>` in the temp dir.
static run_result bench(const char *args) {
    char cmd[ARGS_MAX + PATH_MAX + 512];
    snprintf(cmd, sizeof cmd, "'%s' bench %s", g_roto, args);
    return cu_run(g_tmp, cmd, 1);
}

#define EXPECT_OK(r) \
    ck_assert_msg((r).code == 0, "exit %d\nstdout: %s\nstderr: %s", (r).code, (r).out, (r).err)

static json_t *load_record(const char *name) {
    char p[256];
    snprintf(p, sizeof p, "%s/%s", g_tmp, name);
    json_error_t err;
    json_t *o = json_load_file(p, 0, &err);
    ck_assert_msg(o, "%s: %s", p, err.text);
    return o;
}

static double num(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_number(v), "key \"%s\" is not a number", key);
    return json_number_value(v);
}

static json_t *obj(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_object(v), "key \"%s\" is not an object", key);
    return v;
}

// {median, p90, mean, min, max, n}: ordered, positive, n as expected.
static void check_stats(json_t *s, int n) {
    ck_assert_int_eq((int)num(s, "n"), n);
    double mn = num(s, "min"), md = num(s, "median"), p90 = num(s, "p90"), mx = num(s, "max");
    ck_assert_msg(mn > 0 && mn <= md && md <= p90 && p90 <= mx, "stats out of order: %g %g %g %g",
                  mn, md, p90, mx);
    ck_assert(num(s, "mean") >= mn && num(s, "mean") <= mx);
}

// Keys every record has (the schema of bench/README.md).
static void check_common(json_t *r, const char *task, int timed) {
    ck_assert_str_eq(json_string_value(json_object_get(r, "schema")), "roto-bench/1");
    ck_assert_str_eq(json_string_value(json_object_get(r, "impl")), "roto");
    ck_assert_str_eq(json_string_value(json_object_get(r, "task")), task);
    ck_assert_str_eq(json_string_value(json_object_get(r, "device")), "cpu");
    ck_assert_str_eq(json_string_value(json_object_get(r, "precision")), "fp32");
    ck_assert_ptr_nonnull(json_string_value(json_object_get(r, "date")));
    json_t *host = obj(r, "host");
    ck_assert_int_eq((int)num(host, "threads"), 1);
    ck_assert_ptr_nonnull(json_string_value(json_object_get(host, "cpu")));
    ck_assert_str_eq(json_string_value(json_object_get(obj(r, "model"), "variant")), "small");
    ck_assert_int_eq((int)num(obj(r, "model"), "image_size"), 128);
    ck_assert(num(r, "load_s") > 0);
    ck_assert(num(r, "first_frame_s") > 0);
    check_stats(obj(r, "frame_ms"), timed);
    check_stats(obj(r, "frame_with_io_ms"), timed);
    ck_assert(num(obj(r, "frame_with_io_ms"), "median") >= num(obj(r, "frame_ms"), "min"));
    ck_assert_msg(fabs(num(r, "fps") - 1e3 / num(obj(r, "frame_ms"), "median")) < 1e-3 * num(r, "fps"),
                  "fps is not 1000 / the median frame");
    ck_assert_int_eq((int)json_array_size(json_object_get(r, "frames_ms")), timed);
    json_t *mem = obj(r, "memory");
    ck_assert(num(mem, "host_peak_rss_mb") > 0);
    ck_assert(num(mem, "host_peak_rss_mb") >= num(mem, "host_rss_after_load_mb"));
    ck_assert(num(mem, "device_persistent_peak_mb") > 0);
    ck_assert(num(mem, "device_arena_peak_mb") > 0);
    ck_assert(num(mem, "device_arena_peak_mb") <= num(mem, "device_arena_capacity_mb"));
    ck_assert(fabs(num(mem, "device_peak_mb") - num(mem, "device_arena_peak_mb") -
                   num(mem, "device_persistent_peak_mb")) < 1e-3);
    ck_assert(json_is_null(json_object_get(mem, "cuda_used_peak_mb")));
    json_t *fl = obj(r, "flops");
    ck_assert(num(fl, "image_encoder") > 0 && num(fl, "per_frame") > 0);
    ck_assert(num(fl, "achieved_tflops") > 0);
    ck_assert(json_is_array(json_object_get(r, "notes")));
}

// The target rows: every one of bench/targets.json, load measured and applying.
static void check_targets(json_t *r) {
    json_t *t = json_object_get(r, "targets");
    ck_assert_msg(json_array_size(t) >= 10, "%zu target rows", json_array_size(t));
    int seen = 0;
    size_t i;
    json_t *row;
    json_array_foreach(t, i, row) {
        const char *id = json_string_value(json_object_get(row, "id"));
        ck_assert_ptr_nonnull(id);
        ck_assert(json_is_boolean(json_object_get(row, "applies")));
        if (!strcmp(id, "seg_load")) {
            seen = 1;
            ck_assert(json_is_true(json_object_get(row, "applies")));
            ck_assert(fabs(num(row, "measured") - num(r, "load_s")) < 1e-9);
            ck_assert(json_is_boolean(json_object_get(row, "pass")));
        }
        if (!strncmp(id, "depth", 5))
            ck_assert_str_eq(json_string_value(json_object_get(row, "status")), "not implemented yet");
        if (!strcmp(id, "seg_gpu_memory"))  // a CPU run measures no GPU memory
            ck_assert(json_is_false(json_object_get(row, "applies")));
    }
    ck_assert(seen);
}

START_TEST(test_segment_record) {
    char args[ARGS_MAX];
    snprintf(args, sizeof args, "-m '%s' --config '%s' --frames 2 --warmup 1 --size 160x90 "
             "--threads 1 --targets '%s' --json seg.json", IMG_W, IMG_C, TARGETS);
    run_result r = bench(args);
    EXPECT_OK(r);
    ck_assert_msg(strstr(r.out, "stated for"), "no targets printed: %s", r.out);
    ck_assert_msg(strstr(r.out, "not comparable"), "a CPU run must say the targets are for a GPU");
    json_t *o = load_record("seg.json");
    check_common(o, "segment", 2);
    json_t *in = obj(o, "input");
    ck_assert_str_eq(json_string_value(json_object_get(in, "source")), "synthetic");
    ck_assert_int_eq((int)num(in, "width"), 160);
    ck_assert_int_eq((int)num(in, "height"), 90);
    json_t *st = obj(o, "stages_ms");
    for (const char *k = "io\0preprocess\0image_encoder\0decoder\0"; *k; k += strlen(k) + 1)
        ck_assert_msg(json_object_get(st, k), "stage %s missing", k);
    ck_assert_ptr_null(json_object_get(st, "memory_attention"));
    // A frame is encoder + decoder: its FLOPs are the two.
    json_t *fl = obj(o, "flops");
    ck_assert(fabs(num(fl, "per_frame") - num(fl, "image_encoder") - num(fl, "decoder_per_object")) <
              1e-9);
    check_targets(o);
    json_decref(o);
    cu_result_free(&r);
}
END_TEST

START_TEST(test_segment_image_file) {
    char args[ARGS_MAX];
    snprintf(args, sizeof args, "-m '%s' --config '%s' -i '%s' --frames 1 --warmup 0 --threads 1 "
             "--no-stages --json seg_file.json -q", IMG_W, IMG_C, FRAME0);
    run_result r = bench(args);
    EXPECT_OK(r);
    ck_assert_str_eq(r.out, "");  // -q: nothing on stdout
    json_t *o = load_record("seg_file.json");
    check_common(o, "segment", 1);
    json_t *in = obj(o, "input");
    ck_assert_int_eq((int)num(in, "width"), 144);
    ck_assert_int_eq((int)num(in, "height"), 81);
    ck_assert_ptr_null(json_object_get(obj(o, "stages_ms"), "preprocess"));  // --no-stages
    json_decref(o);
    cu_result_free(&r);
}
END_TEST

START_TEST(test_track_record) {
    char args[ARGS_MAX];
    snprintf(args, sizeof args, "-m '%s' --config '%s' --task track -i '%s' --frames 5 --warmup 2 "
             "--objects 2 --runs 2 --warmup-runs 1 --threads 1 --targets '%s' --json trk.json",
             VID_W, VID_C, FRAMES, TARGETS);
    run_result r = bench(args);
    EXPECT_OK(r);
    json_t *o = load_record("trk.json");
    check_common(o, "track", 2 * 3);  // 2 timed passes x frames 2..4
    json_t *in = obj(o, "input");
    ck_assert_int_eq((int)num(in, "objects"), 2);
    ck_assert_int_eq((int)num(in, "runs"), 2);
    ck_assert_int_eq((int)num(in, "warmup_runs"), 1);
    ck_assert_int_eq((int)num(in, "width"), 144);
    json_t *st = obj(o, "stages_ms");
    for (const char *k = "io\0preprocess\0image_encoder\0memory_attention\0decoder\0memory_encoder\0"
                         "postprocess\0"; *k; k += strlen(k) + 1) {
        json_t *s = json_object_get(st, k);
        ck_assert_msg(s, "stage %s missing", k);
        ck_assert_msg(num(s, "median") >= 0, "stage %s negative", k);
    }
    ck_assert_msg(num(obj(st, "memory_attention"), "median") > 0, "no memory attention time");
    ck_assert_msg(num(obj(st, "decoder"), "median") > 0, "no decoder time (tap names changed?)");
    ck_assert(num(o, "sequence_s") >= num(o, "first_frame_s"));
    ck_assert(num(o, "sequence_100_s") > num(o, "sequence_s"));
    ck_assert(num(o, "sequence_1000_s") > num(o, "sequence_100_s"));
    ck_assert(json_is_true(json_object_get(obj(o, "sequence_extrapolated"), "100")));
    ck_assert(num(o, "pass_fps") > 0);
    ck_assert_int_ge((int)num(o, "stored_frames_per_object"), 5);
    json_t *fl = obj(o, "flops");
    ck_assert(json_is_true(json_object_get(fl, "exact_architecture")));
    ck_assert(num(fl, "memory_attention_steady_per_object") > num(fl, "memory_attention_second_frame_per_object"));
    ck_assert(num(fl, "memory_attention_achieved_tflops") > 0);
    check_targets(o);
    json_decref(o);
    cu_result_free(&r);
}
END_TEST

// The FLOP counter against the table of /work/shared/research/sam2_spec.md section 3
// (derived there independently, in MACs): encoder 143.5 / 175.4 / 313.2 / 911.4 GMAC,
// memory attention 303 GMAC steady and 93 on the second frame, memory encoder 5.8,
// prompt encoder + decoder 1.8 (FLOPs = 2 x MACs). The table rounds to 0.1 GMAC (1-2
// digits for the per-object parts), hence the tolerances.
START_TEST(test_flops_table) {
    static const struct { const char *v; double enc; } rows[] = {
        {"tiny", 143.5}, {"small", 175.4}, {"base_plus", 313.2}, {"large", 911.4}};
    for (int i = 0; i < 4; i++) {
        char args[256];
        snprintf(args, sizeof args, "--flops-only --variant %s --json fl.json", rows[i].v);
        run_result r = bench(args);
        EXPECT_OK(r);
        ck_assert(strstr(r.out, "image encoder"));
        json_t *o = load_record("fl.json");
        json_t *fl = obj(o, "flops");
        double enc = num(fl, "image_encoder") / 2;
        ck_assert_msg(fabs(enc - rows[i].enc) <= 0.06, "%s encoder %.2f GMAC, table %.1f", rows[i].v,
                      enc, rows[i].enc);
        ck_assert_msg(fabs(num(fl, "memory_attention_steady_per_object") / 2 - 303) < 1.0,
                      "memory attention %.2f GMAC", num(fl, "memory_attention_steady_per_object") / 2);
        ck_assert(fabs(num(fl, "memory_attention_second_frame_per_object") / 2 - 93) < 0.6);
        ck_assert(fabs(num(fl, "memory_encoder_per_object") / 2 - 5.8) < 0.06);
        ck_assert(fabs(num(fl, "decoder_per_object") / 2 - 1.8) < 0.06);
        if (i == 0)  // the tiny row's parts: patch 0.9, trunk linear 96.0, attention 42.7, neck 3.8
            ck_assert(fabs(num(fl, "patch_embed") / 2 - 0.9) < 0.06 &&
                      fabs(num(fl, "trunk_linear") / 2 - 96.0) < 0.06 &&
                      fabs(num(fl, "trunk_attention") / 2 - 42.7) < 0.06 &&
                      fabs(num(fl, "neck") / 2 - 3.8) < 0.06);
        json_decref(o);
        cu_result_free(&r);
    }
}
END_TEST

static void expect_fail(const char *args, int code, const char *msg) {
    run_result r = bench(args);
    ck_assert_msg(r.code == code, "'%s': exit %d, expected %d\nstderr: %s", args, r.code, code, r.err);
    ck_assert_msg(strstr(r.err, msg), "'%s': stderr lacks \"%s\": %s", args, msg, r.err);
    cu_result_free(&r);
}

START_TEST(test_errors) {
    char a[ARGS_MAX];
    expect_fail("--frames 2", 2, "--model is required");
    snprintf(a, sizeof a, "-m '%s' --size 12", IMG_W);
    expect_fail(a, 2, "expected WxH");
    snprintf(a, sizeof a, "-m '%s' --precision bf16", IMG_W);
    expect_fail(a, 2, "needs --device cuda");
    snprintf(a, sizeof a, "-m '%s' --task depth", IMG_W);
    expect_fail(a, 1, "not implemented yet");
    snprintf(a, sizeof a, "-m '%s' --task matte", IMG_W);
    expect_fail(a, 1, "not implemented yet");
    snprintf(a, sizeof a, "-m '%s' --task track --frames 4 --warmup 4", IMG_W);
    expect_fail(a, 2, "leaves no timed frame");
    snprintf(a, sizeof a, "-m '%s' -i x.png --size 10x10", IMG_W);
    expect_fail(a, 2, "--size is for synthetic frames");
    expect_fail("-m /nonexistent.pt", 1, "/nonexistent.pt");
    snprintf(a, sizeof a, "-m '%s'", IMG_W);  // a custom size without its architecture
    expect_fail(a, 1, "--config");
    snprintf(a, sizeof a, "-m '%s' --config '%s' --task track --frames 2", IMG_W, IMG_C);
    expect_fail(a, 1, "video tensors");
    snprintf(a, sizeof a, "-m '%s' --config '%s' --device cuda --frames 1", IMG_W, IMG_C);
    run_result r = bench(a);  // a CPU-only build, or a build with CUDA on a host without a GPU
    if (r.code != 0)
        ck_assert_msg(r.code == 1 && (strstr(r.err, "without CUDA") || strstr(r.err, "CUDA device")),
                      "exit %d: %s", r.code, r.err);
    cu_result_free(&r);
    snprintf(a, sizeof a, "--bogus");
    expect_fail(a, 2, "unknown option");
}
END_TEST

static Suite *bench_cli_suite(void) {
    Suite *s = suite_create("bench_cli");
    TCase *tc = tcase_create("bench");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_segment_record);
    tcase_add_test(tc, test_segment_image_file);
    tcase_add_test(tc, test_track_record);
    tcase_add_test(tc, test_flops_table);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(bench_cli_suite)
