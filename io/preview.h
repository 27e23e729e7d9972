// preview.h: review images for tracked mattes, for a person to look at (never a
// deliverable): the plate with each object's matte overlaid in its own colour and
// outlined, frame numbers drawn with a tiny built-in digit font, and a contact
// sheet (a grid of downscaled previews of every Nth frame).
//
// Images here are 8-bit RGB, row-major, interleaved: pixel (x, y) channel c at
// rgb[(y * w + x) * 3 + c]. Mattes are float [h][w] in 0..1 (values outside are
// clamped), foreground where >= 0.5 as everywhere in io/ (matte.h).
//
// Overlay, per object k in order (a later object is drawn over an earlier one):
//   fill:    out = round(in * (1 - a) + colour_k * a),  a = opacity * clamp(matte, 0, 1)
//   outline: pixels with matte >= 0.5 that have a pixel with matte < 0.5 within a
//            (2t + 1) x (2t + 1) square around them (t = outline width; pixels off
//            the image count as foreground, so a matte cut by the frame edge is not
//            outlined along it) are set to colour_k.
#ifndef ROTO_IO_PREVIEW_H
#define ROTO_IO_PREVIEW_H

#include <stdint.h>

#include "engine/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ROTO_PREVIEW_COLOURS 10  // palette size; object k gets colour k % 10

// The colour of object k (k >= 0; negative k is taken as 0).
void roto_preview_colour(int k, uint8_t rgb[3]);

// Draw n mattes over rgb (w x h) in place. opacity in [0, 1]; outline width in
// pixels (0: no outline). mattes[k] may be NULL (object skipped).
roto_status roto_preview_overlay(uint8_t *rgb, int w, int h, const float *const *mattes, int n,
                                 float opacity, int outline);

// Downscale (or upscale) src (sw x sh) to dst (dw x dh) by averaging, for each
// destination pixel, the source pixels [floor(x * sw / dw), floor((x+1) * sw / dw))
// (at least one) in each direction, rounded to nearest.
roto_status roto_preview_resize(const uint8_t *src, int sw, int sh, uint8_t *dst, int dw, int dh);

// The built-in font: 3 x 5 cells per glyph for '0'..'9' and '-', drawn `scale`
// pixels per cell, one cell of space between glyphs.
#define ROTO_FONT_W 3
#define ROTO_FONT_H 5
// Width in pixels of `text` at `scale` (0 for an empty string).
int roto_preview_text_width(const char *text, int scale);
// Draw `text` with its top-left corner at (x, y) on a box of `bg` that extends
// `scale` pixels around it (clipped to the image). Characters other than digits
// and '-' are INVALID_ARG (nothing drawn).
roto_status roto_preview_text(uint8_t *rgb, int w, int h, int x, int y, const char *text, int scale,
                              const uint8_t fg[3], const uint8_t bg[3]);

// ---- contact sheet -------------------------------------------------------------

// A grid of n_cells thumbnails, `cols` per row, filled row by row: cell i sits at
// column i % cols, row i / cols, its top-left pixel at
//   (gap + col * (thumb_w + gap), gap + row * (thumb_h + gap)).
// Empty cells stay the background colour (a dark grey, 32).
typedef struct {
    int n_cells, cols, rows;
    int thumb_w, thumb_h;
    int gap;
    int width, height;  // of the sheet
    int label_scale;    // font scale of the frame numbers
    uint8_t *rgb;       // [height][width][3]
} roto_contact_sheet;

// Lay out a sheet for thumbnails of plates of plate_w x plate_h: thumb_w =
// min(plate_w, max_thumb_w), thumb_h keeps the aspect ratio (at least 1), cols 0
// picks ceil(sqrt(n_cells)) (a sheet about as wide as the plate's aspect), gap 4.
roto_status roto_contact_init(roto_contact_sheet *s, int n_cells, int plate_w, int plate_h,
                              int max_thumb_w, int cols);
void roto_contact_free(roto_contact_sheet *s);

// Put a preview (w x h, any size: resized to the cell) into cell `cell`, with
// `label` (a frame number) drawn in its top-left corner. Calls for different
// cells may run on different threads at once (they write disjoint pixels).
roto_status roto_contact_set(roto_contact_sheet *s, int cell, const uint8_t *rgb, int w, int h,
                             int label);

// Write the sheet as an 8-bit RGB PNG (atomically, as every io/ writer).
roto_status roto_contact_write(const roto_contact_sheet *s, const char *path);

#ifdef __cplusplus
}
#endif
#endif
