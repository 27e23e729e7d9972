// dpx.c: DPX (SMPTE 268M) reader and writer, written by hand.
//
// Layout (offsets in bytes, all multi-byte fields in the file's byte order,
// which the magic number tells: "SDPX" = big-endian, "XPDS" = little-endian):
//   0    file header (768): magic, image data offset (4), version (8), file size (16)
//   768  image header (640): orientation (768), element count (770),
//        width (772), height (776), then 8 image elements of 72 bytes at 780:
//          +0 data sign, +4 ref low code, +8 ref low quantity, +12 ref high code,
//          +16 ref high quantity, +20 descriptor (u8), +21 transfer (u8),
//          +22 colorimetric (u8), +23 bit size (u8), +24 packing (u16),
//          +26 encoding (u16), +28 data offset, +32 end-of-line padding,
//          +36 end-of-image padding, +40 description (32)
//   1408 orientation header (256): pixel aspect ratio (2 x u32) at 1628
//   1664 film header (256): frame rate (f32) at 1724
//   1920 television header (128): SMPTE time code at 1920, user bits at 1924,
//        frame rate (f32) at 1940
// Pixel data, element 0 only, no RLE. Lines start on 32-bit word boundaries:
//   8-bit:  one byte per component
//   10-bit: packing 1 ("filled, method A"): three components per 32-bit word
//           in bits 31-22, 21-12, 11-2 (2 padding bits at the LSB end);
//           components run on across pixels (RGBA uses 4 per pixel)
//   12-bit: packing 1: one component per 16-bit word, in the high 12 bits
//   16-bit: one component per 16-bit word
// Descriptors: 6 (luma -> Y), 50 (RGB), 51 (RGBA), 52 (ABGR, reordered to RGBA).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/codec.h"

#define DPX_HEADER 2048
#define DPX_UNDEF32 0xffffffffu

typedef struct {
    const uint8_t *d;
    size_t n;
    int be;
} dpx_in;

static uint32_t rd32(const dpx_in *in, size_t off) {
    const uint8_t *p = in->d + off;
    if (in->be) return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}
static uint16_t rd16(const dpx_in *in, size_t off) {
    const uint8_t *p = in->d + off;
    return in->be ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}
static float rdf32(const dpx_in *in, size_t off) {
    uint32_t u = rd32(in, off);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static int dpx_transfer_hint(int code, char *note, size_t cap) {
    static const char *const names[] = {
        "user-defined", "printing density", "linear", "logarithmic", "unspecified video",
        "SMPTE 274M",   "ITU-R 709-4",      "ITU-R 601-5 B/G", "ITU-R 601-5 M", "NTSC composite",
        "PAL composite", "Z linear",        "Z homogeneous"};
    const char *nm = code >= 0 && code < (int)(sizeof names / sizeof *names) ? names[code] : "other";
    snprintf(note, cap, "DPX transfer %d (%s)", code, nm);
    switch (code) {
    case 1: case 3: return ROTO_TF_LOG;
    case 2: return ROTO_TF_LINEAR;
    case 5: case 6: return ROTO_TF_REC709;
    default: return ROTO_TF_UNKNOWN;
    }
}

roto_status roto_dpx_decode(const uint8_t *d, size_t n, const char *name, const roto_read_opts *o,
                            int header_only, roto_frame *out) {
    if (n < 1408) return roto_fail(ROTO_ERR_FORMAT, "%s: DPX file is truncated (%zu bytes, header needs 1408)", name, n);
    dpx_in in = {d, n, 0};
    if (!memcmp(d, "SDPX", 4)) in.be = 1;
    else if (!memcmp(d, "XPDS", 4)) in.be = 0;
    else return roto_fail(ROTO_ERR_FORMAT, "%s: not a DPX file (bad magic)", name);

    uint32_t image_offset = rd32(&in, 4);
    int orientation = rd16(&in, 768);
    int elements = rd16(&in, 770);
    uint32_t w = rd32(&in, 772), h = rd32(&in, 776);
    if (elements < 1 || elements > 8)
        return roto_fail(ROTO_ERR_FORMAT, "%s: DPX element count %d (must be 1..8)", name, elements);
    ROTO_TRY(roto_check_dims(name, w, h, o));
    const size_t e0 = 780;
    uint32_t sign = rd32(&in, e0 + 0);
    int descriptor = d[e0 + 20], transfer = d[e0 + 21], bits = d[e0 + 23];
    int packing = rd16(&in, e0 + 24), encoding = rd16(&in, e0 + 26);
    uint32_t data_offset = rd32(&in, e0 + 28), eol_pad = rd32(&in, e0 + 32);
    if (data_offset == 0 || data_offset == DPX_UNDEF32) data_offset = image_offset;
    if (eol_pad == DPX_UNDEF32) eol_pad = 0;

    int channels;
    switch (descriptor) {
    case 6: channels = 1; break;
    case 50: channels = 3; break;
    case 51: case 52: channels = 4; break;
    default:
        return roto_fail(ROTO_ERR_UNSUPPORTED,
                         "%s: DPX descriptor %d not supported (only 6 luma, 50 RGB, 51 RGBA, 52 ABGR)", name,
                         descriptor);
    }
    if (sign != 0 && sign != DPX_UNDEF32)
        return roto_fail(ROTO_ERR_UNSUPPORTED, "%s: signed DPX data is not supported", name);
    if (encoding != 0)
        return roto_fail(ROTO_ERR_UNSUPPORTED, "%s: RLE-encoded DPX is not supported", name);
    if (orientation != 0 && orientation != 2)
        return roto_fail(ROTO_ERR_UNSUPPORTED, "%s: DPX orientation %d not supported (0 or 2 only)", name,
                         orientation);
    size_t comps = (size_t)w * (size_t)channels;  // components per line
    size_t line_bytes;
    switch (bits) {
    case 8: line_bytes = (comps + 3) / 4 * 4; break;
    case 10:
        if (packing != 1)
            return roto_fail(ROTO_ERR_UNSUPPORTED,
                             "%s: 10-bit DPX packing %d not supported (only 1, filled method A)", name, packing);
        line_bytes = (comps + 2) / 3 * 4;
        break;
    case 12:
        if (packing != 1)
            return roto_fail(ROTO_ERR_UNSUPPORTED,
                             "%s: 12-bit DPX packing %d not supported (only 1, filled method A)", name, packing);
        line_bytes = comps * 2;
        break;
    case 16: line_bytes = comps * 2; break;
    default:
        return roto_fail(ROTO_ERR_UNSUPPORTED, "%s: DPX bit depth %d not supported (8, 10, 12, 16)", name,
                         bits);
    }
    line_bytes += eol_pad;
    size_t need = (size_t)data_offset + line_bytes * (size_t)(h - 1) + (line_bytes - eol_pad);
    if (data_offset < 1408 || need > n)
        return roto_fail(ROTO_ERR_FORMAT,
                         "%s: DPX file is truncated or its data offset is bad (needs %zu bytes, has %zu)",
                         name, need, n);

    ROTO_TRY(roto_decoder_alloc(out, name, (int)w, (int)h, channels, ROTO_PIX_U16, bits, header_only));
    roto_frame_meta *m = &out->meta;
    m->dpx_transfer = transfer;
    m->transfer = (roto_transfer)dpx_transfer_hint(transfer, m->colorspace, sizeof m->colorspace);
    // The orientation and industry (film/TV) headers exist only when the pixel
    // data starts after them.
    if (data_offset >= 1664) {
        uint32_t pa_h = rd32(&in, 1628), pa_v = rd32(&in, 1632);
        if (pa_h && pa_v && pa_h != DPX_UNDEF32 && pa_v != DPX_UNDEF32)
            m->pixel_aspect = roto_sane_par((double)pa_h / (double)pa_v);
    }
    if (data_offset >= 2048) {
        float fps_tv = rdf32(&in, 1940), fps_film = rdf32(&in, 1724);
        float fps = isfinite(fps_film) && fps_film > 0 ? fps_film : fps_tv;
        if (isfinite(fps) && fps > 0 && fps < 1000) {
            m->fps = roto_fps_from_float(fps);
            m->has_fps = m->fps.den != 0;
        }
        uint32_t tc = rd32(&in, 1920);
        if (tc != DPX_UNDEF32) {
            m->has_timecode = 1;
            m->timecode = tc;
            uint32_t ub = rd32(&in, 1924);
            m->timecode_user = ub == DPX_UNDEF32 ? 0 : ub;
        }
    }
    if (channels == 1) snprintf(out->channel_names[0], ROTO_MAX_CHANNEL_NAME, "Y");
    if (header_only) return ROTO_OK;

    uint16_t *dst = (uint16_t *)out->data;
    for (uint32_t y = 0; y < h; y++) {
        uint32_t fy = orientation == 2 ? h - 1 - y : y;  // orientation 2: bottom-to-top
        const uint8_t *line = d + data_offset + (size_t)y * line_bytes;
        uint16_t *row = dst + (size_t)fy * comps;
        switch (bits) {
        case 8:
            for (size_t i = 0; i < comps; i++) row[i] = line[i];
            break;
        case 10:
            for (size_t i = 0; i < comps; i++) {
                dpx_in wi = {line + (i / 3) * 4, 4, in.be};
                uint32_t word = rd32(&wi, 0);
                row[i] = (uint16_t)((word >> (22 - 10 * (i % 3))) & 0x3ffu);
            }
            break;
        case 12:
            for (size_t i = 0; i < comps; i++) {
                dpx_in wi = {line + 2 * i, 2, in.be};
                row[i] = (uint16_t)(rd16(&wi, 0) >> 4);
            }
            break;
        case 16:
            for (size_t i = 0; i < comps; i++) {
                dpx_in wi = {line + 2 * i, 2, in.be};
                row[i] = rd16(&wi, 0);
            }
            break;
        }
        if (descriptor == 52) {  // ABGR -> RGBA
            for (uint32_t x = 0; x < w; x++) {
                uint16_t *px = row + 4 * (size_t)x;
                uint16_t a = px[0], b = px[1], g = px[2], r = px[3];
                px[0] = r;
                px[1] = g;
                px[2] = b;
                px[3] = a;
            }
        }
    }
    return ROTO_OK;
}

// ---- writer -----------------------------------------------------------------

typedef struct {
    uint8_t *p;
    int be;
} dpx_out;

static void wr32(dpx_out *o, size_t off, uint32_t v) {
    uint8_t *p = o->p + off;
    if (o->be) {
        p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
    } else {
        p[3] = (uint8_t)(v >> 24); p[2] = (uint8_t)(v >> 16); p[1] = (uint8_t)(v >> 8); p[0] = (uint8_t)v;
    }
}
static void wr16(dpx_out *o, size_t off, uint16_t v) {
    uint8_t *p = o->p + off;
    if (o->be) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
    else { p[1] = (uint8_t)(v >> 8); p[0] = (uint8_t)v; }
}
static void wrf32(dpx_out *o, size_t off, float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    wr32(o, off, u);
}

// The transfer code to write: the source's own DPX code if it came from a
// DPX, else one derived from the colour hint (0 = user-defined for sRGB).
static int dpx_transfer_for(const roto_frame_meta *m) {
    if (m->dpx_transfer >= 0 && m->dpx_transfer <= 255) return m->dpx_transfer;
    switch (m->transfer) {
    case ROTO_TF_LINEAR: return 2;
    case ROTO_TF_LOG: return 1;
    case ROTO_TF_REC709: return 6;
    default: return 0;
    }
}

roto_status roto_dpx_encode(const roto_frame *f, const roto_write_opts *o, int bits, const char *name,
                            roto_buf *out) {
    int descriptor;
    switch (f->channels) {
    case 1: descriptor = 6; break;
    case 3: descriptor = 50; break;
    case 4: descriptor = 51; break;
    default:
        return roto_fail(ROTO_ERR_UNSUPPORTED, "%s: DPX holds 1, 3 or 4 channels, the frame has %d", name,
                         f->channels);
    }
    size_t comps = (size_t)f->width * (size_t)f->channels;
    size_t line_bytes = bits == 8 ? (comps + 3) / 4 * 4 : bits == 10 ? (comps + 2) / 3 * 4 : comps * 2;
    size_t total = DPX_HEADER + line_bytes * (size_t)f->height;
    if (total > 0xffffffffu) return roto_fail(ROTO_ERR_UNSUPPORTED, "%s: image too large for DPX", name);
    ROTO_TRY(roto_buf_reserve(out, total));
    memset(out->data, 0, total);
    out->len = total;
    dpx_out w = {out->data, !(o && o->dpx_little_endian)};
    const roto_frame_meta *m = &f->meta;

    // File header.
    wr32(&w, 0, 0x53445058u);  // "SDPX" in the file's byte order
    wr32(&w, 4, DPX_HEADER);
    memcpy(w.p + 8, "V2.0", 4);
    wr32(&w, 16, (uint32_t)total);
    wr32(&w, 20, 1);     // ditto key: new frame
    wr32(&w, 24, 1664);  // generic header size
    wr32(&w, 28, 384);   // industry header size
    wr32(&w, 32, 0);     // user data size
    const char *base = strrchr(name, '/');
    snprintf((char *)w.p + 36, 100, "%s", base ? base + 1 : name);
    snprintf((char *)w.p + 160, 100, "roto");
    wr32(&w, 660, DPX_UNDEF32);  // not encrypted

    // Image header, element 0.
    wr16(&w, 768, 0);  // left-to-right, top-to-bottom
    wr16(&w, 770, 1);
    wr32(&w, 772, (uint32_t)f->width);
    wr32(&w, 776, (uint32_t)f->height);
    const size_t e0 = 780;
    int transfer = dpx_transfer_for(m);
    int colorimetric = (transfer == 1 || (transfer >= 5 && transfer <= 10)) ? transfer : 0;
    wr32(&w, e0 + 0, 0);
    wr32(&w, e0 + 4, 0);
    wr32(&w, e0 + 8, DPX_UNDEF32);
    wr32(&w, e0 + 12, (1u << bits) - 1u);
    wr32(&w, e0 + 16, DPX_UNDEF32);
    w.p[e0 + 20] = (uint8_t)descriptor;
    w.p[e0 + 21] = (uint8_t)transfer;
    w.p[e0 + 22] = (uint8_t)colorimetric;
    w.p[e0 + 23] = (uint8_t)bits;
    wr16(&w, e0 + 24, bits == 10 || bits == 12 ? 1 : 0);
    wr16(&w, e0 + 26, 0);
    wr32(&w, e0 + 28, DPX_HEADER);
    wr32(&w, e0 + 32, 0);
    wr32(&w, e0 + 36, 0);
    memset(w.p + e0 + 72, 0xff, 7 * 72);  // elements 1..7 undefined

    // Orientation header: offsets/sizes undefined, pixel aspect as a ratio.
    for (size_t off = 1408; off < 1432; off += 4) wr32(&w, off, DPX_UNDEF32);
    double par = roto_sane_par(m->pixel_aspect);
    if (fabs(par - 1.0) < 1e-6) {
        wr32(&w, 1628, 1);
        wr32(&w, 1632, 1);
    } else {
        wr32(&w, 1628, (uint32_t)floor(par * 10000.0 + 0.5));
        wr32(&w, 1632, 10000);
    }
    // Film and TV headers: frame rate and time code where known.
    for (size_t off = 1712; off < 1732; off += 4) wr32(&w, off, DPX_UNDEF32);
    for (size_t off = 1920; off < 1972; off += 4) wr32(&w, off, DPX_UNDEF32);
    memset(w.p + 1928, 0xff, 4);
    if (m->has_fps && m->fps.den) {
        float fps = (float)((double)m->fps.num / (double)m->fps.den);
        wrf32(&w, 1724, fps);
        wrf32(&w, 1940, fps);
    }
    if (m->has_timecode) {
        wr32(&w, 1920, m->timecode);
        wr32(&w, 1924, m->timecode_user);
    }

    // Pixels.
    for (int y = 0; y < f->height; y++) {
        uint8_t *line = w.p + DPX_HEADER + (size_t)y * line_bytes;
        size_t base_i = (size_t)y * comps;
        switch (bits) {
        case 8:
            for (size_t i = 0; i < comps; i++) line[i] = (uint8_t)roto_code_at(f, base_i + i, 8);
            break;
        case 10:
            for (size_t i = 0; i < comps; i += 3) {
                uint32_t word = 0;
                for (size_t k = 0; k < 3 && i + k < comps; k++)
                    word |= roto_code_at(f, base_i + i + k, 10) << (22 - 10 * k);
                dpx_out wo = {line + (i / 3) * 4, w.be};
                wr32(&wo, 0, word);
            }
            break;
        case 12:
            for (size_t i = 0; i < comps; i++) {
                dpx_out wo = {line + 2 * i, w.be};
                wr16(&wo, 0, (uint16_t)(roto_code_at(f, base_i + i, 12) << 4));
            }
            break;
        case 16:
            for (size_t i = 0; i < comps; i++) {
                dpx_out wo = {line + 2 * i, w.be};
                wr16(&wo, 0, (uint16_t)roto_code_at(f, base_i + i, 16));
            }
            break;
        }
    }
    return ROTO_OK;
}
