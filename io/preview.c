// preview.c: matte overlays, a digit font and contact sheets for review images
// (see preview.h).
#include "io/preview.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/frame.h"
#include "io/image.h"

// Ten colours that stay apart from each other and from skin, wall and sky tones
// (the order of matplotlib's "tab10", which compositors know from plots).
static const uint8_t PALETTE[ROTO_PREVIEW_COLOURS][3] = {
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},   {148, 103, 189},
    {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207},
};

void roto_preview_colour(int k, uint8_t rgb[3]) {
    if (k < 0) k = 0;
    memcpy(rgb, PALETTE[k % ROTO_PREVIEW_COLOURS], 3);
}

static int bad_size(int w, int h) { return w < 1 || h < 1 || (size_t)w * (size_t)h > ROTO_MAX_PIXELS; }

static float clamp01(float v) { return v > 0.0f ? (v < 1.0f ? v : 1.0f) : 0.0f; }  // NaN -> 0

// Outline mask of one matte: foreground pixels with a background pixel within
// Chebyshev distance t. Two box passes over prefix sums, so the cost does not depend
// on t. Scratch: bgc w*h ints, pre max(w, h) + 1 ints.
static void outline_mask(const float *m, int w, int h, int t, int *bgc, int *pre, uint8_t *out) {
    // Horizontal: bgc[y][x] = background pixels in row y, columns [x - t, x + t].
    for (int y = 0; y < h; y++) {
        const float *row = m + (size_t)y * w;
        pre[0] = 0;
        for (int x = 0; x < w; x++) pre[x + 1] = pre[x] + !(row[x] >= 0.5f);
        for (int x = 0; x < w; x++) {
            int a = x - t < 0 ? 0 : x - t, b = x + t + 1 > w ? w : x + t + 1;
            bgc[(size_t)y * w + x] = pre[b] - pre[a];
        }
    }
    // Vertical over the row counts: any background in the square.
    for (int x = 0; x < w; x++) {
        pre[0] = 0;
        for (int y = 0; y < h; y++) pre[y + 1] = pre[y] + bgc[(size_t)y * w + x];
        for (int y = 0; y < h; y++) {
            int a = y - t < 0 ? 0 : y - t, b = y + t + 1 > h ? h : y + t + 1;
            size_t i = (size_t)y * w + x;
            out[i] = m[i] >= 0.5f && pre[b] - pre[a] > 0;
        }
    }
}

roto_status roto_preview_overlay(uint8_t *rgb, int w, int h, const float *const *mattes, int n,
                                 float opacity, int outline) {
    if (!rgb || (n > 0 && !mattes) || n < 0 || bad_size(w, h))
        return roto_fail(ROTO_ERR_INVALID_ARG, "preview overlay: bad arguments (%dx%d, %d mattes)", w, h, n);
    if (!(opacity >= 0.0f && opacity <= 1.0f) || outline < 0 || outline > 1000)
        return roto_fail(ROTO_ERR_INVALID_ARG, "preview overlay: opacity %g must be in [0, 1], outline %d in "
                         "[0, 1000]", (double)opacity, outline);
    size_t npix = (size_t)w * h;
    int *bgc = NULL, *pre = NULL;
    uint8_t *edge = NULL;
    if (outline > 0) {
        bgc = malloc(npix * sizeof(int));
        pre = malloc(((size_t)(w > h ? w : h) + 1) * sizeof(int));
        edge = malloc(npix);
        if (!bgc || !pre || !edge) {
            free(bgc);
            free(pre);
            free(edge);
            return roto_fail(ROTO_ERR_OOM, "preview overlay: out of memory (%dx%d)", w, h);
        }
    }
    for (int k = 0; k < n; k++) {
        const float *m = mattes[k];
        if (!m) continue;
        uint8_t col[3];
        roto_preview_colour(k, col);
        for (size_t i = 0; i < npix; i++) {
            float a = opacity * clamp01(m[i]);
            if (a <= 0.0f) continue;
            for (int c = 0; c < 3; c++) {
                float v = (float)rgb[i * 3 + c] * (1.0f - a) + (float)col[c] * a;
                rgb[i * 3 + c] = (uint8_t)(v + 0.5f);
            }
        }
        if (outline > 0) {
            outline_mask(m, w, h, outline, bgc, pre, edge);
            for (size_t i = 0; i < npix; i++)
                if (edge[i]) memcpy(rgb + i * 3, col, 3);
        }
    }
    free(bgc);
    free(pre);
    free(edge);
    return ROTO_OK;
}

roto_status roto_preview_resize(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh) {
    if (!src || !dst || bad_size(sw, sh) || bad_size(dw, dh))
        return roto_fail(ROTO_ERR_INVALID_ARG, "preview resize: bad sizes %dx%d -> %dx%d", sw, sh, dw, dh);
    for (int y = 0; y < dh; y++) {
        int y0 = (int)((long long)y * sh / dh), y1 = (int)((long long)(y + 1) * sh / dh);
        if (y1 <= y0) y1 = y0 + 1;
        for (int x = 0; x < dw; x++) {
            int x0 = (int)((long long)x * sw / dw), x1 = (int)((long long)(x + 1) * sw / dw);
            if (x1 <= x0) x1 = x0 + 1;
            unsigned long sum[3] = {0, 0, 0};
            for (int yy = y0; yy < y1; yy++)
                for (int xx = x0; xx < x1; xx++)
                    for (int c = 0; c < 3; c++) sum[c] += src[((size_t)yy * sw + xx) * 3 + c];
            unsigned long cnt = (unsigned long)(y1 - y0) * (unsigned long)(x1 - x0);
            for (int c = 0; c < 3; c++) dst[((size_t)y * dw + x) * 3 + c] = (uint8_t)((sum[c] + cnt / 2) / cnt);
        }
    }
    return ROTO_OK;
}

// ---- the digit font ------------------------------------------------------------------

// 3 x 5 glyphs, one row per byte, bit 2 = left column.
static const uint8_t GLYPHS[11][ROTO_FONT_H] = {
    {7, 5, 5, 5, 7},  // 0
    {2, 6, 2, 2, 7},  // 1
    {7, 1, 7, 4, 7},  // 2
    {7, 1, 7, 1, 7},  // 3
    {5, 5, 7, 1, 1},  // 4
    {7, 4, 7, 1, 7},  // 5
    {7, 4, 7, 5, 7},  // 6
    {7, 1, 1, 1, 1},  // 7
    {7, 5, 7, 5, 7},  // 8
    {7, 5, 7, 1, 7},  // 9
    {0, 0, 7, 0, 0},  // -
};

static int glyph_index(char c) { return c >= '0' && c <= '9' ? c - '0' : c == '-' ? 10 : -1; }

int roto_preview_text_width(const char *text, int scale) {
    int n = text ? (int)strlen(text) : 0;
    return n ? (n * (ROTO_FONT_W + 1) - 1) * scale : 0;
}

static void put(uint8_t *rgb, int w, int h, int x, int y, const uint8_t c[3]) {
    if (x >= 0 && y >= 0 && x < w && y < h) memcpy(rgb + ((size_t)y * w + x) * 3, c, 3);
}

roto_status roto_preview_text(uint8_t *rgb, int w, int h, int x, int y, const char *text, int scale,
                              const uint8_t fg[3], const uint8_t bg[3]) {
    if (!rgb || !text || !fg || !bg || bad_size(w, h) || scale < 1 || scale > 1000)
        return roto_fail(ROTO_ERR_INVALID_ARG, "preview text: bad arguments (scale %d)", scale);
    for (const char *p = text; *p; p++)
        if (glyph_index(*p) < 0)
            return roto_fail(ROTO_ERR_INVALID_ARG, "preview text: no glyph for '%c' in \"%s\" (digits and '-' "
                             "only)", *p, text);
    int tw = roto_preview_text_width(text, scale), th = ROTO_FONT_H * scale;
    for (int yy = y - scale; yy < y + th + scale; yy++)
        for (int xx = x - scale; xx < x + tw + scale; xx++) put(rgb, w, h, xx, yy, bg);
    int gx = x;
    for (const char *p = text; *p; p++, gx += (ROTO_FONT_W + 1) * scale) {
        const uint8_t *g = GLYPHS[glyph_index(*p)];
        for (int r = 0; r < ROTO_FONT_H; r++)
            for (int c = 0; c < ROTO_FONT_W; c++) {
                if (!(g[r] >> (ROTO_FONT_W - 1 - c) & 1)) continue;
                for (int sy = 0; sy < scale; sy++)
                    for (int sx = 0; sx < scale; sx++) put(rgb, w, h, gx + c * scale + sx, y + r * scale + sy, fg);
            }
    }
    return ROTO_OK;
}

// ---- contact sheet -----------------------------------------------------------------------

roto_status roto_contact_init(roto_contact_sheet *s, int n_cells, int plate_w, int plate_h,
                              int max_thumb_w, int cols) {
    if (!s) return roto_fail(ROTO_ERR_INVALID_ARG, "contact sheet: NULL sheet");
    memset(s, 0, sizeof *s);
    if (n_cells < 1 || n_cells > 100000 || bad_size(plate_w, plate_h) || max_thumb_w < 1 || cols < 0)
        return roto_fail(ROTO_ERR_INVALID_ARG, "contact sheet: bad layout (%d cells of %dx%d plates, thumbnails "
                         "up to %d wide, %d columns)", n_cells, plate_w, plate_h, max_thumb_w, cols);
    s->n_cells = n_cells;
    s->thumb_w = plate_w < max_thumb_w ? plate_w : max_thumb_w;
    s->thumb_h = (int)((long long)plate_h * s->thumb_w / plate_w);
    if (s->thumb_h < 1) s->thumb_h = 1;
    if (cols == 0) cols = (int)ceil(sqrt((double)n_cells));
    s->cols = cols < n_cells ? cols : n_cells;
    s->rows = (n_cells + s->cols - 1) / s->cols;
    s->gap = 4;
    s->width = s->gap + s->cols * (s->thumb_w + s->gap);
    s->height = s->gap + s->rows * (s->thumb_h + s->gap);
    // Digits about a tenth of the thumbnail's height, at least one pixel per cell.
    s->label_scale = s->thumb_h / (10 * ROTO_FONT_H);
    if (s->label_scale < 1) s->label_scale = 1;
    if (bad_size(s->width, s->height)) {
        int w = s->width, h = s->height;
        memset(s, 0, sizeof *s);
        return roto_fail(ROTO_ERR_INVALID_ARG, "contact sheet: %dx%d pixels is too large (fewer frames, or "
                         "smaller thumbnails)", w, h);
    }
    s->rgb = malloc((size_t)s->width * s->height * 3);
    if (!s->rgb) {
        memset(s, 0, sizeof *s);
        return roto_fail(ROTO_ERR_OOM, "contact sheet: out of memory");
    }
    memset(s->rgb, 32, (size_t)s->width * s->height * 3);
    return ROTO_OK;
}

void roto_contact_free(roto_contact_sheet *s) {
    if (!s) return;
    free(s->rgb);
    memset(s, 0, sizeof *s);
}

roto_status roto_contact_set(roto_contact_sheet *s, int cell, const uint8_t *rgb, int w, int h, int label) {
    if (!s || !s->rgb || !rgb || cell < 0 || cell >= s->n_cells)
        return roto_fail(ROTO_ERR_INVALID_ARG, "contact sheet: bad cell %d (of %d)", cell, s ? s->n_cells : 0);
    size_t tn = (size_t)s->thumb_w * s->thumb_h * 3;
    uint8_t *thumb = malloc(tn);
    if (!thumb) return roto_fail(ROTO_ERR_OOM, "contact sheet: out of memory");
    roto_status st = roto_preview_resize(rgb, w, h, thumb, s->thumb_w, s->thumb_h);
    char text[16];
    snprintf(text, sizeof text, "%d", label);
    static const uint8_t white[3] = {255, 255, 255}, black[3] = {0, 0, 0};
    int k = s->label_scale;
    // The label sits inside the thumbnail, its background box touching the corner.
    if (st == ROTO_OK) st = roto_preview_text(thumb, s->thumb_w, s->thumb_h, k, k, text, k, white, black);
    if (st == ROTO_OK) {
        int col = cell % s->cols, row = cell / s->cols;
        int x0 = s->gap + col * (s->thumb_w + s->gap), y0 = s->gap + row * (s->thumb_h + s->gap);
        for (int y = 0; y < s->thumb_h; y++)
            memcpy(s->rgb + ((size_t)(y0 + y) * s->width + x0) * 3, thumb + (size_t)y * s->thumb_w * 3,
                   (size_t)s->thumb_w * 3);
    }
    free(thumb);
    return st;
}

roto_status roto_contact_write(const roto_contact_sheet *s, const char *path) {
    if (!s || !s->rgb || !path) return roto_fail(ROTO_ERR_INVALID_ARG, "contact sheet: nothing to write");
    roto_frame f = {0};
    ROTO_TRY(roto_frame_alloc(&f, s->width, s->height, 3, ROTO_PIX_U16, 8));
    uint16_t *d = f.data;
    size_t n = (size_t)s->width * s->height * 3;
    for (size_t i = 0; i < n; i++) d[i] = s->rgb[i];
    roto_write_opts o;
    roto_write_opts_init(&o);
    o.format = ROTO_FMT_PNG;
    roto_status st = roto_image_write(path, &f, &o);
    roto_frame_free(&f);
    return st;
}
