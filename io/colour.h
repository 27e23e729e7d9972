// colour.h: turn any decoded frame into what the networks expect: sRGB-encoded
// RGB float in [0,1], 3 channels.
//
// Input interpretation (ROTO_CS_AUTO picks from the frame):
//   integer PNG/JPEG/TIFF/DPX   sRGB-encoded, value = code / max code
//   DPX with transfer 2         linear (as the file says), then sRGB OETF
//   DPX with transfer 1 or 3    log: refused unless the caller picks one
//                               explicitly (e.g. ROTO_CS_CINEON)
//   EXR and float TIFF          scene-linear Rec.709: clamp to [0,1], sRGB OETF
// Explicit choices (--input-colorspace):
//   srgb     values are already sRGB-encoded (integers: code / max)
//   linear   scene-linear: clamp to [0,1], then the sRGB OETF
//   rec709   BT.709 OETF-encoded: inverse BT.709 OETF to linear, then sRGB OETF
//   cineon   Cineon log (10-bit codes; other depths rescaled to 0..1023):
//            lin = (10^((code - 685) * 0.002 / 0.6) - b) / (1 - b),
//            b = 10^((95 - 685) * 0.002 / 0.6); then clamp and sRGB OETF
// Clamping: negatives and NaN become 0, values above 1 become 1 (before the
// OETF, which maps [0,1] onto [0,1] monotonically, so this equals clamping
// after encoding). Gray is replicated to R,G,B; alpha is dropped.
#ifndef ROTO_IO_COLOUR_H
#define ROTO_IO_COLOUR_H

#include "io/frame.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    ROTO_CS_AUTO = 0,
    ROTO_CS_SRGB,
    ROTO_CS_LINEAR,
    ROTO_CS_REC709,
    ROTO_CS_CINEON,
} roto_colorspace;

// "auto", "srgb", "linear", "rec709", "cineon" (case-insensitive).
roto_status roto_colorspace_parse(const char *s, roto_colorspace *out);
const char *roto_colorspace_name(roto_colorspace cs);

// The colorspace AUTO resolves to for this frame. UNSUPPORTED (with a message
// naming the needed option) for log DPX.
roto_status roto_colorspace_resolve(const roto_frame *f, roto_colorspace requested, roto_colorspace *out);

// Convert to sRGB-encoded RGB in [0,1]. out holds width*height*3 floats:
// interleaved [H][W][3] when planar == 0, or [3][H][W] when planar == 1.
roto_status roto_frame_to_srgb(const roto_frame *f, roto_colorspace cs, int planar, float *out);

// The transfer functions (scalar, double precision for reference use).
double roto_srgb_oetf(double linear);       // linear [0,1] -> sRGB-encoded
double roto_srgb_eotf(double encoded);      // sRGB-encoded -> linear
double roto_rec709_oetf(double linear);     // BT.709: 4.5 L below 0.018, 1.099 L^0.45 - 0.099 above
double roto_rec709_inverse(double encoded);
double roto_cineon_to_linear(double code10);  // 10-bit code (0..1023) -> linear (685 -> 1, 95 -> 0)

#ifdef __cplusplus
}
#endif
#endif
