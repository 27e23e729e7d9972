// frame.h: one decoded image frame (pixels + metadata), the common currency of
// the io/ layer. Every reader produces a roto_frame and every writer takes one.
//
// Pixels are row-major and interleaved: element (x, y, c) is at
// data[(y * width + x) * channels + c]. Integer sources (8/10/12/16-bit PNG,
// JPEG, TIFF, DPX) are kept exactly as uint16 codes with the original bit depth
// recorded (max code = 2^bit_depth - 1); half/float sources (EXR, float TIFF)
// become float32. Colour conversion for the networks is a separate step
// (colour.h), so a frame always holds what the file holds.
#ifndef ROTO_IO_FRAME_H
#define ROTO_IO_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "engine/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    ROTO_PIX_U16 = 0,  // uint16 codes, 0 .. 2^bit_depth - 1
    ROTO_PIX_F32 = 1,  // float32 values (linear EXR data is not clamped)
} roto_pixel_type;

typedef enum {
    ROTO_FMT_UNKNOWN = 0,
    ROTO_FMT_PNG,
    ROTO_FMT_JPEG,
    ROTO_FMT_EXR,
    ROTO_FMT_DPX,
    ROTO_FMT_TIFF,
} roto_image_format;

// What the file says (or implies) about how its values encode light.
typedef enum {
    ROTO_TF_UNKNOWN = 0,  // no statement in the file
    ROTO_TF_SRGB,         // sRGB-encoded (PNG/JPEG default, PNG sRGB chunk)
    ROTO_TF_LINEAR,       // scene-linear (EXR, float TIFF, DPX transfer 2)
    ROTO_TF_REC709,       // BT.709 OETF-encoded video (DPX transfer 5/6)
    ROTO_TF_LOG,          // Cineon-style log / printing density (DPX transfer 1/3)
    ROTO_TF_GAMMA,        // a plain power law; see roto_frame_meta.gamma (PNG gAMA)
} roto_transfer;

typedef struct {
    int32_t num;
    uint32_t den;  // 0/0 = unknown
} roto_rational;

// An inclusive pixel box in EXR convention: x from min_x to max_x inclusive.
typedef struct {
    int32_t min_x, min_y, max_x, max_y;
} roto_box;

#define ROTO_MAX_CHANNEL_NAME 256  // EXR allows 255 characters

typedef struct {
    roto_image_format source_format;  // which decoder produced the frame
    int has_fps;
    roto_rational fps;                // framesPerSecond (EXR) / frame rate (DPX)
    int has_timecode;
    uint32_t timecode;                // SMPTE 12M packed (EXR timeCode time_and_flags;
                                      // DPX stores the same BCD digit layout)
    uint32_t timecode_user;           // user bits
    roto_transfer transfer;           // colour hint
    float gamma;                      // for ROTO_TF_GAMMA: decoding exponent (2.2 = gAMA 45455)
    int dpx_transfer;                 // DPX transfer characteristic code, -1 if not DPX
    char colorspace[64];              // human-readable note, e.g. "sRGB (PNG sRGB chunk)"
    int has_chromaticities;
    float chromaticities[8];          // red xy, green xy, blue xy, white xy
    float pixel_aspect;               // width/height of one pixel; 1 when unknown
    // EXR windows as stored in the file. The frame's pixels always cover the
    // display window (data placed inside it, zeros elsewhere). For formats
    // without windows both equal (0,0)-(width-1,height-1).
    roto_box display_window;
    roto_box data_window;
} roto_frame_meta;

typedef struct {
    int width, height;
    int channels;                     // 1..4: 1 = Y, 2 = Y+A, 3 = RGB, 4 = RGBA
    char channel_names[4][ROTO_MAX_CHANNEL_NAME];  // "R","G","B","A" / "Y" / EXR names
    roto_pixel_type type;
    int bit_depth;                    // U16: 8/10/12/16 (max code 2^b - 1); F32: 16 (from half) or 32
    void *data;                       // width*height*channels elements; owned, free with roto_frame_free
    roto_frame_meta meta;
} roto_frame;

// Fill meta with defaults: no fps/timecode, unknown transfer, PAR 1, windows
// covering width x height, dpx_transfer -1.
void roto_frame_meta_init(roto_frame_meta *m, int width, int height);

// Allocate a zeroed frame. Channel names default to Y / Y,A / R,G,B / R,G,B,A.
// bit_depth: 1..16 for U16, 16 or 32 for F32. Dimensions must be >= 1 and
// width*height <= ROTO_MAX_PIXELS. The frame must be empty or freed before.
roto_status roto_frame_alloc(roto_frame *f, int width, int height, int channels,
                             roto_pixel_type type, int bit_depth);
void roto_frame_free(roto_frame *f);  // safe on a zeroed or already-freed frame

// Deep copy (pixels and metadata). dst must be empty.
roto_status roto_frame_copy(roto_frame *dst, const roto_frame *src);

static inline size_t roto_frame_pixels(const roto_frame *f) {
    return (size_t)f->width * (size_t)f->height;
}
static inline size_t roto_frame_bytes(const roto_frame *f) {
    return roto_frame_pixels(f) * (size_t)f->channels * (f->type == ROTO_PIX_F32 ? 4u : 2u);
}

// Value of element i (0 .. pixels*channels-1) as float: integer codes are
// divided by the max code (0..1), floats are returned as is.
float roto_frame_value(const roto_frame *f, size_t i);

// The default channel names for a channel count ("Y" / "Y","A" / "R","G","B" /
// "R","G","B","A"); names[c] for c < channels.
void roto_default_channel_names(int channels, char names[4][ROTO_MAX_CHANNEL_NAME]);

// A sanity cap on width*height for every decoder (a corrupt header must not
// make us allocate terabytes). 1 << 28 pixels = 16384 x 16384.
#define ROTO_MAX_PIXELS ((size_t)1 << 28)

// Timecode helpers (SMPTE 12M packed BCD, as in EXR's timeCode attribute).
// Format: "HH:MM:SS:FF" (';' before FF when the drop-frame bit is set).
void roto_timecode_to_string(uint32_t tc, char out[16]);
// Parses "HH:MM:SS:FF" or "HH:MM:SS;FF" (drop frame). Returns INVALID_ARG on
// malformed input or out-of-range fields.
roto_status roto_timecode_from_string(const char *s, uint32_t *tc);

// Name of a format ("png", "exr", ...) and of a transfer ("sRGB", "linear", ...).
const char *roto_format_name(roto_image_format f);
const char *roto_transfer_name(roto_transfer t);

#ifdef __cplusplus
}
#endif
#endif
