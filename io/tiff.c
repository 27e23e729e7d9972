// tiff.c: TIFF decoding and encoding with libtiff, from/to memory.
//
// Full precision, no TIFFReadRGBA (which squeezes everything to 8 bits):
// 8/16-bit unsigned integer samples become uint16 codes, 16/32-bit IEEE float
// samples become float32. Strips and tiles are both read, for contiguous
// (interleaved) planar configuration only. Gray (MinIsBlack) with optional
// alpha and RGB with optional alpha are supported; JPEG-compressed YCbCr is
// converted to RGB by libtiff. Palette, MinIsWhite, CMYK and separate planes
// are refused with an error naming the file. Errors from libtiff are caught
// per file (TIFFOpenOptions handlers) rather than printed.
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tiffio.h>

#include "engine/dtype.h"
#include "io/codec.h"

typedef struct {
    const uint8_t *d;  // reading
    size_t n;
    roto_buf *out;     // writing
    size_t pos;
    char err[256];
} tiff_mem;

static tsize_t mem_read(thandle_t h, tdata_t buf, tsize_t size) {
    tiff_mem *m = (tiff_mem *)h;
    size_t avail = m->d ? m->n : (m->out ? m->out->len : 0);
    const uint8_t *src = m->d ? m->d : (m->out ? m->out->data : NULL);
    if (size < 0 || m->pos >= avail) return 0;
    size_t k = (size_t)size < avail - m->pos ? (size_t)size : avail - m->pos;
    memcpy(buf, src + m->pos, k);
    m->pos += k;
    return (tsize_t)k;
}

static tsize_t mem_write(thandle_t h, tdata_t buf, tsize_t size) {
    tiff_mem *m = (tiff_mem *)h;
    if (!m->out || size < 0) return -1;
    if (roto_buf_pwrite(m->out, buf, (size_t)size, m->pos) != ROTO_OK) return -1;
    m->pos += (size_t)size;
    return size;
}

static toff_t mem_seek(thandle_t h, toff_t off, int whence) {
    tiff_mem *m = (tiff_mem *)h;
    size_t end = m->d ? m->n : (m->out ? m->out->len : 0);
    size_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : end;
    m->pos = base + (size_t)off;
    return (toff_t)m->pos;
}

static int mem_close(thandle_t h) {
    (void)h;
    return 0;
}

static toff_t mem_size(thandle_t h) {
    tiff_mem *m = (tiff_mem *)h;
    return (toff_t)(m->d ? m->n : (m->out ? m->out->len : 0));
}

static int mem_map(thandle_t h, tdata_t *base, toff_t *size) {
    tiff_mem *m = (tiff_mem *)h;
    if (!m->d) return 0;
    *base = (tdata_t)(uintptr_t)m->d;  // read-only use by libtiff in "r" mode
    *size = (toff_t)m->n;
    return 1;
}

static void mem_unmap(thandle_t h, tdata_t base, toff_t size) {
    (void)h;
    (void)base;
    (void)size;
}

static int on_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap) {
    (void)tif;
    tiff_mem *m = (tiff_mem *)user;
    if (!m->err[0]) {
        int k = snprintf(m->err, sizeof m->err, "%s: ", module ? module : "libtiff");
        if (k < 0) k = 0;
        if ((size_t)k < sizeof m->err) vsnprintf(m->err + k, sizeof m->err - (size_t)k, fmt, ap);
    }
    return 1;
}

static int on_warning(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap) {
    (void)tif;
    (void)user;
    (void)module;
    (void)fmt;
    (void)ap;
    return 1;  // unknown tags and the like: ignore
}

static TIFF *open_mem(tiff_mem *m, const char *name, const char *mode) {
    TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
    if (!opts) return NULL;
    TIFFOpenOptionsSetErrorHandlerExtR(opts, on_error, m);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, on_warning, m);
    // A corrupt header must not make libtiff allocate gigabytes in one go.
    TIFFOpenOptionsSetMaxSingleMemAlloc(opts, (tmsize_t)1 << 30);
    TIFF *tif = TIFFClientOpenExt(name, mode, (thandle_t)m, mem_read, mem_write, mem_seek, mem_close,
                                  mem_size, mem_map, mem_unmap, opts);
    TIFFOpenOptionsFree(opts);
    return tif;
}

// Convert `count` samples from a decoded strip/tile row to the frame's type.
static void convert_samples(const uint8_t *src, int bits, int is_float, void *dst, size_t count) {
    if (is_float) {
        float *o = (float *)dst;
        if (bits == 32) {
            memcpy(o, src, count * 4);
        } else {
            for (size_t i = 0; i < count; i++) {
                uint16_t hv;
                memcpy(&hv, src + 2 * i, 2);
                o[i] = rt_f16_to_f32(hv);
            }
        }
    } else {
        uint16_t *o = (uint16_t *)dst;
        if (bits == 8)
            for (size_t i = 0; i < count; i++) o[i] = src[i];
        else
            memcpy(o, src, count * 2);
    }
}

roto_status roto_tiff_decode(const uint8_t *d, size_t n, const char *name, const roto_read_opts *o,
                             int header_only, roto_frame *out) {
    tiff_mem m = {d, n, NULL, 0, {0}};
    TIFF *tif = open_mem(&m, name, "r");
    if (!tif) return roto_fail(ROTO_ERR_FORMAT, "%s: bad TIFF: %s", name, m.err[0] ? m.err : "cannot open");
    roto_status st = ROTO_OK;
    uint8_t *buf = NULL;
    uint32_t w = 0, h = 0;
    uint16_t bps = 1, spp = 1, fmt = SAMPLEFORMAT_UINT, photo = 0, planar = PLANARCONFIG_CONTIG, comp = 1;
    TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bps);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &fmt);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &comp);
    if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photo)) photo = spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;

    if ((st = roto_check_dims(name, w, h, o)) != ROTO_OK) goto done;
    if (photo == PHOTOMETRIC_YCBCR && comp == COMPRESSION_JPEG) {
        TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
        photo = PHOTOMETRIC_RGB;
    }
    if (photo != PHOTOMETRIC_MINISBLACK && photo != PHOTOMETRIC_RGB) {
        const char *what = photo == PHOTOMETRIC_PALETTE ? "palette" : photo == PHOTOMETRIC_MINISWHITE ? "min-is-white"
                         : photo == PHOTOMETRIC_SEPARATED ? "CMYK" : photo == PHOTOMETRIC_YCBCR ? "YCbCr" : "this";
        st = roto_fail(ROTO_ERR_UNSUPPORTED,
                       "%s: %s TIFF photometric (%d) is not supported (gray or RGB only)", name, what, photo);
        goto done;
    }
    int base_ch = photo == PHOTOMETRIC_RGB ? 3 : 1;
    if (spp < base_ch || spp > base_ch + 1) {
        st = roto_fail(ROTO_ERR_UNSUPPORTED, "%s: TIFF with %d samples per pixel for %s is not supported", name,
                       spp, base_ch == 3 ? "RGB" : "gray");
        goto done;
    }
    if (planar != PLANARCONFIG_CONTIG && spp > 1) {
        st = roto_fail(ROTO_ERR_UNSUPPORTED,
                       "%s: TIFF with separate colour planes is not supported (contiguous only)", name);
        goto done;
    }
    int is_float;
    if (fmt == SAMPLEFORMAT_IEEEFP && (bps == 32 || bps == 16)) is_float = 1;
    else if ((fmt == SAMPLEFORMAT_UINT || fmt == SAMPLEFORMAT_VOID) && (bps == 8 || bps == 16)) is_float = 0;
    else {
        st = roto_fail(ROTO_ERR_UNSUPPORTED,
                       "%s: TIFF with %d-bit %s samples is not supported (8/16-bit unsigned, 16/32-bit float)",
                       name, bps, fmt == SAMPLEFORMAT_INT ? "signed" : fmt == SAMPLEFORMAT_IEEEFP ? "float" : "unsigned");
        goto done;
    }
    st = roto_decoder_alloc(out, name, (int)w, (int)h, spp, is_float ? ROTO_PIX_F32 : ROTO_PIX_U16,
                            is_float ? (bps == 16 ? 16 : 32) : bps, header_only);
    if (st != ROTO_OK) goto done;
    out->meta.transfer = is_float ? ROTO_TF_LINEAR : ROTO_TF_SRGB;
    snprintf(out->meta.colorspace, sizeof out->meta.colorspace, "%s",
             is_float ? "linear (assumed for float TIFF)" : "sRGB (assumed for integer TIFF)");
    float xres = 0, yres = 0;
    if (TIFFGetField(tif, TIFFTAG_XRESOLUTION, &xres) && TIFFGetField(tif, TIFFTAG_YRESOLUTION, &yres) &&
        xres > 0 && yres > 0)
        out->meta.pixel_aspect = roto_sane_par((double)yres / (double)xres);
    if (header_only) goto done;

    size_t bytes_ps = bps / 8, esz = is_float ? 4 : 2;
    size_t row_elems = (size_t)w * spp;
    uint8_t *dst = (uint8_t *)out->data;
    if (TIFFIsTiled(tif)) {
        uint32_t tw = 0, th = 0;
        TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw);
        TIFFGetField(tif, TIFFTAG_TILELENGTH, &th);
        tmsize_t tsize = TIFFTileSize(tif);
        // A tile may be larger than a small image, but not absurdly so: cap
        // it at the image's own size or 64 MB, whichever is larger.
        uint64_t cap = (uint64_t)row_elems * h * bytes_ps;
        if (cap < ((uint64_t)64 << 20)) cap = (uint64_t)64 << 20;
        if (tw == 0 || th == 0 || tsize <= 0 || (uint64_t)tw * th * spp * bytes_ps > (uint64_t)tsize ||
            (uint64_t)tsize > cap) {
            st = roto_fail(ROTO_ERR_FORMAT, "%s: bad TIFF tile layout (%ux%u)", name, tw, th);
            goto done;
        }
        buf = malloc((size_t)tsize);
        if (!buf) { st = roto_fail(ROTO_ERR_OOM, "%s: out of memory", name); goto done; }
        for (uint32_t ty = 0; ty < h; ty += th) {
            for (uint32_t tx = 0; tx < w; tx += tw) {
                if (TIFFReadTile(tif, buf, tx, ty, 0, 0) < 0) {
                    st = roto_fail(ROTO_ERR_FORMAT, "%s: cannot read TIFF tile at (%u,%u): %s", name, tx, ty,
                                   m.err[0] ? m.err : "decode error");
                    goto done;
                }
                uint32_t cw = tx + tw > w ? w - tx : tw, ch = ty + th > h ? h - ty : th;
                for (uint32_t r = 0; r < ch; r++) {
                    const uint8_t *src = buf + (size_t)r * tw * spp * bytes_ps;
                    size_t di = ((size_t)(ty + r) * w + tx) * spp;
                    convert_samples(src, bps, is_float, dst + di * esz, (size_t)cw * spp);
                }
            }
        }
    } else {
        uint32_t rps = 0;
        TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rps);
        if (rps == 0 || rps > h) rps = h;
        tmsize_t ssize = TIFFStripSize(tif);
        if (ssize <= 0 || (uint64_t)ssize > (uint64_t)rps * row_elems * bytes_ps + 65536) {
            st = roto_fail(ROTO_ERR_FORMAT, "%s: bad TIFF strip layout", name);
            goto done;
        }
        buf = malloc((size_t)ssize);
        if (!buf) { st = roto_fail(ROTO_ERR_OOM, "%s: out of memory", name); goto done; }
        for (uint32_t y0 = 0; y0 < h; y0 += rps) {
            uint32_t rows = y0 + rps > h ? h - y0 : rps;
            tmsize_t want = (tmsize_t)(rows * row_elems * bytes_ps);
            tmsize_t got = TIFFReadEncodedStrip(tif, TIFFComputeStrip(tif, y0, 0), buf, want);
            if (got < want) {
                st = roto_fail(ROTO_ERR_FORMAT, "%s: cannot read TIFF rows %u..%u: %s", name, y0, y0 + rows - 1,
                               m.err[0] ? m.err : "file is truncated");
                goto done;
            }
            convert_samples(buf, bps, is_float, dst + (size_t)y0 * row_elems * esz, rows * row_elems);
        }
    }
    if (m.err[0]) {
        st = roto_fail(ROTO_ERR_FORMAT, "%s: bad TIFF: %s", name, m.err);
        goto done;
    }
done:
    free(buf);
    TIFFClose(tif);
    if (st != ROTO_OK) roto_frame_free(out);
    return st;
}

roto_status roto_tiff_encode(const roto_frame *f, const roto_write_opts *o, int bits, const char *name,
                             roto_buf *out) {
    tiff_mem m = {NULL, 0, out, 0, {0}};
    TIFF *tif = open_mem(&m, name, "w");
    if (!tif) return roto_fail(ROTO_ERR_IO, "%s: cannot create a TIFF writer: %s", name, m.err);
    int spp = f->channels, is_float = bits == 32;
    size_t bytes_ps = (size_t)bits / 8;
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, (uint32_t)f->width);
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, (uint32_t)f->height);
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)spp);
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, (uint16_t)bits);
    TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, is_float ? SAMPLEFORMAT_IEEEFP : SAMPLEFORMAT_UINT);
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
    TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(tif, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
    if (spp == 2 || spp == 4) {
        uint16_t extra = EXTRASAMPLE_UNASSALPHA;
        TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, 1, &extra);
    }
    roto_tiff_compression tc = o ? o->tiff_compression : ROTO_TIFF_DEFLATE;
    if (tc == ROTO_TIFF_DEFLATE || tc == ROTO_TIFF_LZW) {
        TIFFSetField(tif, TIFFTAG_COMPRESSION, tc == ROTO_TIFF_LZW ? COMPRESSION_LZW : COMPRESSION_ADOBE_DEFLATE);
        TIFFSetField(tif, TIFFTAG_PREDICTOR, is_float ? PREDICTOR_FLOATINGPOINT : PREDICTOR_HORIZONTAL);
    } else {
        TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_NONE);
    }
    float par = roto_sane_par(f->meta.pixel_aspect);
    if (par != 1.0f) {
        TIFFSetField(tif, TIFFTAG_XRESOLUTION, 72.0f);
        TIFFSetField(tif, TIFFTAG_YRESOLUTION, 72.0f * par);
        TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, RESUNIT_NONE);
    }
    size_t row_elems = (size_t)f->width * (size_t)spp, row_bytes = row_elems * bytes_ps;
    uint32_t rps = (uint32_t)(((size_t)256 << 10) / (row_bytes ? row_bytes : 1));
    if (rps < 1) rps = 1;
    if (rps > (uint32_t)f->height) rps = (uint32_t)f->height;
    TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, rps);
    roto_status st = ROTO_OK;
    uint8_t *buf = malloc(row_bytes * rps);
    if (!buf) {
        TIFFClose(tif);
        return roto_fail(ROTO_ERR_OOM, "%s: out of memory", name);
    }
    for (uint32_t y0 = 0, s = 0; y0 < (uint32_t)f->height; y0 += rps, s++) {
        uint32_t rows = y0 + rps > (uint32_t)f->height ? (uint32_t)f->height - y0 : rps;
        size_t count = rows * row_elems, base = (size_t)y0 * row_elems;
        if (is_float) {
            float *o32 = (float *)buf;
            for (size_t i = 0; i < count; i++) o32[i] = roto_frame_value(f, base + i);
        } else if (bits == 16) {
            uint16_t *o16 = (uint16_t *)buf;
            for (size_t i = 0; i < count; i++) o16[i] = (uint16_t)roto_code_at(f, base + i, 16);
        } else {
            for (size_t i = 0; i < count; i++) buf[i] = (uint8_t)roto_code_at(f, base + i, 8);
        }
        if (TIFFWriteEncodedStrip(tif, s, buf, (tmsize_t)(count * bytes_ps)) < 0) {
            st = roto_fail(ROTO_ERR_IO, "%s: TIFF encoding failed: %s", name, m.err);
            break;
        }
    }
    free(buf);
    if (st == ROTO_OK && !TIFFWriteDirectory(tif))
        st = roto_fail(ROTO_ERR_IO, "%s: TIFF encoding failed: %s", name, m.err);
    TIFFClose(tif);
    return st;
}
