// test_info_cli.c: `roto info` on images and image sequences, run as a process
// on the built binary (<builddir>/roto). Images of every format are written
// here with the io/ writers (PNG 8/16, JPEG, EXR half/float with fps, timecode
// and chromaticities, an EXR whose data window differs from its display
// window, roto's multi-layer matte EXR, DPX 10-bit, TIFF 16-bit and float),
// and the committed fixtures of tests/fixtures/io/ (written by ImageMagick and
// OpenEXR's tools) are described too. Each description is checked in text and
// as JSON parsed back against what was written. Sequences: gaps listed
// compactly, --frames, a resolution mismatch found by the header check, a
// damaged frame. Every error case: one line on stderr naming the file, exit 1;
// usage errors exit 2.
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/exr.h"
#include "io/image.h"
#include "util/cli_util.h"
#include "util/test_util.h"

// ---- paths and processes -----------------------------------------------------------------------

static char g_root[PATH_MAX], g_roto[PATH_MAX], g_tmp[64];

static void setup(void) {
    cu_find_roto(g_roto, g_root, "tests/fixtures/io/README.md");
    cu_make_tmp(g_tmp, sizeof g_tmp, "infocli");
}

static void teardown(void) {
    if (g_tmp[0]) cu_rm_rf(g_tmp);
    g_tmp[0] = '\0';
}

// A path in the temp dir (rotating buffers: copy it if kept long).
static const char *T(const char *name) {
    static char buf[8][PATH_MAX];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_tmp, name);
    return buf[k];
}

static const char *FIX(const char *name) {
    static char buf[4][PATH_MAX + 64];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/tests/fixtures/io/%s", g_root, name);
    return buf[k];
}

typedef cu_result run_result;

// Run `roto info <args>` in the temp dir.
static run_result info(const char *args) {
    char cmd[4 * PATH_MAX + 8192];
    snprintf(cmd, sizeof cmd, "'%s' info %s", g_roto, args);
    return cu_run(g_tmp, cmd, 1);
}

#define EXPECT_OK(r) ck_assert_msg((r).code == 0, "exit %d\nstdout: %s\nstderr: %s", (r).code, (r).out, (r).err)
#define HAS(r, s) ck_assert_msg(strstr((r).out, s) != NULL, "missing '%s' in:\n%s", s, (r).out)

// `roto info --json <args>`, parsed.
static json_t *info_json(const char *args) {
    char a[4096];
    snprintf(a, sizeof a, "--json %s", args);
    run_result r = info(a);
    EXPECT_OK(r);
    json_error_t err;
    json_t *j = json_loads(r.out, 0, &err);
    ck_assert_msg(j != NULL, "bad JSON (%s) in:\n%s", err.text, r.out);
    cu_result_free(&r);
    return j;
}

static const char *jstr(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_string(v), "key %s is not a string", key);
    return json_string_value(v);
}

static long long jint(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_integer(v), "key %s is not an integer", key);
    return json_integer_value(v);
}

static double jnum(json_t *v) {
    ck_assert(json_is_number(v));
    return json_number_value(v);
}

// A failure: exit 1, nothing on stdout, one line on stderr containing `a`
// (and `b` when given).
static void expect_error(const char *args, const char *a, const char *b) {
    run_result r = info(args);
    ck_assert_msg(r.code == 1, "%s: exit %d, stderr: %s", args, r.code, r.err);
    ck_assert_msg(r.out[0] == '\0', "%s: stdout not empty: %s", args, r.out);
    size_t n = strlen(r.err);
    ck_assert_msg(n > 0 && r.err[n - 1] == '\n' && strchr(r.err, '\n') == r.err + n - 1, "%s: not one line: %s",
                  args, r.err);
    ck_assert_msg(strstr(r.err, a) != NULL, "%s: '%s' not in: %s", args, a, r.err);
    if (b) ck_assert_msg(strstr(r.err, b) != NULL, "%s: '%s' not in: %s", args, b, r.err);
    cu_result_free(&r);
}

static void expect_usage(const char *args, const char *msg) {
    run_result r = info(args);
    ck_assert_msg(r.code == 2, "%s: exit %d, stderr: %s", args, r.code, r.err);
    if (msg) ck_assert_msg(strstr(r.err, msg) != NULL, "%s: '%s' not in: %s", args, msg, r.err);
    cu_result_free(&r);
}

// ---- inputs --------------------------------------------------------------------------------

// A W x H frame holding a ramp (values do not matter to `info`, sizes do).
static void make_frame(roto_frame *f, int W, int H, int C, roto_pixel_type t, int bits) {
    ck_assert_int_eq(roto_frame_alloc(f, W, H, C, t, bits), ROTO_OK);
    size_t n = (size_t)W * H * C;
    for (size_t i = 0; i < n; i++) {
        if (t == ROTO_PIX_F32)
            ((float *)f->data)[i] = (float)i / (float)n;
        else
            ((uint16_t *)f->data)[i] = (uint16_t)(i % (1u << bits));
    }
}

static void write_frame(const char *path, const roto_frame *f, int bits, roto_exr_compression exr_comp,
                        roto_tiff_compression tiff_comp) {
    roto_write_opts o;
    roto_write_opts_init(&o);
    o.bit_depth = bits;
    o.exr_compression = exr_comp;
    o.tiff_compression = tiff_comp;
    ck_assert_msg(roto_image_write(path, f, &o) == ROTO_OK, "%s", roto_last_error());
}

static void write_simple(const char *path, int W, int H, int C, int bits) {
    roto_frame f;
    make_frame(&f, W, H, C, ROTO_PIX_U16, 8);
    write_frame(path, &f, bits, ROTO_EXR_ZIP, ROTO_TIFF_DEFLATE);
    roto_frame_free(&f);
}

static void write_bytes(const char *path, const void *d, size_t n) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fwrite(d, 1, n, f), n);
    fclose(f);
}

// The first n bytes of a file, copied to dst.
static void truncate_copy(const char *src, const char *dst, size_t n) {
    FILE *f = fopen(src, "rb");
    ck_assert_ptr_nonnull(f);
    char *b = malloc(n);
    ck_assert_int_eq(fread(b, 1, n, f), n);
    fclose(f);
    write_bytes(dst, b, n);
    free(b);
}

static const float k_chroma[8] = {0.708f, 0.292f, 0.170f, 0.797f, 0.131f, 0.046f, 0.3127f, 0.3290f};  // Rec.2020

// ---- single images written here ------------------------------------------------------------

START_TEST(test_png_jpeg) {
    write_simple(T("rgb8.png"), 7, 5, 3, 8);
    run_result r = info("rgb8.png");
    EXPECT_OK(r);
    HAS(r, "file:           rgb8.png\n");
    HAS(r, "format:         png\n");
    HAS(r, "resolution:     7x5\n");
    HAS(r, "channels:       3 (R, G, B)\n");
    HAS(r, "samples:        8-bit unsigned integer\n");
    HAS(r, "compression:    deflate\n");
    HAS(r, "colour:         sRGB; ");
    HAS(r, "pixel aspect:   1\n");
    ck_assert_ptr_null(strstr(r.out, "fps:"));  // absent, not printed
    ck_assert_ptr_null(strstr(r.out, "window"));
    ck_assert_str_eq(r.err, "");
    cu_result_free(&r);

    roto_frame f;
    make_frame(&f, 9, 4, 4, ROTO_PIX_U16, 16);
    write_frame(T("rgba16.png"), &f, 16, ROTO_EXR_ZIP, ROTO_TIFF_DEFLATE);
    roto_frame_free(&f);
    r = info("rgba16.png");
    EXPECT_OK(r);
    HAS(r, "resolution:     9x4\n");
    HAS(r, "channels:       4 (R, G, B, A)\n");
    HAS(r, "samples:        16-bit unsigned integer\n");
    cu_result_free(&r);
    json_t *j = info_json("rgba16.png");
    ck_assert_str_eq(jstr(j, "kind"), "image");
    ck_assert_str_eq(jstr(j, "format"), "png");
    ck_assert_int_eq(jint(j, "width"), 9);
    ck_assert_int_eq(jint(j, "height"), 4);
    ck_assert_int_eq(jint(j, "bit_depth"), 16);
    ck_assert_str_eq(jstr(j, "sample_type"), "uint");
    json_t *ch = json_object_get(j, "channels");
    ck_assert_int_eq(json_array_size(ch), 4);
    static const char *const rgba[4] = {"R", "G", "B", "A"};
    for (int c = 0; c < 4; c++) {
        ck_assert_str_eq(jstr(json_array_get(ch, c), "name"), rgba[c]);
        ck_assert_str_eq(jstr(json_array_get(ch, c), "type"), "uint16");
    }
    ck_assert(json_is_null(json_object_get(j, "fps")));
    ck_assert(json_is_null(json_object_get(j, "timecode")));
    ck_assert(json_is_null(json_object_get(j, "exr")) || !json_object_get(j, "exr"));
    ck_assert_double_eq(jnum(json_object_get(j, "pixel_aspect")), 1.0);
    json_decref(j);

    make_frame(&f, 11, 3, 1, ROTO_PIX_U16, 8);
    write_frame(T("gray.jpg"), &f, 8, ROTO_EXR_ZIP, ROTO_TIFF_DEFLATE);
    roto_frame_free(&f);
    r = info("gray.jpg");
    EXPECT_OK(r);
    HAS(r, "format:         jpeg\n");
    HAS(r, "resolution:     11x3\n");
    HAS(r, "channels:       1 (Y)\n");
    HAS(r, "compression:    jpeg\n");
    cu_result_free(&r);
    j = info_json("gray.jpg");
    ck_assert_str_eq(jstr(j, "format"), "jpeg");
    ck_assert_str_eq(jstr(json_object_get(j, "colour"), "transfer"), "sRGB");
    json_decref(j);
}
END_TEST

START_TEST(test_exr) {
    // Half RGB, PIZ, 23.976 fps, timecode with drop frame, Rec.2020 primaries.
    roto_frame f;
    make_frame(&f, 6, 4, 3, ROTO_PIX_F32, 16);
    f.meta.has_fps = 1;
    f.meta.fps = (roto_rational){24000, 1001};
    f.meta.has_timecode = 1;
    ck_assert_int_eq(roto_timecode_from_string("10:20:30;15", &f.meta.timecode), ROTO_OK);
    f.meta.timecode_user = 0x1234;
    f.meta.has_chromaticities = 1;
    memcpy(f.meta.chromaticities, k_chroma, sizeof k_chroma);
    f.meta.pixel_aspect = 2.0f;
    write_frame(T("half.exr"), &f, 16, ROTO_EXR_PIZ, ROTO_TIFF_DEFLATE);
    roto_frame_free(&f);
    run_result r = info("half.exr");
    EXPECT_OK(r);
    HAS(r, "format:         exr, scanline\n");
    HAS(r, "resolution:     6x4\n");
    HAS(r, "channels:       3 (B, G, R)\n");  // EXR stores channels sorted by name
    HAS(r, "samples:        half (16-bit float)\n");
    HAS(r, "roto reads:     R, G, B\n");
    HAS(r, "compression:    piz\n");
    HAS(r, "colour:         linear; ");
    HAS(r, "chromaticities: red 0.708 0.292, green 0.17 0.797, blue 0.131 0.046, white 0.3127 0.329\n");
    HAS(r, "fps:            23.976 (24000/1001)\n");
    HAS(r, "timecode:       10:20:30;15 (user bits 0x00001234)\n");
    HAS(r, "pixel aspect:   2\n");
    ck_assert_ptr_null(strstr(r.out, "window"));
    ck_assert_ptr_null(strstr(r.out, "parts:"));
    cu_result_free(&r);
    json_t *j = info_json("half.exr");
    ck_assert_str_eq(jstr(j, "sample_type"), "half");
    ck_assert_int_eq(jint(j, "bit_depth"), 16);
    ck_assert_str_eq(jstr(j, "compression"), "piz");
    json_t *fps = json_object_get(j, "fps");
    ck_assert_int_eq(jint(fps, "num"), 24000);
    ck_assert_int_eq(jint(fps, "den"), 1001);
    ck_assert(fabs(jnum(json_object_get(fps, "value")) - 24000.0 / 1001.0) < 1e-6);
    ck_assert_str_eq(jstr(j, "timecode"), "10:20:30;15");
    ck_assert_int_eq(jint(j, "timecode_user_bits"), 0x1234);
    json_t *chr = json_object_get(json_object_get(j, "colour"), "chromaticities");
    static const char *const prim[4] = {"red", "green", "blue", "white"};
    for (int p = 0; p < 4; p++)
        for (int k = 0; k < 2; k++)
            ck_assert_double_eq((float)jnum(json_array_get(json_object_get(chr, prim[p]), k)), k_chroma[2 * p + k]);
    ck_assert_double_eq(jnum(json_object_get(j, "pixel_aspect")), 2.0);
    json_t *exr = json_object_get(j, "exr");
    ck_assert_int_eq(json_array_size(json_object_get(exr, "parts")), 1);
    ck_assert_int_eq(jint(exr, "part"), 0);
    json_t *reads = json_object_get(exr, "reads");
    ck_assert_int_eq(json_array_size(reads), 3);
    ck_assert_str_eq(json_string_value(json_array_get(reads, 0)), "R");
    json_t *p0 = json_array_get(json_object_get(exr, "parts"), 0);
    ck_assert(json_is_null(json_object_get(p0, "name")));
    ck_assert_str_eq(jstr(p0, "storage"), "scanline");
    ck_assert_str_eq(jstr(p0, "compression"), "piz");
    json_decref(j);

    // Float RGBA, ZIP, 25 fps, no timecode.
    make_frame(&f, 5, 5, 4, ROTO_PIX_F32, 32);
    f.meta.has_fps = 1;
    f.meta.fps = (roto_rational){25, 1};
    write_frame(T("float.exr"), &f, 32, ROTO_EXR_ZIP, ROTO_TIFF_DEFLATE);
    roto_frame_free(&f);
    r = info("float.exr");
    EXPECT_OK(r);
    HAS(r, "channels:       4 (A, B, G, R)\n");
    HAS(r, "samples:        float (32-bit)\n");
    HAS(r, "roto reads:     R, G, B, A\n");
    HAS(r, "compression:    zip\n");
    HAS(r, "fps:            25\n");
    ck_assert_ptr_null(strstr(r.out, "timecode:"));
    ck_assert_ptr_null(strstr(r.out, "chromaticities:"));
    cu_result_free(&r);
    j = info_json("float.exr");
    ck_assert_str_eq(jstr(j, "sample_type"), "float");
    ck_assert_int_eq(jint(j, "bit_depth"), 32);
    ck_assert(json_is_null(json_object_get(j, "timecode")));
    ck_assert(json_is_null(json_object_get(json_object_get(j, "colour"), "chromaticities")));
    json_decref(j);
}
END_TEST

// Data window inside a larger display window; roto's matte EXR (no default
// layer, mixed channel types).
START_TEST(test_exr_windows_and_mattes) {
    float plane[8 * 8];
    for (int i = 0; i < 64; i++) plane[i] = (float)i / 64.0f;
    roto_frame_meta meta;
    roto_frame_meta_init(&meta, 32, 16);
    roto_exr_channel ch = {"Y", plane, 1, ROTO_EXR_HALF};
    roto_exr_opts o;
    roto_exr_opts_init(&o);
    o.compression = ROTO_EXR_RLE;
    o.meta = &meta;
    o.has_data_window = 1;
    o.data_window = (roto_box){4, 2, 11, 9};
    ck_assert_msg(roto_exr_write_channels(T("window.exr"), 8, 8, &ch, 1, &o) == ROTO_OK, "%s", roto_last_error());
    run_result r = info("window.exr");
    EXPECT_OK(r);
    HAS(r, "resolution:     32x16\n");
    HAS(r, "channels:       1 (Y)\n");
    HAS(r, "compression:    rle\n");
    HAS(r, "display window: (0,0)-(31,15), 32x16\n");
    HAS(r, "data window:    (4,2)-(11,9), 8x8\n");
    cu_result_free(&r);
    json_t *j = info_json("window.exr");
    json_t *dw = json_object_get(j, "data_window"), *disp = json_object_get(j, "display_window");
    const int want_dw[4] = {4, 2, 11, 9}, want_disp[4] = {0, 0, 31, 15};
    for (int k = 0; k < 4; k++) {
        ck_assert_int_eq(json_integer_value(json_array_get(dw, k)), want_dw[k]);
        ck_assert_int_eq(json_integer_value(json_array_get(disp, k)), want_disp[k]);
    }
    json_decref(j);

    const char *names[2] = {"person", "car"};
    const float *alphas[2] = {plane, plane};
    roto_matte_layers m = {.width = 8, .height = 8, .n_objects = 2, .object_names = names, .alphas = alphas,
                           .depth = plane};
    roto_exr_opts_init(&o);
    ck_assert_msg(roto_exr_write_mattes(T("matte.exr"), &m, &o) == ROTO_OK, "%s", roto_last_error());
    r = info("matte.exr");
    EXPECT_OK(r);
    HAS(r, "resolution:     8x8\n");
    HAS(r, "channels:       3 (depth.Z: float; obj_car.A, obj_person.A: half)\n");
    HAS(r, "samples:        mixed (per channel above)\n");
    HAS(r, "roto reads:     nothing by default");
    cu_result_free(&r);
    j = info_json("matte.exr");
    ck_assert_str_eq(jstr(j, "sample_type"), "mixed");
    ck_assert(json_is_null(json_object_get(j, "bit_depth")));
    json_t *chs = json_object_get(j, "channels");
    ck_assert_int_eq(json_array_size(chs), 3);
    ck_assert_str_eq(jstr(json_array_get(chs, 0), "name"), "depth.Z");
    ck_assert_str_eq(jstr(json_array_get(chs, 0), "type"), "float");
    ck_assert_str_eq(jstr(json_array_get(chs, 2), "name"), "obj_person.A");
    ck_assert_str_eq(jstr(json_array_get(chs, 2), "type"), "half");
    ck_assert_int_eq(json_array_size(json_object_get(json_object_get(j, "exr"), "reads")), 0);
    json_decref(j);
}
END_TEST

START_TEST(test_dpx_tiff) {
    roto_frame f;
    make_frame(&f, 10, 6, 3, ROTO_PIX_U16, 10);
    f.meta.has_fps = 1;
    f.meta.fps = (roto_rational){24, 1};
    f.meta.has_timecode = 1;
    ck_assert_int_eq(roto_timecode_from_string("01:00:00:12", &f.meta.timecode), ROTO_OK);
    f.meta.pixel_aspect = 2.0f;
    f.meta.transfer = ROTO_TF_LOG;
    write_frame(T("ten.dpx"), &f, 10, ROTO_EXR_ZIP, ROTO_TIFF_DEFLATE);
    roto_frame_free(&f);
    run_result r = info("ten.dpx");
    EXPECT_OK(r);
    HAS(r, "format:         dpx\n");
    HAS(r, "resolution:     10x6\n");
    HAS(r, "channels:       3 (R, G, B)\n");
    HAS(r, "samples:        10-bit unsigned integer\n");
    HAS(r, "compression:    none\n");
    HAS(r, "colour:         log (Cineon/printing density); DPX transfer 1");
    HAS(r, "fps:            24\n");
    HAS(r, "timecode:       01:00:00:12\n");
    HAS(r, "pixel aspect:   2\n");
    cu_result_free(&r);
    json_t *j = info_json("ten.dpx");
    ck_assert_int_eq(jint(j, "bit_depth"), 10);
    ck_assert_str_eq(jstr(json_array_get(json_object_get(j, "channels"), 0), "type"), "uint10");
    ck_assert_int_eq(jint(json_object_get(j, "colour"), "dpx_transfer"), 1);
    ck_assert_int_eq(jint(json_object_get(j, "fps"), "num"), 24);
    ck_assert_str_eq(jstr(j, "timecode"), "01:00:00:12");
    json_decref(j);

    make_frame(&f, 4, 3, 3, ROTO_PIX_U16, 16);
    write_frame(T("lzw16.tif"), &f, 16, ROTO_EXR_ZIP, ROTO_TIFF_LZW);
    write_frame(T("deflate8.tiff"), &f, 8, ROTO_EXR_ZIP, ROTO_TIFF_DEFLATE);
    write_frame(T("plain.tif"), &f, 8, ROTO_EXR_ZIP, ROTO_TIFF_NONE);
    roto_frame_free(&f);
    r = info("lzw16.tif");
    EXPECT_OK(r);
    HAS(r, "format:         tiff\n");
    HAS(r, "samples:        16-bit unsigned integer\n");
    HAS(r, "compression:    lzw + horizontal predictor\n");
    cu_result_free(&r);
    r = info("deflate8.tiff");
    EXPECT_OK(r);
    HAS(r, "samples:        8-bit unsigned integer\n");
    HAS(r, "compression:    deflate + horizontal predictor\n");
    cu_result_free(&r);
    r = info("plain.tif");
    EXPECT_OK(r);
    HAS(r, "compression:    none\n");
    cu_result_free(&r);

    make_frame(&f, 4, 3, 1, ROTO_PIX_F32, 32);
    write_frame(T("float.tif"), &f, 32, ROTO_EXR_ZIP, ROTO_TIFF_DEFLATE);
    roto_frame_free(&f);
    j = info_json("float.tif");
    ck_assert_str_eq(jstr(j, "format"), "tiff");
    ck_assert_str_eq(jstr(j, "sample_type"), "float");
    ck_assert_int_eq(jint(j, "bit_depth"), 32);
    ck_assert_str_eq(jstr(json_object_get(j, "colour"), "transfer"), "linear");
    ck_assert_ptr_nonnull(strstr(jstr(j, "compression"), "deflate"));
    json_decref(j);
}
END_TEST

// ---- committed fixtures (other tools' files) -----------------------------------------------

START_TEST(test_fixtures) {
    static const struct {
        const char *file, *format, *size, *channels, *samples, *compression;
    } k[] = {
        {"png_rgb8.png", "png", "16x8", "3 (R, G, B)", "8-bit unsigned integer", "deflate"},
        {"png_rgba16.png", "png", "16x8", "4 (R, G, B, A)", "16-bit unsigned integer", "deflate"},
        {"png_graya16.png", "png", "16x8", "2 (Y, A)", "16-bit unsigned integer", "deflate"},
        {"png_gray1.png", "png", "16x8", "1 (Y)", "8-bit unsigned integer (file: 1-bit gray)", "deflate"},
        {"png_palette_trns.png", "png", "16x8", "4 (R, G, B, A)", "8-bit unsigned integer (file: 8-bit palette)",
         "deflate"},
        {"jpeg_rgb.jpg", "jpeg", "16x8", "3 (R, G, B)", "8-bit unsigned integer", "jpeg"},
        {"tiff_rgba16_lzw.tif", "tiff", "16x8", "4 (R, G, B, A)", "16-bit unsigned integer",
         "lzw + horizontal predictor"},
        {"tiff_gray8_zip.tif", "tiff", "16x8", "1 (Y)", "8-bit unsigned integer", NULL},
        {"tiff_float32.tif", "tiff", "16x8", "3 (R, G, B)", "float (32-bit)", NULL},
        {"tiff_half.tif", "tiff", "16x8", "3 (R, G, B)", "half (16-bit float)", NULL},
        {"tiff_tiled16.tif", "tiff", "40x24", "3 (R, G, B)", "16-bit unsigned integer", NULL},
        {"tiff_rgb8.tif", "tiff", "16x8", "3 (R, G, B)", "8-bit unsigned integer", "none"},
        {"dpx_rgb10_be.dpx", "dpx", "16x8", "3 (R, G, B)", "10-bit unsigned integer", "none"},
        {"dpx_rgb10_le.dpx", "dpx", "16x8", "3 (R, G, B)", "10-bit unsigned integer", "none"},
        {"dpx_rgb8.dpx", "dpx", "16x8", "3 (R, G, B)", "8-bit unsigned integer", "none"},
        {"dpx_rgb16.dpx", "dpx", "16x8", "3 (R, G, B)", "16-bit unsigned integer", "none"},
        {"dpx_rgba10.dpx", "dpx", "12x8", "4 (R, G, B, A)", "10-bit unsigned integer", "none"},
        {"exr_rgb_half_none.exr", "exr, scanline", "16x8", "3 (B, G, R)", "half (16-bit float)", "none"},
        {"exr_rgba_half_piz.exr", "exr, scanline", "16x8", "4 (A, B, G, R)", "half (16-bit float)", "piz"},
        {"exr_rgb_rle.exr", "exr, scanline", "16x8", "3 (B, G, R)", "half (16-bit float)", "rle"},
        {"exr_rgb_zip.exr", "exr, scanline", "16x8", "3 (B, G, R)", "half (16-bit float)", "zip"},
        {"exr_rgb_pxr24.exr", "exr, scanline", "16x8", "3 (B, G, R)", "half (16-bit float)", "pxr24"},
        {"exr_y_zip.exr", "exr, scanline", "16x8", "1 (Y)", "half (16-bit float)", "zip"},
        {"exr_tiled.exr", "exr, tiled", "40x24", "4 (A, B, G, R)", "half (16-bit float)", "zip"},
        {"exr_mipmap.exr", "exr, tiled mipmap", "40x24", "4 (A, B, G, R)", "half (16-bit float)", "piz"},
        {"exr_dwaa_tiled.exr", "exr, tiled", "40x24", "4 (A, B, G, R)", "half (16-bit float)", "dwaa"},
    };
    for (size_t i = 0; i < sizeof k / sizeof *k; i++) {
        char args[PATH_MAX + 64], want[256];
        snprintf(args, sizeof args, "'%s'", FIX(k[i].file));
        run_result r = info(args);
        EXPECT_OK(r);
        snprintf(want, sizeof want, "format:         %s\n", k[i].format);
        HAS(r, want);
        snprintf(want, sizeof want, "resolution:     %s\n", k[i].size);
        HAS(r, want);
        snprintf(want, sizeof want, "channels:       %s\n", k[i].channels);
        HAS(r, want);
        snprintf(want, sizeof want, "samples:        %s\n", k[i].samples);
        HAS(r, want);
        if (k[i].compression) {
            snprintf(want, sizeof want, "compression:    %s\n", k[i].compression);
            HAS(r, want);
        } else {
            HAS(r, "compression:    ");  // libtiff's name for ImageMagick's choice
        }
        cu_result_free(&r);
    }

    // exrstdattr's attributes: fps 24000/1001, timecode 01:02:03:04 + user bits, chromaticities.
    char args[PATH_MAX + 64];
    snprintf(args, sizeof args, "'%s'", FIX("exr_attrs.exr"));
    run_result r = info(args);
    EXPECT_OK(r);
    HAS(r, "fps:            23.976 (24000/1001)\n");
    HAS(r, "timecode:       01:02:03:04 (user bits 0x00000005)\n");
    HAS(r, "chromaticities: red ");
    cu_result_free(&r);
    json_t *j = info_json(args);
    ck_assert_int_eq(jint(json_object_get(j, "fps"), "den"), 1001);
    ck_assert_str_eq(jstr(j, "timecode"), "01:02:03:04");
    ck_assert(json_is_object(json_object_get(json_object_get(j, "colour"), "chromaticities")));
    json_decref(j);

    // Multi-part: every part listed; the first part with R,G,B described.
    snprintf(args, sizeof args, "'%s'", FIX("exr_multipart.exr"));
    r = info(args);
    EXPECT_OK(r);
    HAS(r, "format:         exr, 2 parts (described: part 0 \"plate\")\n");
    HAS(r, "parts:\n  0 \"plate\": scanline, zip, 16x8, channels 3 (B, G, R: half)\n"
           "  1 \"inv\": scanline, zip, 16x8, channels 3 (B, G, R: half)\n");
    cu_result_free(&r);
    j = info_json(args);
    json_t *parts = json_object_get(json_object_get(j, "exr"), "parts");
    ck_assert_int_eq(json_array_size(parts), 2);
    ck_assert_str_eq(jstr(json_array_get(parts, 1), "name"), "inv");
    json_decref(j);

    // Multi-view: the default layer is read, the right view's layer is listed.
    snprintf(args, sizeof args, "'%s'", FIX("exr_multiview.exr"));
    r = info(args);
    EXPECT_OK(r);
    HAS(r, "roto reads:     R, G, B\n");
    HAS(r, "right.R");
    cu_result_free(&r);

    // What roto refuses to read is an error naming the file and the reason.
    snprintf(args, sizeof args, "'%s'", FIX("jpeg_cmyk.jpg"));
    expect_error(args, "jpeg_cmyk.jpg", "CMYK");
    snprintf(args, sizeof args, "'%s'", FIX("tiff_planar.tif"));
    expect_error(args, "tiff_planar.tif", "separate");
}
END_TEST

// ---- sequences -----------------------------------------------------------------------------

static void write_seq_frame(const char *name_fmt, int frame, int W, int H) {
    char name[128];
    snprintf(name, sizeof name, name_fmt, frame);
    write_simple(T(name), W, H, 3, 8);
}

START_TEST(test_sequence_gaps) {
    static const int frames[] = {1001, 1002, 1003, 1005, 1009, 1010, 1012};
    for (size_t i = 0; i < sizeof frames / sizeof *frames; i++) write_seq_frame("plate.%04d.png", frames[i], 8, 4);
    write_simple(T("tmp.png"), 8, 4, 3, 8);
    ck_assert_int_eq(rename(T("tmp.png"), T("plate.1011.png.tmp")), 0);  // not part of the sequence
    write_simple(T("other.1004.png"), 8, 4, 3, 8);       // neither
    static const char *const pats[2] = {"'plate.####.png'", "'plate.%04d.png'"};
    for (int p = 0; p < 2; p++) {
        run_result r = info(pats[p]);
        EXPECT_OK(r);
        HAS(r, "frames:         1001-1012: 7 frames, 5 missing\n");
        HAS(r, "missing:        1004, 1006-1008, 1011\n");
        HAS(r, "sizes:          8x4 in all 7 frame headers\n");
        HAS(r, "first frame:    1001\n");
        HAS(r, "file:           plate.1001.png\n");
        HAS(r, "resolution:     8x4\n");
        HAS(r, "format:         png\n");
        cu_result_free(&r);
    }
    json_t *j = info_json("'plate.####.png'");
    ck_assert_str_eq(jstr(j, "kind"), "sequence");
    ck_assert_str_eq(jstr(j, "pattern"), "plate.####.png");
    ck_assert(json_is_null(json_object_get(j, "frames")));
    ck_assert_int_eq(jint(j, "first"), 1001);
    ck_assert_int_eq(jint(j, "last"), 1012);
    ck_assert_int_eq(jint(j, "count"), 7);
    ck_assert_int_eq(jint(j, "missing_count"), 5);
    ck_assert_int_eq(jint(j, "checked"), 7);
    json_t *miss = json_object_get(j, "missing");
    const int want[3][2] = {{1004, 1004}, {1006, 1008}, {1011, 1011}};
    ck_assert_int_eq(json_array_size(miss), 3);
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 2; k++)
            ck_assert_int_eq(json_integer_value(json_array_get(json_array_get(miss, i), k)), want[i][k]);
    ck_assert(json_is_null(json_object_get(j, "mismatch")));
    json_t *first = json_object_get(j, "first_frame");
    ck_assert_int_eq(jint(first, "frame"), 1001);
    ck_assert_str_eq(jstr(first, "path"), "plate.1001.png");
    ck_assert_int_eq(jint(first, "width"), 8);
    json_decref(j);

    // --frames restricts: only the frames asked for are counted and checked.
    run_result r = info("'plate.####.png' --frames 1002-1006");
    EXPECT_OK(r);
    HAS(r, "frames:         1002-1006: 3 frames, 2 missing (--frames)\n");
    HAS(r, "missing:        1004, 1006\n");
    HAS(r, "first frame:    1002\n");
    cu_result_free(&r);
    j = info_json("--frames=1004-1010x2 'plate.####.png'");  // 1004 1006 1008 1010
    ck_assert_str_eq(jstr(j, "frames"), "1004-1010x2");
    ck_assert_int_eq(jint(j, "count"), 1);
    ck_assert_int_eq(jint(j, "missing_count"), 3);
    ck_assert_int_eq(jint(json_object_get(j, "first_frame"), "frame"), 1010);
    json_decref(j);

    // A pattern in another directory, unpadded %d, EXR mattes (no default layer).
    ck_assert_int_eq(mkdir(T("mattes"), 0755), 0);
    float a[6 * 4] = {0};
    const char *names[1] = {"person"};
    const float *alphas[1] = {a};
    roto_matte_layers m = {.width = 6, .height = 4, .n_objects = 1, .object_names = names, .alphas = alphas};
    roto_exr_opts o;
    roto_exr_opts_init(&o);
    for (int fr = 7; fr <= 11; fr++) {
        char name[64];
        snprintf(name, sizeof name, "mattes/m.%d.exr", fr);
        ck_assert_int_eq(roto_exr_write_mattes(T(name), &m, &o), ROTO_OK);
    }
    r = info("mattes/m.%d.exr");
    EXPECT_OK(r);
    HAS(r, "frames:         7-11: 5 frames\n");
    HAS(r, "sizes:          6x4 in all 5 frame headers\n");
    HAS(r, "file:           mattes/m.7.exr\n");
    HAS(r, "roto reads:     nothing by default");
    ck_assert_ptr_null(strstr(r.out, "missing"));
    cu_result_free(&r);

    // An existing file whose name looks like a pattern is a file.
    write_simple(T("odd#name.png"), 3, 2, 3, 8);
    r = info("'odd#name.png'");
    EXPECT_OK(r);
    HAS(r, "resolution:     3x2\n");
    cu_result_free(&r);
}
END_TEST

START_TEST(test_sequence_mismatch) {
    for (int fr = 1; fr <= 6; fr++) {
        roto_frame f;
        int W = (fr == 3 || fr == 5) ? 9 : 8;
        make_frame(&f, W, 4, 3, ROTO_PIX_F32, 16);
        char name[64];
        snprintf(name, sizeof name, "s.%02d.exr", fr);
        write_frame(T(name), &f, 16, ROTO_EXR_ZIP, ROTO_TIFF_DEFLATE);
        roto_frame_free(&f);
    }
    run_result r = info("'s.##.exr'");
    EXPECT_OK(r);
    HAS(r, "frames:         1-6: 6 frames\n");
    HAS(r, "size mismatch:  2 of 6 frames are not 8x4; first: frame 3 is 9x4 (s.03.exr)\n");
    cu_result_free(&r);
    json_t *j = info_json("'s.##.exr'");
    json_t *mm = json_object_get(j, "mismatch");
    ck_assert(json_is_object(mm));
    ck_assert_int_eq(jint(mm, "frame"), 3);
    ck_assert_str_eq(jstr(mm, "path"), "s.03.exr");
    ck_assert_int_eq(jint(mm, "width"), 9);
    ck_assert_int_eq(jint(mm, "height"), 4);
    ck_assert_int_eq(jint(mm, "expected_width"), 8);
    ck_assert_int_eq(jint(mm, "count"), 2);
    json_decref(j);
    // Restricted to frames that agree: no mismatch.
    r = info("'s.##.exr' --frames 4,6,1");
    EXPECT_OK(r);
    HAS(r, "frames:         1-6: 3 frames (--frames)\n");
    HAS(r, "sizes:          8x4 in all 3 frame headers\n");
    cu_result_free(&r);
    // A damaged frame in the middle is an error naming it.
    truncate_copy(T("s.01.exr"), T("s.04.exr.cut"), 64);
    rename(T("s.04.exr.cut"), T("s.04.exr"));
    expect_error("'s.##.exr'", "s.04.exr", NULL);
}
END_TEST

// ---- errors and usage ----------------------------------------------------------------------

START_TEST(test_errors) {
    expect_error("missing.exr", "missing.exr", "no such file");
    write_bytes(T("empty.png"), "", 0);
    expect_error("empty.png", "empty.png", "empty");
    write_bytes(T("notes.txt"), "just some text, not an image\n", 29);
    expect_error("notes.txt", "notes.txt", "unknown format");
    ck_assert_int_eq(mkdir(T("adir"), 0755), 0);
    expect_error("adir", "adir", "directory");

    // Truncated headers of every format.
    write_simple(T("full.png"), 16, 16, 3, 8);
    truncate_copy(T("full.png"), T("cut.png"), 20);
    expect_error("cut.png", "cut.png", "truncated");
    roto_frame f;
    make_frame(&f, 16, 16, 3, ROTO_PIX_F32, 16);
    write_frame(T("full.exr"), &f, 16, ROTO_EXR_ZIP, ROTO_TIFF_DEFLATE);
    write_frame(T("full.dpx"), &f, 10, ROTO_EXR_ZIP, ROTO_TIFF_DEFLATE);
    write_frame(T("full.tif"), &f, 16, ROTO_EXR_ZIP, ROTO_TIFF_DEFLATE);
    write_frame(T("full.jpg"), &f, 8, ROTO_EXR_ZIP, ROTO_TIFF_DEFLATE);
    roto_frame_free(&f);
    truncate_copy(T("full.exr"), T("cut.exr"), 100);
    expect_error("cut.exr", "cut.exr", NULL);
    truncate_copy(T("full.dpx"), T("cut.dpx"), 1000);
    expect_error("cut.dpx", "cut.dpx", "truncated");
    truncate_copy(T("full.tif"), T("cut.tif"), 6);
    expect_error("cut.tif", "cut.tif", NULL);
    truncate_copy(T("full.jpg"), T("cut.jpg"), 30);
    expect_error("cut.jpg", "cut.jpg", NULL);

    // Sequences: nothing matches; a directory that is not there; --frames
    // selecting only missing frames.
    expect_error("'none.####.exr'", "none.", "no files match");
    expect_error("'nodir/p.####.png'", "nodir", NULL);
    write_simple(T("q.0001.png"), 4, 4, 3, 8);
    expect_error("'q.####.png' --frames 5-9", "q.####.png", "none of the selected frames");
    // A frame that is not an image at all.
    write_bytes(T("q.0002.png"), "garbage!", 8);
    expect_error("'q.####.png'", "q.0002.png", "unknown");

    // Checkpoints keep their errors: a legacy torch file is explained.
    char args[PATH_MAX + 64];
    snprintf(args, sizeof args, "'%s/tests/fixtures/ckpt/legacy.pt'", g_root);
    expect_error(args, "legacy", "not supported");
}
END_TEST

START_TEST(test_usage) {
    write_simple(T("a.png"), 4, 4, 3, 8);
    write_simple(T("b.png"), 4, 4, 3, 8);
    expect_usage("", "usage");
    expect_usage("--bogus a.png", "--bogus");
    expect_usage("a.png b.png", "one FILE");
    expect_usage("'a.####.png' --frames", "--frames");
    expect_usage("a.png --frames 1-3", "pattern");
    expect_usage("'b.####.png' --frames 3-x", "frame range");
    expect_usage("--tensors a.png", "--tensors");
    expect_usage("--tensors 'a.####.png'", "--tensors");
    expect_usage("'a.##.#.png'", "more than one frame field");
    run_result r = info("--help");
    ck_assert_int_eq(r.code, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "usage: roto info"));
    cu_result_free(&r);
}
END_TEST

// Checkpoints still work, now also as JSON (the text output is tested in test_ckpt).
START_TEST(test_checkpoint_json) {
    char args[PATH_MAX + 64];
    snprintf(args, sizeof args, "--tensors '%s/tests/fixtures/ckpt/tensors.safetensors'", g_root);
    json_t *j = info_json(args);
    ck_assert_str_eq(jstr(j, "kind"), "checkpoint");
    ck_assert_str_eq(jstr(j, "format"), "safetensors");
    long long n = jint(j, "tensors");
    ck_assert_int_gt(n, 0);
    json_t *tl = json_object_get(j, "tensor_list");
    ck_assert_int_eq((long long)json_array_size(tl), n);
    int found = 0;
    for (size_t i = 0; i < json_array_size(tl); i++) {
        json_t *t = json_array_get(tl, i);
        if (strcmp(jstr(t, "name"), "conv.weight")) continue;
        found = 1;
        ck_assert_str_eq(jstr(t, "dtype"), "f32");
        json_t *shape = json_object_get(t, "shape");
        const int want[4] = {4, 3, 2, 2};
        ck_assert_int_eq(json_array_size(shape), 4);
        for (int d = 0; d < 4; d++) ck_assert_int_eq(json_integer_value(json_array_get(shape, d)), want[d]);
    }
    ck_assert(found);
    ck_assert_str_eq(jstr(json_object_get(j, "metadata"), "note"), "roto test fixture");
    long long sum = 0;
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(j, "dtypes"), key, v) sum += json_integer_value(v);
    ck_assert_int_eq(sum, n);
    json_decref(j);
}
END_TEST

static Suite *info_cli_suite(void) {
    Suite *s = suite_create("info_cli");
    TCase *tc = tcase_create("info");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_png_jpeg);
    tcase_add_test(tc, test_exr);
    tcase_add_test(tc, test_exr_windows_and_mattes);
    tcase_add_test(tc, test_dpx_tiff);
    tcase_add_test(tc, test_fixtures);
    tcase_add_test(tc, test_sequence_gaps);
    tcase_add_test(tc, test_sequence_mismatch);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_usage);
    tcase_add_test(tc, test_checkpoint_json);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(info_cli_suite)
