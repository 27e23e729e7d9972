// test_preview.c: io/preview.h (review images of `roto track`): the overlay's
// blending and outlines against per-pixel double-precision references of the
// documented formulas, the resize against a brute-force box average, the digit font
// glyph by glyph, and the contact sheet's layout (cell positions, labels, gaps,
// the written PNG read back).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/image.h"
#include "io/preview.h"
#include "util/test_util.h"

// A plate whose pixels all differ: (x, y, c) -> some value in 0..255.
static uint8_t *make_plate(int w, int h) {
    uint8_t *p = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) p[((size_t)y * w + x) * 3 + c] = (uint8_t)((x * 37 + y * 91 + c * 53) & 255);
    return p;
}

// The fill of the documented formula in double precision. Exact unless the
// blended value sits within 1e-4 of a rounding tie (float vs double then may differ
// by one code): *tie tells.
static int blend_ref(int in, int col, double a, int *tie) {
    double v = in * (1.0 - a) + col * a;
    double frac = v - floor(v);
    *tie = fabs(frac - 0.5) < 1e-4;
    return (int)floor(v + 0.5);
}

static double clamp01(double v) { return v > 0 ? (v < 1 ? v : 1) : 0; }

START_TEST(test_palette) {
    uint8_t a[3], b[3];
    for (int i = 0; i < ROTO_PREVIEW_COLOURS; i++)
        for (int j = 0; j < i; j++) {
            roto_preview_colour(i, a);
            roto_preview_colour(j, b);
            ck_assert_msg(memcmp(a, b, 3), "colours %d and %d are equal", i, j);
        }
    roto_preview_colour(3, a);
    roto_preview_colour(3 + ROTO_PREVIEW_COLOURS, b);
    ck_assert(!memcmp(a, b, 3));  // cycles
    roto_preview_colour(-4, a);
    roto_preview_colour(0, b);
    ck_assert(!memcmp(a, b, 3));
}
END_TEST

// Fill only (no outline): soft values, values outside 0..1, NaN, two objects overlapping.
START_TEST(test_overlay_fill) {
    const int W = 23, H = 17;  // odd sizes
    uint8_t *rgb = make_plate(W, H), *orig = make_plate(W, H);
    float *m0 = malloc(sizeof(float) * W * H), *m1 = malloc(sizeof(float) * W * H);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            size_t i = (size_t)y * W + x;
            m0[i] = x < 8 ? 1.0f : x == 8 ? 0.5f : x == 9 ? 0.25f : x == 10 ? 1.7f : x == 11 ? -0.3f : 0.0f;
            if (x == 12 && y == 3) m0[i] = NAN;
            m1[i] = y >= 10 ? (float)(x % 5) / 4.0f : 0.0f;  // overlaps m0 in its lower rows
        }
    const float *mattes[2] = {m0, m1};
    const float opacity = 0.6f;
    ck_assert_int_eq(roto_preview_overlay(rgb, W, H, mattes, 2, opacity, 0), ROTO_OK);
    uint8_t c0[3], c1[3];
    roto_preview_colour(0, c0);
    roto_preview_colour(1, c1);
    int ties = 0;
    for (size_t i = 0; i < (size_t)W * H; i++)
        for (int c = 0; c < 3; c++) {
            int tie0 = 0, tie1 = 0, v = orig[i * 3 + c];
            double a0 = opacity * (isnan(m0[i]) ? 0.0 : clamp01(m0[i])), a1 = opacity * clamp01(m1[i]);
            if (a0 > 0) v = blend_ref(v, c0[c], a0, &tie0);
            if (a1 > 0) v = blend_ref(v, c1[c], a1, &tie1);
            int got = rgb[i * 3 + c];
            if (tie0 || tie1) {
                ties++;
                ck_assert_msg(abs(got - v) <= 1 + tie0, "pixel %zu c%d: %d vs %d (tie)", i, c, got, v);
            } else {
                ck_assert_msg(got == v, "pixel %zu (x %zu, y %zu) c%d: got %d, expected %d", i, i % W, i / W, c,
                              got, v);
            }
        }
    ck_assert_int_lt(ties, W * H / 10);  // the exact comparison covers nearly every pixel
    // Opacity 0 changes nothing; a NULL matte is skipped.
    memcpy(rgb, orig, (size_t)W * H * 3);
    ck_assert_int_eq(roto_preview_overlay(rgb, W, H, mattes, 2, 0.0f, 0), ROTO_OK);
    ck_assert(!memcmp(rgb, orig, (size_t)W * H * 3));
    const float *none[1] = {NULL};
    ck_assert_int_eq(roto_preview_overlay(rgb, W, H, none, 1, 1.0f, 3), ROTO_OK);
    ck_assert(!memcmp(rgb, orig, (size_t)W * H * 3));
    // Opacity 1 on a full matte is the colour itself.
    for (size_t i = 0; i < (size_t)W * H; i++) m0[i] = 1.0f;
    ck_assert_int_eq(roto_preview_overlay(rgb, W, H, mattes, 1, 1.0f, 0), ROTO_OK);
    for (size_t i = 0; i < (size_t)W * H; i++) ck_assert(!memcmp(rgb + i * 3, c0, 3));
    free(rgb), free(orig), free(m0), free(m1);
}
END_TEST

// The outline: foreground pixels with background within Chebyshev distance t, the
// frame edge not counting as background. Brute-force reference per pixel.
START_TEST(test_overlay_outline) {
    const int W = 31, H = 20;
    float *m = calloc((size_t)W * H, sizeof(float));
    // A rectangle with a hole, plus a blob cut by the left and top edges, plus one pixel.
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int rect = x >= 10 && x <= 25 && y >= 5 && y <= 16 && !(x >= 16 && x <= 18 && y >= 9 && y <= 11);
            int edge_blob = x <= 4 && y <= 6;
            m[(size_t)y * W + x] = (rect || edge_blob) ? 0.9f : 0.1f;
        }
    m[2 * W + 20] = 1.0f;
    for (int t = 1; t <= 3; t++) {
        uint8_t *rgb = make_plate(W, H), *orig = make_plate(W, H);
        const float *mattes[1] = {m};
        // Opacity 0: only the outline changes pixels.
        ck_assert_int_eq(roto_preview_overlay(rgb, W, H, mattes, 1, 0.0f, t), ROTO_OK);
        uint8_t col[3];
        roto_preview_colour(0, col);
        int n_edge = 0;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                size_t i = (size_t)y * W + x;
                int edge = 0;
                if (m[i] >= 0.5f)
                    for (int dy = -t; dy <= t; dy++)
                        for (int dx = -t; dx <= t; dx++) {
                            int xx = x + dx, yy = y + dy;
                            if (xx >= 0 && yy >= 0 && xx < W && yy < H && m[(size_t)yy * W + xx] < 0.5f) edge = 1;
                        }
                n_edge += edge;
                const uint8_t *want = edge ? col : orig + i * 3;
                ck_assert_msg(!memcmp(rgb + i * 3, want, 3), "t %d: pixel (%d, %d) %s", t, x, y,
                              edge ? "should be outline" : "should be unchanged");
            }
        ck_assert_int_gt(n_edge, 0);
        // The blob cut by the frame: no outline along x = 0 or y = 0 away from its inner border.
        ck_assert(!memcmp(rgb, orig, 3));
        free(rgb), free(orig);
    }
    free(m);
}
END_TEST

START_TEST(test_overlay_errors) {
    uint8_t rgb[12] = {0};
    float m[4] = {1, 1, 1, 1};
    const float *mattes[1] = {m};
    ck_assert_int_eq(roto_preview_overlay(rgb, 2, 2, mattes, 1, 1.5f, 0), ROTO_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "opacity"));
    ck_assert_int_eq(roto_preview_overlay(rgb, 2, 2, mattes, 1, NAN, 0), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_preview_overlay(rgb, 0, 2, mattes, 1, 0.5f, 0), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_preview_overlay(rgb, 2, 2, NULL, 1, 0.5f, 0), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_preview_overlay(rgb, 2, 2, mattes, 1, 0.5f, -1), ROTO_ERR_INVALID_ARG);
    for (int i = 0; i < 12; i++) ck_assert_int_eq(rgb[i], 0);
}
END_TEST

// Resize against the documented box average, on odd sizes both ways.
START_TEST(test_resize) {
    static const int sizes[][4] = {{23, 17, 5, 3}, {144, 81, 64, 36}, {7, 5, 7, 5}, {3, 2, 8, 5}, {1, 1, 4, 3},
                                   {640, 360, 320, 180}, {11, 1, 2, 1}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int sw = sizes[s][0], sh = sizes[s][1], dw = sizes[s][2], dh = sizes[s][3];
        uint8_t *src = make_plate(sw, sh), *dst = malloc((size_t)dw * dh * 3);
        ck_assert_int_eq(roto_preview_resize(src, sw, sh, dst, dw, dh), ROTO_OK);
        for (int y = 0; y < dh; y++)
            for (int x = 0; x < dw; x++) {
                int y0 = (int)floor((double)y * sh / dh), y1 = (int)floor((double)(y + 1) * sh / dh);
                int x0 = (int)floor((double)x * sw / dw), x1 = (int)floor((double)(x + 1) * sw / dw);
                if (y1 <= y0) y1 = y0 + 1;
                if (x1 <= x0) x1 = x0 + 1;
                for (int c = 0; c < 3; c++) {
                    double sum = 0;
                    for (int yy = y0; yy < y1; yy++)
                        for (int xx = x0; xx < x1; xx++) sum += src[((size_t)yy * sw + xx) * 3 + c];
                    int want = (int)floor(sum / ((y1 - y0) * (x1 - x0)) + 0.5);
                    ck_assert_msg(dst[((size_t)y * dw + x) * 3 + c] == want, "%dx%d -> %dx%d at (%d, %d) c%d: %d vs %d",
                                  sw, sh, dw, dh, x, y, c, dst[((size_t)y * dw + x) * 3 + c], want);
                }
            }
        if (sw == dw && sh == dh) ck_assert(!memcmp(src, dst, (size_t)dw * dh * 3));  // identity
        free(src), free(dst);
    }
    uint8_t one[3] = {1, 2, 3}, out[3];
    ck_assert_int_eq(roto_preview_resize(one, 1, 1, out, 0, 1), ROTO_ERR_INVALID_ARG);
}
END_TEST

// Each glyph's cells, the box around the text, the width, clipping, bad characters.
START_TEST(test_text) {
    static const char *rows[11][5] = {
        {"###", "#.#", "#.#", "#.#", "###"}, {".#.", "##.", ".#.", ".#.", "###"}, {"###", "..#", "###", "#..", "###"},
        {"###", "..#", "###", "..#", "###"}, {"#.#", "#.#", "###", "..#", "..#"}, {"###", "#..", "###", "..#", "###"},
        {"###", "#..", "###", "#.#", "###"}, {"###", "..#", "..#", "..#", "..#"}, {"###", "#.#", "###", "#.#", "###"},
        {"###", "#.#", "###", "..#", "###"}, {"...", "...", "###", "...", "..."}};
    const char *text = "0123456789-";
    const int scale = 2, W = 120, H = 20, X0 = 5, Y0 = 4;
    ck_assert_int_eq(roto_preview_text_width(text, scale), (11 * 4 - 1) * 2);
    ck_assert_int_eq(roto_preview_text_width("", 3), 0);
    uint8_t *img = malloc((size_t)W * H * 3);
    memset(img, 77, (size_t)W * H * 3);
    const uint8_t fg[3] = {250, 251, 252}, bg[3] = {1, 2, 3};
    ck_assert_int_eq(roto_preview_text(img, W, H, X0, Y0, text, scale, fg, bg), ROTO_OK);
    int tw = roto_preview_text_width(text, scale);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            const uint8_t *px = img + ((size_t)y * W + x) * 3;
            int in_box = x >= X0 - scale && x < X0 + tw + scale && y >= Y0 - scale && y < Y0 + 5 * scale + scale;
            int on = 0;
            int gx = (x - X0) / scale, gy = (y - Y0) / scale;
            if (x >= X0 && y >= Y0 && gy < 5 && gx < 11 * 4 && gx % 4 < 3) on = rows[gx / 4][gy][gx % 4] == '#';
            const uint8_t other[3] = {77, 77, 77};
            const uint8_t *want = on ? fg : in_box ? bg : other;
            ck_assert_msg(!memcmp(px, want, 3), "(%d, %d): %d %d %d", x, y, px[0], px[1], px[2]);
        }
    // Clipped at the image's edges without harm; unknown characters refused, nothing drawn.
    ck_assert_int_eq(roto_preview_text(img, W, H, -7, H - 3, "88", 3, fg, bg), ROTO_OK);
    memset(img, 77, (size_t)W * H * 3);
    ck_assert_int_eq(roto_preview_text(img, W, H, 0, 0, "12a", 1, fg, bg), ROTO_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "'a'"));
    for (size_t i = 0; i < (size_t)W * H * 3; i++) ck_assert_int_eq(img[i], 77);
    free(img);
}
END_TEST

START_TEST(test_contact_layout) {
    roto_contact_sheet s;
    ck_assert_int_eq(roto_contact_init(&s, 7, 144, 81, 64, 0), ROTO_OK);
    ck_assert_int_eq(s.thumb_w, 64);
    ck_assert_int_eq(s.thumb_h, 36);  // 81 * 64 / 144
    ck_assert_int_eq(s.cols, 3);      // ceil(sqrt(7))
    ck_assert_int_eq(s.rows, 3);
    ck_assert_int_eq(s.gap, 4);
    ck_assert_int_eq(s.width, 4 + 3 * (64 + 4));
    ck_assert_int_eq(s.height, 4 + 3 * (36 + 4));
    // A solid red plate into cell 4 (column 1, row 1) labelled 1005.
    uint8_t *red = malloc(144 * 81 * 3);
    for (int i = 0; i < 144 * 81; i++) red[i * 3] = 200, red[i * 3 + 1] = 10, red[i * 3 + 2] = 20;
    ck_assert_int_eq(roto_contact_set(&s, 4, red, 144, 81, 1005), ROTO_OK);
    int x0 = 4 + 1 * 68, y0 = 4 + 1 * 40, k = s.label_scale;
    int lw = roto_preview_text_width("1005", k), lh = ROTO_FONT_H * k;
    int n_white = 0;
    for (int y = 0; y < s.height; y++)
        for (int x = 0; x < s.width; x++) {
            const uint8_t *px = s.rgb + ((size_t)y * s.width + x) * 3;
            int in_cell = x >= x0 && x < x0 + 64 && y >= y0 && y < y0 + 36;
            // The label's box: [k - k, k + lw + k) inside the cell.
            int in_label = in_cell && x - x0 < lw + 2 * k && y - y0 < lh + 2 * k;
            if (!in_cell) {
                ck_assert_msg(px[0] == 32 && px[1] == 32 && px[2] == 32, "(%d, %d) should be background", x, y);
            } else if (!in_label) {
                ck_assert_msg(px[0] == 200 && px[1] == 10 && px[2] == 20, "(%d, %d) should be the plate", x, y);
            } else {
                int white = px[0] == 255 && px[1] == 255 && px[2] == 255, black = !px[0] && !px[1] && !px[2];
                ck_assert_msg(white || black, "(%d, %d): label pixels are white on black", x, y);
                n_white += white;
            }
        }
    // "1005": lit glyph cells 1 -> 8, 0 -> 12, 0 -> 12, 5 -> 11, each k x k pixels.
    ck_assert_int_eq(n_white, (8 + 12 + 12 + 11) * k * k);
    // Written and read back.
    char path[] = "/tmp/roto_preview_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    char png[64];
    snprintf(png, sizeof png, "%s.png", path);
    ck_assert_int_eq(roto_contact_write(&s, png), ROTO_OK);
    roto_frame f = {0};
    ck_assert_int_eq(roto_image_read(png, NULL, &f), ROTO_OK);
    ck_assert_int_eq(f.width, s.width);
    ck_assert_int_eq(f.height, s.height);
    ck_assert_int_eq(f.channels, 3);
    const uint16_t *d = f.data;
    for (size_t i = 0; i < (size_t)s.width * s.height * 3; i++) ck_assert_int_eq(d[i], s.rgb[i]);
    roto_frame_free(&f);
    unlink(png);
    unlink(path);
    // Bad cells; explicit columns, fewer cells than columns; small plates keep their size.
    ck_assert_int_eq(roto_contact_set(&s, 7, red, 144, 81, 1), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_contact_set(&s, -1, red, 144, 81, 1), ROTO_ERR_INVALID_ARG);
    roto_contact_free(&s);
    ck_assert_int_eq(roto_contact_init(&s, 2, 40, 30, 320, 5), ROTO_OK);
    ck_assert_int_eq(s.cols, 2);
    ck_assert_int_eq(s.rows, 1);
    ck_assert_int_eq(s.thumb_w, 40);
    ck_assert_int_eq(s.thumb_h, 30);
    ck_assert_int_eq(roto_contact_set(&s, 1, red, 144, 81, -12), ROTO_OK);  // negative frame numbers
    roto_contact_free(&s);
    ck_assert_int_eq(roto_contact_init(&s, 0, 40, 30, 320, 0), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(roto_contact_init(&s, 3, 4000, 10, 1, 0), ROTO_OK);  // thumb height at least 1
    ck_assert_int_eq(s.thumb_h, 1);
    roto_contact_free(&s);
    free(red);
}
END_TEST

static Suite *preview_suite(void) {
    Suite *s = suite_create("preview");
    TCase *tc = tcase_create("preview");
    tcase_add_test(tc, test_palette);
    tcase_add_test(tc, test_overlay_fill);
    tcase_add_test(tc, test_overlay_outline);
    tcase_add_test(tc, test_overlay_errors);
    tcase_add_test(tc, test_resize);
    tcase_add_test(tc, test_text);
    tcase_add_test(tc, test_contact_layout);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(preview_suite)
