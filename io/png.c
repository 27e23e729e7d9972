// png.c: PNG decoding and encoding with libpng, from/to memory.
//
// Decoding keeps 8- and 16-bit samples as uint16 codes (bit depth 8 or 16):
// palettes are expanded to RGB (RGBA when the palette has transparency),
// 1/2/4-bit gray is scaled to 8 bits, and a tRNS colour key becomes an alpha
// channel. libpng errors longjmp back here and become roto_status messages
// naming the file.
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/codec.h"

typedef struct {
    const uint8_t *d;
    size_t n, pos;
    roto_buf *out;
    char err[256];
} png_io;

static void on_error(png_structp p, png_const_charp msg) {
    png_io *io = (png_io *)png_get_error_ptr(p);
    snprintf(io->err, sizeof io->err, "%s", msg);
    png_longjmp(p, 1);
}

static void on_warning(png_structp p, png_const_charp msg) {
    (void)p;
    (void)msg;  // warnings (e.g. bad CRC in an ancillary chunk) are not fatal
}

static void read_mem(png_structp p, png_bytep dst, png_size_t len) {
    png_io *io = (png_io *)png_get_io_ptr(p);
    if (len > io->n - io->pos) png_error(p, "file is truncated (unexpected end of data)");
    memcpy(dst, io->d + io->pos, len);
    io->pos += len;
}

static void write_mem(png_structp p, png_bytep src, png_size_t len) {
    png_io *io = (png_io *)png_get_io_ptr(p);
    if (roto_buf_append(io->out, src, len) != ROTO_OK) png_error(p, "out of memory");
}

static void flush_mem(png_structp p) { (void)p; }

// Record what the file says about colour: sRGB / gAMA / iCCP / cHRM / pHYs.
static void read_colour_meta(png_structp p, png_infop info, roto_frame_meta *m) {
    int intent;
    double g;
    png_charp icc_name;
    int icc_comp;
    png_bytep icc;
    png_uint_32 icc_len;
    m->transfer = ROTO_TF_SRGB;
    snprintf(m->colorspace, sizeof m->colorspace, "sRGB (assumed: no colour chunks)");
    if (png_get_sRGB(p, info, &intent)) {
        snprintf(m->colorspace, sizeof m->colorspace, "sRGB (PNG sRGB chunk)");
    } else if (png_get_iCCP(p, info, &icc_name, &icc_comp, &icc, &icc_len)) {
        snprintf(m->colorspace, sizeof m->colorspace, "ICC profile '%.30s' (not applied)", icc_name);
    } else if (png_get_gAMA(p, info, &g) && g > 0) {
        // gAMA stores the encoding exponent (0.45455 for a 2.2 display gamma).
        if (g > 0.99 && g < 1.01) {
            m->transfer = ROTO_TF_LINEAR;
            snprintf(m->colorspace, sizeof m->colorspace, "linear (PNG gAMA 1.0)");
        } else if (g > 0.4535 && g < 0.4556) {
            snprintf(m->colorspace, sizeof m->colorspace, "sRGB-like (PNG gAMA 1/2.2)");
        } else {
            m->transfer = ROTO_TF_GAMMA;
            m->gamma = (float)(1.0 / g);
            snprintf(m->colorspace, sizeof m->colorspace, "gamma %.3f (PNG gAMA)", 1.0 / g);
        }
    }
    double wx, wy, rx, ry, gx, gy, bx, by;
    if (png_get_cHRM(p, info, &wx, &wy, &rx, &ry, &gx, &gy, &bx, &by)) {
        m->has_chromaticities = 1;
        float c[8] = {(float)rx, (float)ry, (float)gx, (float)gy, (float)bx, (float)by, (float)wx, (float)wy};
        memcpy(m->chromaticities, c, sizeof c);
    }
    png_uint_32 xr, yr;
    int unit;
    if (png_get_pHYs(p, info, &xr, &yr, &unit) && xr > 0 && yr > 0)
        m->pixel_aspect = roto_sane_par((double)yr / (double)xr);  // pixel width / height
}

// Walk the chunk list before libpng sees it: the whole file is in memory, so
// a chunk claiming more bytes than remain means truncation or corruption.
// This also keeps libpng from allocating a corrupt length's worth of memory
// for an ancillary chunk.
static roto_status check_chunks(const uint8_t *d, size_t n, const char *name) {
    if (n < 8 || memcmp(d, "\x89PNG\r\n\x1a\n", 8))
        return roto_fail(ROTO_ERR_FORMAT, "%s: not a PNG file (bad signature)", name);
    size_t pos = 8;
    while (pos + 12 <= n) {
        uint32_t len = (uint32_t)d[pos] << 24 | (uint32_t)d[pos + 1] << 16 | (uint32_t)d[pos + 2] << 8 | d[pos + 3];
        char type[5] = {0};
        for (int i = 0; i < 4; i++) type[i] = (char)((d[pos + 4 + i] >= 32 && d[pos + 4 + i] < 127) ? d[pos + 4 + i] : '?');
        if (len > n - pos - 12)
            return roto_fail(ROTO_ERR_FORMAT,
                             "%s: PNG is truncated or corrupt (chunk '%s' at byte %zu claims %u bytes, %zu remain)",
                             name, type, pos, len, n - pos - 12);
        if (!memcmp(type, "IEND", 4)) return ROTO_OK;
        pos += 12 + (size_t)len;
    }
    return roto_fail(ROTO_ERR_FORMAT, "%s: PNG is truncated (no IEND chunk)", name);
}

roto_status roto_png_decode(const uint8_t *d, size_t n, const char *name, const roto_read_opts *o,
                            int header_only, roto_frame *out) {
    ROTO_TRY(check_chunks(d, n, name));
    png_io io = {d, n, 0, NULL, {0}};
    png_structp p = png_create_read_struct(PNG_LIBPNG_VER_STRING, &io, on_error, on_warning);
    if (!p) return roto_fail(ROTO_ERR_OOM, "%s: cannot create a PNG reader", name);
    png_infop info = png_create_info_struct(p);
    if (!info) {
        png_destroy_read_struct(&p, NULL, NULL);
        return roto_fail(ROTO_ERR_OOM, "%s: cannot create a PNG reader", name);
    }
    png_bytep *volatile rows = NULL;
    unsigned char *volatile tmp = NULL;
    if (setjmp(png_jmpbuf(p))) {
        png_destroy_read_struct(&p, &info, NULL);
        free(rows);
        free(tmp);
        roto_frame_free(out);
        return roto_fail(ROTO_ERR_FORMAT, "%s: bad PNG: %s", name, io.err);
    }
    png_set_read_fn(p, &io, read_mem);
    // Image size limits are checked by us below; lift libpng's 1M default.
    png_set_user_limits(p, 0x7fffffff, 0x7fffffff);
    // A corrupt length on an ancillary chunk (text, ICC profile) must not make
    // libpng allocate gigabytes: cap single chunks and their number.
    png_set_chunk_malloc_max(p, (png_alloc_size_t)32 << 20);
    png_set_chunk_cache_max(p, 1000);
    png_read_info(p, info);
    png_uint_32 w = png_get_image_width(p, info), h = png_get_image_height(p, info);
    int color = png_get_color_type(p, info), depth = png_get_bit_depth(p, info);
    roto_status st = roto_check_dims(name, w, h, o);
    if (st != ROTO_OK) {
        png_destroy_read_struct(&p, &info, NULL);
        return st;
    }
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(p);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(p);
    if (png_get_valid(p, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(p);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (depth == 16) png_set_swap(p);  // the file is big-endian; we want host-order uint16
#endif
    int passes = png_set_interlace_handling(p);
    (void)passes;
    png_read_update_info(p, info);
    int channels = png_get_channels(p, info);
    int bits = png_get_bit_depth(p, info);  // 8 or 16 after the transforms
    if (channels < 1 || channels > 4 || (bits != 8 && bits != 16)) {
        png_destroy_read_struct(&p, &info, NULL);
        return roto_fail(ROTO_ERR_UNSUPPORTED, "%s: PNG layout with %d channels of %d bits", name, channels,
                         bits);
    }
    st = roto_decoder_alloc(out, name, (int)w, (int)h, channels, ROTO_PIX_U16, bits, header_only);
    if (st != ROTO_OK) {
        png_destroy_read_struct(&p, &info, NULL);
        return st;
    }
    read_colour_meta(p, info, &out->meta);
    if (header_only) {
        png_destroy_read_struct(&p, &info, NULL);
        return ROTO_OK;
    }
    size_t rowbytes = png_get_rowbytes(p, info);
    size_t row_elems = (size_t)w * (size_t)channels;
    if (rowbytes != row_elems * (size_t)(bits / 8)) png_error(p, "unexpected row size");
    rows = malloc(sizeof(png_bytep) * h);
    if (!rows) png_error(p, "out of memory");
    if (bits == 16) {
        for (png_uint_32 y = 0; y < h; y++) rows[y] = (png_bytep)((uint16_t *)out->data + y * row_elems);
    } else {
        tmp = malloc(rowbytes * h);
        if (!tmp) png_error(p, "out of memory");
        for (png_uint_32 y = 0; y < h; y++) rows[y] = tmp + (size_t)y * rowbytes;
    }
    png_read_image(p, rows);
    png_read_end(p, NULL);
    if (bits == 8) {
        uint16_t *dst = (uint16_t *)out->data;
        size_t total = row_elems * h;
        for (size_t i = 0; i < total; i++) dst[i] = tmp[i];
    }
    png_destroy_read_struct(&p, &info, NULL);
    free(rows);
    free(tmp);
    return ROTO_OK;
}

roto_status roto_png_encode(const roto_frame *f, const roto_write_opts *o, int bits, const char *name,
                            roto_buf *out) {
    (void)o;
    static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                 PNG_COLOR_TYPE_RGB_ALPHA};
    png_io io = {NULL, 0, 0, out, {0}};
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, &io, on_error, on_warning);
    if (!p) return roto_fail(ROTO_ERR_OOM, "%s: cannot create a PNG writer", name);
    png_infop info = png_create_info_struct(p);
    if (!info) {
        png_destroy_write_struct(&p, NULL);
        return roto_fail(ROTO_ERR_OOM, "%s: cannot create a PNG writer", name);
    }
    unsigned char *volatile row = NULL;
    if (setjmp(png_jmpbuf(p))) {
        png_destroy_write_struct(&p, &info);
        free(row);
        return roto_fail(ROTO_ERR_IO, "%s: PNG encoding failed: %s", name, io.err);
    }
    png_set_write_fn(p, &io, write_mem, flush_mem);
    png_set_IHDR(p, info, (png_uint_32)f->width, (png_uint_32)f->height, bits, types[f->channels],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    // Frames are written per frame of long sequences, so favour speed: on a
    // grainy 1080p plate zlib level 1 with only the SUB/UP filters encodes
    // about 3x faster than level 3 with all five filters, for ~5% more bytes.
    png_set_compression_level(p, 1);
    png_set_filter(p, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB | PNG_FILTER_UP);
    png_write_info(p, info);
    size_t row_elems = (size_t)f->width * (size_t)f->channels;
    row = malloc(row_elems * (size_t)(bits / 8));
    if (!row) png_error(p, "out of memory");
    for (int y = 0; y < f->height; y++) {
        size_t base = (size_t)y * row_elems;
        if (bits == 8) {
            for (size_t i = 0; i < row_elems; i++) row[i] = (unsigned char)roto_code_at(f, base + i, 8);
        } else {
            for (size_t i = 0; i < row_elems; i++) {
                uint32_t v = roto_code_at(f, base + i, 16);
                row[2 * i] = (unsigned char)(v >> 8);  // PNG is big-endian
                row[2 * i + 1] = (unsigned char)(v & 0xff);
            }
        }
        png_write_row(p, row);
    }
    png_write_end(p, NULL);
    png_destroy_write_struct(&p, &info);
    free(row);
    return ROTO_OK;
}
