// test_segment_cli.c: `roto segment` end to end, run as a process on the built
// binary (<builddir>/roto) with the committed small SAM 2.1 fixture
// (tests/fixtures/sam2/small, image size 128). Input images are written here
// with the io/ writers. Every mask the command writes is compared with the
// public API's result for the same prompt on the same decoded pixels (exactly:
// same code path), and the printed IoU / object score with the API's values.
// Covered: clicks, boxes, mask prompts, multimask, logits, every output format,
// prompt files (many prompts on one encoding, {i}/{name} names, mask_from),
// matte clean-up options against io/matte.h, input colour spaces, PNG / JPEG /
// EXR inputs, odd sizes (1x1, 7x5000, 4096x2160), usage errors (exit 2) and
// failures (exit 1) with their messages, failing before the model loads where
// the input is at fault, and never leaving a partial or temp file behind.
#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/colour.h"
#include "io/image.h"
#include "io/matte.h"
#include "roto.h"
#include "util/cli_util.h"
#include "util/test_util.h"

// ---- paths and processes -----------------------------------------------------------------------

static char g_root[PATH_MAX], g_roto[PATH_MAX], g_tmp[64];

static void setup_paths(void) {
    if (g_roto[0]) return;
    cu_find_roto(g_roto, g_root, "tests/fixtures/sam2/small/index.json");
    cu_make_tmp(g_tmp, sizeof g_tmp, "segcli");
}

// A path in the temp dir (own buffer per call site: copy it if kept).
static const char *T(const char *name) {
    static _Thread_local char buf[8][PATH_MAX];
    static _Thread_local int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_tmp, name);
    return buf[k];
}

static char WEIGHTS[PATH_MAX + 64], CONFIG[PATH_MAX + 64];

static void setup(void) {
    setup_paths();
    snprintf(WEIGHTS, sizeof WEIGHTS, "%s/tests/fixtures/sam2/small/weights.safetensors", g_root);
    snprintf(CONFIG, sizeof CONFIG, "%s/tests/fixtures/sam2/small/index.json", g_root);
}

static void teardown(void) {
    if (g_tmp[0]) cu_rm_rf(g_tmp);
    g_tmp[0] = g_roto[0] = '\0';
}

typedef cu_result run_result;

// Run `roto segment -m WEIGHTS --config CONFIG <args>` in the temp dir.
static run_result segment(const char *args) {
    char cmd[32768];
    snprintf(cmd, sizeof cmd, "'%s' segment -m '%s' --config '%s' %s", g_roto, WEIGHTS, CONFIG, args);
    return cu_run(g_tmp, cmd, 1);
}

static run_result run_raw(const char *args) {
    char cmd[32768];
    snprintf(cmd, sizeof cmd, "'%s' %s", g_roto, args);
    return cu_run(g_tmp, cmd, 1);
}

#define EXPECT_OK(r) ck_assert_msg((r).code == 0, "exit %d\nstdout: %s\nstderr: %s", (r).code, (r).out, (r).err)

// Entries of the temp dir other than the inputs listed (NULL-terminated).
static int count_files(const char *const *except) {
    DIR *d = opendir(g_tmp);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        int skip = 0;
        for (int i = 0; except && except[i]; i++) skip |= !strcmp(e->d_name, except[i]);
        n += !skip;
    }
    closedir(d);
    return n;
}

// ---- inputs --------------------------------------------------------------------------------

static uint8_t *fixture_rgb(void) {
    char p[PATH_MAX + 64];
    snprintf(p, sizeof p, "%s/tests/fixtures/sam2/small/image.rgb", g_root);
    FILE *f = fopen(p, "rb");
    ck_assert_ptr_nonnull(f);
    uint8_t *b = malloc(150 * 100 * 3);
    ck_assert_int_eq(fread(b, 1, 150 * 100 * 3, f), 150 * 100 * 3);
    fclose(f);
    return b;
}

// An 8-bit RGB image file of W x H: the fixture image tiled (plus a gradient
// so that tiles differ).
static void write_rgb_image(const char *path, int W, int H) {
    uint8_t *src = fixture_rgb();
    roto_frame f;
    ck_assert_int_eq(roto_frame_alloc(&f, W, H, 3, ROTO_PIX_U16, 8), ROTO_OK);
    uint16_t *d = f.data;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            for (int c = 0; c < 3; c++) {
                int v = src[((size_t)(y % 100) * 150 + (size_t)(x % 150)) * 3 + c];
                if (W != 150 || H != 100) v = (v + (x / 150) * 17 + (y / 100) * 29) & 255;
                d[((size_t)y * W + x) * 3 + c] = (uint16_t)v;
            }
    roto_write_opts o;
    roto_write_opts_init(&o);
    ck_assert_msg(roto_image_write(path, &f, &o) == ROTO_OK, "%s", roto_last_error());
    roto_frame_free(&f);
    free(src);
}

// A 1-channel matte file from floats (8-bit PNG codes, or EXR float).
static void write_matte(const char *path, const float *m, int W, int H) {
    roto_frame f;
    ck_assert_int_eq(roto_frame_alloc(&f, W, H, 1, ROTO_PIX_F32, 32), ROTO_OK);
    memcpy(f.data, m, (size_t)W * H * sizeof(float));
    roto_write_opts o;
    roto_write_opts_init(&o);
    o.bit_depth = roto_format_from_extension(path) == ROTO_FMT_EXR ? 32 : 8;
    ck_assert_msg(roto_image_write(path, &f, &o) == ROTO_OK, "%s", roto_last_error());
    roto_frame_free(&f);
}

// ---- the API on the same pixels -------------------------------------------------------------------

typedef struct {
    roto_model *m;
    roto_frame frame;
    int W, H;
} api_image;

// Decode `path` the way the command does (io reader, colour conversion) and set it.
static void api_open(api_image *a, const char *path, roto_colorspace cs) {
    roto_model_opts o = {.config = CONFIG};
    ck_assert_msg(roto_model_load(WEIGHTS, &o, &a->m) == ROTO_OK, "%s", roto_last_error());
    memset(&a->frame, 0, sizeof a->frame);
    ck_assert_msg(roto_image_read(path, NULL, &a->frame) == ROTO_OK, "%s", roto_last_error());
    a->W = a->frame.width, a->H = a->frame.height;
    float *rgb = malloc((size_t)a->W * a->H * 3 * sizeof(float));
    ck_assert_int_eq(roto_frame_to_srgb(&a->frame, cs, 0, rgb), ROTO_OK);
    ck_assert_int_eq(roto_image_set(a->m, rgb, a->W, a->H, 0, ROTO_PIXELS_RGB_F32), ROTO_OK);
    free(rgb);
}

static void api_close(api_image *a) {
    roto_model_free(a->m);
    roto_frame_free(&a->frame);
}

static roto_result *api_predict(api_image *a, const roto_prompt *p, int multimask) {
    roto_predict_opts o = {.multimask = multimask};
    roto_result *r;
    ck_assert_msg(roto_predict(a->m, p, &o, &r) == ROTO_OK, "%s", roto_last_error());
    return r;
}

// The mask the command writes for a result: the best candidate with multimask.
static const uint8_t *chosen(const roto_result *r) {
    return r->masks + (size_t)r->best * r->width * r->height;
}

// Compare a written mask file with 0/1 values: 8-bit files hold 0/255 (16-bit
// 0/65535), EXR floats 0/1 in a single A channel.
static void expect_mask_file(const char *path, const uint8_t *mask, int W, int H, int bits) {
    roto_frame f = {0};
    ck_assert_msg(roto_image_read(path, NULL, &f) == ROTO_OK, "%s", roto_last_error());
    ck_assert_msg(f.width == W && f.height == H, "%s is %dx%d, the image %dx%d", path, f.width,
                  f.height, W, H);
    ck_assert_int_eq(f.channels, 1);
    size_t n = (size_t)W * H, bad = 0;
    if (f.type == ROTO_PIX_F32) {
        ck_assert_str_eq(f.channel_names[0], "A");
        for (size_t i = 0; i < n; i++) bad += ((float *)f.data)[i] != (mask[i] ? 1.0f : 0.0f);
    } else {
        ck_assert_int_eq(f.bit_depth, bits);
        uint16_t on = (uint16_t)((1u << bits) - 1);
        for (size_t i = 0; i < n; i++) bad += ((uint16_t *)f.data)[i] != (mask[i] ? on : 0);
    }
    ck_assert_msg(bad == 0, "%s: %zu of %zu pixels differ from the API's mask", path, bad, n);
    roto_frame_free(&f);
}

// The JSON the command printed with --json.
static json_t *parse_json(const run_result *r) {
    json_error_t err;
    json_t *j = json_loads(r->out, 0, &err);
    ck_assert_msg(j != NULL, "stdout is not JSON (%s): %s", err.text, r->out);
    return j;
}

static void expect_scores(json_t *res, const roto_result *r) {
    json_t *ious = json_object_get(res, "ious");
    ck_assert_int_eq(json_array_size(ious), (size_t)r->n_masks);
    for (int k = 0; k < r->n_masks; k++)
        ck_assert_msg((float)json_real_value(json_array_get(ious, (size_t)k)) == r->iou[k],
                      "iou %d: printed %.9g, API %.9g", k,
                      json_real_value(json_array_get(ious, (size_t)k)), (double)r->iou[k]);
    ck_assert((float)json_real_value(json_object_get(res, "iou")) == r->iou[r->best]);
    ck_assert((float)json_real_value(json_object_get(res, "object_score")) == r->object_score);
    ck_assert_int_eq(json_integer_value(json_object_get(res, "mask_index")), r->best);
}

// ---- tests -----------------------------------------------------------------------------------

START_TEST(test_point_png) {
    write_rgb_image(T("in.png"), 150, 100);
    run_result r = segment("-i in.png --point 78,55 -o out.png");
    EXPECT_OK(r);
    api_image a;
    api_open(&a, T("in.png"), ROTO_CS_AUTO);
    float xy[2] = {78, 55};
    roto_prompt p = {.points = xy, .n_points = 1};
    roto_result *res = api_predict(&a, &p, 0);
    expect_mask_file(T("out.png"), chosen(res), 150, 100, 8);
    // stdout: one summary line with the API's numbers; progress only on stderr.
    char want[128];
    snprintf(want, sizeof want, "out.png: iou %.6f  object_score %.6f", (double)res->iou[0],
             (double)res->object_score);
    ck_assert_msg(strstr(r.out, want) && strchr(r.out, '\n') == r.out + strlen(r.out) - 1,
                  "stdout: %s\nwant: %s", r.out, want);
    ck_assert_msg(strstr(r.err, "encoded") && strstr(r.err, "loaded") && !strstr(r.out, "encoded"),
                  "stderr: %s", r.err);
    cu_result_free(&r);
    // --json: the exact values; -q: nothing on stderr.
    r = segment("-i in.png --point=78,55 -o out.png --json -q");
    EXPECT_OK(r);
    ck_assert_msg(r.err[0] == '\0', "stderr: %s", r.err);
    json_t *j = parse_json(&r);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "width")), 150);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "model"), "device")), "cpu");
    json_t *res0 = json_array_get(json_object_get(j, "results"), 0);
    expect_scores(res0, res);
    ck_assert_int_eq(json_integer_value(json_object_get(res0, "n_masks")), 1);
    json_decref(j);
    cu_result_free(&r);
    roto_result_free(res);
    api_close(&a);
}
END_TEST

START_TEST(test_prompt_kinds_and_formats) {
    write_rgb_image(T("in.png"), 150, 100);
    api_image a;
    api_open(&a, T("in.png"), ROTO_CS_AUTO);

    // Multimask: the best of three by predicted IoU, as EXR (float A) + logits.
    run_result r = segment("-i in.png --point 78,55 --multimask -o mm.exr --logits mm_logits.exr --json");
    EXPECT_OK(r);
    float xy[6] = {67.5f, 50, 90, 62, 15, 10};
    int lab[3] = {1, 1, 0};
    roto_prompt p = {.points = (float[]){78, 55}, .n_points = 1};
    roto_result *res = api_predict(&a, &p, 1);
    ck_assert_int_eq(res->n_masks, 3);
    expect_mask_file(T("mm.exr"), chosen(res), 150, 100, 32);
    json_t *j = parse_json(&r);
    expect_scores(json_array_get(json_object_get(j, "results"), 0), res);
    json_decref(j);
    roto_frame f = {0};
    ck_assert_int_eq(roto_image_read(T("mm_logits.exr"), NULL, &f), ROTO_OK);
    ck_assert(f.type == ROTO_PIX_F32 && f.channels == 1 && f.bit_depth == 32);
    ck_assert_msg(!memcmp(f.data, res->logits + (size_t)res->best * 15000, 15000 * sizeof(float)),
                  "logits differ from the API's");
    roto_frame_free(&f);
    roto_result_free(res);
    cu_result_free(&r);

    // Clicks with a background one, and a box; TIFF and 16-bit PNG outputs.
    r = segment("-i in.png --point 67.5,50 --point 90,62,1 --point 15,10,0 -o clicks.tif");
    EXPECT_OK(r);
    cu_result_free(&r);
    roto_prompt pc = {.points = xy, .labels = lab, .n_points = 3};
    res = api_predict(&a, &pc, 0);
    expect_mask_file(T("clicks.tif"), chosen(res), 150, 100, 8);
    roto_result_free(res);
    r = segment("-i in.png --box 27,22,121.5,86 -o box.png --bit-depth 16");
    EXPECT_OK(r);
    cu_result_free(&r);
    float box[4] = {27, 22, 121.5f, 86};
    roto_prompt pb = {.box = box};
    res = api_predict(&a, &pb, 0);
    expect_mask_file(T("box.png"), chosen(res), 150, 100, 16);
    roto_result_free(res);

    // A mask prompt from a PNG matte (read back as codes / 255 like the command does).
    float *matte = malloc(15000 * sizeof(float));
    for (int y = 0; y < 100; y++)
        for (int x = 0; x < 150; x++) matte[y * 150 + x] = (x > 40 && x < 110 && y > 25 && y < 80) ? 1.0f : 0.0f;
    write_matte(T("rough.png"), matte, 150, 100);
    r = segment("-i in.png --mask-in rough.png --point 78,55 -o withmask.png");
    EXPECT_OK(r);
    cu_result_free(&r);
    roto_prompt pm = {.points = (float[]){78, 55}, .n_points = 1, .mask = matte};
    res = api_predict(&a, &pm, 0);
    expect_mask_file(T("withmask.png"), chosen(res), 150, 100, 8);
    roto_result_free(res);
    // ... and from an EXR matte with soft values, mask only.
    for (int i = 0; i < 15000; i++) matte[i] = 0.3f + 0.4f * matte[i];  // 0.3 / 0.7
    write_matte(T("soft.exr"), matte, 150, 100);
    r = segment("-i in.png --mask-in soft.exr -o maskonly.dpx");
    EXPECT_OK(r);
    cu_result_free(&r);
    roto_prompt pm2 = {.mask = matte};
    res = api_predict(&a, &pm2, 0);
    expect_mask_file(T("maskonly.dpx"), chosen(res), 150, 100, 8);
    roto_result_free(res);
    free(matte);
    api_close(&a);

    // JPEG and EXR inputs (the EXR is scene-linear: converted to sRGB on read).
    write_rgb_image(T("in.jpg"), 150, 100);
    roto_frame lin = {0};
    ck_assert_int_eq(roto_image_read(T("in.png"), NULL, &lin), ROTO_OK);
    roto_frame fl;
    ck_assert_int_eq(roto_frame_alloc(&fl, 150, 100, 3, ROTO_PIX_F32, 32), ROTO_OK);
    for (size_t i = 0; i < 45000; i++)
        ((float *)fl.data)[i] = (float)roto_srgb_eotf(((uint16_t *)lin.data)[i] / 255.0);
    roto_write_opts wo;
    roto_write_opts_init(&wo);
    ck_assert_int_eq(roto_image_write(T("in.exr"), &fl, &wo), ROTO_OK);
    roto_frame_free(&fl);
    roto_frame_free(&lin);
    const char *inputs[2] = {"in.jpg", "in.exr"};
    for (int k = 0; k < 2; k++) {
        char args[256];
        snprintf(args, sizeof args, "-i %s --point 78,55 -o from_%d.png --json", inputs[k], k);
        r = segment(args);
        EXPECT_OK(r);
        api_open(&a, T(inputs[k]), ROTO_CS_AUTO);
        res = api_predict(&a, &p, 0);
        char out[32];
        snprintf(out, sizeof out, "from_%d.png", k);
        expect_mask_file(T(out), chosen(res), 150, 100, 8);
        j = parse_json(&r);
        expect_scores(json_array_get(json_object_get(j, "results"), 0), res);
        json_decref(j);
        roto_result_free(res);
        api_close(&a);
        cu_result_free(&r);
    }
    // An explicit colour space changes the pixels the network sees.
    r = segment("-i in.png --input-colorspace linear --point 78,55 -o lin.png");
    EXPECT_OK(r);
    cu_result_free(&r);
    api_open(&a, T("in.png"), ROTO_CS_LINEAR);
    res = api_predict(&a, &p, 0);
    expect_mask_file(T("lin.png"), chosen(res), 150, 100, 8);
    roto_result_free(res);
    api_close(&a);
}
END_TEST

START_TEST(test_prompt_file) {
    write_rgb_image(T("in.png"), 150, 100);
    mkdir(T("job"), 0777);
    FILE *f = fopen(T("job/prompts.json"), "w");
    fputs("{\"prompts\": [\n"
          "  {\"name\": \"truck\", \"points\": [[78, 55]], \"multimask\": true,\n"
          "   \"output\": \"masks/{name}.png\"},\n"
          "  {\"box\": [27, 22, 121.5, 86], \"output\": \"box_{i}.exr\", \"logits\": \"logits_{i}.exr\"},\n"
          "  {\"points\": [[67.5, 50], [90, 62, 1], [15, 10, 0]], \"mask_from\": 0}\n"
          "]}\n", f);
    fclose(f);
    // Relative names in the file are relative to it; -o is the default name.
    run_result r = segment("-i in.png --prompts job/prompts.json -o 'default_{i}.png' --json");
    EXPECT_OK(r);
    // One encoding for all prompts.
    const char *enc = strstr(r.err, "encoded");
    ck_assert_msg(enc && !strstr(enc + 1, "encoded"), "stderr: %s", r.err);

    api_image a;
    api_open(&a, T("in.png"), ROTO_CS_AUTO);
    roto_prompt p0 = {.points = (float[]){78, 55}, .n_points = 1};
    roto_result *r0 = api_predict(&a, &p0, 1);
    float box[4] = {27, 22, 121.5f, 86};
    roto_prompt p1 = {.box = box};
    roto_result *r1 = api_predict(&a, &p1, 0);
    // mask_from 0: prompt 0's chosen low-res logits, as the official predictor's mask_input.
    float xy[6] = {67.5f, 50, 90, 62, 15, 10};
    int lab[3] = {1, 1, 0};
    roto_prompt p2 = {.points = xy, .labels = lab, .n_points = 3,
                      .mask_logits = r0->low_res_logits + (size_t)r0->best * r0->low_res * r0->low_res};
    roto_result *r2 = api_predict(&a, &p2, 0);
    expect_mask_file(T("job/masks/truck.png"), chosen(r0), 150, 100, 8);
    expect_mask_file(T("job/box_1.exr"), chosen(r1), 150, 100, 32);
    expect_mask_file(T("default_2.png"), chosen(r2), 150, 100, 8);
    ck_assert_int_eq(access(T("job/logits_1.exr"), R_OK), 0);
    json_t *j = parse_json(&r);
    json_t *res = json_object_get(j, "results");
    ck_assert_int_eq(json_array_size(res), 3);
    expect_scores(json_array_get(res, 0), r0);
    expect_scores(json_array_get(res, 1), r1);
    expect_scores(json_array_get(res, 2), r2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(res, 0), "name")), "truck");
    json_decref(j);
    cu_result_free(&r);
    // A bare list works as the top level; -o without {i} serves a single prompt.
    f = fopen(T("list.json"), "w");
    fputs("[{\"box\": [27, 22, 121.5, 86]}]", f);
    fclose(f);
    r = segment("-i in.png --prompts list.json -o single.png");
    EXPECT_OK(r);
    expect_mask_file(T("single.png"), chosen(r1), 150, 100, 8);
    cu_result_free(&r);
    roto_result_free(r0);
    roto_result_free(r1);
    roto_result_free(r2);
    api_close(&a);
}
END_TEST

// The clean-up options equal io/matte.h applied to the API's mask in the
// documented order: fill holes, remove islands, dilate, erode, feather.
START_TEST(test_matte_options) {
    write_rgb_image(T("in.png"), 150, 100);
    run_result r = segment("-i in.png --box 27,22,121.5,86 --threshold 0.5 --fill-holes 40 "
                           "--remove-islands 30 --dilate 2.5 --erode 1 --feather 2 -o clean.exr");
    EXPECT_OK(r);
    cu_result_free(&r);
    api_image a;
    api_open(&a, T("in.png"), ROTO_CS_AUTO);
    float box[4] = {27, 22, 121.5f, 86};
    roto_prompt p = {.box = box};
    roto_predict_opts o = {.mask_threshold = 0.5f};
    roto_result *res;
    ck_assert_int_eq(roto_predict(a.m, &p, &o, &res), ROTO_OK);
    float *m = malloc(15000 * sizeof(float));
    for (int i = 0; i < 15000; i++) m[i] = res->masks[i] ? 1.0f : 0.0f;
    ck_assert_int_eq(roto_matte_fill_holes(m, m, 150, 100, 40, 4), ROTO_OK);
    ck_assert_int_eq(roto_matte_remove_islands(m, m, 150, 100, 30, 8), ROTO_OK);
    ck_assert_int_eq(roto_matte_dilate(m, m, 150, 100, 2.5f), ROTO_OK);
    ck_assert_int_eq(roto_matte_erode(m, m, 150, 100, 1.0f), ROTO_OK);
    ck_assert_int_eq(roto_matte_feather(m, m, 150, 100, 2.0f), ROTO_OK);
    roto_frame f = {0};
    ck_assert_int_eq(roto_image_read(T("clean.exr"), NULL, &f), ROTO_OK);
    ck_assert_msg(!memcmp(f.data, m, 15000 * sizeof(float)), "cleaned matte differs");
    int soft = 0;
    for (int i = 0; i < 15000; i++) soft += m[i] > 0.01f && m[i] < 0.99f;
    ck_assert_msg(soft > 50, "feathering left only %d soft pixels", soft);
    roto_frame_free(&f);

    // --compression: a half matte under DWAA is stored losslessly (the A
    // channel is RLE-coded), so it reads back equal to the ZIP file.
    r = segment("-i in.png --box 27,22,121.5,86 --feather 2 --bit-depth 16 -o soft_zip.exr");
    EXPECT_OK(r);
    cu_result_free(&r);
    r = segment("-i in.png --box 27,22,121.5,86 --feather 2 --bit-depth 16 --compression dwaa -o soft_dwa.exr");
    EXPECT_OK(r);
    cu_result_free(&r);
    roto_frame fz = {0}, fd = {0};
    ck_assert_int_eq(roto_image_read(T("soft_zip.exr"), NULL, &fz), ROTO_OK);
    ck_assert_int_eq(roto_image_read(T("soft_dwa.exr"), NULL, &fd), ROTO_OK);
    ck_assert(fz.channels == 1 && fd.channels == 1 && fz.bit_depth == 16 && fd.bit_depth == 16);
    ck_assert_msg(!memcmp(fz.data, fd.data, roto_frame_bytes(&fz)), "DWAA matte differs from the ZIP one");
    r = run_raw("info soft_dwa.exr");
    EXPECT_OK(r);
    ck_assert_msg(strstr(r.out, "compression:    dwaa"), "roto info says: %s", r.out);
    cu_result_free(&r);
    roto_frame_free(&fz);
    roto_frame_free(&fd);

    // --core-edge: PNG siblings NAME_core / NAME_edge, EXR channels core.A /
    // edge.A, both equal to roto_matte_core_edge of the cleaned matte.
    r = segment("-i in.png --box 27,22,121.5,86 --threshold 0.5 --fill-holes 40 --remove-islands 30 --dilate 2.5 "
                "--erode 1 --feather 2 --core-edge 4 -o ce.png --bit-depth 16");
    EXPECT_OK(r);
    cu_result_free(&r);
    r = segment("-i in.png --box 27,22,121.5,86 --threshold 0.5 --fill-holes 40 --remove-islands 30 --dilate 2.5 "
                "--erode 1 --feather 2 --core-edge 4 -o ce.exr");
    EXPECT_OK(r);
    cu_result_free(&r);
    float *ce = malloc(2 * 15000 * sizeof(float));
    ck_assert_int_eq(roto_matte_core_edge(m, ce, ce + 15000, 150, 100, 4.0f), ROTO_OK);
    static const char *const tag[2] = {"core", "edge"};
    for (int t = 0; t < 2; t++) {
        const float *want = ce + t * 15000;
        char name[32];
        snprintf(name, sizeof name, "ce_%s.png", tag[t]);
        roto_frame g = {0};
        ck_assert_int_eq(roto_image_read(T(name), NULL, &g), ROTO_OK);
        const uint16_t *d = g.data;
        int nonzero = 0;
        for (int i = 0; i < 15000; i++) {
            int w16 = (int)(want[i] * 65535.0f + 0.5f);
            ck_assert_msg(abs((int)d[i] - w16) <= 1, "%s pixel %d: %d vs %d", name, i, d[i], w16);
            nonzero += want[i] > 0;
        }
        ck_assert_msg(nonzero > 20, "%s: only %d pixels set", name, nonzero);
        roto_frame_free(&g);
        roto_read_opts ro;
        roto_read_opts_init(&ro);
        snprintf(name, sizeof name, "%s.A", tag[t]);
        ro.channels = name;
        ck_assert_msg(roto_image_read(T("ce.exr"), &ro, &g) == ROTO_OK, "%s", roto_last_error());
        ck_assert_msg(!memcmp(g.data, want, 15000 * sizeof(float)), "ce.exr %s differs", name);
        roto_frame_free(&g);
    }
    free(ce);
    free(m);
    roto_result_free(res);
    api_close(&a);
}
END_TEST

// Odd sizes: the mask has the input's size and equals the API's.
START_TEST(test_sizes) {
    static const struct {
        int w, h;
        const char *file, *prompt;
        float pt[2], box[4];
    } cases[] = {
        {1, 1, "one.png", "--point 0.5,0.5", {0.5f, 0.5f}, {-1}},
        {7, 5000, "tall.png", "--point 3,2500 --box 0,0,7,5000", {3, 2500}, {0, 0, 7, 5000}},
        {4096, 2160, "uhd.jpg", "--point 2000,1000 --box 100,50,4000,2100", {2000, 1000}, {100, 50, 4000, 2100}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int W = cases[i].w, H = cases[i].h;
        write_rgb_image(T(cases[i].file), W, H);
        char args[256];
        snprintf(args, sizeof args, "-i %s %s -o size_%zu.png --json", cases[i].file, cases[i].prompt, i);
        run_result r = segment(args);
        EXPECT_OK(r);
        api_image a;
        api_open(&a, T(cases[i].file), ROTO_CS_AUTO);
        roto_prompt p = {.points = cases[i].pt, .n_points = 1,
                         .box = cases[i].box[0] >= 0 ? cases[i].box : NULL};
        roto_result *res = api_predict(&a, &p, 0);
        char out[32];
        snprintf(out, sizeof out, "size_%zu.png", i);
        expect_mask_file(T(out), chosen(res), W, H, 8);
        json_t *j = parse_json(&r);
        expect_scores(json_array_get(json_object_get(j, "results"), 0), res);
        ck_assert_int_eq(json_integer_value(json_object_get(j, "height")), H);
        json_decref(j);
        roto_result_free(res);
        api_close(&a);
        cu_result_free(&r);
        unlink(T(cases[i].file));
        unlink(T(out));
    }
}
END_TEST

START_TEST(test_errors) {
    write_rgb_image(T("in.png"), 150, 100);
    float small[100] = {0};
    write_matte(T("small.png"), small, 10, 10);
    FILE *f = fopen(T("old.png"), "w");
    fputs("previous", f);
    fclose(f);
    static const char *bad_files[][2] = {
        {"typo.json", "{\"prompts\": [{\"point\": [[1, 2]]}]}"},
        {"forward.json", "{\"prompts\": [{\"points\": [[1, 2]], \"mask_from\": 1}, {\"points\": [[3, 4]]}]}"},
        {"frame.json", "{\"prompts\": [{\"points\": [[1, 2]], \"frame\": 3, \"output\": \"x.png\"}]}"},
        {"dup.json", "{\"prompts\": [{\"points\": [[1, 2]], \"output\": \"same.png\"}, {\"box\": [1, 1, 5, 5], \"output\": \"same.png\"}]}"},
        {"noname.json", "{\"prompts\": [{\"points\": [[1, 2]], \"output\": \"{name}.png\"}]}"},
        {"syntax.json", "{\"prompts\": [\n{\"points\": [[1, 2]]\n]}"},
        {"far.json", "{\"prompts\": [{\"points\": [[1, 2]]}, {\"name\": \"far\", \"points\": [[10, 500]]}]}"},
        {"label.json", "{\"prompts\": [{\"points\": [[1, 2, 2]]}]}"},
    };
    for (size_t i = 0; i < sizeof bad_files / sizeof *bad_files; i++) {
        f = fopen(T(bad_files[i][0]), "w");
        fputs(bad_files[i][1], f);
        fclose(f);
    }
    static const struct {
        const char *args;
        int code;
        const char *says;
        int may_load;  // 0: must fail before the model is loaded
    } cases[] = {
        // usage: exit 2
        {"--point 10,10 -o out.png", 2, "no input image", 0},
        {"-i in.png --point 10,10", 2, "no output", 0},
        {"-i in.png --point 1,abc -o out.png", 2, "--point 1,abc", 0},
        {"-i in.png --point 1,2,5 -o out.png", 2, "LABEL 1", 0},
        {"-i in.png --box 50,50,10,10 -o out.png", 2, "X0 <= X1", 0},
        {"-i in.png --box 1,2,3 -o out.png", 2, "X0,Y0,X1,Y1", 0},
        {"-i in.png --frobnicate -o out.png", 2, "unknown option '--frobnicate'", 0},
        {"-i in.png --device tpu -o out.png", 2, "cpu, cuda or cuda:N", 0},
        {"-i in.png --precision fp8 -o out.png", 2, "fp32, tf32, bf16 or fp16", 0},
        {"-i in.png --threads 0 -o out.png", 2, "--threads", 0},
        {"-i in.png --dilate -1 -o out.png", 2, "--dilate", 0},
        {"-i in.png --compression lzma -o out.exr", 2, "--compression lzma: expected zip", 0},
        {"-i in.png --core-edge 0 -o out.png", 2, "--core-edge: expected a radius > 0", 0},
        {"-i in.png --input-colorspace xyz -o out.png", 2, "--input-colorspace xyz", 0},
        {"-i in.png --point 10,10 -o out.png --logits l.png", 2, "EXR", 0},
        {"-i in.png --point 10,10 -o out.xyz", 2, "mask format", 0},
        {"-i in.png --point 10,10 -o out.jpg --bit-depth 16", 2, "--bit-depth 16", 0},
        {"-i in.png --prompts far.json --point 1,1", 2, "--prompts", 0},
        {"-i in.png extra -o out.png", 2, "unexpected argument", 0},
        // failures: exit 1, before the model where the input is at fault
        {"-i in.png --point 151,50 -o out.png", 1, "point 0 (151, 50) is outside the 150x100 image", 0},
        {"-i in.png --point 10,10 --point 10,-1,0 -o out.png", 1, "point 1 (10, -1) is outside", 0},
        {"-i in.png --box 0,0,200,50 -o out.png", 1, "box (0, 0, 200, 50) is outside the 150x100", 0},
        {"-i missing.png --point 1,1 -o out.png", 1, "missing.png", 0},
        {"-i in.png --point 1,1 -o /proc/nope/out.png", 1, "cannot write /proc/nope/out.png", 0},
        {"-i in.png --point 1,1 -o out.png --logits /proc/nope/l.exr", 1, "cannot write /proc/nope/l.exr", 0},
        {"-i in.png --precision bf16 --point 1,1 -o out.png", 1, "fp32", 0},
        {"-i in.png --mask-in small.png -o out.png", 1, "is 10x10 but the image is 150x100", 0},
        {"-i in.png --mask-in nomask.png -o out.png", 1, "nomask.png", 0},
        {"-i in.png --prompts typo.json", 1, "unknown key \"point\"", 0},
        {"-i in.png --prompts forward.json -o 'o_{i}.png'", 1, "mask_from", 0},
        {"-i in.png --prompts frame.json", 1, "roto track", 0},
        {"-i in.png --prompts dup.json", 1, "would both write", 0},
        {"-i in.png --prompts noname.json", 1, "{name}", 0},
        {"-i in.png --prompts syntax.json -o 'o_{i}.png'", 1, "syntax.json:3", 0},
        {"-i in.png --prompts far.json -o 'o_{i}.png'", 1, "prompt 1 (far): point 0 (10, 500) is outside the 150x100", 0},
        {"-i in.png --prompts label.json -o 'o_{i}.png'", 1, "label must be 1", 0},
        {"-i in.png --prompts nofile.json -o 'o_{i}.png'", 1, "nofile.json", 0},
        {"-i in.png --prompts far.json", 1, "no \"output\"", 0},
        // a failing command leaves an existing output as it was
        {"-i in.png --point 500,1 -o old.png", 1, "outside", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        run_result r = segment(cases[i].args);
        ck_assert_msg(r.code == cases[i].code && strstr(r.err, cases[i].says),
                      "'%s': exit %d (want %d), stderr: %s", cases[i].args, r.code, cases[i].code, r.err);
        if (!cases[i].may_load)
            ck_assert_msg(!strstr(r.err, "loaded"), "'%s' loaded the model first: %s", cases[i].args, r.err);
        ck_assert_msg(r.out[0] == '\0', "'%s' printed on stdout: %s", cases[i].args, r.out);
        cu_result_free(&r);
    }
    // The model's own errors.
    run_result r = run_raw("segment -m nomodel.pt -i in.png --point 1,1 -o out.png");
    ck_assert_msg(r.code == 1 && strstr(r.err, "nomodel.pt"), "%s", r.err);
    cu_result_free(&r);
    char args[4 * PATH_MAX];
    snprintf(args, sizeof args, "segment -m '%s' -i in.png --point 1,1 -o out.png", WEIGHTS);
    r = run_raw(args);  // a custom size without --config
    ck_assert_msg(r.code == 1 && strstr(r.err, "--config"), "%s", r.err);
    cu_result_free(&r);
    r = segment("-i in.png --device cuda --point 1,1 -o out.png");
    if (!rt_cuda_backend())
        ck_assert_msg(r.code == 1 && strstr(r.err, "built without CUDA"), "%s", r.err);
    else
        ck_assert_msg(r.code == 0 || (r.code == 1 && strstr(r.err, "CUDA")), "%s", r.err);
    cu_result_free(&r);
    unlink(T("out.png"));
    r = run_raw("segment");
    ck_assert_int_eq(r.code, 2);
    cu_result_free(&r);
    r = run_raw("segment --help");
    ck_assert_msg(r.code == 0 && strstr(r.out, "--prompts") && strstr(r.out, "--mask-in"), "%s", r.out);
    cu_result_free(&r);

    // Nothing was written: no outputs, no temp files, the old file unchanged.
    const char *inputs[] = {"in.png", "small.png", "old.png", "typo.json", "forward.json",
                            "frame.json", "dup.json", "noname.json", "syntax.json", "far.json",
                            "label.json", NULL};
    ck_assert_int_eq(count_files(inputs), 0);
    char *old = cu_read_text(T("old.png"));
    ck_assert_str_eq(old, "previous");
    free(old);
}
END_TEST

static Suite *segment_cli_suite(void) {
    Suite *s = suite_create("segment_cli");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 180);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_point_png);
    tcase_add_test(tc, test_prompt_kinds_and_formats);
    tcase_add_test(tc, test_prompt_file);
    tcase_add_test(tc, test_matte_options);
    tcase_add_test(tc, test_sizes);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(segment_cli_suite)
