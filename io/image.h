// image.h: read and write single image files (PNG, JPEG, EXR, DPX, TIFF).
//
// Reading detects the format from the file's magic bytes (never the extension)
// and decodes into a roto_frame (frame.h). Writing picks the format from the
// options or the path's extension, encodes into memory and then writes the
// file atomically (atomic.h: temp file, fsync, rename), so a killed process
// never leaves a truncated frame.
//
// Every error names the file: "format error: plate.1001.exr: truncated ...".
// Multi-layer matte EXRs (one layer per object) are written with exr.h.
#ifndef ROTO_IO_IMAGE_H
#define ROTO_IO_IMAGE_H

#include <stddef.h>

#include "io/frame.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    // EXR channel selection. If `channels` is set (comma list of full names,
    // 1..4 of them, e.g. "R,G,B" or "obj_person.A") exactly those are read in
    // that order. Else if `layer` is set ("diffuse") the channels
    // layer.R,G,B[,A] or layer.Y[,A] (or a lone layer.<X>) are read. Else the
    // default layer: R,G,B[,A], else Y[,A], else a single A, else an error
    // listing the channels present.
    const char *layer;
    const char *channels;
    int exr_part;         // multi-part EXR: part index; -1 (default) = first part having the channels
    size_t max_pixels;    // 0 = ROTO_MAX_PIXELS; fuzzers set it lower
} roto_read_opts;

// Zero-initialised options are the defaults except exr_part; use this.
void roto_read_opts_init(roto_read_opts *o);

// Detect the format from the first bytes of a file (>= 4 bytes needed).
roto_image_format roto_detect_format(const void *data, size_t n);

// Read and decode a file. `opts` may be NULL. On error the frame is left empty
// and the message names `path`.
roto_status roto_image_read(const char *path, const roto_read_opts *opts, roto_frame *out);

// Decode from memory; `name` is used in messages. fmt = ROTO_FMT_UNKNOWN detects.
roto_status roto_image_decode(const void *data, size_t n, const char *name, roto_image_format fmt,
                              const roto_read_opts *opts, roto_frame *out);

// Only the header: width, height, channels, type, bit depth and metadata,
// with data == NULL. Cheaper than a full decode for EXR/PNG/JPEG/DPX/TIFF.
// Reads only the file's first ROTO_PROBE_HEAD_BYTES unless the header lies
// beyond them (a TIFF directory after the pixels), so probing every frame of
// a 4K sequence costs a few hundred KB per frame, not the whole file.
roto_status roto_image_probe(const char *path, const roto_read_opts *opts, roto_frame *out);
#define ROTO_PROBE_HEAD_BYTES ((size_t)256 << 10)

// The first min(limit, file size) bytes of a regular file (limit 0 = all of
// it) in a malloc'd buffer; *file_size (may be NULL) gets the file's size.
// Errors name the file: missing, a directory, empty, unreadable, shrinking.
roto_status roto_file_read_head(const char *path, size_t limit, unsigned char **data, size_t *n,
                                size_t *file_size);
roto_status roto_image_decode_header(const void *data, size_t n, const char *name,
                                     roto_image_format fmt, const roto_read_opts *opts,
                                     roto_frame *out);

// ---- writing -----------------------------------------------------------------

typedef enum {
    ROTO_EXR_NONE = 0,
    ROTO_EXR_RLE,
    ROTO_EXR_ZIPS,
    ROTO_EXR_ZIP,    // default
    ROTO_EXR_PIZ,
    ROTO_EXR_PXR24,
    ROTO_EXR_B44,
    ROTO_EXR_B44A,
    ROTO_EXR_DWAA,
    ROTO_EXR_DWAB,
} roto_exr_compression;

// "none", "rle", "zips", "zip", "piz", "pxr24", "b44", "b44a", "dwaa", "dwab".
roto_status roto_exr_compression_parse(const char *s, roto_exr_compression *out);
const char *roto_exr_compression_name(roto_exr_compression c);

typedef enum {
    ROTO_TIFF_DEFLATE = 0,  // default (lossless, with horizontal predictor)
    ROTO_TIFF_NONE,
    ROTO_TIFF_LZW,
} roto_tiff_compression;

typedef struct {
    roto_image_format format;  // UNKNOWN = from the path's extension
    // Bits per sample written. 0 = a default from the frame: PNG 8 or 16
    // (16 when the frame has > 8 bits), JPEG 8, TIFF 8/16/32 (32 = float),
    // DPX 8/10/12/16 (10 for float frames), EXR 16 (half) or 32 (float).
    int bit_depth;
    int jpeg_quality;                 // 1..100, 0 = 95
    roto_exr_compression exr_compression;  // default (zero-init) is NONE; use roto_write_opts_init
    int exr_zip_level;                // 1..9; 0 = 4 (see roto_exr_opts.zip_level)
    int dpx_little_endian;            // DPX: write a little-endian file (default big-endian)
    roto_tiff_compression tiff_compression;
} roto_write_opts;

void roto_write_opts_init(roto_write_opts *o);

// Guess the output format from a path's extension (.png .jpg/.jpeg .exr .dpx
// .tif/.tiff, case-insensitive). UNKNOWN when not recognised.
roto_image_format roto_format_from_extension(const char *path);

// Encode and write atomically. Integer <-> float conversion on the way:
// codes are rescaled to the target depth with rounding (v * max_out / max_in);
// float values are clamped to [0,1] and rounded for integer formats; integer
// codes become code/max for EXR/float TIFF. Channel support: PNG/TIFF 1..4,
// JPEG 1 or 3, DPX 1, 3 or 4, EXR 1..4 (names from the frame, else Y/Y,A/
// R,G,B/R,G,B,A).
roto_status roto_image_write(const char *path, const roto_frame *f, const roto_write_opts *opts);

// Encode into a malloc'd buffer (*out, *n); the caller frees *out.
// `name` is used in messages.
roto_status roto_image_encode(const roto_frame *f, roto_image_format fmt, const roto_write_opts *opts,
                              const char *name, void **out, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
