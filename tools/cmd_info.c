// cmd_info.c: `roto info FILE|PATTERN`: what a file holds, detected from its
// content (never the extension):
//   checkpoint  format, tensor and parameter counts, dtypes, the detected model
//               and the file's metadata; `--tensors` lists every tensor
//   image       format, resolution, channels, sample type, compression, the
//               colour hint, chromaticities, fps, timecode, windows, pixel aspect
//   sequence    (a pattern such as plate.####.exr or plate.%04d.exr) the frame
//               range, count and gaps, a header check of every frame for size
//               changes, and the first frame described as an image
// `--json` prints the same as one JSON object for pipeline tools.
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <openexr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <unistd.h>

#include "engine/model_detect.h"
#include "engine/namemap.h"
#include "engine/weights.h"
#include "io/exr_mem.h"
#include "io/image.h"
#include "io/sequence.h"
#include "tools/commands.h"

static void info_usage(FILE *f) {
    fprintf(f,
            "usage: roto info [--json] [--tensors] FILE\n"
            "       roto info [--json] [--frames RANGE] PATTERN\n"
            "\n"
            "Describe a file, detected from its content:\n"
            "  checkpoint  format (safetensors or PyTorch zip), tensor and parameter counts,\n"
            "              dtypes, detected model family/variant, metadata\n"
            "  image       PNG, JPEG, EXR, DPX or TIFF: resolution, channels, sample type,\n"
            "              compression, colour hint, chromaticities, fps, timecode, windows,\n"
            "              pixel aspect (EXR: every part and channel)\n"
            "A PATTERN (plate.####.exr, plate.%%04d.exr) describes an image sequence: frame\n"
            "range, count, missing frames, a header check of every frame for size changes,\n"
            "and the first frame.\n"
            "\n"
            "  --tensors       checkpoints: also list every tensor (name, dtype, shape)\n"
            "  --frames RANGE  sequences: only these frames (1001-1100, 1001-1100x2, 1001,1005)\n"
            "  --json          print one JSON object instead of text\n");
}

// 38962384 -> "38,962,384"
static const char *group_digits(long long v, char *buf, size_t n) {
    char raw[32];
    int len = snprintf(raw, sizeof raw, "%lld", v);
    size_t k = 0;
    for (int i = 0; i < len && k + 2 < n; i++) {
        if (i && raw[i - 1] != '-' && (len - i) % 3 == 0) buf[k++] = ',';
        buf[k++] = raw[i];
    }
    buf[k] = '\0';
    return buf;
}

// Print a JSON value to stdout (9 significant digits: floats round-trip).
static void print_json(json_t *root) {
    char *s = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
    if (s) printf("%s\n", s);
    free(s);
    json_decref(root);
}

// A float metadata value as the shortest decimal that reads back as the same
// float, so 0.64f prints as 0.64 and not 0.639999986.
static json_t *json_float(float v) {
    char buf[32];
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)v);
        if ((float)strtod(buf, NULL) == v) break;
    }
    return json_real(strtod(buf, NULL));
}

// ---- files ---------------------------------------------------------------------------------

// A file's bytes: its head (ROTO_PROBE_HEAD_BYTES) or all of it. Read, not
// mapped: a file that another process truncates while we parse it gives a
// clear error instead of SIGBUS.
typedef struct {
    uint8_t *data;
    size_t size;       // bytes held
    size_t file_size;  // the file's size
} file_bytes;

// Probing every frame of a 4K EXR sequence reads a few hundred KB per frame,
// not whole files; load_rest() reads the remainder when a header needs it
// (a TIFF whose directory follows the pixels).
static roto_status load_head(const char *path, file_bytes *fb) {
    memset(fb, 0, sizeof *fb);
    unsigned char *d;
    ROTO_TRY(roto_file_read_head(path, ROTO_PROBE_HEAD_BYTES, &d, &fb->size, &fb->file_size));
    fb->data = d;
    return ROTO_OK;
}

// Whether a parse that failed on the head should be retried on the whole file.
static int load_rest(const char *path, file_bytes *fb) {
    if (fb->size >= fb->file_size) return 0;
    unsigned char *d;
    size_t n, size;
    if (roto_file_read_head(path, 0, &d, &n, &size) != ROTO_OK) return 0;
    free(fb->data);
    fb->data = d;
    fb->size = n;
    fb->file_size = size;
    return 1;
}

static void file_bytes_free(file_bytes *fb) {
    free(fb->data);
    memset(fb, 0, sizeof *fb);
}

typedef enum { KIND_UNKNOWN = 0, KIND_IMAGE, KIND_CHECKPOINT } file_kind;

// What the first bytes say. Checkpoints: a PyTorch zip ("PK"), safetensors
// (an 8-byte header length, then the JSON header's '{'), or the legacy torch
// formats that rt_weights_open refuses with an explanation.
static file_kind sniff(const uint8_t *p, size_t n, roto_image_format *fmt) {
    *fmt = roto_detect_format(p, n);
    if (*fmt != ROTO_FMT_UNKNOWN) return KIND_IMAGE;
    if (n >= 4 && p[0] == 'P' && p[1] == 'K') return KIND_CHECKPOINT;
    if (n > 8 && p[8] == '{') return KIND_CHECKPOINT;
    if (n >= 2 && p[0] == 0x80 && p[1] <= 5) return KIND_CHECKPOINT;
    if (n > 262 && !memcmp(p + 257, "ustar", 5)) return KIND_CHECKPOINT;
    return KIND_UNKNOWN;
}

// ---- checkpoints ---------------------------------------------------------------------------

static int info_checkpoint(const char *path, int list, int as_json) {
    rt_weights w;
    if (rt_weights_open(&w, path) != ROTO_OK) {
        fprintf(stderr, "roto info: %s\n", roto_last_error());
        return 1;
    }
    rt_model_info model;
    rt_model_detect(&w, &model);
    int n_alias = 0;
    if (model.family == RT_FAMILY_SAM2 && model.naming == RT_NAMING_HF &&
        rt_namemap_attach(&w, RT_NAMES_SAM2, &n_alias) != ROTO_OK) {
        fprintf(stderr, "roto info: %s\n", roto_last_error());
        rt_weights_close(&w);
        return 1;
    }
    long long params = (long long)rt_weights_param_count(&w);
    int count[RT_WDT_COUNT] = {0};
    for (int i = 0; i < w.n_tensors; i++) count[w.tensors[i].dtype]++;

    if (as_json) {
        json_t *dtypes = json_object(), *bad = json_array(), *meta = json_object();
        for (int t = 0; t < RT_WDT_COUNT; t++)
            if (count[t]) {
                json_object_set_new(dtypes, rt_wdtype_name((rt_wdtype)t), json_integer(count[t]));
                if (!rt_wdtype_supported((rt_wdtype)t))
                    json_array_append_new(bad, json_string(rt_wdtype_name((rt_wdtype)t)));
            }
        for (int i = 0; i < w.n_meta; i++) json_object_set_new(meta, w.meta[i].key, json_string(w.meta[i].value));
        json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:s}", "family", rt_model_family_name(model.family),
                              "variant", model.variant, "version", model.version, "naming",
                              model.naming == RT_NAMING_HF ? "hf" : "official", "description",
                              model.description);
        json_t *root = json_pack("{s:s, s:s, s:s, s:i, s:I, s:o, s:o, s:o, s:i, s:o}", "kind", "checkpoint",
                                 "path", path, "format", rt_wformat_name(w.format), "tensors", w.n_tensors,
                                 "parameters", (json_int_t)params, "dtypes", dtypes, "not_loadable", bad,
                                 "model", m, "aliases", n_alias, "metadata", meta);
        if (list) {
            json_t *tl = json_array();
            for (int i = 0; i < w.n_tensors; i++) {
                json_t *shape = json_array();
                for (int d = 0; d < w.tensors[i].ndim; d++)
                    json_array_append_new(shape, json_integer(w.tensors[i].shape[d]));
                json_array_append_new(tl, json_pack("{s:s, s:s, s:o}", "name", w.tensors[i].name, "dtype",
                                                    rt_wdtype_name(w.tensors[i].dtype), "shape", shape));
            }
            json_object_set_new(root, "tensor_list", tl);
        }
        print_json(root);
        rt_weights_close(&w);
        return 0;
    }

    char num[48];
    printf("file:       %s\n", path);
    printf("format:     %s\n", rt_wformat_name(w.format));
    printf("tensors:    %d\n", w.n_tensors);
    printf("parameters: %s (%.2f M)\n", group_digits(params, num, sizeof num), params / 1e6);
    printf("dtypes:    ");
    const char *sep = " ";
    for (int t = 0; t < RT_WDT_COUNT; t++)
        if (count[t]) {
            printf("%s%s %d%s", sep, rt_wdtype_name((rt_wdtype)t), count[t],
                   rt_wdtype_supported((rt_wdtype)t) ? "" : " (not loadable)");
            sep = ", ";
        }
    printf("\n");
    printf("model:      %s\n", model.description);
    if (n_alias) printf("aliases:    %d official names mapped onto this file\n", n_alias);
    if (w.n_meta) {
        printf("metadata:\n");
        for (int i = 0; i < w.n_meta; i++) printf("  %s: %s\n", w.meta[i].key, w.meta[i].value);
    }
    if (list) {
        printf("tensors:\n");
        for (int i = 0; i < w.n_tensors; i++) {
            char shape[128];
            printf("  %s  %s  %s\n", w.tensors[i].name, rt_wdtype_name(w.tensors[i].dtype),
                   rt_wtensor_shape_str(&w.tensors[i], shape, sizeof shape));
        }
    }
    rt_weights_close(&w);
    return 0;
}

// ---- image description ---------------------------------------------------------------------

typedef struct {
    char *name;
    char type[12];  // "uint8" .. "uint16", "half", "float", "uint32"
} chan_info;

typedef struct {
    char *name;               // NULL when the part has none (single-part files)
    const char *storage;      // "scanline", "tiled", "tiled mipmap", "deep scanline", ...
    const char *compression;  // "zip", "piz", ...
    int width, height;        // data window
    int n_ch;
    chan_info *ch;            // in file (sorted) order
} part_info;

typedef struct {
    roto_frame f;             // the header (data == NULL)
    roto_image_format fmt;
    roto_read_opts opts;      // what read the header (reused to check later frames)
    char compression[64];     // "" when not known
    char file_samples[32];    // PNG: how the file stores samples when roto widens them ("1-bit gray", "8-bit palette")
    int n_ch;
    chan_info *ch;            // every channel (EXR: of the described part)
    // EXR only
    int n_parts, part;        // parts, and the one described
    part_info *parts;
    int n_reads;              // channels roto reads by default (f.channel_names); 0 = none
} image_info;

static void free_chans(chan_info *c, int n) {
    for (int i = 0; c && i < n; i++) free(c[i].name);
    free(c);
}

static void image_info_free(image_info *im) {
    roto_frame_free(&im->f);
    if (im->parts) {
        for (int p = 0; p < im->n_parts; p++) {
            free(im->parts[p].name);
            free_chans(im->parts[p].ch, im->parts[p].n_ch);
        }
        free(im->parts);
    } else {
        free_chans(im->ch, im->n_ch);
    }
    memset(im, 0, sizeof *im);
}

// -- EXR: every part, read with OpenEXRCore from the loaded bytes --

static const char *exr_storage_name(exr_const_context_t ctx, int part) {
    exr_storage_t s = EXR_STORAGE_SCANLINE;
    exr_get_storage(ctx, part, &s);
    if (s == EXR_STORAGE_TILED || s == EXR_STORAGE_DEEP_TILED) {
        uint32_t tx, ty;
        exr_tile_level_mode_t lm = EXR_TILE_ONE_LEVEL;
        exr_tile_round_mode_t rm;
        exr_get_tile_descriptor(ctx, part, &tx, &ty, &lm, &rm);
        if (s == EXR_STORAGE_DEEP_TILED) return "deep tiled";
        return lm == EXR_TILE_MIPMAP_LEVELS ? "tiled mipmap" : lm == EXR_TILE_RIPMAP_LEVELS ? "tiled ripmap" : "tiled";
    }
    return s == EXR_STORAGE_DEEP_SCANLINE ? "deep scanline" : "scanline";
}

static roto_status exr_parts_read(const char *path, const file_bytes *mf, part_info **out, int *n_out) {
    *out = NULL;
    *n_out = 0;
    // The io layer reports header problems with the file's name; here they
    // are only a fallback, so OpenEXRCore's messages are dropped.
    roto_exr_src src = {mf->data, mf->size};
    exr_context_t ctx = NULL;
    if (roto_exr_start_read_mem(&ctx, path, &src, NULL) != EXR_ERR_SUCCESS) {
        if (ctx) exr_finish(&ctx);
        return roto_fail(ROTO_ERR_FORMAT, "%s: bad EXR header", path);
    }
    int n = 0;
    exr_get_count(ctx, &n);
    part_info *parts = n > 0 ? calloc((size_t)n, sizeof *parts) : NULL;
    if (n > 0 && !parts) {
        exr_finish(&ctx);
        return roto_fail(ROTO_ERR_OOM, "%s: out of memory", path);
    }
    for (int p = 0; p < n; p++) {
        part_info *pi = &parts[p];
        const char *name = NULL;
        if (exr_get_name(ctx, p, &name) == EXR_ERR_SUCCESS && name) pi->name = strdup(name);
        pi->storage = exr_storage_name(ctx, p);
        exr_compression_t comp = EXR_COMPRESSION_NONE;
        exr_get_compression(ctx, p, &comp);
        pi->compression = roto_exr_compression_name((roto_exr_compression)comp);  // same numbering
        exr_attr_box2i_t dw;
        if (exr_get_data_window(ctx, p, &dw) == EXR_ERR_SUCCESS) {
            pi->width = dw.max.x - dw.min.x + 1;
            pi->height = dw.max.y - dw.min.y + 1;
        }
        const exr_attr_chlist_t *cl = NULL;
        if (exr_get_channels(ctx, p, &cl) != EXR_ERR_SUCCESS || !cl || cl->num_channels <= 0) continue;
        pi->ch = calloc((size_t)cl->num_channels, sizeof *pi->ch);
        if (!pi->ch) break;
        pi->n_ch = cl->num_channels;
        for (int i = 0; i < cl->num_channels; i++) {
            const exr_attr_chlist_entry_t *e = &cl->entries[i];
            pi->ch[i].name = strdup(e->name.str ? e->name.str : "");
            snprintf(pi->ch[i].type, sizeof pi->ch[i].type, "%s",
                     e->pixel_type == EXR_PIXEL_HALF ? "half" : e->pixel_type == EXR_PIXEL_FLOAT ? "float" : "uint32");
        }
    }
    exr_finish(&ctx);
    *out = parts;
    *n_out = n;
    for (int p = 0; p < n; p++)
        for (int i = 0; i < parts[p].n_ch; i++)
            if (!parts[p].ch[i].name) return roto_fail(ROTO_ERR_OOM, "%s: out of memory", path);
    return ROTO_OK;
}

// The part roto reads by default is the first one whose channels the io
// layer's default selection finds (R,G,B[,A], Y[,A] or A). A file without
// such a part (a matte EXR holding only obj_<name>.A layers) is described
// through part 0's first channel: its size and metadata are the same.
static roto_status describe_exr(const char *path, const file_bytes *mf, image_info *im) {
    roto_status st = exr_parts_read(path, mf, &im->parts, &im->n_parts);
    if (st == ROTO_OK && im->n_parts < 1) st = roto_fail(ROTO_ERR_FORMAT, "%s: EXR without parts", path);
    if (st != ROTO_OK) {
        // The io layer parses the same header and says precisely what is wrong.
        roto_frame f;
        roto_status io = roto_image_decode_header(mf->data, mf->size, path, ROTO_FMT_EXR, &im->opts, &f);
        if (io != ROTO_OK) return io;
        roto_frame_free(&f);
        return roto_fail(st, "%s: cannot list the EXR parts", path);
    }
    st = ROTO_ERR_NOT_FOUND;
    for (int p = 0; p < im->n_parts && st != ROTO_OK; p++) {
        im->opts.exr_part = p;
        st = roto_image_decode_header(mf->data, mf->size, path, ROTO_FMT_EXR, &im->opts, &im->f);
        if (st == ROTO_OK) {
            im->part = p;
            im->n_reads = im->f.channels;
        }
    }
    if (st != ROTO_OK && im->parts[0].n_ch > 0) {
        im->opts.exr_part = 0;
        im->opts.channels = im->parts[0].ch[0].name;
        st = roto_image_decode_header(mf->data, mf->size, path, ROTO_FMT_EXR, &im->opts, &im->f);
        im->part = 0;
        im->n_reads = 0;
    }
    if (st != ROTO_OK) {
        // Repeat the default read for its message (it lists the channels).
        roto_read_opts o;
        roto_read_opts_init(&o);
        roto_frame f;
        st = roto_image_decode_header(mf->data, mf->size, path, ROTO_FMT_EXR, &o, &f);
        if (st == ROTO_OK) {
            roto_frame_free(&f);
            st = roto_fail(ROTO_ERR_FORMAT, "%s: cannot read the EXR header", path);
        }
        return st;
    }
    im->ch = im->parts[im->part].ch;
    im->n_ch = im->parts[im->part].n_ch;
    snprintf(im->compression, sizeof im->compression, "%s", im->parts[im->part].compression);
    return ROTO_OK;
}

// -- TIFF: the compression tag, read with libtiff (the first IFD only) --

static int tiff_quiet(TIFF *t, void *ud, const char *module, const char *fmt, va_list ap) {
    (void)t;
    (void)ud;
    (void)module;
    (void)fmt;
    (void)ap;
    return 1;
}

static void tiff_compression(const char *path, char *out, size_t cap) {
    out[0] = '\0';
    TIFFOpenOptions *o = TIFFOpenOptionsAlloc();
    if (!o) return;
    TIFFOpenOptionsSetErrorHandlerExtR(o, tiff_quiet, NULL);
    TIFFOpenOptionsSetWarningHandlerExtR(o, tiff_quiet, NULL);
    TIFF *t = TIFFOpenExt(path, "r", o);
    TIFFOpenOptionsFree(o);
    if (!t) return;
    uint16_t comp = COMPRESSION_NONE, pred = 1;
    TIFFGetFieldDefaulted(t, TIFFTAG_COMPRESSION, &comp);
    if (comp == COMPRESSION_LZW || comp == COMPRESSION_ADOBE_DEFLATE || comp == COMPRESSION_DEFLATE ||
        comp == COMPRESSION_ZSTD || comp == COMPRESSION_LZMA)
        TIFFGetField(t, TIFFTAG_PREDICTOR, &pred);
    TIFFClose(t);
    const char *name;
    switch (comp) {
    case COMPRESSION_NONE: name = "none"; break;
    case COMPRESSION_LZW: name = "lzw"; break;
    case COMPRESSION_ADOBE_DEFLATE:
    case COMPRESSION_DEFLATE: name = "deflate"; break;
    case COMPRESSION_PACKBITS: name = "packbits"; break;
    case COMPRESSION_JPEG: name = "jpeg"; break;
    case COMPRESSION_OJPEG: name = "old-style jpeg"; break;
    case COMPRESSION_ZSTD: name = "zstd"; break;
    case COMPRESSION_LZMA: name = "lzma"; break;
    case COMPRESSION_WEBP: name = "webp"; break;
    case COMPRESSION_CCITTRLE:
    case COMPRESSION_CCITTFAX3:
    case COMPRESSION_CCITTFAX4: name = "ccitt"; break;
    default: snprintf(out, cap, "tiff compression %u", comp); return;
    }
    snprintf(out, cap, "%s%s", name,
             pred == PREDICTOR_HORIZONTAL ? " + horizontal predictor"
             : pred == PREDICTOR_FLOATINGPOINT ? " + floating-point predictor" : "");
}

// Describe one image file from the bytes read (header only).
static roto_status describe_image(const char *path, const file_bytes *mf, roto_image_format fmt, image_info *im) {
    memset(im, 0, sizeof *im);
    im->fmt = fmt;
    roto_read_opts_init(&im->opts);
    if (fmt == ROTO_FMT_EXR) return describe_exr(path, mf, im);
    ROTO_TRY(roto_image_decode_header(mf->data, mf->size, path, fmt, &im->opts, &im->f));
    im->ch = calloc((size_t)im->f.channels, sizeof *im->ch);
    if (!im->ch) return roto_fail(ROTO_ERR_OOM, "%s: out of memory", path);
    im->n_ch = im->f.channels;
    for (int c = 0; c < im->f.channels; c++) {
        im->ch[c].name = strdup(im->f.channel_names[c]);
        if (!im->ch[c].name) return roto_fail(ROTO_ERR_OOM, "%s: out of memory", path);
        if (im->f.type == ROTO_PIX_F32)
            snprintf(im->ch[c].type, sizeof im->ch[c].type, "%s", im->f.bit_depth == 16 ? "half" : "float");
        else
            snprintf(im->ch[c].type, sizeof im->ch[c].type, "uint%d", im->f.bit_depth);
    }
    switch (fmt) {
    case ROTO_FMT_PNG:
        snprintf(im->compression, sizeof im->compression, "deflate");
        // IHDR (always the first chunk, checked by the decoder): bit depth at
        // byte 24, colour type at 25. Palettes and 1/2/4-bit gray are expanded.
        if (mf->size > 25 && (mf->data[25] == 3 || mf->data[24] != im->f.bit_depth))
            snprintf(im->file_samples, sizeof im->file_samples, "%d-bit %s", mf->data[24],
                     mf->data[25] == 3 ? "palette" : "gray");
        break;
    case ROTO_FMT_JPEG: snprintf(im->compression, sizeof im->compression, "jpeg"); break;
    case ROTO_FMT_DPX: snprintf(im->compression, sizeof im->compression, "none"); break;  // RLE is refused
    case ROTO_FMT_TIFF: tiff_compression(path, im->compression, sizeof im->compression); break;
    default: break;
    }
    return ROTO_OK;
}

// describe_image on the head of a file, then on all of it if the head was not
// enough (the message of the full attempt is the one the user sees).
static roto_status describe_file(const char *path, file_bytes *fb, roto_image_format fmt, image_info *im) {
    roto_status st = describe_image(path, fb, fmt, im);
    if (st == ROTO_OK || !load_rest(path, fb)) return st;
    image_info_free(im);
    return describe_image(path, fb, fmt, im);
}

// The common sample type of the channels, or NULL when they differ.
static const char *common_type(const image_info *im) {
    for (int i = 1; i < im->n_ch; i++)
        if (strcmp(im->ch[i].type, im->ch[0].type)) return NULL;
    return im->n_ch ? im->ch[0].type : NULL;
}

static int same_box(roto_box a, roto_box b) {
    return a.min_x == b.min_x && a.min_y == b.min_y && a.max_x == b.max_x && a.max_y == b.max_y;
}

// ---- image output --------------------------------------------------------------------------

#define LABEL "%-16s"

// "half (16-bit float)", "10-bit unsigned integer", ...
static void sample_words(const char *type, char *out, size_t cap) {
    int bits;
    if (!strcmp(type, "half")) snprintf(out, cap, "half (16-bit float)");
    else if (!strcmp(type, "float")) snprintf(out, cap, "float (32-bit)");
    else if (sscanf(type, "uint%d", &bits) == 1) snprintf(out, cap, "%d-bit unsigned integer", bits);
    else snprintf(out, cap, "%s", type);
}

static void print_channels(const chan_info *ch, int n, int with_types) {
    printf("%d (", n);
    for (int i = 0; i < n; i++) {
        printf("%s", ch[i].name);
        int last_of_run = i + 1 == n || strcmp(ch[i + 1].type, ch[i].type);
        if (with_types && last_of_run) printf(": %s", ch[i].type);
        if (i + 1 < n) printf(with_types && last_of_run ? "; " : ", ");
    }
    printf(")\n");
}

static void print_box(const char *label, roto_box b) {
    printf(LABEL "(%d,%d)-(%d,%d), %lldx%lld\n", label, b.min_x, b.min_y, b.max_x, b.max_y,
           (long long)b.max_x - b.min_x + 1, (long long)b.max_y - b.min_y + 1);
}

static void print_image(const char *path, const image_info *im) {
    const roto_frame *f = &im->f;
    const roto_frame_meta *m = &f->meta;
    printf(LABEL "%s\n", "file:", path);
    if (im->fmt == ROTO_FMT_EXR) {
        const part_info *pp = &im->parts[im->part];
        if (im->n_parts > 1)
            printf(LABEL "exr, %d parts (described: part %d%s%s%s)\n", "format:", im->n_parts, im->part,
                   pp->name ? " \"" : "", pp->name ? pp->name : "", pp->name ? "\"" : "");
        else
            printf(LABEL "exr, %s\n", "format:", pp->storage);
    } else {
        printf(LABEL "%s\n", "format:", roto_format_name(im->fmt));
    }
    printf(LABEL "%dx%d\n", "resolution:", f->width, f->height);
    const char *type = common_type(im);
    printf(LABEL, "channels:");
    print_channels(im->ch, im->n_ch, type == NULL);
    char words[64];
    if (type) sample_words(type, words, sizeof words);
    printf(LABEL "%s", "samples:", type ? words : "mixed (per channel above)");
    if (im->file_samples[0]) printf(" (file: %s)", im->file_samples);
    printf("\n");
    if (im->fmt == ROTO_FMT_EXR) {
        printf(LABEL, "roto reads:");
        if (im->n_reads) {
            for (int c = 0; c < im->n_reads; c++) printf("%s%s", c ? ", " : "", f->channel_names[c]);
            printf("\n");
        } else {
            printf("nothing by default (no R,G,B / Y / A channels): choose a layer or channels\n");
        }
    }
    if (im->compression[0]) printf(LABEL "%s\n", "compression:", im->compression);
    printf(LABEL "%s", "colour:", roto_transfer_name(m->transfer));
    if (m->transfer == ROTO_TF_GAMMA && m->gamma > 0) printf(" %.4g", (double)m->gamma);
    if (m->colorspace[0]) printf("; %s", m->colorspace);
    printf("\n");
    if (m->has_chromaticities) {
        const float *c = m->chromaticities;
        printf(LABEL "red %.6g %.6g, green %.6g %.6g, blue %.6g %.6g, white %.6g %.6g\n", "chromaticities:",
               (double)c[0], (double)c[1], (double)c[2], (double)c[3], (double)c[4], (double)c[5], (double)c[6],
               (double)c[7]);
    }
    if (m->has_fps) {
        if (m->fps.den == 1)
            printf(LABEL "%d\n", "fps:", m->fps.num);
        else
            printf(LABEL "%.6g (%d/%u)\n", "fps:", (double)m->fps.num / m->fps.den, m->fps.num, m->fps.den);
    }
    if (m->has_timecode) {
        char tc[16];
        roto_timecode_to_string(m->timecode, tc);
        if (m->timecode_user)
            printf(LABEL "%s (user bits 0x%08x)\n", "timecode:", tc, m->timecode_user);
        else
            printf(LABEL "%s\n", "timecode:", tc);
    }
    if (!same_box(m->display_window, m->data_window)) {
        print_box("display window:", m->display_window);
        print_box("data window:", m->data_window);
    }
    printf(LABEL "%.6g\n", "pixel aspect:", (double)m->pixel_aspect);
    if (im->n_parts > 1) {
        printf("parts:\n");
        for (int p = 0; p < im->n_parts; p++) {
            const part_info *pi = &im->parts[p];
            printf("  %d%s%s%s: %s, %s, %dx%d, channels ", p, pi->name ? " \"" : "", pi->name ? pi->name : "",
                   pi->name ? "\"" : "", pi->storage, pi->compression, pi->width, pi->height);
            print_channels(pi->ch, pi->n_ch, 1);
        }
    }
}

static json_t *json_box(roto_box b) { return json_pack("[i, i, i, i]", b.min_x, b.min_y, b.max_x, b.max_y); }

static json_t *json_channels(const chan_info *ch, int n) {
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s, s:s}", "name", ch[i].name, "type", ch[i].type));
    return a;
}

static json_t *image_json(const char *path, const image_info *im) {
    const roto_frame *f = &im->f;
    const roto_frame_meta *m = &f->meta;
    const char *type = common_type(im);
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:i, s:o}", "kind", "image", "path", path, "format",
                          roto_format_name(im->fmt), "width", f->width, "height", f->height, "channels",
                          json_channels(im->ch, im->n_ch));
    // sample_type: uint / half / float / mixed; bit_depth: bits per sample.
    int bits = 0;
    const char *st = "mixed";
    if (type && !strcmp(type, "half")) st = "half", bits = 16;
    else if (type && !strcmp(type, "float")) st = "float", bits = 32;
    else if (type && sscanf(type, "uint%d", &bits) == 1) st = "uint";
    json_object_set_new(o, "sample_type", json_string(st));
    json_object_set_new(o, "bit_depth", bits ? json_integer(bits) : json_null());
    json_object_set_new(o, "file_samples", im->file_samples[0] ? json_string(im->file_samples) : json_null());
    json_object_set_new(o, "compression", im->compression[0] ? json_string(im->compression) : json_null());
    json_t *col = json_pack("{s:s, s:s}", "transfer", roto_transfer_name(m->transfer), "note", m->colorspace);
    if (m->transfer == ROTO_TF_GAMMA) json_object_set_new(col, "gamma", json_float(m->gamma));
    if (im->fmt == ROTO_FMT_DPX) json_object_set_new(col, "dpx_transfer", json_integer(m->dpx_transfer));
    if (m->has_chromaticities) {
        const float *c = m->chromaticities;
        json_object_set_new(col, "chromaticities",
                            json_pack("{s:[o, o], s:[o, o], s:[o, o], s:[o, o]}", "red", json_float(c[0]),
                                      json_float(c[1]), "green", json_float(c[2]), json_float(c[3]), "blue",
                                      json_float(c[4]), json_float(c[5]), "white", json_float(c[6]),
                                      json_float(c[7])));
    } else {
        json_object_set_new(col, "chromaticities", json_null());
    }
    json_object_set_new(o, "colour", col);
    json_object_set_new(o, "fps",
                        m->has_fps ? json_pack("{s:i, s:I, s:f}", "num", m->fps.num, "den", (json_int_t)m->fps.den,
                                               "value", (double)m->fps.num / m->fps.den)
                                   : json_null());
    if (m->has_timecode) {
        char tc[16];
        roto_timecode_to_string(m->timecode, tc);
        json_object_set_new(o, "timecode", json_string(tc));
        json_object_set_new(o, "timecode_user_bits", json_integer(m->timecode_user));
    } else {
        json_object_set_new(o, "timecode", json_null());
    }
    json_object_set_new(o, "pixel_aspect", json_float(m->pixel_aspect));
    json_object_set_new(o, "display_window", json_box(m->display_window));
    json_object_set_new(o, "data_window", json_box(m->data_window));
    if (im->fmt == ROTO_FMT_EXR) {
        json_t *parts = json_array();
        for (int p = 0; p < im->n_parts; p++) {
            const part_info *pi = &im->parts[p];
            json_array_append_new(parts, json_pack("{s:i, s:o, s:s, s:s, s:i, s:i, s:o}", "index", p, "name",
                                                   pi->name ? json_string(pi->name) : json_null(), "storage",
                                                   pi->storage, "compression", pi->compression, "width",
                                                   pi->width, "height", pi->height, "channels",
                                                   json_channels(pi->ch, pi->n_ch)));
        }
        json_t *reads = json_array();
        for (int c = 0; c < im->n_reads; c++) json_array_append_new(reads, json_string(f->channel_names[c]));
        json_object_set_new(o, "exr", json_pack("{s:o, s:i, s:o}", "parts", parts, "part", im->part, "reads", reads));
    }
    return o;
}

static int info_image(const char *path, file_bytes *mf, roto_image_format fmt, int as_json) {
    image_info im;
    if (describe_file(path, mf, fmt, &im) != ROTO_OK) {
        fprintf(stderr, "roto info: %s\n", roto_last_error());
        image_info_free(&im);
        return 1;
    }
    if (as_json)
        print_json(image_json(path, &im));
    else
        print_image(path, &im);
    image_info_free(&im);
    return 0;
}

// ---- sequences -----------------------------------------------------------------------------

typedef struct {
    int *have;            // existing frames, ascending
    int n_have;
    int *runs;            // missing frames as (first, last) pairs, ascending
    int n_runs;
    long n_missing;
    int lo, hi;           // the range described
    int n_mismatch;       // frames whose size differs from the first frame's
    int mm_frame, mm_w, mm_h;
    char mm_path[PATH_MAX];
    char first_path[PATH_MAX];
    image_info first;
} seq_info;

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static void seq_info_free(seq_info *s) {
    free(s->have);
    free(s->runs);
    image_info_free(&s->first);
    memset(s, 0, sizeof *s);
}

// Append the missing frame v to the runs (v ascending).
static int add_missing(seq_info *s, int v, size_t *cap) {
    s->n_missing++;
    if (s->n_runs && s->runs[2 * s->n_runs - 1] == v - 1) {
        s->runs[2 * s->n_runs - 1] = v;
        return 0;
    }
    if ((size_t)s->n_runs == *cap) {
        size_t nc = *cap ? 2 * *cap : 64;
        int *r = realloc(s->runs, nc * 2 * sizeof *r);
        if (!r) return -1;
        s->runs = r;
        *cap = nc;
    }
    s->runs[2 * s->n_runs] = v;
    s->runs[2 * s->n_runs + 1] = v;
    s->n_runs++;
    return 0;
}

// Which frames exist (and which are missing) in the range described: every
// frame from the first to the last found, or the --frames selection.
static roto_status seq_select(const char *pattern, const roto_seq_scan *scan, const roto_frame_list *sel, seq_info *s) {
    if (!sel) {
        s->have = malloc((size_t)scan->n * sizeof *s->have);
        s->runs = malloc((size_t)(scan->n_gaps ? scan->n_gaps : 1) * 2 * sizeof *s->runs);
        if (!s->have || !s->runs) return roto_fail(ROTO_ERR_OOM, "sequence: out of memory");
        memcpy(s->have, scan->frames, (size_t)scan->n * sizeof *s->have);
        if (scan->n_gaps) memcpy(s->runs, scan->gaps, (size_t)scan->n_gaps * 2 * sizeof *s->runs);
        s->n_have = scan->n;
        s->n_runs = scan->n_gaps;
        s->n_missing = scan->n_missing;
        s->lo = scan->first;
        s->hi = scan->last;
        return ROTO_OK;
    }
    int *want = malloc((size_t)sel->n * sizeof *want);
    s->have = malloc((size_t)sel->n * sizeof *s->have);
    if (!want || !s->have) {
        free(want);
        return roto_fail(ROTO_ERR_OOM, "sequence: out of memory");
    }
    memcpy(want, sel->frames, (size_t)sel->n * sizeof *want);
    qsort(want, (size_t)sel->n, sizeof *want, cmp_int);  // the parser already dropped repeats
    size_t cap = 0;
    for (int i = 0; i < sel->n; i++) {
        if (bsearch(&want[i], scan->frames, (size_t)scan->n, sizeof *scan->frames, cmp_int))
            s->have[s->n_have++] = want[i];
        else if (add_missing(s, want[i], &cap) != 0) {
            free(want);
            return roto_fail(ROTO_ERR_OOM, "sequence: out of memory");
        }
    }
    s->lo = want[0];
    s->hi = want[sel->n - 1];
    free(want);
    if (s->n_have == 0)
        return roto_fail(ROTO_ERR_NOT_FOUND, "%s: none of the selected frames %d-%d exists", pattern, s->lo, s->hi);
    return ROTO_OK;
}

// Describe the first frame, then read every other frame's header (with the
// same channel selection) and count the frames whose size differs.
static roto_status seq_check(const roto_seq_pattern *pat, seq_info *s) {
    ROTO_TRY(roto_seq_format(pat, s->have[0], s->first_path, sizeof s->first_path));
    file_bytes mf;
    ROTO_TRY(load_head(s->first_path, &mf));
    roto_image_format fmt;
    if (sniff(mf.data, mf.size, &fmt) != KIND_IMAGE) {
        file_bytes_free(&mf);
        return roto_fail(ROTO_ERR_UNSUPPORTED,
                         "%s: unknown image format (not PNG, JPEG, EXR, DPX or TIFF by its first bytes)", s->first_path);
    }
    roto_status st = describe_file(s->first_path, &mf, fmt, &s->first);
    file_bytes_free(&mf);
    if (st != ROTO_OK) return st;
    const int W = s->first.f.width, H = s->first.f.height;
    for (int i = 1; i < s->n_have; i++) {
        char path[PATH_MAX];
        ROTO_TRY(roto_seq_format(pat, s->have[i], path, sizeof path));
        roto_frame f;
        ROTO_TRY(roto_image_probe(path, &s->first.opts, &f));
        if ((f.width != W || f.height != H) && s->n_mismatch++ == 0) {
            s->mm_frame = s->have[i];
            s->mm_w = f.width;
            s->mm_h = f.height;
            snprintf(s->mm_path, sizeof s->mm_path, "%s", path);
        }
        roto_frame_free(&f);
    }
    return ROTO_OK;
}

// "1004, 1010-1012" (at most `max_runs` runs, then "... (N more)").
static void print_runs(const int *runs, int n, int max_runs) {
    for (int i = 0; i < n && i < max_runs; i++) {
        if (runs[2 * i] == runs[2 * i + 1])
            printf("%s%d", i ? ", " : "", runs[2 * i]);
        else
            printf("%s%d-%d", i ? ", " : "", runs[2 * i], runs[2 * i + 1]);
    }
    if (n > max_runs) printf(", ... (%d more ranges)", n - max_runs);
    printf("\n");
}

static int info_sequence(const char *pattern, const roto_seq_pattern *pat, const char *frames, int as_json) {
    roto_frame_list sel = {0};
    if (frames && roto_frames_parse(frames, &sel) != ROTO_OK) {
        fprintf(stderr, "roto info: --frames: %s\n", roto_last_error());
        return 2;
    }
    roto_seq_scan scan;
    seq_info s;
    memset(&s, 0, sizeof s);
    roto_status st = roto_seq_discover(pat, &scan);
    if (st == ROTO_OK) st = seq_select(pattern, &scan, frames ? &sel : NULL, &s);
    if (st == ROTO_OK) st = seq_check(pat, &s);
    roto_seq_scan_free(&scan);
    roto_frames_free(&sel);
    if (st != ROTO_OK) {
        fprintf(stderr, "roto info: %s\n", roto_last_error());
        seq_info_free(&s);
        return 1;
    }
    const int W = s.first.f.width, H = s.first.f.height;
    if (as_json) {
        json_t *runs = json_array();
        for (int i = 0; i < s.n_runs; i++) json_array_append_new(runs, json_pack("[i, i]", s.runs[2 * i], s.runs[2 * i + 1]));
        json_t *mm = json_null();
        if (s.n_mismatch)
            mm = json_pack("{s:i, s:s, s:i, s:i, s:i, s:i, s:i}", "frame", s.mm_frame, "path", s.mm_path, "width",
                           s.mm_w, "height", s.mm_h, "expected_width", W, "expected_height", H, "count",
                           s.n_mismatch);
        json_t *first = image_json(s.first_path, &s.first);
        json_object_set_new(first, "frame", json_integer(s.have[0]));
        json_t *root = json_pack("{s:s, s:s, s:o, s:i, s:i, s:i, s:I, s:o, s:i, s:o, s:o}", "kind", "sequence",
                                 "pattern", pattern, "frames", frames ? json_string(frames) : json_null(), "first",
                                 s.lo, "last", s.hi, "count", s.n_have, "missing_count", (json_int_t)s.n_missing,
                                 "missing", runs, "checked", s.n_have, "mismatch", mm, "first_frame", first);
        print_json(root);
    } else {
        printf(LABEL "%s\n", "sequence:", pattern);
        printf(LABEL "%d-%d: %d frame%s", "frames:", s.lo, s.hi, s.n_have, s.n_have == 1 ? "" : "s");
        if (s.n_missing) printf(", %ld missing", s.n_missing);
        printf("%s\n", frames ? " (--frames)" : "");
        if (s.n_runs) {
            printf(LABEL, "missing:");
            print_runs(s.runs, s.n_runs, 50);
        }
        if (s.n_mismatch)
            printf(LABEL "%d of %d frames are not %dx%d; first: frame %d is %dx%d (%s)\n", "size mismatch:",
                   s.n_mismatch, s.n_have, W, H, s.mm_frame, s.mm_w, s.mm_h, s.mm_path);
        else
            printf(LABEL "%dx%d in all %d frame headers\n", "sizes:", W, H, s.n_have);
        printf(LABEL "%d\n", "first frame:", s.have[0]);
        print_image(s.first_path, &s.first);
    }
    seq_info_free(&s);
    return 0;
}

// ---- the command ---------------------------------------------------------------------------

int cmd_info(int argc, char **argv) {
    const char *path = NULL, *frames = NULL;
    int list = 0, as_json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--tensors")) {
            list = 1;
        } else if (!strcmp(a, "--json")) {
            as_json = 1;
        } else if (!strcmp(a, "--frames") || !strncmp(a, "--frames=", 9)) {
            if (a[8] == '=') {
                frames = a + 9;
            } else if (i + 1 < argc) {
                frames = argv[++i];
            } else {
                fprintf(stderr, "roto info: --frames needs a range (e.g. 1001-1100)\n");
                return 2;
            }
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            info_usage(stdout);
            return 0;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "roto info: unknown option '%s' (see roto info --help)\n", a);
            return 2;
        } else if (!path) {
            path = a;
        } else {
            fprintf(stderr, "roto info: one FILE or PATTERN only (see roto info --help)\n");
            return 2;
        }
    }
    if (!path) {
        info_usage(stderr);
        return 2;
    }

    // An existing file is always a file, even with '#' or '%' in its name.
    // Otherwise a name with a frame field is a sequence pattern.
    struct stat st;
    if (stat(path, &st) != 0) {
        roto_seq_pattern pat;
        roto_status ps = roto_seq_parse_pattern(path, &pat);
        if (ps == ROTO_OK && pat.has_frame) {
            if (list) {
                fprintf(stderr, "roto info: --tensors is for checkpoints, not image sequences\n");
                return 2;
            }
            return info_sequence(path, &pat, frames, as_json);
        }
        if (ps != ROTO_OK && strchr(path, '#')) {
            fprintf(stderr, "roto info: %s\n", roto_last_error());
            return 2;
        }
    }
    if (frames) {
        fprintf(stderr, "roto info: --frames needs a sequence pattern (plate.####.exr), not a file\n");
        return 2;
    }

    file_bytes mf;
    if (load_head(path, &mf) != ROTO_OK) {
        fprintf(stderr, "roto info: %s\n", roto_last_error());
        return 1;
    }
    roto_image_format fmt;
    file_kind kind = sniff(mf.data, mf.size, &fmt);
    int rc;
    if (kind == KIND_IMAGE) {
        if (list) {
            fprintf(stderr, "roto info: --tensors is for checkpoints; %s is a %s image\n", path, roto_format_name(fmt));
            rc = 2;
        } else {
            rc = info_image(path, &mf, fmt, as_json);
        }
        file_bytes_free(&mf);
    } else if (kind == KIND_CHECKPOINT) {
        file_bytes_free(&mf);
        rc = info_checkpoint(path, list, as_json);
    } else {
        file_bytes_free(&mf);
        roto_fail(ROTO_ERR_FORMAT,
                  "%s: unknown format: neither a checkpoint (safetensors, PyTorch zip) nor an image (PNG, JPEG, "
                  "EXR, DPX, TIFF) by its first bytes",
                  path);
        fprintf(stderr, "roto info: %s\n", roto_last_error());
        rc = 1;
    }
    return rc;
}
