// exr_dwa.h: the DWAA/DWAB block codec of OpenEXR, in plain C (zlib only).
//
// DWA ("DreamWorks Animation") compresses one EXR chunk (32 scanlines for
// DWAA, 256 for DWAB, or one tile) as a block. Every channel gets one of three
// schemes, chosen by the suffix of its name (after the last '.') and its type
// through a table of rules; version 2 blocks carry the rules they used:
//   LOSSY_DCT  R, G, B, Y, BY, RY (half or float): 8x8 DCT of the values on a
//              perceptual curve, quantised to the half float with the fewest
//              set bits within an error bound (level / 100000 times the JPEG
//              quantisation table); R,G,B of one layer are coded together as
//              Y'CbCr. Float channels are stored at half precision.
//   RLE        A (half, float, uint): byte planes, run-length coded, deflated.
//   UNKNOWN    everything else (mattes' neighbours: depth.Z, N.X, ids, ...):
//              deflated verbatim, lossless.
// The block layout: 11 little-endian uint64 counters, the rules (version 2),
// then the deflated UNKNOWN data, the AC coefficients (OpenEXR's static
// Huffman, or deflate), the deflated DC coefficients and the deflated RLE data.
//
// Both functions work on one chunk in EXR's uncompressed layout: for each
// line, for each channel in file (name) order, `width` little-endian values.
// Only x/y sampling 1 is supported (the caller checks).
#ifndef ROTO_IO_EXR_DWA_H
#define ROTO_IO_EXR_DWA_H

#include <stddef.h>
#include <stdint.h>

#include "engine/status.h"

#ifdef __cplusplus
extern "C" {
#endif

// Pixel types, numbered as in the EXR file format.
typedef enum { ROTO_DWA_UINT = 0, ROTO_DWA_HALF = 1, ROTO_DWA_FLOAT = 2 } roto_dwa_pixel;

typedef struct {
    const char *name;  // full channel name, e.g. "diffuse.R"
    int type;          // roto_dwa_pixel
    int p_linear;      // the channel's pLinear flag: a lone lossy channel with it set
                       // skips the perceptual curve (R,G,B sets always use it)
} roto_dwa_channel;

// Schemes, numbered as in the block's rule table.
typedef enum { ROTO_DWA_UNKNOWN = 0, ROTO_DWA_LOSSY_DCT = 1, ROTO_DWA_RLE = 2 } roto_dwa_scheme;

// The uncompressed size of a chunk: width * lines * (2 or 4) summed over the
// channels. 0 when a size is not positive or the total overflows.
size_t roto_dwa_raw_size(const roto_dwa_channel *ch, int nch, int width, int lines);

// Decode one DWA block (`in`, n bytes) into `out` (out_size bytes, which must
// equal roto_dwa_raw_size). Any inconsistency in the block (sizes, offsets,
// rules, Huffman table, coefficient streams) is a ROTO_ERR_FORMAT error whose
// message starts "DWA block: " and names the problem; nothing is read or
// written outside the two buffers.
roto_status roto_dwa_decode(const uint8_t *in, size_t n, const roto_dwa_channel *ch, int nch, int width,
                            int lines, uint8_t *out, size_t out_size);

typedef struct {
    float level;     // dwaCompressionLevel: quantisation base error * 100000; <= 0 means 45
    int ac_deflate;  // 1: deflate the AC coefficients (OpenEXR does for tiled DWAA);
                     // 0: static Huffman (OpenEXR's choice for scanlines)
    int zip_level;   // zlib level of the DC coefficients (OpenEXR: the header's zip level); 0 = 4
} roto_dwa_opts;

// Encode one chunk (`raw`, in the layout above) as a version 2 DWA block with
// OpenEXR's default rules, into a malloc'd buffer (*out, *out_n; the caller
// frees it). The caller stores the chunk uncompressed instead when the block
// is not smaller than raw_size (the EXR rule for every codec).
roto_status roto_dwa_encode(const uint8_t *raw, size_t raw_size, const roto_dwa_channel *ch, int nch, int width,
                            int lines, const roto_dwa_opts *o, uint8_t **out, size_t *out_n);

// The scheme OpenEXR's default rules give a channel (what the encoder uses).
roto_dwa_scheme roto_dwa_default_scheme(const char *name, int type);

// The counters at the start of a block, for tests and diagnostics.
typedef struct {
    uint64_t version;
    uint64_t unknown_raw, unknown_packed;  // UNKNOWN data: bytes before / after deflate
    uint64_t ac_packed, dc_packed;         // compressed AC / DC streams
    uint64_t rle_packed, rle_runs, rle_raw;  // RLE data: deflated, run-length coded, raw
    uint64_t ac_count, dc_count;           // AC / DC coefficients (uint16 each)
    uint64_t ac_compression;               // 0 static Huffman, 1 deflate
    int n_rules;                           // version 2: rules in the block
} roto_dwa_info;

// Read a block's counters (and count its rules); ROTO_ERR_FORMAT if the
// header is truncated.
roto_status roto_dwa_block_info(const uint8_t *in, size_t n, roto_dwa_info *info);

#ifdef __cplusplus
}
#endif
#endif
