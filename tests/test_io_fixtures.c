// test_io_fixtures.c: read images written by other tools (ImageMagick,
// OpenEXR's exrmaketiled/exrstdattr/exrmultiview/exrmultipart; see
// tests/fixtures/io/README.md) and compare every pixel with the ramp they were
// made from:  R = x/(W-1), G = y/(H-1), B = (x+y)/(W+H-2), A = (x*H+y)/(W*H-1).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/image.h"
#include "util/test_util.h"

static char g_fixtures[4096];

// The fixture directory, whether the test runs from the repository root or
// from its build directory.
static const char *fixture_dir(void) {
    if (g_fixtures[0]) return g_fixtures;
    const char *cands[] = {"tests/fixtures/io", "../tests/fixtures/io", "../../tests/fixtures/io"};
    struct stat st;
    for (size_t i = 0; i < sizeof cands / sizeof *cands; i++)
        if (stat(cands[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            snprintf(g_fixtures, sizeof g_fixtures, "%s", cands[i]);
            return g_fixtures;
        }
    // Next to the executable: <repo>/<build>/tests/test_io_fixtures
    char exe[3000];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        for (int up = 0; up < 3; up++) {
            char *s = strrchr(exe, '/');
            if (!s) break;
            *s = '\0';
        }
        snprintf(g_fixtures, sizeof g_fixtures, "%s/tests/fixtures/io", exe);
        if (stat(g_fixtures, &st) == 0) return g_fixtures;
    }
    ck_abort_msg("tests/fixtures/io not found (run from the repository root)");
    return NULL;
}

static roto_status read_fixture(const char *name, const roto_read_opts *o, roto_frame *f) {
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", fixture_dir(), name);
    return roto_image_read(p, o, f);
}

static double ramp(int c, int x, int y, int w, int h) {
    switch (c) {
    case 0: return x / (double)(w - 1);
    case 1: return y / (double)(h - 1);
    case 2: return (x + y) / (double)(w + h - 2);
    default: return (x * h + y) / (double)(w * h - 1);
    }
}

// Compare a decoded fixture with the ramp (gray files hold the R ramp; gray+
// alpha files the R ramp and A). invert: 1 - ramp (ImageMagick -negate).
static void check_ramp(const char *name, const roto_read_opts *o, int w, int h, int channels, roto_pixel_type type,
                       int bits, double tol, int invert) {
    roto_frame f;
    roto_status st = read_fixture(name, o, &f);
    ck_assert_msg(st == ROTO_OK, "%s: %s", name, roto_last_error());
    ck_assert_msg(f.width == w && f.height == h && f.channels == channels, "%s: %dx%dx%d", name, f.width, f.height,
                  f.channels);
    ck_assert_msg(f.type == type && f.bit_depth == bits, "%s: type %d bits %d", name, f.type, f.bit_depth);
    double maxe = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < channels; c++) {
                int rc = channels <= 2 ? (c == 0 ? 0 : 3) : c;
                double ref = ramp(rc, x, y, w, h);
                if (invert && rc < 3) ref = 1.0 - ref;
                double v = roto_frame_value(&f, ((size_t)y * w + x) * channels + c);
                maxe = fmax(maxe, fabs(v - ref));
            }
    ck_assert_msg(maxe <= tol, "%s: max error %.6f > %.6f", name, maxe, tol);
    roto_frame_free(&f);
}

#define CODE(bits, n) ((n) / (double)((1 << (bits)) - 1) + 1e-9)
#define HALF_TOL 5e-4  // half precision (2^-11 relative) + ImageMagick's Q16 step

START_TEST(test_png_fixtures) {
    check_ramp("png_rgb8.png", NULL, 16, 8, 3, ROTO_PIX_U16, 8, CODE(8, 1), 0);
    check_ramp("png_rgba16.png", NULL, 16, 8, 4, ROTO_PIX_U16, 16, CODE(16, 1), 0);
    check_ramp("png_gray8.png", NULL, 16, 8, 1, ROTO_PIX_U16, 8, CODE(8, 1), 0);
    check_ramp("png_graya16.png", NULL, 16, 8, 2, ROTO_PIX_U16, 16, CODE(16, 1), 0);
    roto_frame f;
    // Palette + transparency: expanded to RGBA with exact colours.
    ck_assert_msg(read_fixture("png_palette_trns.png", NULL, &f) == ROTO_OK, "%s", roto_last_error());
    ck_assert_int_eq(f.channels, 4);
    ck_assert_int_eq(f.bit_depth, 8);
    const uint16_t *d = f.data;
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 16; x++) {
            const uint16_t *px = d + (y * 16 + x) * 4;
            int band = x / 4;
            if (band == 3) {
                ck_assert_int_eq(px[3], 0);
                continue;
            }
            ck_assert_int_eq(px[3], 255);
            ck_assert_int_eq(px[0], band == 0 ? 255 : 0);
            ck_assert_int_eq(px[1], band == 1 ? 255 : 0);
            ck_assert_int_eq(px[2], band == 2 ? 255 : 0);
        }
    roto_frame_free(&f);
    // 1-bit gray scaled to 8 bits.
    ck_assert_int_eq(read_fixture("png_gray1.png", NULL, &f), ROTO_OK);
    ck_assert_int_eq(f.channels, 1);
    ck_assert_int_eq(f.bit_depth, 8);
    for (int y = 0; y < 8; y++)
        for (int x = 0; x < 16; x++) ck_assert_int_eq(((uint16_t *)f.data)[y * 16 + x], (x + y) % 2 ? 255 : 0);
    ck_assert_int_eq(f.meta.transfer, ROTO_TF_SRGB);
    roto_frame_free(&f);
}
END_TEST

START_TEST(test_jpeg_fixtures) {
    check_ramp("jpeg_rgb.jpg", NULL, 16, 8, 3, ROTO_PIX_U16, 8, CODE(8, 3), 0);
    check_ramp("jpeg_gray.jpg", NULL, 16, 8, 1, ROTO_PIX_U16, 8, CODE(8, 3), 0);
    roto_frame f;
    ck_assert_int_eq(read_fixture("jpeg_cmyk.jpg", NULL, &f), ROTO_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "CMYK"));
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "jpeg_cmyk.jpg"));
    ck_assert_ptr_null(f.data);
}
END_TEST

START_TEST(test_tiff_fixtures) {
    check_ramp("tiff_rgb8.tif", NULL, 16, 8, 3, ROTO_PIX_U16, 8, CODE(8, 1), 0);
    check_ramp("tiff_rgba16_lzw.tif", NULL, 16, 8, 4, ROTO_PIX_U16, 16, CODE(16, 1), 0);
    check_ramp("tiff_gray8_zip.tif", NULL, 16, 8, 1, ROTO_PIX_U16, 8, CODE(8, 1), 0);
    check_ramp("tiff_float32.tif", NULL, 16, 8, 3, ROTO_PIX_F32, 32, 2.0 / 65535, 0);
    check_ramp("tiff_half.tif", NULL, 16, 8, 3, ROTO_PIX_F32, 16, HALF_TOL, 0);
    check_ramp("tiff_tiled16.tif", NULL, 40, 24, 3, ROTO_PIX_U16, 16, CODE(16, 1), 0);
    roto_frame f;
    ck_assert_int_eq(read_fixture("tiff_planar.tif", NULL, &f), ROTO_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "separate"));
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "tiff_planar.tif"));
    ck_assert_int_eq(read_fixture("tiff_float32.tif", NULL, &f), ROTO_OK);
    ck_assert_int_eq(f.meta.transfer, ROTO_TF_LINEAR);
    roto_frame_free(&f);
}
END_TEST

START_TEST(test_dpx_fixtures) {
    // ImageMagick scales Q16 to 10 bits by truncation: within 2.5 codes.
    check_ramp("dpx_rgb10_be.dpx", NULL, 16, 8, 3, ROTO_PIX_U16, 10, CODE(10, 2.5), 0);
    check_ramp("dpx_rgb10_le.dpx", NULL, 16, 8, 3, ROTO_PIX_U16, 10, CODE(10, 2.5), 0);
    check_ramp("dpx_rgb8.dpx", NULL, 16, 8, 3, ROTO_PIX_U16, 8, CODE(8, 1), 0);
    check_ramp("dpx_rgb16.dpx", NULL, 16, 8, 3, ROTO_PIX_U16, 16, CODE(16, 1), 0);
    check_ramp("dpx_rgba10.dpx", NULL, 12, 8, 4, ROTO_PIX_U16, 10, CODE(10, 2.5), 0);
    // Both byte orders decode to the same codes.
    roto_frame a, b;
    ck_assert_int_eq(read_fixture("dpx_rgb10_be.dpx", NULL, &a), ROTO_OK);
    ck_assert_int_eq(read_fixture("dpx_rgb10_le.dpx", NULL, &b), ROTO_OK);
    ck_assert(!memcmp(a.data, b.data, roto_frame_bytes(&a)));
    roto_frame_free(&a);
    roto_frame_free(&b);
}
END_TEST

START_TEST(test_exr_fixtures) {
    check_ramp("exr_rgb_half_none.exr", NULL, 16, 8, 3, ROTO_PIX_F32, 16, HALF_TOL, 0);
    check_ramp("exr_rgba_half_piz.exr", NULL, 16, 8, 4, ROTO_PIX_F32, 16, HALF_TOL, 0);
    check_ramp("exr_rgb_zip.exr", NULL, 16, 8, 3, ROTO_PIX_F32, 16, HALF_TOL, 0);
    check_ramp("exr_rgb_rle.exr", NULL, 16, 8, 3, ROTO_PIX_F32, 16, HALF_TOL, 0);
    check_ramp("exr_rgb_pxr24.exr", NULL, 16, 8, 3, ROTO_PIX_F32, 16, HALF_TOL, 0);
    check_ramp("exr_y_zip.exr", NULL, 16, 8, 1, ROTO_PIX_F32, 16, HALF_TOL, 0);
    check_ramp("exr_tiled.exr", NULL, 40, 24, 4, ROTO_PIX_F32, 16, HALF_TOL, 0);
    check_ramp("exr_mipmap.exr", NULL, 40, 24, 4, ROTO_PIX_F32, 16, HALF_TOL, 0);

    // Layers of a multi-view file: default view and "right" (inverted).
    check_ramp("exr_multiview.exr", NULL, 16, 8, 3, ROTO_PIX_F32, 16, HALF_TOL, 0);
    roto_read_opts o;
    roto_read_opts_init(&o);
    o.layer = "right";
    check_ramp("exr_multiview.exr", &o, 16, 8, 3, ROTO_PIX_F32, 16, HALF_TOL, 1);
    roto_read_opts_init(&o);
    o.channels = "right.R, right.G ,right.B";
    check_ramp("exr_multiview.exr", &o, 16, 8, 3, ROTO_PIX_F32, 16, HALF_TOL, 1);

    // Multi-part: part 0 by default, part 1 on request.
    check_ramp("exr_multipart.exr", NULL, 16, 8, 3, ROTO_PIX_F32, 16, HALF_TOL, 0);
    roto_read_opts_init(&o);
    o.exr_part = 1;
    check_ramp("exr_multipart.exr", &o, 16, 8, 3, ROTO_PIX_F32, 16, HALF_TOL, 1);
    roto_frame f;
    o.exr_part = 5;
    ck_assert_int_eq(read_fixture("exr_multipart.exr", &o, &f), ROTO_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "part 5"));

    // Standard attributes set by exrstdattr.
    ck_assert_int_eq(read_fixture("exr_attrs.exr", NULL, &f), ROTO_OK);
    ck_assert(f.meta.has_fps && f.meta.fps.num == 24000 && f.meta.fps.den == 1001);
    ck_assert(f.meta.has_timecode);
    char tc[16];
    roto_timecode_to_string(f.meta.timecode, tc);
    ck_assert_str_eq(tc, "01:02:03:04");
    ck_assert_uint_eq(f.meta.timecode_user, 5);
    ck_assert(f.meta.has_chromaticities);
    ck_assert_float_eq_tol(f.meta.chromaticities[6], 0.3127f, 1e-6f);
    ck_assert_int_eq(f.meta.transfer, ROTO_TF_LINEAR);
    roto_frame_free(&f);

    // DWAA tiles written by OpenEXR (level 45), read with roto's DWA codec
    // (io/exr_dwa.c): R,G,B are lossy (measured max error 0.0045 against the
    // ramp), A is RLE (half precision). test_exr_dwa.c compares against the
    // library's own decode.
    check_ramp("exr_dwaa_tiled.exr", NULL, 40, 24, 4, ROTO_PIX_F32, 16, 6e-3, 0);
}
END_TEST

START_TEST(test_probe_headers) {
    const char *names[] = {"png_rgba16.png", "jpeg_rgb.jpg", "tiff_tiled16.tif", "dpx_rgb10_le.dpx", "exr_tiled.exr"};
    const int w[] = {16, 16, 40, 16, 40}, ch[] = {4, 3, 3, 3, 4};
    for (int i = 0; i < 5; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", fixture_dir(), names[i]);
        roto_frame f;
        ck_assert_msg(roto_image_probe(p, NULL, &f) == ROTO_OK, "%s", roto_last_error());
        ck_assert_int_eq(f.width, w[i]);
        ck_assert_int_eq(f.channels, ch[i]);
        ck_assert_ptr_null(f.data);
    }
}
END_TEST

static Suite *io_fixtures_suite(void) {
    Suite *s = suite_create("io_fixtures");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_png_fixtures);
    tcase_add_test(tc, test_jpeg_fixtures);
    tcase_add_test(tc, test_tiff_fixtures);
    tcase_add_test(tc, test_dpx_fixtures);
    tcase_add_test(tc, test_exr_fixtures);
    tcase_add_test(tc, test_probe_headers);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(io_fixtures_suite)
