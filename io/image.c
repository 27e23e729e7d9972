// image.c: format detection by magic bytes, whole-file reads, dispatch to the
// per-format codecs, and atomic writes (see image.h).
#include "io/image.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/atomic.h"
#include "io/codec.h"

// ---- growable buffer --------------------------------------------------------

roto_status roto_buf_reserve(roto_buf *b, size_t cap) {
    if (cap <= b->cap) return ROTO_OK;
    size_t nc = b->cap ? b->cap : 4096;
    while (nc < cap) {
        if (nc > SIZE_MAX / 2) return roto_fail(ROTO_ERR_OOM, "buffer of %zu bytes", cap);
        nc *= 2;
    }
    unsigned char *p = realloc(b->data, nc);
    if (!p) return roto_fail(ROTO_ERR_OOM, "cannot grow an output buffer to %zu bytes", nc);
    b->data = p;
    b->cap = nc;
    return ROTO_OK;
}

roto_status roto_buf_append(roto_buf *b, const void *p, size_t n) {
    return roto_buf_pwrite(b, p, n, b->len);
}

roto_status roto_buf_pwrite(roto_buf *b, const void *p, size_t n, size_t off) {
    if (off > SIZE_MAX - n) return roto_fail(ROTO_ERR_OOM, "buffer offset overflow");
    size_t end = off + n;
    ROTO_TRY(roto_buf_reserve(b, end));
    if (off > b->len) memset(b->data + b->len, 0, off - b->len);
    if (n) memcpy(b->data + off, p, n);
    if (end > b->len) b->len = end;
    return ROTO_OK;
}

void roto_buf_free(roto_buf *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

// ---- options ----------------------------------------------------------------

void roto_read_opts_init(roto_read_opts *o) {
    memset(o, 0, sizeof *o);
    o->exr_part = -1;
}

void roto_write_opts_init(roto_write_opts *o) {
    memset(o, 0, sizeof *o);
    o->exr_compression = ROTO_EXR_ZIP;
    o->jpeg_quality = 95;
    o->tiff_compression = ROTO_TIFF_DEFLATE;
}

static const char *const k_exr_comp_names[] = {"none", "rle",  "zips", "zip",  "piz",
                                               "pxr24", "b44", "b44a", "dwaa", "dwab"};

roto_status roto_exr_compression_parse(const char *s, roto_exr_compression *out) {
    for (int i = 0; i < (int)(sizeof k_exr_comp_names / sizeof *k_exr_comp_names); i++)
        if (s && !strcasecmp(s, k_exr_comp_names[i])) {
            *out = (roto_exr_compression)i;
            return ROTO_OK;
        }
    return roto_fail(ROTO_ERR_INVALID_ARG,
                     "EXR compression '%s': expected none, rle, zips, zip, piz, pxr24, b44, b44a, dwaa or dwab",
                     s ? s : "(null)");
}

const char *roto_exr_compression_name(roto_exr_compression c) {
    if ((int)c < 0 || (int)c >= (int)(sizeof k_exr_comp_names / sizeof *k_exr_comp_names)) return "?";
    return k_exr_comp_names[c];
}

// ---- helpers for codecs -----------------------------------------------------

roto_status roto_check_dims(const char *name, long long w, long long h, const roto_read_opts *o) {
    if (w <= 0 || h <= 0)
        return roto_fail(ROTO_ERR_FORMAT, "%s: image has zero or negative size %lldx%lld", name, w, h);
    size_t maxp = roto_read_max_pixels(o);
    if (w > 1000000 || h > 1000000 || (size_t)w * (size_t)h > maxp)
        return roto_fail(ROTO_ERR_UNSUPPORTED, "%s: image %lldx%lld exceeds the %zu-pixel limit", name, w,
                         h, maxp);
    return ROTO_OK;
}

roto_status roto_decoder_alloc(roto_frame *out, const char *name, int w, int h, int channels,
                               roto_pixel_type type, int bit_depth, int header_only) {
    if (header_only) {
        memset(out, 0, sizeof *out);
        out->width = w;
        out->height = h;
        out->channels = channels;
        out->type = type;
        out->bit_depth = bit_depth;
        roto_default_channel_names(channels, out->channel_names);
        roto_frame_meta_init(&out->meta, w, h);
        return ROTO_OK;
    }
    roto_status st = roto_frame_alloc(out, w, h, channels, type, bit_depth);
    if (st != ROTO_OK)
        return roto_fail(st, "%s: cannot allocate the %dx%dx%d image", name, w, h, channels);
    return ROTO_OK;
}

roto_rational roto_fps_from_float(double fps) {
    roto_rational r = {0, 0};
    if (!(fps > 0.0) || fps > 1e6) return r;
    // NTSC-style rates are N*1000/1001.
    for (int n = 24; n <= 240; n += 6) {
        double ntsc = n * 1000.0 / 1001.0;
        if (fabs(fps - ntsc) < 0.0015) return (roto_rational){n * 1000, 1001};
    }
    if (fabs(fps - floor(fps + 0.5)) < 1e-4) return (roto_rational){(int32_t)floor(fps + 0.5), 1};
    return (roto_rational){(int32_t)floor(fps * 1000.0 + 0.5), 1000};
}

// ---- detection and dispatch --------------------------------------------------

roto_image_format roto_detect_format(const void *data, size_t n) {
    const unsigned char *p = (const unsigned char *)data;
    if (n >= 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8)) return ROTO_FMT_PNG;
    if (n >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff) return ROTO_FMT_JPEG;
    if (n >= 4 && p[0] == 0x76 && p[1] == 0x2f && p[2] == 0x31 && p[3] == 0x01) return ROTO_FMT_EXR;
    if (n >= 4 && (!memcmp(p, "SDPX", 4) || !memcmp(p, "XPDS", 4))) return ROTO_FMT_DPX;
    if (n >= 4 && ((p[0] == 'I' && p[1] == 'I' && (p[2] == 42 || p[2] == 43) && p[3] == 0) ||
                   (p[0] == 'M' && p[1] == 'M' && p[2] == 0 && (p[3] == 42 || p[3] == 43))))
        return ROTO_FMT_TIFF;
    return ROTO_FMT_UNKNOWN;
}

static roto_decode_fn decoder_for(roto_image_format f) {
    switch (f) {
    case ROTO_FMT_PNG: return roto_png_decode;
    case ROTO_FMT_JPEG: return roto_jpeg_decode;
    case ROTO_FMT_EXR: return roto_exr_decode;
    case ROTO_FMT_DPX: return roto_dpx_decode;
    case ROTO_FMT_TIFF: return roto_tiff_decode;
    default: return NULL;
    }
}

static roto_status decode_common(const void *data, size_t n, const char *name, roto_image_format fmt,
                                 const roto_read_opts *opts, int header_only, roto_frame *out) {
    memset(out, 0, sizeof *out);
    if (!name) name = "(memory)";
    if (!data || n == 0) return roto_fail(ROTO_ERR_FORMAT, "%s: empty file", name);
    if (fmt == ROTO_FMT_UNKNOWN) fmt = roto_detect_format(data, n);
    roto_decode_fn fn = decoder_for(fmt);
    if (!fn)
        return roto_fail(ROTO_ERR_UNSUPPORTED,
                         "%s: unknown image format (not PNG, JPEG, EXR, DPX or TIFF by its first bytes)",
                         name);
    roto_read_opts defaults;
    if (!opts) {
        roto_read_opts_init(&defaults);
        opts = &defaults;
    }
    roto_status st = fn((const uint8_t *)data, n, name, opts, header_only, out);
    if (st != ROTO_OK) {
        roto_frame_free(out);
        return st;
    }
    out->meta.source_format = fmt;
    return ROTO_OK;
}

roto_status roto_image_decode(const void *data, size_t n, const char *name, roto_image_format fmt,
                              const roto_read_opts *opts, roto_frame *out) {
    return decode_common(data, n, name, fmt, opts, 0, out);
}

roto_status roto_image_decode_header(const void *data, size_t n, const char *name,
                                     roto_image_format fmt, const roto_read_opts *opts,
                                     roto_frame *out) {
    return decode_common(data, n, name, fmt, opts, 1, out);
}

// Read the first min(limit, file size) bytes of a regular file (limit 0 =
// the whole file). Reads, never maps: a file truncated by another process
// while we look at it gives a short read and a clear error, not SIGBUS.
roto_status roto_file_read_head(const char *path, size_t limit, unsigned char **data, size_t *n,
                                size_t *file_size) {
    *data = NULL;
    *n = 0;
    if (file_size) *file_size = 0;
    if (!path || !*path) return roto_fail(ROTO_ERR_INVALID_ARG, "empty input path");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return roto_fail(e == ENOENT ? ROTO_ERR_NOT_FOUND : ROTO_ERR_IO, "%s: %s", path,
                         e == ENOENT ? "no such file" : strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return roto_fail(ROTO_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return roto_fail(ROTO_ERR_IO, "%s: is a directory, not an image file", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return roto_fail(ROTO_ERR_IO, "%s: not a regular file", path);
    }
    size_t size = (size_t)st.st_size;
    if (size == 0) {
        close(fd);
        return roto_fail(ROTO_ERR_FORMAT, "%s: empty file", path);
    }
    if (file_size) *file_size = size;
    if (limit > 0 && limit < size) size = limit;
    unsigned char *buf = malloc(size);
    if (!buf) {
        close(fd);
        return roto_fail(ROTO_ERR_OOM, "%s: cannot allocate %zu bytes to read it", path, size);
    }
    size_t done = 0;
    while (done < size) {
        ssize_t r = read(fd, buf + done, size - done);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            int e = r < 0 ? errno : 0;
            close(fd);
            free(buf);
            return roto_fail(ROTO_ERR_IO, "%s: read failed at byte %zu: %s", path, done,
                             e ? strerror(e) : "file shrank while reading");
        }
        done += (size_t)r;
    }
    close(fd);
    *data = buf;
    *n = size;
    return ROTO_OK;
}

static roto_status read_file(const char *path, unsigned char **data, size_t *n) {
    return roto_file_read_head(path, 0, data, n, NULL);
}

roto_status roto_image_read(const char *path, const roto_read_opts *opts, roto_frame *out) {
    memset(out, 0, sizeof *out);
    unsigned char *data;
    size_t n;
    ROTO_TRY(read_file(path, &data, &n));
    roto_status st = roto_image_decode(data, n, path, ROTO_FMT_UNKNOWN, opts, out);
    free(data);
    return st;
}

roto_status roto_image_probe(const char *path, const roto_read_opts *opts, roto_frame *out) {
    memset(out, 0, sizeof *out);
    unsigned char *data;
    size_t n, size;
    // Headers sit at the start of every format roto reads, except TIFF's
    // directory, which may follow the pixels: parse the head of the file and
    // read the rest only when the head was not enough.
    ROTO_TRY(roto_file_read_head(path, ROTO_PROBE_HEAD_BYTES, &data, &n, &size));
    roto_status st = roto_image_decode_header(data, n, path, ROTO_FMT_UNKNOWN, opts, out);
    free(data);
    if (st == ROTO_OK || n == size) return st;
    ROTO_TRY(read_file(path, &data, &n));
    st = roto_image_decode_header(data, n, path, ROTO_FMT_UNKNOWN, opts, out);
    free(data);
    return st;
}

// ---- writing ----------------------------------------------------------------

roto_image_format roto_format_from_extension(const char *path) {
    const char *dot = path ? strrchr(path, '.') : NULL;
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (!dot || (slash && dot < slash)) return ROTO_FMT_UNKNOWN;
    dot++;
    if (!strcasecmp(dot, "png")) return ROTO_FMT_PNG;
    if (!strcasecmp(dot, "jpg") || !strcasecmp(dot, "jpeg")) return ROTO_FMT_JPEG;
    if (!strcasecmp(dot, "exr")) return ROTO_FMT_EXR;
    if (!strcasecmp(dot, "dpx")) return ROTO_FMT_DPX;
    if (!strcasecmp(dot, "tif") || !strcasecmp(dot, "tiff")) return ROTO_FMT_TIFF;
    return ROTO_FMT_UNKNOWN;
}

// The bit depth a writer uses: explicit, else derived from the frame.
static roto_status choose_bits(const roto_frame *f, roto_image_format fmt, int req, const char *name,
                               int *bits) {
    int hi = f->type == ROTO_PIX_F32 || f->bit_depth > 8;
    switch (fmt) {
    case ROTO_FMT_PNG:
        *bits = req ? req : (hi ? 16 : 8);
        if (*bits != 8 && *bits != 16) goto bad;
        return ROTO_OK;
    case ROTO_FMT_JPEG:
        *bits = req ? req : 8;
        if (*bits != 8) goto bad;
        return ROTO_OK;
    case ROTO_FMT_TIFF:
        *bits = req ? req : (f->type == ROTO_PIX_F32 ? 32 : (hi ? 16 : 8));
        if (*bits != 8 && *bits != 16 && *bits != 32) goto bad;
        return ROTO_OK;
    case ROTO_FMT_DPX:
        *bits = req ? req
                    : (f->type == ROTO_PIX_F32 ? 10 : (f->bit_depth <= 8 ? 8 : f->bit_depth <= 10 ? 10
                                                                       : f->bit_depth <= 12 ? 12 : 16));
        if (*bits != 8 && *bits != 10 && *bits != 12 && *bits != 16) goto bad;
        return ROTO_OK;
    case ROTO_FMT_EXR:
        *bits = req ? req : (f->type == ROTO_PIX_F32 && f->bit_depth == 32 ? 32 : 16);
        if (*bits != 16 && *bits != 32) goto bad;
        return ROTO_OK;
    default:
        return roto_fail(ROTO_ERR_UNSUPPORTED, "%s: no writer for this format", name);
    }
bad:
    return roto_fail(ROTO_ERR_UNSUPPORTED, "%s: %d bits per sample cannot be written as %s", name, req,
                     roto_format_name(fmt));
}

roto_status roto_image_encode(const roto_frame *f, roto_image_format fmt, const roto_write_opts *opts,
                              const char *name, void **out, size_t *n) {
    *out = NULL;
    *n = 0;
    if (!name) name = "(memory)";
    if (!f || !f->data || f->width < 1 || f->height < 1 || f->channels < 1 || f->channels > 4)
        return roto_fail(ROTO_ERR_INVALID_ARG, "%s: nothing to write (empty or invalid frame)", name);
    roto_write_opts defaults;
    if (!opts) {
        roto_write_opts_init(&defaults);
        opts = &defaults;
    }
    int bits;
    ROTO_TRY(choose_bits(f, fmt, opts->bit_depth, name, &bits));
    roto_buf buf = {0};
    roto_status st;
    switch (fmt) {
    case ROTO_FMT_PNG: st = roto_png_encode(f, opts, bits, name, &buf); break;
    case ROTO_FMT_JPEG: st = roto_jpeg_encode(f, opts, bits, name, &buf); break;
    case ROTO_FMT_EXR: st = roto_exr_encode(f, opts, bits, name, &buf); break;
    case ROTO_FMT_DPX: st = roto_dpx_encode(f, opts, bits, name, &buf); break;
    case ROTO_FMT_TIFF: st = roto_tiff_encode(f, opts, bits, name, &buf); break;
    default: st = roto_fail(ROTO_ERR_UNSUPPORTED, "%s: no writer for this format", name);
    }
    if (st != ROTO_OK) {
        roto_buf_free(&buf);
        return st;
    }
    *out = buf.data;
    *n = buf.len;
    return ROTO_OK;
}

roto_status roto_image_write(const char *path, const roto_frame *f, const roto_write_opts *opts) {
    if (!path || !*path) return roto_fail(ROTO_ERR_INVALID_ARG, "empty output path");
    roto_image_format fmt = opts && opts->format ? opts->format : roto_format_from_extension(path);
    if (fmt == ROTO_FMT_UNKNOWN)
        return roto_fail(ROTO_ERR_INVALID_ARG,
                         "%s: cannot tell the output format from the extension (use .png .jpg .exr .dpx .tif)",
                         path);
    void *data;
    size_t n;
    ROTO_TRY(roto_image_encode(f, fmt, opts, path, &data, &n));
    roto_status st = roto_atomic_write(path, data, n);
    free(data);
    return st;
}
