// jpeg.c: JPEG decoding and encoding with libjpeg(-turbo), from/to memory.
//
// Gray and YCbCr/RGB files decode to 1 or 3 channels of 8-bit codes. CMYK and
// YCCK files are refused with a clear error (no colour management here).
// libjpeg treats a truncated file as a warning and pads the image with gray;
// we turn any such corrupt-data warning into an error instead, so a damaged
// plate never silently feeds the networks.
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "io/codec.h"

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
    int warned;
} jerr;

static void on_error_exit(j_common_ptr c) {
    jerr *e = (jerr *)c->err;
    (*c->err->format_message)(c, e->msg);
    longjmp(e->jb, 1);
}

static void on_emit(j_common_ptr c, int level) {
    jerr *e = (jerr *)c->err;
    if (level < 0 && !e->warned) {  // a warning: corrupt or truncated data
        e->warned = 1;
        (*c->err->format_message)(c, e->msg);
    }
}

roto_status roto_jpeg_decode(const uint8_t *d, size_t n, const char *name, const roto_read_opts *o,
                             int header_only, roto_frame *out) {
    struct jpeg_decompress_struct cinfo;
    jerr err;
    memset(&err, 0, sizeof err);
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = on_error_exit;
    err.pub.emit_message = on_emit;
    unsigned char *volatile row = NULL;
    if (setjmp(err.jb)) {
        jpeg_destroy_decompress(&cinfo);
        free(row);
        roto_frame_free(out);
        return roto_fail(ROTO_ERR_FORMAT, "%s: bad JPEG: %s", name, err.msg);
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, d, (unsigned long)n);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&cinfo);
        return roto_fail(ROTO_ERR_UNSUPPORTED,
                         "%s: CMYK JPEG is not supported (convert the plate to RGB first)", name);
    }
    int channels;
    if (cinfo.jpeg_color_space == JCS_GRAYSCALE) {
        cinfo.out_color_space = JCS_GRAYSCALE;
        channels = 1;
    } else {
        cinfo.out_color_space = JCS_RGB;
        channels = 3;
    }
    roto_status st = roto_check_dims(name, cinfo.image_width, cinfo.image_height, o);
    if (st != ROTO_OK) {
        jpeg_destroy_decompress(&cinfo);
        return st;
    }
    st = roto_decoder_alloc(out, name, (int)cinfo.image_width, (int)cinfo.image_height, channels,
                            ROTO_PIX_U16, 8, header_only);
    if (st != ROTO_OK) {
        jpeg_destroy_decompress(&cinfo);
        return st;
    }
    out->meta.transfer = ROTO_TF_SRGB;
    snprintf(out->meta.colorspace, sizeof out->meta.colorspace, "sRGB (assumed for JPEG)");
    if (cinfo.saw_JFIF_marker && cinfo.X_density > 0 && cinfo.Y_density > 0)
        out->meta.pixel_aspect = roto_sane_par((double)cinfo.Y_density / (double)cinfo.X_density);
    if (header_only) {
        jpeg_destroy_decompress(&cinfo);
        return ROTO_OK;
    }
    jpeg_start_decompress(&cinfo);
    if ((int)cinfo.output_components != channels) {
        jpeg_destroy_decompress(&cinfo);
        roto_frame_free(out);
        return roto_fail(ROTO_ERR_UNSUPPORTED, "%s: JPEG decodes to %d components", name,
                         cinfo.output_components);
    }
    size_t row_elems = (size_t)cinfo.output_width * (size_t)channels;
    row = malloc(row_elems);
    if (!row) {
        jpeg_destroy_decompress(&cinfo);
        roto_frame_free(out);
        return roto_fail(ROTO_ERR_OOM, "%s: out of memory", name);
    }
    uint16_t *dst = (uint16_t *)out->data;
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW rp = row;
        size_t y = cinfo.output_scanline;
        if (jpeg_read_scanlines(&cinfo, &rp, 1) != 1) break;
        for (size_t i = 0; i < row_elems; i++) dst[y * row_elems + i] = row[i];
        if (err.warned) break;
    }
    if (!err.warned) jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(row);
    if (err.warned) {
        roto_frame_free(out);
        return roto_fail(ROTO_ERR_FORMAT, "%s: corrupt or truncated JPEG: %s", name, err.msg);
    }
    return ROTO_OK;
}

roto_status roto_jpeg_encode(const roto_frame *f, const roto_write_opts *o, int bits, const char *name,
                             roto_buf *out) {
    (void)bits;
    if (f->channels != 1 && f->channels != 3)
        return roto_fail(ROTO_ERR_UNSUPPORTED,
                         "%s: JPEG holds 1 (gray) or 3 (RGB) channels, the frame has %d (drop alpha first)",
                         name, f->channels);
    struct jpeg_compress_struct cinfo;
    jerr err;
    memset(&err, 0, sizeof err);
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = on_error_exit;
    unsigned char *volatile row = NULL;
    // libjpeg mallocs the output buffer and updates m through its address
    // (so m lives in memory, valid after a longjmp).
    unsigned char *m = NULL;
    unsigned long mem_size = 0;
    if (setjmp(err.jb)) {
        jpeg_destroy_compress(&cinfo);
        free(row);
        free(m);
        return roto_fail(ROTO_ERR_IO, "%s: JPEG encoding failed: %s", name, err.msg);
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, &m, &mem_size);
    cinfo.image_width = (JDIMENSION)f->width;
    cinfo.image_height = (JDIMENSION)f->height;
    cinfo.input_components = f->channels;
    cinfo.in_color_space = f->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&cinfo);
    int q = o && o->jpeg_quality > 0 ? o->jpeg_quality : 95;
    if (q > 100) q = 100;
    jpeg_set_quality(&cinfo, q, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    size_t row_elems = (size_t)f->width * (size_t)f->channels;
    row = malloc(row_elems);
    if (!row) {
        snprintf(err.msg, sizeof err.msg, "out of memory");
        longjmp(err.jb, 1);
    }
    while (cinfo.next_scanline < cinfo.image_height) {
        size_t base = (size_t)cinfo.next_scanline * row_elems;
        for (size_t i = 0; i < row_elems; i++) row[i] = (unsigned char)roto_code_at(f, base + i, 8);
        JSAMPROW rp = row;
        jpeg_write_scanlines(&cinfo, &rp, 1);
    }
    jpeg_finish_compress(&cinfo);
    roto_status st = roto_buf_append(out, m, mem_size);
    jpeg_destroy_compress(&cinfo);
    free(row);
    free(m);
    return st;
}
