// frame.c: frame allocation, copies, value access and timecode helpers.
#include "io/frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void roto_frame_meta_init(roto_frame_meta *m, int width, int height) {
    memset(m, 0, sizeof *m);
    m->transfer = ROTO_TF_UNKNOWN;
    m->dpx_transfer = -1;
    m->pixel_aspect = 1.0f;
    m->display_window = (roto_box){0, 0, width - 1, height - 1};
    m->data_window = m->display_window;
}

void roto_default_channel_names(int channels, char names[4][ROTO_MAX_CHANNEL_NAME]) {
    static const char *const sets[5][4] = {
        {"", "", "", ""}, {"Y", "", "", ""}, {"Y", "A", "", ""}, {"R", "G", "B", ""}, {"R", "G", "B", "A"}};
    if (channels < 0 || channels > 4) channels = 0;
    for (int c = 0; c < 4; c++) snprintf(names[c], ROTO_MAX_CHANNEL_NAME, "%s", sets[channels][c]);
}

roto_status roto_frame_alloc(roto_frame *f, int width, int height, int channels, roto_pixel_type type,
                             int bit_depth) {
    memset(f, 0, sizeof *f);
    if (width < 1 || height < 1)
        return roto_fail(ROTO_ERR_INVALID_ARG, "frame size %dx%d: both must be >= 1", width, height);
    if ((size_t)width * (size_t)height > ROTO_MAX_PIXELS)
        return roto_fail(ROTO_ERR_INVALID_ARG, "frame size %dx%d exceeds the %zu-pixel limit", width,
                         height, ROTO_MAX_PIXELS);
    if (channels < 1 || channels > 4)
        return roto_fail(ROTO_ERR_INVALID_ARG, "frame channels %d: must be 1..4", channels);
    if (type == ROTO_PIX_U16 ? (bit_depth < 1 || bit_depth > 16) : (bit_depth != 16 && bit_depth != 32))
        return roto_fail(ROTO_ERR_INVALID_ARG, "bit depth %d invalid for %s frame", bit_depth,
                         type == ROTO_PIX_U16 ? "uint16" : "float");
    f->width = width;
    f->height = height;
    f->channels = channels;
    f->type = type;
    f->bit_depth = bit_depth;
    roto_default_channel_names(channels, f->channel_names);
    roto_frame_meta_init(&f->meta, width, height);
    f->data = calloc(1, roto_frame_bytes(f));
    if (!f->data) {
        size_t bytes = roto_frame_bytes(f);
        memset(f, 0, sizeof *f);
        return roto_fail(ROTO_ERR_OOM, "cannot allocate a %dx%dx%d frame (%zu bytes)", width, height,
                         channels, bytes);
    }
    return ROTO_OK;
}

void roto_frame_free(roto_frame *f) {
    if (!f) return;
    free(f->data);
    memset(f, 0, sizeof *f);
}

roto_status roto_frame_copy(roto_frame *dst, const roto_frame *src) {
    ROTO_TRY(roto_frame_alloc(dst, src->width, src->height, src->channels, src->type, src->bit_depth));
    memcpy(dst->data, src->data, roto_frame_bytes(src));
    memcpy(dst->channel_names, src->channel_names, sizeof dst->channel_names);
    dst->meta = src->meta;
    return ROTO_OK;
}

float roto_frame_value(const roto_frame *f, size_t i) {
    if (f->type == ROTO_PIX_F32) return ((const float *)f->data)[i];
    float maxc = (float)((1u << f->bit_depth) - 1u);
    return (float)((const uint16_t *)f->data)[i] / maxc;
}

// ---- timecode (SMPTE 12M, packed BCD as in OpenEXR's TimeCode) -------------
// bits 0-3 frame units, 4-5 frame tens, 6 drop frame, 7 colour frame,
// 8-11 second units, 12-14 second tens, 15 field phase,
// 16-19 minute units, 20-22 minute tens, 23 bgf0,
// 24-27 hour units, 28-29 hour tens, 30-31 bgf1/bgf2.

void roto_timecode_to_string(uint32_t tc, char out[16]) {
    int ff = (int)((tc >> 4) & 3u) * 10 + (int)(tc & 15u);
    int ss = (int)((tc >> 12) & 7u) * 10 + (int)((tc >> 8) & 15u);
    int mm = (int)((tc >> 20) & 7u) * 10 + (int)((tc >> 16) & 15u);
    int hh = (int)((tc >> 28) & 3u) * 10 + (int)((tc >> 24) & 15u);
    int drop = (int)((tc >> 6) & 1u);
    snprintf(out, 16, "%02d:%02d:%02d%c%02d", hh, mm, ss, drop ? ';' : ':', ff);
}

roto_status roto_timecode_from_string(const char *s, uint32_t *tc) {
    int hh, mm, ss, ff;
    char sep, end;
    if (!s || sscanf(s, "%2d:%2d:%2d%c%2d%c", &hh, &mm, &ss, &sep, &ff, &end) != 5 ||
        (sep != ':' && sep != ';'))
        return roto_fail(ROTO_ERR_INVALID_ARG, "timecode '%s': expected HH:MM:SS:FF", s ? s : "(null)");
    if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59 || ff < 0 || ff > 39)
        return roto_fail(ROTO_ERR_INVALID_ARG, "timecode '%s': field out of range", s);
    uint32_t v = 0;
    v |= (uint32_t)(ff % 10) | (uint32_t)(ff / 10) << 4;
    if (sep == ';') v |= 1u << 6;
    v |= (uint32_t)(ss % 10) << 8 | (uint32_t)(ss / 10) << 12;
    v |= (uint32_t)(mm % 10) << 16 | (uint32_t)(mm / 10) << 20;
    v |= (uint32_t)(hh % 10) << 24 | (uint32_t)(hh / 10) << 28;
    *tc = v;
    return ROTO_OK;
}

const char *roto_format_name(roto_image_format f) {
    switch (f) {
    case ROTO_FMT_PNG: return "png";
    case ROTO_FMT_JPEG: return "jpeg";
    case ROTO_FMT_EXR: return "exr";
    case ROTO_FMT_DPX: return "dpx";
    case ROTO_FMT_TIFF: return "tiff";
    default: return "unknown";
    }
}

const char *roto_transfer_name(roto_transfer t) {
    switch (t) {
    case ROTO_TF_SRGB: return "sRGB";
    case ROTO_TF_LINEAR: return "linear";
    case ROTO_TF_REC709: return "rec709";
    case ROTO_TF_LOG: return "log (Cineon/printing density)";
    case ROTO_TF_GAMMA: return "gamma";
    default: return "unknown";
    }
}
