// colour.c: frame -> sRGB-encoded RGB float for the networks (see colour.h).
//
// Integer frames go through a lookup table (one entry per code, at most 65536)
// so a 4K 16-bit frame costs one table read per sample; float frames clamp
// and apply the OETF per sample.
#include "io/colour.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const k_names[] = {"auto", "srgb", "linear", "rec709", "cineon"};

roto_status roto_colorspace_parse(const char *s, roto_colorspace *out) {
    for (int i = 0; i < 5; i++)
        if (s && !strcasecmp(s, k_names[i])) {
            *out = (roto_colorspace)i;
            return ROTO_OK;
        }
    return roto_fail(ROTO_ERR_INVALID_ARG, "input colorspace '%s': expected auto, srgb, linear, rec709 or cineon",
                     s ? s : "(null)");
}

const char *roto_colorspace_name(roto_colorspace cs) {
    return (int)cs >= 0 && (int)cs < 5 ? k_names[cs] : "?";
}

double roto_srgb_oetf(double l) {
    if (!(l > 0.0)) return 0.0;
    if (l <= 0.0031308) return 12.92 * l;
    return 1.055 * pow(l, 1.0 / 2.4) - 0.055;
}

double roto_srgb_eotf(double v) {
    if (!(v > 0.0)) return 0.0;
    if (v <= 0.04045) return v / 12.92;
    return pow((v + 0.055) / 1.055, 2.4);
}

double roto_rec709_oetf(double l) {
    if (!(l > 0.0)) return 0.0;
    if (l < 0.018) return 4.5 * l;
    return 1.099 * pow(l, 0.45) - 0.099;
}

double roto_rec709_inverse(double v) {
    if (!(v > 0.0)) return 0.0;
    if (v < 0.081) return v / 4.5;
    return pow((v + 0.099) / 1.099, 1.0 / 0.45);
}

double roto_cineon_to_linear(double code) {
    const double white = 685.0, black = 95.0, gamma = 0.6, step = 0.002;
    double offset = pow(10.0, (black - white) * step / gamma);
    return (pow(10.0, (code - white) * step / gamma) - offset) / (1.0 - offset);
}

// Fast sRGB OETF for float input in [0,1]: a table indexed by the top bits
// of the float (exponent + 11 mantissa bits) from 2^-9 to 1, linearly
// interpolated on the low 12 mantissa bits. Inside one table cell the input
// is linear in those bits, and the curve's curvature over a cell of width
// l*2^-11 keeps the error below 1e-9; below 2^-9 the OETF is the linear
// segment 12.92*l (its knee, 0.0031308, lies inside the table and is
// sampled exactly at the nodes).
#define OETF_LO_BITS 0x3b000000u  // 2^-9
#define OETF_HI_BITS 0x3f800000u  // 1.0
#define OETF_SHIFT 12
#define OETF_N (((OETF_HI_BITS - OETF_LO_BITS) >> OETF_SHIFT) + 2)
static float g_oetf[OETF_N];
static pthread_once_t g_oetf_once = PTHREAD_ONCE_INIT;

static void oetf_init(void) {
    for (uint32_t i = 0; i < OETF_N; i++) {
        uint32_t bits = OETF_LO_BITS + (i << OETF_SHIFT);
        float l;
        memcpy(&l, &bits, 4);
        g_oetf[i] = (float)roto_srgb_oetf(l > 1.0f ? 1.0 : (double)l);
    }
}

// l must be in [0, 1].
static inline float oetf_fast(float l) {
    uint32_t bits;
    memcpy(&bits, &l, 4);
    if (bits < OETF_LO_BITS) return 12.92f * l;
    if (bits >= OETF_HI_BITS) return 1.0f;
    uint32_t off = bits - OETF_LO_BITS, i = off >> OETF_SHIFT;
    float frac = (float)(off & ((1u << OETF_SHIFT) - 1u)) * (1.0f / (1u << OETF_SHIFT));
    return g_oetf[i] + frac * (g_oetf[i + 1] - g_oetf[i]);
}

static int is_log_dpx(const roto_frame *f) {
    return f->meta.source_format == ROTO_FMT_DPX && f->meta.transfer == ROTO_TF_LOG;
}

roto_status roto_colorspace_resolve(const roto_frame *f, roto_colorspace req, roto_colorspace *out) {
    if (req != ROTO_CS_AUTO) {
        *out = req;
        return ROTO_OK;
    }
    if (is_log_dpx(f))
        return roto_fail(ROTO_ERR_UNSUPPORTED,
                         "log DPX (transfer %d) needs an explicit input colorspace, e.g. --input-colorspace cineon",
                         f->meta.dpx_transfer);
    if (f->type == ROTO_PIX_F32) *out = ROTO_CS_LINEAR;
    else if (f->meta.source_format == ROTO_FMT_DPX && f->meta.transfer == ROTO_TF_LINEAR) *out = ROTO_CS_LINEAR;
    else *out = ROTO_CS_SRGB;
    return ROTO_OK;
}

// One normalised value v (code/max, or a float sample) -> sRGB-encoded [0,1].
static float encode_one(double v, roto_colorspace cs) {
    double lin;
    switch (cs) {
    case ROTO_CS_SRGB:
        if (!(v > 0.0)) return 0.0f;
        return v >= 1.0 ? 1.0f : (float)v;
    case ROTO_CS_LINEAR: lin = v; break;
    case ROTO_CS_REC709: lin = roto_rec709_inverse(v > 1.0 ? 1.0 : v); break;
    case ROTO_CS_CINEON: lin = roto_cineon_to_linear(v * 1023.0); break;
    default: lin = 0.0;
    }
    if (!(lin > 0.0)) return 0.0f;  // negatives and NaN
    if (lin >= 1.0) return 1.0f;
    return (float)roto_srgb_oetf(lin);
}

roto_status roto_frame_to_srgb(const roto_frame *f, roto_colorspace req, int planar, float *out) {
    if (!f || !f->data || !out || f->channels < 1 || f->channels > 4)
        return roto_fail(ROTO_ERR_INVALID_ARG, "colour conversion: empty frame or output");
    roto_colorspace cs;
    ROTO_TRY(roto_colorspace_resolve(f, req, &cs));
    size_t npix = roto_frame_pixels(f);
    int nc = f->channels, gray = nc <= 2;
    float *lut = NULL;
    if (f->type == ROTO_PIX_U16) {
        size_t ncodes = (size_t)1 << f->bit_depth;
        lut = malloc(ncodes * sizeof *lut);
        if (!lut) return roto_fail(ROTO_ERR_OOM, "colour conversion: out of memory");
        double maxc = (double)(ncodes - 1);
        for (size_t c = 0; c < ncodes; c++) lut[c] = encode_one((double)c / maxc, cs);
    }
    size_t maxcode = f->type == ROTO_PIX_U16 ? ((size_t)1 << f->bit_depth) - 1 : 0;
    pthread_once(&g_oetf_once, oetf_init);
    const uint16_t *u = (const uint16_t *)f->data;
    const float *fl = (const float *)f->data;
#pragma omp parallel for schedule(static) if (npix > 65536)
    for (long long p = 0; p < (long long)npix; p++) {
        float rgb[3];
        for (int c = 0; c < 3; c++) {
            size_t i = (size_t)p * nc + (gray ? 0 : c);
            if (lut) {
                size_t code = u[i] > maxcode ? maxcode : u[i];
                rgb[c] = lut[code];
            } else if (cs == ROTO_CS_LINEAR) {
                float v = fl[i];
                rgb[c] = v > 0.0f ? (v < 1.0f ? oetf_fast(v) : 1.0f) : 0.0f;  // NaN -> 0
            } else {
                rgb[c] = encode_one(fl[i], cs);
            }
        }
        if (planar) {
            out[p] = rgb[0];
            out[npix + p] = rgb[1];
            out[2 * npix + p] = rgb[2];
        } else {
            out[3 * p] = rgb[0];
            out[3 * p + 1] = rgb[1];
            out[3 * p + 2] = rgb[2];
        }
    }
    free(lut);
    return ROTO_OK;
}
