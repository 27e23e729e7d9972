// codec.h: internal interface between image.c (dispatch, file handling) and
// the per-format codecs (png.c, jpeg.c, exr.c, dpx.c, tiff.c). Not part of the
// public io/ API; fuzz targets include it to reach one decoder directly.
//
// Decoders work from memory and, with header_only set, fill everything but
// the pixels (data stays NULL). Encoders append to a growable byte buffer.
#ifndef ROTO_IO_CODEC_H
#define ROTO_IO_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "io/image.h"

typedef struct {
    unsigned char *data;
    size_t len, cap;
} roto_buf;

roto_status roto_buf_reserve(roto_buf *b, size_t cap);
roto_status roto_buf_append(roto_buf *b, const void *p, size_t n);
// Write at an offset (pwrite semantics), growing and zero-filling as needed.
roto_status roto_buf_pwrite(roto_buf *b, const void *p, size_t n, size_t off);
void roto_buf_free(roto_buf *b);

typedef roto_status (*roto_decode_fn)(const uint8_t *d, size_t n, const char *name,
                                      const roto_read_opts *o, int header_only, roto_frame *out);
typedef roto_status (*roto_encode_fn)(const roto_frame *f, const roto_write_opts *o, int bits,
                                      const char *name, roto_buf *out);

roto_status roto_png_decode(const uint8_t *d, size_t n, const char *name, const roto_read_opts *o,
                            int header_only, roto_frame *out);
roto_status roto_jpeg_decode(const uint8_t *d, size_t n, const char *name, const roto_read_opts *o,
                             int header_only, roto_frame *out);
roto_status roto_exr_decode(const uint8_t *d, size_t n, const char *name, const roto_read_opts *o,
                            int header_only, roto_frame *out);
roto_status roto_dpx_decode(const uint8_t *d, size_t n, const char *name, const roto_read_opts *o,
                            int header_only, roto_frame *out);
roto_status roto_tiff_decode(const uint8_t *d, size_t n, const char *name, const roto_read_opts *o,
                             int header_only, roto_frame *out);

roto_status roto_png_encode(const roto_frame *f, const roto_write_opts *o, int bits, const char *name,
                            roto_buf *out);
roto_status roto_jpeg_encode(const roto_frame *f, const roto_write_opts *o, int bits, const char *name,
                             roto_buf *out);
roto_status roto_exr_encode(const roto_frame *f, const roto_write_opts *o, int bits, const char *name,
                            roto_buf *out);
roto_status roto_dpx_encode(const roto_frame *f, const roto_write_opts *o, int bits, const char *name,
                            roto_buf *out);
roto_status roto_tiff_encode(const roto_frame *f, const roto_write_opts *o, int bits, const char *name,
                             roto_buf *out);

// Element i of a frame as an unsigned code of `bits` bits: integer codes are
// rescaled with rounding, floats clamped to [0,1] (NaN -> 0) and rounded.
static inline uint32_t roto_code_at(const roto_frame *f, size_t i, int bits) {
    uint32_t maxo = (bits >= 32) ? 0xffffffffu : ((1u << bits) - 1u);
    if (f->type == ROTO_PIX_F32) {
        float v = ((const float *)f->data)[i];
        if (!(v > 0.0f)) return 0;  // also NaN
        if (v >= 1.0f) return maxo;
        return (uint32_t)((double)v * maxo + 0.5);
    }
    uint32_t v = ((const uint16_t *)f->data)[i];
    if (bits == f->bit_depth) return v;
    uint32_t maxi = (1u << f->bit_depth) - 1u;
    if (v > maxi) v = maxi;
    return (uint32_t)(((uint64_t)v * maxo + maxi / 2) / maxi);
}

// Limit on pixels for a read: opts->max_pixels or ROTO_MAX_PIXELS.
static inline size_t roto_read_max_pixels(const roto_read_opts *o) {
    return (o && o->max_pixels) ? o->max_pixels : ROTO_MAX_PIXELS;
}

// Check a decoded header's size against the limits; names the file.
roto_status roto_check_dims(const char *name, long long w, long long h, const roto_read_opts *o);

// Allocate `out` for a decoder (or only fill the header when header_only).
roto_status roto_decoder_alloc(roto_frame *out, const char *name, int w, int h, int channels,
                               roto_pixel_type type, int bit_depth, int header_only);

// A pixel aspect ratio from a file, or 1 when it is not finite or outside
// [1/1000, 1000] (corrupt or meaningless values must not reach writers).
static inline float roto_sane_par(double par) {
    return (par >= 1e-3 && par <= 1e3) ? (float)par : 1.0f;
}

// Rational approximation of a frame rate given as a float (23.976 -> 24000/1001).
roto_rational roto_fps_from_float(double fps);

#endif
