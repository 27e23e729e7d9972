// exr.c: EXR reading (scanline and tiled, any channel selection) and writing
// (plain frames and the multi-layer matte delivery) with OpenEXRCore.
//
// Reading: the file is parsed from memory through custom read callbacks.
// Each chunk (a group of scanlines or one tile of level 0) is decoded in the
// file's own pixel types into a small planar buffer, converted to float32
// (UINT channels too: exact up to 2^24) and placed in the frame. The frame
// covers the DISPLAY window: data-window pixels land at (x - display.min.x,
// y - display.min.y), parts of the data window outside the display window are
// dropped, and display pixels with no data are 0.
//
// Writing: one scanline part; channels are converted to the file's type
// (half via round-to-nearest-even) chunk by chunk and encoded; the bytes go
// to a memory buffer, then atomically to disk.
//
// DWAA/DWAB go through our own codec (io/exr_dwa.c) in both directions, on
// every OpenEXRCore version: see "DWA" below.
#include "io/exr.h"

#include <ctype.h>
#include <openexr.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/dtype.h"
#include "io/atomic.h"
#include "io/codec.h"
#include "io/exr_dwa.h"
#include "io/exr_mem.h"

// The state behind a Core context: the bytes read (first member, so the
// context's user data is both the roto_exr_src of exr_mem.h and this), the
// buffer written, and the Core's first error message.
typedef struct {
    roto_exr_src src;  // reading
    roto_buf *out;     // writing
    int failed_write;
    char err[256];
} exr_mem;

static int64_t mem_write(exr_const_context_t c, void *ud, const void *buf, uint64_t sz, uint64_t off,
                         exr_stream_error_func_ptr_t ecb) {
    (void)c;
    (void)ecb;
    exr_mem *m = (exr_mem *)ud;
    if (roto_buf_pwrite(m->out, buf, (size_t)sz, (size_t)off) != ROTO_OK) {
        m->failed_write = 1;
        return -1;
    }
    return (int64_t)sz;
}

static void on_error(exr_const_context_t c, exr_result_t code, const char *msg) {
    void *ud = NULL;
    if (!c || exr_get_user_data(c, &ud) != EXR_ERR_SUCCESS || !ud) return;
    exr_mem *m = (exr_mem *)ud;
    if (!m->err[0]) snprintf(m->err, sizeof m->err, "%s", msg ? msg : exr_get_default_error_message(code));
}

// The error for a failed Core call: "<what>: <library message>".
static roto_status exr_error(exr_mem *m, exr_result_t rv, const char *name, const char *what) {
    const char *detail = m->err[0] ? m->err : exr_get_default_error_message(rv);
    if (rv == EXR_ERR_FEATURE_NOT_IMPLEMENTED)
        return roto_fail(ROTO_ERR_UNSUPPORTED, "%s: %s: %s (not supported)", name, what, detail);
    if (rv == EXR_ERR_OUT_OF_MEMORY) return roto_fail(ROTO_ERR_OOM, "%s: %s: out of memory", name, what);
    return roto_fail(ROTO_ERR_FORMAT, "%s: %s: %s", name, what, detail);
}

static exr_attr_box2i_t make_box(int x0, int y0, int x1, int y1) {
    exr_attr_box2i_t b;
    b.min.x = x0;
    b.min.y = y0;
    b.max.x = x1;
    b.max.y = y1;
    return b;
}

static int is_dwa(exr_compression_t c) { return c == EXR_COMPRESSION_DWAA || c == EXR_COMPRESSION_DWAB; }

// ---- DWA ---------------------------------------------------------------------
//
// OpenEXRCore 3.1 (Debian 12) has no DWAA/DWAB codec; 3.2 added one. We plug
// our codec (io/exr_dwa.c) into the Core's pipelines on every version, by
// replacing decompress_fn / compress_fn after the default routines are
// chosen: the Core still does the chunk table, reading, writing and pixel
// conversion. One code path whatever library is installed, the one the tests
// check against the official C++ library, and a corrupt chunk fails with our
// message naming the problem.

typedef struct {
    exr_mem *m;            // our error text goes to m->err
    roto_dwa_channel *ch;  // the pipeline's channels, as the codec wants them
    int cap;
    uint8_t *block;        // encoder: the last block, lent to the pipeline
    float level;           // encoder: dwaCompressionLevel (0: 45)
    int zip_level;         // encoder: zlib level of the DC stream
} dwa_glue;

// Keep the codec's message without its "format error: " head and " [file:line]" tail.
static void dwa_keep_error(dwa_glue *g) {
    const char *e = roto_last_error(), *p = strstr(e, ": ");
    snprintf(g->m->err, sizeof g->m->err, "%s", p ? p + 2 : e);
    char *tail = strrchr(g->m->err, '[');
    if (tail && tail > g->m->err && tail[-1] == ' ' && strchr(tail, ']')) tail[-1] = '\0';
}

static exr_result_t dwa_result(dwa_glue *g, roto_status st) {
    dwa_keep_error(g);
    return st == ROTO_ERR_UNSUPPORTED ? EXR_ERR_FEATURE_NOT_IMPLEMENTED
           : st == ROTO_ERR_OOM       ? EXR_ERR_OUT_OF_MEMORY
                                      : EXR_ERR_CORRUPT_CHUNK;
}

static roto_status dwa_channels(dwa_glue *g, const exr_coding_channel_info_t *cc, int n) {
    if (n > g->cap) {
        roto_dwa_channel *p = realloc(g->ch, sizeof *p * (size_t)n);
        if (!p) return roto_fail(ROTO_ERR_OOM, "out of memory");
        g->ch = p;
        g->cap = n;
    }
    for (int i = 0; i < n; i++) {
        if (cc[i].x_samples != 1 || cc[i].y_samples != 1)
            return roto_fail(ROTO_ERR_UNSUPPORTED, "DWA-compressed channel %s is subsampled (%dx%d)",
                             cc[i].channel_name, cc[i].x_samples, cc[i].y_samples);
        g->ch[i] = (roto_dwa_channel){cc[i].channel_name, cc[i].data_type, cc[i].p_linear};
    }
    return ROTO_OK;
}

static exr_result_t dwa_decompress(exr_decode_pipeline_t *d) {
    dwa_glue *g = (dwa_glue *)d->decoding_user_data;
    if (d->chunk.packed_size == d->chunk.unpacked_size) {  // stored uncompressed
        if (d->unpacked_buffer != d->packed_buffer)
            memcpy(d->unpacked_buffer, d->packed_buffer, (size_t)d->chunk.unpacked_size);
        return EXR_ERR_SUCCESS;
    }
    roto_status st = dwa_channels(g, d->channels, d->channel_count);
    if (st == ROTO_OK)
        st = roto_dwa_decode((const uint8_t *)d->packed_buffer, (size_t)d->chunk.packed_size, g->ch, d->channel_count,
                             d->chunk.width, d->chunk.height, (uint8_t *)d->unpacked_buffer,
                             (size_t)d->chunk.unpacked_size);
    return st == ROTO_OK ? EXR_ERR_SUCCESS : dwa_result(g, st);
}

static exr_result_t dwa_compress(exr_encode_pipeline_t *e) {
    dwa_glue *g = (dwa_glue *)e->encoding_user_data;
    free(g->block);
    g->block = NULL;
    size_t n = 0;
    roto_dwa_opts o = {g->level, 0, g->zip_level};  // static Huffman AC, as OpenEXR for scanlines
    roto_status st = dwa_channels(g, e->channels, e->channel_count);
    if (st == ROTO_OK)
        st = roto_dwa_encode((const uint8_t *)e->packed_buffer, (size_t)e->packed_bytes, g->ch, e->channel_count,
                             e->chunk.width, e->chunk.height, &o, &g->block, &n);
    if (st != ROTO_OK) return dwa_result(g, st);
    if (n >= e->packed_bytes) {  // not smaller: store the chunk uncompressed (the EXR rule)
        e->compressed_buffer = e->packed_buffer;
        e->compressed_bytes = e->packed_bytes;
    } else {
        e->compressed_buffer = g->block;
        e->compressed_bytes = n;
    }
    e->compressed_alloc_size = 0;  // lent: the pipeline frees only buffers with a size
    return EXR_ERR_SUCCESS;
}

// ---- reading ----------------------------------------------------------------

// Find a channel by exact name; -1 if absent.
static int find_channel(const exr_attr_chlist_t *cl, const char *name) {
    for (int i = 0; i < cl->num_channels; i++)
        if (!strcmp(cl->entries[i].name.str, name)) return i;
    return -1;
}

// "R, G, B, A, diffuse.R, ..." (truncated) for error messages.
static void list_channels(const exr_attr_chlist_t *cl, char *out, size_t cap) {
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < cl->num_channels && len + 8 < cap; i++) {
        int k = snprintf(out + len, cap - len, "%s%s", i ? ", " : "", cl->entries[i].name.str);
        if (k < 0) break;
        len += (size_t)k;
        if (len >= cap) {
            len = cap - 1;
            break;
        }
    }
    if (len + 1 >= cap && cap > 4) strcpy(out + cap - 4, "...");
}

// Resolve which channels to read (indices into the channel list, in frame
// order). Returns the count (1..4), 0 when the part lacks them.
static int select_channels(const exr_attr_chlist_t *cl, const roto_read_opts *o, int idx[4]) {
    if (o->channels && *o->channels) {
        int k = 0;
        const char *s = o->channels;
        while (*s) {
            const char *e = strchr(s, ',');
            size_t len = e ? (size_t)(e - s) : strlen(s);
            while (len && isspace((unsigned char)*s)) { s++; len--; }
            while (len && isspace((unsigned char)s[len - 1])) len--;
            if (k == 4 || len == 0 || len >= 256) return 0;
            char nm[256];
            memcpy(nm, s, len);
            nm[len] = '\0';
            if ((idx[k++] = find_channel(cl, nm)) < 0) return 0;
            if (!e) break;
            s = e + 1;
        }
        return k;
    }
    char prefix[256] = "";
    if (o->layer && *o->layer) {
        if (strlen(o->layer) > 200) return 0;
        snprintf(prefix, sizeof prefix, "%s.", o->layer);
    }
    // R,G,B[,A] first (in the default layer or the named one).
    int k = 0;
    static const char *const rgba[4] = {"R", "G", "B", "A"};
    for (int c = 0; c < 4; c++) {
        char nm[300];
        snprintf(nm, sizeof nm, "%s%s", prefix, rgba[c]);
        int i = find_channel(cl, nm);
        if (i < 0) break;
        idx[k++] = i;
    }
    if (k >= 3) return k;
    // The channels directly in the layer (no further '.').
    int lay[4], nlay = 0, too_many = 0;
    size_t pl = strlen(prefix);
    for (int i = 0; i < cl->num_channels; i++) {
        const char *nm = cl->entries[i].name.str;
        if (strncmp(nm, prefix, pl) || strchr(nm + pl, '.')) continue;
        if (nlay == 4) {
            too_many = 1;
            continue;
        }
        lay[nlay++] = i;
    }
    // Y[,A] (luminance images: in a named layer only when that is all it
    // holds, so N.X/N.Y/N.Z stays three channels), else a lone A (a matte).
    char ny[300], na[300];
    snprintf(ny, sizeof ny, "%sY", prefix);
    snprintf(na, sizeof na, "%sA", prefix);
    int iy = find_channel(cl, ny), ia = find_channel(cl, na);
    int y_only = iy >= 0 && !too_many && (nlay == 1 || (nlay == 2 && ia >= 0));
    if (iy >= 0 && (!prefix[0] || y_only)) {
        idx[0] = iy;
        if (ia >= 0) idx[1] = ia;
        return ia >= 0 ? 2 : 1;
    }
    if (!prefix[0]) {
        if (ia >= 0) {
            idx[0] = ia;
            return 1;
        }
        return 0;
    }
    // Any other layer of 1..4 channels: all of them, in file (sorted) order.
    if (too_many || nlay == 0) return 0;
    memcpy(idx, lay, sizeof(int) * (size_t)nlay);
    return nlay;
    return 0;
}

static size_t type_size(int t) { return t == EXR_PIXEL_HALF ? 2 : 4; }

static float to_float(const uint8_t *p, int t) {
    if (t == EXR_PIXEL_HALF) {
        uint16_t h;
        memcpy(&h, p, 2);
        return rt_f16_to_f32(h);
    }
    if (t == EXR_PIXEL_FLOAT) {
        float f;
        memcpy(&f, p, 4);
        return f;
    }
    uint32_t u;
    memcpy(&u, p, 4);
    return (float)u;
}

typedef struct {
    int nch;
    int idx[4];
    int types[4];
    const char *names[4];  // the selected channels' names (owned by the context)
    roto_box dw, disp;
    uint8_t *planes;   // nch planes of max_chunk_pixels * 4 bytes
    size_t plane_cap;  // bytes per plane
    dwa_glue *dwa;     // set when the part is DWA-compressed
} exr_read_state;

// Decode one chunk and place its pixels into the frame.
static roto_status decode_chunk(exr_context_t ctx, int part, exr_chunk_info_t *ci, exr_decode_pipeline_t *dec,
                                int *dec_ready, int x0, int y0, int cw, int chh, exr_read_state *rs,
                                roto_frame *out, exr_mem *m, const char *name) {
    exr_result_t rv;
    m->err[0] = '\0';
    rv = *dec_ready ? exr_decoding_update(ctx, part, ci, dec) : exr_decoding_initialize(ctx, part, ci, dec);
    if (rv != EXR_ERR_SUCCESS) return exr_error(m, rv, name, "cannot decode chunk");
    *dec_ready = 1;
    if ((size_t)cw * (size_t)chh * 4 > rs->plane_cap || cw <= 0 || chh <= 0)
        return roto_fail(ROTO_ERR_FORMAT, "%s: chunk at (%d,%d) has a bad size %dx%d", name, x0, y0, cw, chh);
    for (int i = 0; i < dec->channel_count; i++) {
        exr_coding_channel_info_t *c = &dec->channels[i];
        c->decode_to_ptr = NULL;
        for (int k = 0; k < rs->nch; k++) {
            if (!strcmp(c->channel_name, rs->names[k])) {
                size_t bpe = type_size(rs->types[k]);
                c->decode_to_ptr = rs->planes + (size_t)k * rs->plane_cap;
                c->user_pixel_stride = (int32_t)bpe;
                c->user_line_stride = (int32_t)(bpe * (size_t)cw);
                c->user_bytes_per_element = (int16_t)bpe;
                c->user_data_type = (uint16_t)rs->types[k];
                if (c->height != chh || c->width != cw)
                    return roto_fail(ROTO_ERR_FORMAT, "%s: chunk size mismatch for channel %s", name,
                                     c->channel_name);
            }
        }
    }
    rv = exr_decoding_choose_default_routines(ctx, part, dec);
    if (rv == EXR_ERR_SUCCESS && rs->dwa) {
        dec->decompress_fn = dwa_decompress;
        dec->decoding_user_data = rs->dwa;
    }
    if (rv == EXR_ERR_SUCCESS) rv = exr_decoding_run(ctx, part, dec);
    if (rv != EXR_ERR_SUCCESS) {
        char what[96];
        snprintf(what, sizeof what, "cannot decode the chunk at (%d,%d)", x0, y0);
        return exr_error(m, rv, name, what);
    }
    // Place into the display window, clipped.
    float *dst = (float *)out->data;
    for (int r = 0; r < chh; r++) {
        int fy = y0 + r - rs->disp.min_y;
        if (fy < 0 || fy >= out->height) continue;
        for (int k = 0; k < rs->nch; k++) {
            size_t bpe = type_size(rs->types[k]);
            const uint8_t *src = rs->planes + (size_t)k * rs->plane_cap + (size_t)r * cw * bpe;
            for (int x = 0; x < cw; x++) {
                int fx = x0 + x - rs->disp.min_x;
                if (fx < 0 || fx >= out->width) continue;
                dst[((size_t)fy * out->width + fx) * rs->nch + k] = to_float(src + x * bpe, rs->types[k]);
            }
        }
    }
    return ROTO_OK;
}

static roto_status exr_read_meta(exr_context_t ctx, int part, roto_frame_meta *meta) {
    exr_attr_rational_t r;
    if (exr_attr_get_rational(ctx, part, "framesPerSecond", &r) == EXR_ERR_SUCCESS && r.denom > 0 && r.num > 0) {
        meta->has_fps = 1;
        meta->fps = (roto_rational){r.num, r.denom};
    }
    exr_attr_timecode_t tc;
    if (exr_attr_get_timecode(ctx, part, "timeCode", &tc) == EXR_ERR_SUCCESS) {
        meta->has_timecode = 1;
        meta->timecode = tc.time_and_flags;
        meta->timecode_user = tc.user_data;
    }
    exr_attr_chromaticities_t ch;
    if (exr_attr_get_chromaticities(ctx, part, "chromaticities", &ch) == EXR_ERR_SUCCESS) {
        meta->has_chromaticities = 1;
        float c[8] = {ch.red_x, ch.red_y, ch.green_x, ch.green_y, ch.blue_x, ch.blue_y, ch.white_x, ch.white_y};
        memcpy(meta->chromaticities, c, sizeof c);
    }
    float par = 1.0f;
    if (exr_get_pixel_aspect_ratio(ctx, part, &par) == EXR_ERR_SUCCESS) meta->pixel_aspect = roto_sane_par(par);
    meta->transfer = ROTO_TF_LINEAR;
    snprintf(meta->colorspace, sizeof meta->colorspace, "%s",
             meta->has_chromaticities ? "scene-linear (EXR; chromaticities in header)"
                                      : "scene-linear Rec.709 (EXR default)");
    return ROTO_OK;
}

roto_status roto_exr_decode(const uint8_t *d, size_t n, const char *name, const roto_read_opts *o,
                            int header_only, roto_frame *out) {
    exr_mem m = {{d, n}, NULL, 0, {0}};
    exr_context_t ctx = NULL;
    exr_result_t rv = roto_exr_start_read_mem(&ctx, name, &m.src, on_error);
    if (rv != EXR_ERR_SUCCESS) {
        roto_status st = exr_error(&m, rv, name, "bad EXR header");
        if (ctx) exr_finish(&ctx);
        return st;
    }
    roto_status st = ROTO_OK;
    exr_read_state rs;
    memset(&rs, 0, sizeof rs);
    dwa_glue dwa = {&m, NULL, 0, NULL, 0.0f, 0};
    exr_decode_pipeline_t dec = EXR_DECODE_PIPELINE_INITIALIZER;
    int dec_ready = 0;
    int nparts = 0;
    exr_get_count(ctx, &nparts);
    int part = -1;
    const exr_attr_chlist_t *cl = NULL;
    char avail[512] = "";
    for (int p = 0; p < nparts; p++) {
        if (o->exr_part >= 0 && p != o->exr_part) continue;
        const exr_attr_chlist_t *c = NULL;
        exr_storage_t storage;
        if (exr_get_storage(ctx, p, &storage) != EXR_ERR_SUCCESS) continue;
        if (exr_get_channels(ctx, p, &c) != EXR_ERR_SUCCESS || !c) continue;
        if (!avail[0]) list_channels(c, avail, sizeof avail);
        int k = select_channels(c, o, rs.idx);
        if (k > 0) {
            if (storage == EXR_STORAGE_DEEP_SCANLINE || storage == EXR_STORAGE_DEEP_TILED) {
                st = roto_fail(ROTO_ERR_UNSUPPORTED, "%s: deep EXR (part %d) is not supported", name, p);
                goto done;
            }
            part = p;
            rs.nch = k;
            cl = c;
            break;
        }
    }
    if (o->exr_part >= nparts) {
        st = roto_fail(ROTO_ERR_NOT_FOUND, "%s: EXR part %d requested, the file has %d", name, o->exr_part, nparts);
        goto done;
    }
    if (part < 0) {
        if (o->channels && *o->channels)
            st = roto_fail(ROTO_ERR_NOT_FOUND, "%s: EXR channels '%s' not found (the file has: %s)", name,
                           o->channels, avail);
        else if (o->layer && *o->layer)
            st = roto_fail(ROTO_ERR_NOT_FOUND,
                           "%s: EXR layer '%s' not found or has no R,G,B / Y / A or 1-4 channels (the file has: %s)",
                           name, o->layer, avail);
        else
            st = roto_fail(ROTO_ERR_UNSUPPORTED,
                           "%s: no R,G,B, Y or A channels in the default layer; choose a layer or channels "
                           "(the file has: %s)",
                           name, avail);
        goto done;
    }
    int all_half = 1;
    for (int k = 0; k < rs.nch; k++) {
        const exr_attr_chlist_entry_t *e = &cl->entries[rs.idx[k]];
        if (e->x_sampling != 1 || e->y_sampling != 1) {
            st = roto_fail(ROTO_ERR_UNSUPPORTED, "%s: EXR channel %s is subsampled (%dx%d): not supported", name,
                           e->name.str, e->x_sampling, e->y_sampling);
            goto done;
        }
        rs.types[k] = e->pixel_type;
        if (rs.types[k] != EXR_PIXEL_HALF && rs.types[k] != EXR_PIXEL_FLOAT && rs.types[k] != EXR_PIXEL_UINT) {
            st = roto_fail(ROTO_ERR_FORMAT, "%s: EXR channel %s has a bad pixel type", name, e->name.str);
            goto done;
        }
        if (rs.types[k] != EXR_PIXEL_HALF) all_half = 0;
    }
    exr_attr_box2i_t dw, disp;
    if (exr_get_data_window(ctx, part, &dw) != EXR_ERR_SUCCESS ||
        exr_get_display_window(ctx, part, &disp) != EXR_ERR_SUCCESS) {
        st = roto_fail(ROTO_ERR_FORMAT, "%s: EXR without data/display window", name);
        goto done;
    }
    rs.dw = (roto_box){dw.min.x, dw.min.y, dw.max.x, dw.max.y};
    rs.disp = (roto_box){disp.min.x, disp.min.y, disp.max.x, disp.max.y};
    long long W = (long long)disp.max.x - disp.min.x + 1, H = (long long)disp.max.y - disp.min.y + 1;
    long long DW = (long long)dw.max.x - dw.min.x + 1, DH = (long long)dw.max.y - dw.min.y + 1;
    if ((st = roto_check_dims(name, W, H, o)) != ROTO_OK) goto done;
    if (DW <= 0 || DH <= 0 || DW > 1000000 || DH > 1000000) {
        st = roto_fail(ROTO_ERR_FORMAT, "%s: EXR data window %lldx%lld is invalid", name, DW, DH);
        goto done;
    }
    st = roto_decoder_alloc(out, name, (int)W, (int)H, rs.nch, ROTO_PIX_F32, all_half ? 16 : 32, header_only);
    if (st != ROTO_OK) goto done;
    for (int k = 0; k < rs.nch; k++) {
        rs.names[k] = cl->entries[rs.idx[k]].name.str;
        snprintf(out->channel_names[k], ROTO_MAX_CHANNEL_NAME, "%s", rs.names[k]);
    }
    for (int k = rs.nch; k < 4; k++) out->channel_names[k][0] = '\0';
    exr_read_meta(ctx, part, &out->meta);
    out->meta.display_window = rs.disp;
    out->meta.data_window = rs.dw;
    if (header_only) goto done;
    // The data window bounds the chunk buffers below: keep it within the pixel limit too.
    if ((size_t)DW * (size_t)DH > roto_read_max_pixels(o)) {
        st = roto_fail(ROTO_ERR_UNSUPPORTED, "%s: EXR data window %lldx%lld exceeds the %zu-pixel limit", name, DW,
                       DH, roto_read_max_pixels(o));
        goto done;
    }

    exr_storage_t storage;
    exr_get_storage(ctx, part, &storage);
    exr_compression_t comp = EXR_COMPRESSION_NONE;
    exr_get_compression(ctx, part, &comp);
    if (is_dwa(comp)) rs.dwa = &dwa;
    if (storage == EXR_STORAGE_SCANLINE) {
        int32_t spc = 0;
        if (exr_get_scanlines_per_chunk(ctx, part, &spc) != EXR_ERR_SUCCESS || spc < 1 || spc > 1024) {
            st = roto_fail(ROTO_ERR_FORMAT, "%s: bad EXR scanlines per chunk", name);
            goto done;
        }
        rs.plane_cap = (size_t)DW * (size_t)(spc < DH ? spc : DH) * 4;  // a chunk is never taller than the window
        rs.planes = malloc(rs.plane_cap * (size_t)rs.nch);
        if (!rs.planes) { st = roto_fail(ROTO_ERR_OOM, "%s: out of memory", name); goto done; }
        for (long long y = dw.min.y; y <= dw.max.y; y += spc) {
            exr_chunk_info_t ci;
            m.err[0] = '\0';
            rv = exr_read_scanline_chunk_info(ctx, part, (int)y, &ci);
            if (rv != EXR_ERR_SUCCESS) {
                char what[80];
                snprintf(what, sizeof what, "cannot read scanlines at y=%lld (truncated?)", y);
                st = exr_error(&m, rv, name, what);
                goto done;
            }
            st = decode_chunk(ctx, part, &ci, &dec, &dec_ready, dw.min.x, ci.start_y, ci.width, ci.height, &rs,
                              out, &m, name);
            if (st != ROTO_OK) goto done;
        }
    } else if (storage == EXR_STORAGE_TILED) {
        uint32_t tw = 0, th = 0;
        exr_tile_level_mode_t lvl;
        exr_tile_round_mode_t rnd;
        if (exr_get_tile_descriptor(ctx, part, &tw, &th, &lvl, &rnd) != EXR_ERR_SUCCESS || tw == 0 || th == 0 ||
            tw > 65536 || th > 65536) {
            st = roto_fail(ROTO_ERR_FORMAT, "%s: bad EXR tile description", name);
            goto done;
        }
        rs.plane_cap = (size_t)(tw < DW ? tw : DW) * (size_t)(th < DH ? th : DH) * 4;  // tiles are clipped to the window
        rs.planes = malloc(rs.plane_cap * (size_t)rs.nch);
        if (!rs.planes) { st = roto_fail(ROTO_ERR_OOM, "%s: out of memory", name); goto done; }
        long long ntx = (DW + tw - 1) / tw, nty = (DH + th - 1) / th;
        for (long long ty = 0; ty < nty; ty++) {
            for (long long tx = 0; tx < ntx; tx++) {
                exr_chunk_info_t ci;
                m.err[0] = '\0';
                rv = exr_read_tile_chunk_info(ctx, part, (int)tx, (int)ty, 0, 0, &ci);
                if (rv != EXR_ERR_SUCCESS) {
                    char what[80];
                    snprintf(what, sizeof what, "cannot read tile (%lld,%lld) (truncated?)", tx, ty);
                    st = exr_error(&m, rv, name, what);
                    goto done;
                }
                int x0 = dw.min.x + (int)(tx * tw), y0 = dw.min.y + (int)(ty * th);
                st = decode_chunk(ctx, part, &ci, &dec, &dec_ready, x0, y0, ci.width, ci.height, &rs, out, &m,
                                  name);
                if (st != ROTO_OK) goto done;
            }
        }
    } else {
        st = roto_fail(ROTO_ERR_UNSUPPORTED, "%s: deep EXR is not supported", name);
    }
done:
    if (dec_ready) exr_decoding_destroy(ctx, &dec);
    free(rs.planes);
    free(dwa.ch);
    exr_finish(&ctx);
    if (st != ROTO_OK) roto_frame_free(out);
    return st;
}

// ---- writing ----------------------------------------------------------------

void roto_exr_opts_init(roto_exr_opts *o) {
    memset(o, 0, sizeof *o);
    o->compression = ROTO_EXR_ZIP;
}

roto_status roto_exr_object_layer(const char *object_name, char *out, size_t cap) {
    if (!object_name || !*object_name) return roto_fail(ROTO_ERR_INVALID_ARG, "empty object name");
    size_t n = strlen(object_name);
    if (n + 5 > cap) return roto_fail(ROTO_ERR_INVALID_ARG, "object name '%s' is too long", object_name);
    memcpy(out, "obj_", 4);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)object_name[i];
        out[4 + i] = (isalnum(c) || c == '_' || c == '-') ? (char)c : '_';
    }
    out[4 + n] = '\0';
    return ROTO_OK;
}

static int cmp_channel(const void *a, const void *b) {
    return strcmp(((const roto_exr_channel *)a)->name, ((const roto_exr_channel *)b)->name);
}

static exr_pixel_type_t file_type(roto_exr_pixel t) {
    return t == ROTO_EXR_FLOAT ? EXR_PIXEL_FLOAT : t == ROTO_EXR_UINT ? EXR_PIXEL_UINT : EXR_PIXEL_HALF;
}

// RGB/Y colour channels are "perceptually logarithmic" for lossy codecs;
// mattes, depth and normals are linear data.
static exr_perceptual_treatment_t percept_for(const char *name) {
    const char *dot = strrchr(name, '.');
    const char *c = dot ? dot + 1 : name;
    if (!strcmp(c, "R") || !strcmp(c, "G") || !strcmp(c, "B") || !strcmp(c, "Y"))
        return EXR_PERCEPTUALLY_LOGARITHMIC;
    return EXR_PERCEPTUALLY_LINEAR;
}

static roto_status encode_channels_buf(const char *name, int width, int height, const roto_exr_channel *chin,
                                       int nch, const roto_exr_opts *o, roto_buf *out) {
    if (width < 1 || height < 1 || (size_t)width * (size_t)height > ROTO_MAX_PIXELS)
        return roto_fail(ROTO_ERR_INVALID_ARG, "%s: bad EXR size %dx%d", name, width, height);
    if (nch < 1 || nch > 1024)
        return roto_fail(ROTO_ERR_INVALID_ARG, "%s: %d channels (need 1..1024)", name, nch);
    roto_exr_opts defaults;
    if (!o) {
        roto_exr_opts_init(&defaults);
        o = &defaults;
    }
    if ((int)o->compression < 0 || o->compression > ROTO_EXR_DWAB)
        return roto_fail(ROTO_ERR_INVALID_ARG, "%s: bad EXR compression %d", name, (int)o->compression);
    exr_compression_t comp = (exr_compression_t)o->compression;  // same numbering as the file format
    // Sort by name (the order the file stores them) and check the names.
    roto_exr_channel *ch = malloc(sizeof *ch * (size_t)nch);
    if (!ch) return roto_fail(ROTO_ERR_OOM, "%s: out of memory", name);
    memcpy(ch, chin, sizeof *ch * (size_t)nch);
    int longnames = 0;
    for (int i = 0; i < nch; i++) {
        if (!ch[i].name || !*ch[i].name || strlen(ch[i].name) > 255 || !ch[i].data) {
            free(ch);
            return roto_fail(ROTO_ERR_INVALID_ARG, "%s: channel %d has no name or no data", name, i);
        }
        if ((int)ch[i].type < 0 || ch[i].type > ROTO_EXR_UINT) {
            roto_status st = roto_fail(ROTO_ERR_INVALID_ARG, "%s: channel '%s' has a bad pixel type %d", name,
                                       ch[i].name, (int)ch[i].type);
            free(ch);
            return st;
        }
        if (strlen(ch[i].name) > 31) longnames = 1;
    }
    qsort(ch, (size_t)nch, sizeof *ch, cmp_channel);
    for (int i = 1; i < nch; i++)
        if (!strcmp(ch[i].name, ch[i - 1].name)) {
            roto_status st = roto_fail(ROTO_ERR_INVALID_ARG, "%s: duplicate EXR channel name '%s'", name, ch[i].name);
            free(ch);
            return st;
        }

    exr_mem m = {{NULL, 0}, out, 0, {0}};
    exr_context_initializer_t init = EXR_DEFAULT_CONTEXT_INITIALIZER;
    init.user_data = &m;
    init.write_fn = mem_write;
    init.error_handler_fn = on_error;
    exr_context_t ctx = NULL;
    roto_status st = ROTO_OK;
    uint8_t *planes = NULL;
    exr_encode_pipeline_t enc = EXR_ENCODE_PIPELINE_INITIALIZER;
    int enc_ready = 0;
    dwa_glue dwa = {&m, NULL, 0, NULL, o->dwa_level > 0 ? o->dwa_level : 45.0f,
                    o->zip_level >= 1 && o->zip_level <= 9 ? o->zip_level : 4};
    exr_result_t rv = exr_start_write(&ctx, name, EXR_WRITE_FILE_DIRECTLY, &init);
    if (rv != EXR_ERR_SUCCESS) {
        st = exr_error(&m, rv, name, "cannot start the EXR writer");
        goto done;
    }
    int part = 0;
    if (longnames) exr_set_longname_support(ctx, 1);
    if ((rv = exr_add_part(ctx, NULL, EXR_STORAGE_SCANLINE, &part)) != EXR_ERR_SUCCESS) {
        st = exr_error(&m, rv, name, "cannot add the EXR part");
        goto done;
    }
    exr_attr_box2i_t dw = make_box(0, 0, width - 1, height - 1);
    if (o->has_data_window) {
        roto_box b = o->data_window;
        if ((long long)b.max_x - b.min_x + 1 != width || (long long)b.max_y - b.min_y + 1 != height) {
            st = roto_fail(ROTO_ERR_INVALID_ARG, "%s: data window (%d,%d)-(%d,%d) does not match %dx%d", name,
                           b.min_x, b.min_y, b.max_x, b.max_y, width, height);
            goto done;
        }
        dw = make_box(b.min_x, b.min_y, b.max_x, b.max_y);
    }
    exr_attr_box2i_t disp = dw;
    if (o->meta) {
        roto_box b = o->meta->display_window;
        if (b.max_x >= b.min_x && b.max_y >= b.min_y)
            disp = make_box(b.min_x, b.min_y, b.max_x, b.max_y);
    }
    float par = o->meta ? roto_sane_par(o->meta->pixel_aspect) : 1.0f;
    exr_attr_v2f_t swc;
    swc.x = 0.f;
    swc.y = 0.f;
    rv = exr_initialize_required_attr(ctx, part, &disp, &dw, par, &swc, 1.0f, EXR_LINEORDER_INCREASING_Y, comp);
    if (rv != EXR_ERR_SUCCESS) {
        st = exr_error(&m, rv, name, "cannot set the EXR header");
        goto done;
    }
    for (int i = 0; i < nch; i++) {
        m.err[0] = '\0';
        int r = exr_add_channel(ctx, part, ch[i].name, file_type(ch[i].type),
                                percept_for(ch[i].name), 1, 1);
        if (r != EXR_ERR_SUCCESS) {
            char what[300];
            snprintf(what, sizeof what, "cannot add channel '%s'", ch[i].name);
            st = exr_error(&m, r, name, what);
            goto done;
        }
    }
    if (o->meta) {
        const roto_frame_meta *mt = o->meta;
        if (mt->has_fps && mt->fps.den > 0) {
            exr_attr_rational_t r = {mt->fps.num, mt->fps.den};
            exr_attr_set_rational(ctx, part, "framesPerSecond", &r);
        }
        if (mt->has_timecode) {
            exr_attr_timecode_t tc = {mt->timecode, mt->timecode_user};
            exr_attr_set_timecode(ctx, part, "timeCode", &tc);
        }
        if (mt->has_chromaticities) {
            const float *c = mt->chromaticities;
            exr_attr_chromaticities_t cc = {c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]};
            exr_attr_set_chromaticities(ctx, part, "chromaticities", &cc);
        }
    }
    for (int i = 0; i < o->n_attrs; i++) {
        if (!o->attrs || !o->attrs[i].key || !o->attrs[i].value) continue;
        m.err[0] = '\0';
        rv = exr_attr_set_string(ctx, part, o->attrs[i].key, o->attrs[i].value);
        if (rv != EXR_ERR_SUCCESS) {
            char what[300];
            snprintf(what, sizeof what, "cannot set attribute '%.200s'", o->attrs[i].key);
            st = exr_error(&m, rv, name, what);
            goto done;
        }
    }
    if (is_dwa(comp) && o->dwa_level > 0) exr_set_dwa_compression_level(ctx, part, o->dwa_level);
    if (comp == EXR_COMPRESSION_ZIP || comp == EXR_COMPRESSION_ZIPS || is_dwa(comp)) {
        int level = o->zip_level >= 1 && o->zip_level <= 9 ? o->zip_level : 4;
        exr_set_zip_compression_level(ctx, part, level);
    }
    m.err[0] = '\0';
    if ((rv = exr_write_header(ctx)) != EXR_ERR_SUCCESS) {
        st = exr_error(&m, rv, name, "cannot write the EXR header");
        goto done;
    }
    int32_t spc = 1;
    exr_get_scanlines_per_chunk(ctx, part, &spc);
    if (spc < 1) spc = 1;
    size_t plane_cap = (size_t)width * (size_t)spc * 4;
    planes = malloc(plane_cap * (size_t)nch);
    if (!planes) {
        st = roto_fail(ROTO_ERR_OOM, "%s: out of memory", name);
        goto done;
    }
    for (int y = dw.min.y; y <= dw.max.y; y += spc) {
        exr_chunk_info_t ci;
        m.err[0] = '\0';
        if ((rv = exr_write_scanline_chunk_info(ctx, part, y, &ci)) != EXR_ERR_SUCCESS) {
            st = exr_error(&m, rv, name, "cannot start a scanline chunk");
            goto done;
        }
        rv = enc_ready ? exr_encoding_update(ctx, part, &ci, &enc) : exr_encoding_initialize(ctx, part, &ci, &enc);
        if (rv != EXR_ERR_SUCCESS) {
            st = exr_error(&m, rv, name, "cannot set up the encoder");
            goto done;
        }
        enc_ready = 1;
        int rows = ci.height, row0 = y - dw.min.y;
        for (int i = 0; i < enc.channel_count; i++) {
            exr_coding_channel_info_t *c = &enc.channels[i];
            const roto_exr_channel *src = NULL;
            int k = 0;
            for (; k < nch; k++)
                if (!strcmp(ch[k].name, c->channel_name)) {
                    src = &ch[k];
                    break;
                }
            if (!src) {
                st = roto_fail(ROTO_ERR_INTERNAL, "%s: encoder channel '%s' unknown", name, c->channel_name);
                goto done;
            }
            uint8_t *plane = planes + (size_t)k * plane_cap;
            size_t stride = src->pixel_stride > 0 ? (size_t)src->pixel_stride : 1;
            for (int r = 0; r < rows; r++) {
                const float *s = src->data + ((size_t)(row0 + r) * (size_t)width) * stride;
                if (src->type == ROTO_EXR_FLOAT) {
                    float *d = (float *)plane + (size_t)r * width;
                    for (int x = 0; x < width; x++) d[x] = s[(size_t)x * stride];
                } else if (src->type == ROTO_EXR_UINT) {
                    uint32_t *d = (uint32_t *)plane + (size_t)r * width;
                    for (int x = 0; x < width; x++) {
                        double v = s[(size_t)x * stride];
                        d[x] = !(v > 0.0) ? 0u : v >= 4294967295.0 ? 0xffffffffu : (uint32_t)(v + 0.5);
                    }
                } else {
                    uint16_t *d = (uint16_t *)plane + (size_t)r * width;
                    for (int x = 0; x < width; x++) d[x] = rt_f32_to_f16(s[(size_t)x * stride]);
                }
            }
            size_t bpe = src->type == ROTO_EXR_HALF ? 2 : 4;
            c->encode_from_ptr = plane;
            c->user_pixel_stride = (int32_t)bpe;
            c->user_line_stride = (int32_t)(bpe * (size_t)width);
            c->user_bytes_per_element = (int16_t)bpe;
            c->user_data_type = (uint16_t)file_type(src->type);
        }
        m.err[0] = '\0';
        rv = exr_encoding_choose_default_routines(ctx, part, &enc);
        if (rv == EXR_ERR_SUCCESS && is_dwa(comp)) {
            enc.compress_fn = dwa_compress;
            enc.encoding_user_data = &dwa;
        }
        if (rv == EXR_ERR_SUCCESS) rv = exr_encoding_run(ctx, part, &enc);
        if (rv != EXR_ERR_SUCCESS) {
            st = exr_error(&m, rv, name, "cannot encode scanlines");
            goto done;
        }
    }
done:
    if (enc_ready) exr_encoding_destroy(ctx, &enc);  // leaves the lent DWA block alone
    free(dwa.block);
    free(dwa.ch);
    if (ctx) {
        m.err[0] = '\0';
        rv = exr_finish(&ctx);
        if (st == ROTO_OK && (rv != EXR_ERR_SUCCESS || m.failed_write))
            st = exr_error(&m, rv != EXR_ERR_SUCCESS ? rv : EXR_ERR_WRITE_IO, name, "cannot finish the EXR");
    }
    free(planes);
    free(ch);
    return st;
}

roto_status roto_exr_encode_channels(const char *name, int width, int height, const roto_exr_channel *ch,
                                     int n_channels, const roto_exr_opts *o, void **out, size_t *n) {
    *out = NULL;
    *n = 0;
    roto_buf buf = {0};
    roto_status st = encode_channels_buf(name ? name : "(memory)", width, height, ch, n_channels, o, &buf);
    if (st != ROTO_OK) {
        roto_buf_free(&buf);
        return st;
    }
    *out = buf.data;
    *n = buf.len;
    return ROTO_OK;
}

roto_status roto_exr_write_channels(const char *path, int width, int height, const roto_exr_channel *ch,
                                    int n_channels, const roto_exr_opts *o) {
    void *data;
    size_t n;
    ROTO_TRY(roto_exr_encode_channels(path, width, height, ch, n_channels, o, &data, &n));
    roto_status st = roto_atomic_write(path, data, n);
    free(data);
    return st;
}

roto_status roto_exr_write_mattes(const char *path, const roto_matte_layers *ml, const roto_exr_opts *o) {
    if (!ml || ml->n_objects < 0 || (ml->n_objects > 0 && (!ml->object_names || !ml->alphas)))
        return roto_fail(ROTO_ERR_INVALID_ARG, "%s: bad matte layer description", path);
    int n = ml->n_objects + (ml->depth ? 1 : 0) + (ml->normals ? 3 : 0) + (ml->rgb ? 3 : 0);
    if (n == 0) return roto_fail(ROTO_ERR_INVALID_ARG, "%s: nothing to write (no objects, depth, normals or rgb)", path);
    roto_exr_channel *ch = calloc((size_t)n, sizeof *ch);
    char(*names)[300] = calloc((size_t)(ml->n_objects > 0 ? ml->n_objects : 1), sizeof *names);
    if (!ch || !names) {
        free(ch);
        free(names);
        return roto_fail(ROTO_ERR_OOM, "%s: out of memory", path);
    }
    roto_status st = ROTO_OK;
    int k = 0;
    for (int i = 0; i < ml->n_objects; i++) {
        char layer[290];
        if ((st = roto_exr_object_layer(ml->object_names[i], layer, sizeof layer)) != ROTO_OK) goto done;
        snprintf(names[i], sizeof names[i], "%s.A", layer);
        ch[k++] = (roto_exr_channel){names[i], ml->alphas[i], 1, ml->alpha_float ? ROTO_EXR_FLOAT : ROTO_EXR_HALF};
    }
    if (ml->depth) ch[k++] = (roto_exr_channel){"depth.Z", ml->depth, 1, ROTO_EXR_FLOAT};
    if (ml->normals) {
        ch[k++] = (roto_exr_channel){"N.X", ml->normals + 0, 3, ROTO_EXR_FLOAT};
        ch[k++] = (roto_exr_channel){"N.Y", ml->normals + 1, 3, ROTO_EXR_FLOAT};
        ch[k++] = (roto_exr_channel){"N.Z", ml->normals + 2, 3, ROTO_EXR_FLOAT};
    }
    if (ml->rgb) {
        ch[k++] = (roto_exr_channel){"R", ml->rgb + 0, 3, ROTO_EXR_HALF};
        ch[k++] = (roto_exr_channel){"G", ml->rgb + 1, 3, ROTO_EXR_HALF};
        ch[k++] = (roto_exr_channel){"B", ml->rgb + 2, 3, ROTO_EXR_HALF};
    }
    st = roto_exr_write_channels(path, ml->width, ml->height, ch, k, o);
done:
    free(ch);
    free(names);
    return st;
}

// ---- plain frames through image.h ---------------------------------------------

roto_status roto_exr_encode(const roto_frame *f, const roto_write_opts *wo, int bits, const char *name,
                            roto_buf *out) {
    // Channel names: the frame's own when set and unique, else Y/YA/RGB/RGBA.
    char names[4][ROTO_MAX_CHANNEL_NAME];
    int use_own = 1;
    for (int c = 0; c < f->channels; c++) {
        if (!f->channel_names[c][0]) use_own = 0;
        for (int j = 0; j < c; j++)
            if (!strcmp(f->channel_names[c], f->channel_names[j])) use_own = 0;
    }
    if (use_own) memcpy(names, f->channel_names, sizeof names);
    else roto_default_channel_names(f->channels, names);
    // Integer frames become code/max floats first.
    size_t count = roto_frame_pixels(f) * (size_t)f->channels;
    float *tmp = NULL;
    const float *src = (const float *)f->data;
    if (f->type != ROTO_PIX_F32) {
        tmp = malloc(count * sizeof *tmp);
        if (!tmp) return roto_fail(ROTO_ERR_OOM, "%s: out of memory", name);
        for (size_t i = 0; i < count; i++) tmp[i] = roto_frame_value(f, i);
        src = tmp;
    }
    roto_exr_channel ch[4];
    for (int c = 0; c < f->channels; c++)
        ch[c] = (roto_exr_channel){names[c], src + c, f->channels, bits == 32 ? ROTO_EXR_FLOAT : ROTO_EXR_HALF};
    roto_exr_opts o;
    roto_exr_opts_init(&o);
    o.compression = wo ? wo->exr_compression : ROTO_EXR_ZIP;
    o.zip_level = wo ? wo->exr_zip_level : 0;
    // Keep the frame's windows: its pixels are the display window, written
    // as the data window too (so the file holds every pixel we have).
    roto_frame_meta meta = f->meta;
    roto_box dispw = meta.display_window;
    if ((long long)dispw.max_x - dispw.min_x + 1 != f->width || (long long)dispw.max_y - dispw.min_y + 1 != f->height)
        dispw = (roto_box){0, 0, f->width - 1, f->height - 1};
    meta.display_window = dispw;
    o.meta = &meta;
    o.has_data_window = 1;
    o.data_window = dispw;
    roto_status st = encode_channels_buf(name, f->width, f->height, ch, f->channels, &o, out);
    free(tmp);
    return st;
}
