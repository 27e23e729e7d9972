// cmd_segment.c: `roto segment`: SAM 2.1 masks for one image from clicks, a
// box and/or a mask, through the public API (roto.h). The image is encoded
// once; every prompt (one from the command line, or many from --prompts
// FILE.json) is predicted from the cached encoding. Masks are written at the
// input's resolution (PNG/JPEG/TIFF/DPX 8-bit by default, EXR float 'A'),
// optionally cleaned up with the io/matte.h operations.
//
// Order of work, so that every input mistake fails in a second and before any
// output is touched: options -> prompt file -> output directories (created and
// probed) -> input image -> prompts against the image size and the mask files
// -> device -> model -> encode -> predict and write each output atomically.
// Exit codes: 0 done, 1 failure (message on stderr), 2 usage error.
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "engine/ctx.h"
#include "io/atomic.h"
#include "io/colour.h"
#include "io/exr.h"
#include "io/image.h"
#include "kernels/cuda/cuda_kernels.h"
#include "roto.h"
#include "tools/cli_common.h"
#include "tools/commands.h"
#include "tools/matte_cleanup.h"
#include "tools/prompts_json.h"

static void segment_usage(FILE *f) {
    fprintf(f,
        "usage: roto segment -m CKPT -i IMAGE [prompt] -o MASK [options]\n"
        "       roto segment -m CKPT -i IMAGE --prompts FILE.json [-o TEMPLATE] [options]\n"
        "\n"
        "SAM 2.1 segmentation of one image. Coordinates are pixels of IMAGE (x right, y down).\n"
        "\n"
        "prompt (any combination; none at all gives the network's own guess):\n"
        "  --point X,Y[,L]       a click; L = 1 foreground (default) or 0 background; repeatable\n"
        "  --box X0,Y0,X1,Y1     a box\n"
        "  --mask-in MASK        a rough mask image of IMAGE's size (alpha if it has one, else\n"
        "                        its first channel; >= 0.5 is inside)\n"
        "  --prompts FILE.json   many prompts on the one encoded image (see docs/cli.md)\n"
        "\n"
        "output:\n"
        "  -o, --output MASK     .png .jpg .tif .dpx: 8-bit 0/255; .exr: float channel A.\n"
        "                        With --prompts: the default name, {i} = prompt index, {name}\n"
        "  --logits FILE.exr     also write the mask logits (float channel Y)\n"
        "  --multimask           predict three candidates and keep the best by predicted IoU\n"
        "                        (default: the official single-mask output)\n"
        "  --threshold T         logit threshold (default 0, as the official predictor)\n"
        "  --fill-holes AREA     fill enclosed holes of at most AREA pixels (0: any size)\n"
        "  --remove-islands AREA remove foreground islands smaller than AREA pixels\n"
        "  --dilate R            grow by R pixels\n"
        "  --erode R             shrink by R pixels (applied after --dilate)\n"
        "  --feather R           Gaussian soft edge of radius R pixels (last)\n"
        "  --core-edge R         also write the core (matte eroded by R, binary) and the edge\n"
        "                        (matte - core): EXR channels core.A, edge.A; other formats\n"
        "                        NAME_core.EXT, NAME_edge.EXT beside the mask\n"
        "  --bit-depth N         8 or 16 (PNG), 8/16/32 (TIFF), 8/10/12/16 (DPX), 16 = half or\n"
        "                        32 = float (EXR)\n"
        "  --compression C       EXR compression: zip (default), zips, piz, dwaa, dwab, none,\n"
        "                        rle, pxr24, b44, b44a\n"
        "  --json                print the results as JSON on stdout\n"
        "  -q, --quiet           no progress lines on stderr\n"
        "\n"
        "model and input:\n"
        "  -m, --model CKPT      .pt or .safetensors (official, Hugging Face or roto convert)\n"
        "  --config FILE.json    architecture of a checkpoint that is not a released size\n"
        "  -i, --input IMAGE     PNG, JPEG, EXR, DPX or TIFF\n"
        "  --input-colorspace CS auto (default), srgb, linear, rec709, cineon\n"
        "  --input-layer NAME    EXR layer to read (NAME.R, NAME.G, NAME.B)\n"
        "  --device D            cpu (default), cuda, cuda:N\n"
        "  --precision P         fp32 (default); tf32, bf16, fp16 on cuda only\n"
        "  --threads N           CPU threads (default: all cores)\n");
}

// ---- options ---------------------------------------------------------------------------------

typedef struct {
    const char *model, *config, *input, *output, *logits, *prompts, *mask_in, *layer;
    int multimask, json, quiet, threads, bit_depth;
    roto_colorspace colorspace;
    roto_device_kind device;
    int cuda_device;
    roto_precision precision;
    float threshold, dilate, erode, feather, core_edge;
    roto_exr_compression compression;
    long fill_holes, remove_islands;  // -1: off
    // The command-line prompt.
    float points[2 * PROMPT_MAX_POINTS];
    int labels[PROMPT_MAX_POINTS];
    int n_points;
    int has_box;
    float box[4];
} seg_args;

#define usage_error(...) cli_usage_error("segment", __VA_ARGS__)

static int fail(const char *msg) {
    fprintf(stderr, "roto segment: %s\n", msg);
    return 1;
}

static int parse_float_arg(const char *s, float lo, float *out) {
    char *end;
    double d = s ? strtod(s, &end) : 0;
    if (!s || end == s || *end || !isfinite(d) || d < lo || d > 1e9) return 0;
    *out = (float)d;
    return 1;
}

static int parse_long_arg(const char *s, long lo, long *out) {
    char *end;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || end == s || *end || v < lo || v > (1L << 40)) return 0;
    *out = v;
    return 1;
}

// Returns 0 when parsed, else the exit code (0 for --help printed is -1).
static int parse_args(int argc, char **argv, seg_args *a) {
    memset(a, 0, sizeof *a);
    a->fill_holes = a->remove_islands = -1;
    a->compression = ROTO_EXR_ZIP;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL, *arg = argv[i];
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            segment_usage(stdout);
            return -1;
        }
        if (!strcmp(arg, "--multimask")) { a->multimask = 1; continue; }
        if (!strcmp(arg, "--json")) { a->json = 1; continue; }
        if (!strcmp(arg, "-q") || !strcmp(arg, "--quiet")) { a->quiet = 1; continue; }
        const char **dst = NULL;
        if (cli_option(argc, argv, &i, "--model", "-m", &v)) dst = &a->model;
        else if (cli_option(argc, argv, &i, "--config", NULL, &v)) dst = &a->config;
        else if (cli_option(argc, argv, &i, "--input", "-i", &v)) dst = &a->input;
        else if (cli_option(argc, argv, &i, "--output", "-o", &v)) dst = &a->output;
        else if (cli_option(argc, argv, &i, "--logits", NULL, &v)) dst = &a->logits;
        else if (cli_option(argc, argv, &i, "--prompts", NULL, &v)) dst = &a->prompts;
        else if (cli_option(argc, argv, &i, "--mask-in", NULL, &v)) dst = &a->mask_in;
        else if (cli_option(argc, argv, &i, "--input-layer", NULL, &v)) dst = &a->layer;
        if (dst) {
            if (!v || !*v) return usage_error("%s needs a value", arg);
            if (*dst) return usage_error("%s given twice", arg);
            *dst = v;
            continue;
        }
        if (cli_option(argc, argv, &i, "--point", NULL, &v)) {
            if (!v) return usage_error("--point needs X,Y[,LABEL]");
            if (a->n_points == PROMPT_MAX_POINTS)
                return usage_error("at most %d --point", PROMPT_MAX_POINTS);
            float *p = a->points + 2 * a->n_points;
            if (!prompt_parse_point(v, &p[0], &p[1], &a->labels[a->n_points]))
                return usage_error("--point %s: expected X,Y or X,Y,LABEL with LABEL 1 "
                                   "(foreground) or 0 (background)", v);
            a->n_points++;
        } else if (cli_option(argc, argv, &i, "--box", NULL, &v)) {
            if (!v || !prompt_parse_box(v, a->box))
                return usage_error("--box %s: expected X0,Y0,X1,Y1", v ? v : "");
            if (a->box[2] < a->box[0] || a->box[3] < a->box[1])
                return usage_error("--box %s: needs X0 <= X1 and Y0 <= Y1", v);
            if (a->has_box) return usage_error("--box given twice");
            a->has_box = 1;
        } else if (cli_option(argc, argv, &i, "--device", NULL, &v)) {
            if (v && !strcmp(v, "cpu")) {
                a->device = ROTO_DEVICE_CPU;
            } else if (v && (!strcmp(v, "cuda") || !strncmp(v, "cuda:", 5))) {
                a->device = ROTO_DEVICE_CUDA;
                long d = 0;
                if (v[4] == ':' && !parse_long_arg(v + 5, 0, &d))
                    return usage_error("--device %s: expected cuda:N", v);
                a->cuda_device = (int)d;
            } else {
                return usage_error("--device %s: expected cpu, cuda or cuda:N", v ? v : "");
            }
        } else if (cli_option(argc, argv, &i, "--precision", NULL, &v)) {
            static const char *names[] = {"fp32", "tf32", "bf16", "fp16"};
            int k = 0;
            while (k < 4 && !(v && !strcmp(v, names[k]))) k++;
            if (k == 4) return usage_error("--precision %s: expected fp32, tf32, bf16 or fp16", v ? v : "");
            a->precision = (roto_precision)k;
        } else if (cli_option(argc, argv, &i, "--threads", NULL, &v)) {
            long n;
            if (!parse_long_arg(v, 1, &n) || n > 4096)
                return usage_error("--threads %s: expected a count >= 1", v ? v : "");
            a->threads = (int)n;
        } else if (cli_option(argc, argv, &i, "--input-colorspace", NULL, &v)) {
            if (!v || roto_colorspace_parse(v, &a->colorspace) != ROTO_OK)
                return usage_error("--input-colorspace %s: expected auto, srgb, linear, rec709 or "
                                   "cineon", v ? v : "");
        } else if (cli_option(argc, argv, &i, "--threshold", NULL, &v)) {
            if (!parse_float_arg(v, -1e9f, &a->threshold))
                return usage_error("--threshold %s: expected a number", v ? v : "");
        } else if (cli_option(argc, argv, &i, "--dilate", NULL, &v)) {
            if (!parse_float_arg(v, 0, &a->dilate)) return usage_error("--dilate: expected a radius >= 0");
        } else if (cli_option(argc, argv, &i, "--erode", NULL, &v)) {
            if (!parse_float_arg(v, 0, &a->erode)) return usage_error("--erode: expected a radius >= 0");
        } else if (cli_option(argc, argv, &i, "--feather", NULL, &v)) {
            if (!parse_float_arg(v, 0, &a->feather)) return usage_error("--feather: expected a radius >= 0");
        } else if (cli_option(argc, argv, &i, "--core-edge", NULL, &v)) {
            if (!parse_float_arg(v, 0, &a->core_edge) || !(a->core_edge > 0))
                return usage_error("--core-edge: expected a radius > 0");
        } else if (cli_option(argc, argv, &i, "--fill-holes", NULL, &v)) {
            if (!parse_long_arg(v, 0, &a->fill_holes))
                return usage_error("--fill-holes: expected an area in pixels >= 0 (0: any size)");
        } else if (cli_option(argc, argv, &i, "--remove-islands", NULL, &v)) {
            if (!parse_long_arg(v, 1, &a->remove_islands))
                return usage_error("--remove-islands: expected an area in pixels >= 1");
        } else if (cli_option(argc, argv, &i, "--compression", NULL, &v)) {
            if (!v || roto_exr_compression_parse(v, &a->compression) != ROTO_OK)
                return usage_error("--compression %s: expected zip, zips, piz, dwaa, dwab, none, rle, pxr24, "
                                   "b44 or b44a", v ? v : "");
        } else if (cli_option(argc, argv, &i, "--bit-depth", NULL, &v)) {
            long b;
            if (!parse_long_arg(v, 8, &b) || b > 32) return usage_error("--bit-depth: expected 8, 10, 12, 16 or 32");
            a->bit_depth = (int)b;
        } else if (arg[0] == '-') {
            return usage_error("unknown option '%s'", arg);
        } else {
            return usage_error("unexpected argument '%s' (the image is given with -i)", arg);
        }
    }
    if (!a->model) return usage_error("no checkpoint (-m CKPT)");
    if (!a->input) return usage_error("no input image (-i IMAGE)");
    if (a->prompts && (a->n_points || a->has_box || a->mask_in || a->logits))
        return usage_error("--prompts takes the prompts and logits names from the file; drop "
                           "--point, --box, --mask-in and --logits");
    if (!a->prompts && !a->output) return usage_error("no output (-o MASK)");
    return 0;
}

// ---- jobs: one prediction and its outputs ---------------------------------------------------------

typedef struct {
    prompt_entry p;        // the prompt (file entry or the command line's)
    char what[96];         // "prompt 2 (car)" for messages
    char output[PATH_MAX];
    char logits[PATH_MAX]; // "" when not wanted
    int multimask;
    float *matte;          // the --mask-in / "mask" image as a matte, or NULL
    float *low_res;        // low-res logits of the chosen mask (for "mask_from")
    // results
    int n_masks, chosen;
    float iou[3], score;
    double area;           // foreground fraction of the written mask (>= 0.5)
    double seconds;
} seg_job;

static int valid_depth(roto_image_format f, int b) {
    switch (f) {
    case ROTO_FMT_PNG: return b == 8 || b == 16;
    case ROTO_FMT_JPEG: return b == 8;
    case ROTO_FMT_TIFF: return b == 8 || b == 16 || b == 32;
    case ROTO_FMT_DPX: return b == 8 || b == 10 || b == 12 || b == 16;
    case ROTO_FMT_EXR: return b == 16 || b == 32;
    default: return 0;
    }
}

// Build the job list; returns 0 or an exit code.
static int make_jobs(const seg_args *a, prompt_file *pf, seg_job **out, int *n_out) {
    if (a->prompts) {
        if (prompt_file_load(a->prompts, pf) != ROTO_OK) return fail(roto_last_error());
    } else {
        pf->items = calloc(1, sizeof *pf->items);
        if (!pf->items) return fail("out of memory");
        pf->n = 1;
        prompt_entry *e = &pf->items[0];
        e->frame = e->mask_from = -1;
        e->multimask = a->multimask;
        memcpy(e->points, a->points, sizeof e->points);
        memcpy(e->labels, a->labels, sizeof e->labels);
        e->n_points = a->n_points;
        e->has_box = a->has_box;
        memcpy(e->box, a->box, sizeof e->box);
        e->mask = a->mask_in ? strdup(a->mask_in) : NULL;
        e->output = strdup(a->output);
        e->logits = a->logits ? strdup(a->logits) : NULL;
    }
    seg_job *jobs = calloc((size_t)pf->n, sizeof *jobs);
    if (!jobs) return fail("out of memory");
    *out = jobs;
    *n_out = pf->n;
    for (int i = 0; i < pf->n; i++) {
        seg_job *j = &jobs[i];
        j->p = pf->items[i];
        if (!a->prompts)
            snprintf(j->what, sizeof j->what, "the prompt");
        else if (j->p.name)
            snprintf(j->what, sizeof j->what, "prompt %d (%.60s)", i, j->p.name);
        else
            snprintf(j->what, sizeof j->what, "prompt %d", i);
        if (j->p.frame >= 0) {
            fprintf(stderr, "roto segment: %s: %s: \"frame\" is for roto track; segment works on one "
                    "image\n", a->prompts, j->what);
            return 1;
        }
        j->multimask = j->p.multimask >= 0 ? j->p.multimask : a->multimask;
        const char *tmpl = j->p.output ? j->p.output : a->output;
        if (!tmpl) {
            fprintf(stderr, "roto segment: %s: %s has no \"output\" (add one, or give -o with {i})\n",
                    a->prompts, j->what);
            return 1;
        }
        if (prompt_expand(tmpl, i, j->p.name, j->output, sizeof j->output) != ROTO_OK ||
            (j->p.logits &&
             prompt_expand(j->p.logits, i, j->p.name, j->logits, sizeof j->logits) != ROTO_OK))
            return a->prompts ? fail(roto_last_error()) : usage_error("%s", roto_last_error());
        // Output formats and names (usage errors on the command line).
        int code = a->prompts ? 1 : 2;
        roto_image_format f = roto_format_from_extension(j->output);
        if (f == ROTO_FMT_UNKNOWN) {
            fprintf(stderr, "roto segment: %s: cannot tell the mask format from the name (use .png "
                    ".jpg .tif .dpx or .exr)\n", j->output);
            return code;
        }
        if (a->bit_depth && !valid_depth(f, a->bit_depth)) {
            fprintf(stderr, "roto segment: --bit-depth %d does not fit %s (%s)\n", a->bit_depth,
                    j->output, roto_format_name(f));
            return 2;
        }
        if (j->logits[0] && roto_format_from_extension(j->logits) != ROTO_FMT_EXR) {
            fprintf(stderr, "roto segment: %s: logits are written as EXR (name it .exr)\n", j->logits);
            return code;
        }
        for (int k = 0; k < i; k++) {
            const char *mine[2] = {j->output, j->logits}, *theirs[2] = {jobs[k].output, jobs[k].logits};
            for (int x = 0; x < 2; x++)
                for (int y = 0; y < 2; y++)
                    if (mine[x][0] && !strcmp(mine[x], theirs[y])) {
                        fprintf(stderr, "roto segment: %s and %s would both write %s (use {i} or "
                                "{name} in the names)\n", jobs[k].what, j->what, mine[x]);
                        return 1;
                    }
        }
        if (j->logits[0] && !strcmp(j->logits, j->output)) {
            fprintf(stderr, "roto segment: the mask and the logits would both be written to %s\n",
                    j->output);
            return code;
        }
    }
    return 0;
}

// Create the output directories and check that files can be made there.
static int check_output_dir(const char *path) {
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    const char *dir = dirname(buf);
    if (roto_mkdir_p(dir) != ROTO_OK || roto_check_writable_dir(dir) != ROTO_OK) {
        fprintf(stderr, "roto segment: cannot write %s: %s\n", path, roto_last_error());
        return 1;
    }
    return 0;
}

// A mask image as a matte of the image's size: its alpha if it has one, else its
// first channel, as values 0..1.
static int load_matte(const char *path, const char *what, int width, int height, float **out) {
    roto_frame f = {0};
    if (roto_image_read(path, NULL, &f) != ROTO_OK) {
        fprintf(stderr, "roto segment: %s: mask: %s\n", what, roto_last_error());
        return 1;
    }
    if (f.width != width || f.height != height) {
        fprintf(stderr, "roto segment: %s: the mask %s is %dx%d but the image is %dx%d\n", what, path,
                f.width, f.height, width, height);
        roto_frame_free(&f);
        return 1;
    }
    size_t n = roto_frame_pixels(&f);
    float *m = malloc(n * sizeof *m);
    if (!m) {
        roto_frame_free(&f);
        return fail("out of memory");
    }
    int c = (f.channels == 2 || f.channels == 4) ? f.channels - 1 : 0;
    for (size_t i = 0; i < n; i++) m[i] = roto_frame_value(&f, i * (size_t)f.channels + (size_t)c);
    roto_frame_free(&f);
    *out = m;
    return 0;
}

// Points and box against the image (the library checks too, but only after the
// model has loaded; here the message names the prompt before any work).
static int check_prompt(const seg_job *j, int W, int H) {
    const prompt_entry *p = &j->p;
    for (int k = 0; k < p->n_points; k++) {
        float x = p->points[2 * k], y = p->points[2 * k + 1];
        if (!(x >= 0 && x <= W && y >= 0 && y <= H)) {
            fprintf(stderr, "roto segment: %s: point %d (%g, %g) is outside the %dx%d image "
                    "(x 0..%d, y 0..%d)\n", j->what, k, (double)x, (double)y, W, H, W, H);
            return 1;
        }
    }
    if (p->has_box)
        for (int k = 0; k < 4; k++) {
            float v = p->box[k], lim = (float)((k & 1) ? H : W);
            if (!(v >= 0 && v <= lim)) {
                fprintf(stderr, "roto segment: %s: box (%g, %g, %g, %g) is outside the %dx%d "
                        "image\n", j->what, (double)p->box[0], (double)p->box[1],
                        (double)p->box[2], (double)p->box[3], W, H);
                return 1;
            }
        }
    return 0;
}

// ---- matte clean-up and writing -------------------------------------------------------------------

// Holes, islands, grow, shrink, soften (tools/matte_cleanup.h): on the host, or
// with --device cuda through the rt_matte_* ops on the GPU (the mask comes back
// from roto_predict on the host, so it is uploaded and the matte downloaded).
// With --device cuda: one context for every matte of the run, made on first use
// and freed at the end of cmd_segment.
static rt_ctx *g_cleanup_ctx;

static int cleanup_matte(const seg_args *a, float *m, float *core, float *edge, int W, int H) {
    matte_cleanup_opts o = {.fill_holes = a->fill_holes, .remove_islands = a->remove_islands, .dilate = a->dilate,
                            .erode = a->erode, .feather = a->feather, .core_edge = a->core_edge};
    int on_gpu = a->device == ROTO_DEVICE_CUDA && (matte_cleanup_wanted(&o) || o.core_edge > 0);
    if (on_gpu && !g_cleanup_ctx && matte_cleanup_cuda_ctx(&g_cleanup_ctx) != ROTO_OK) return fail(roto_last_error());
    roto_status st = matte_cleanup_run(on_gpu ? g_cleanup_ctx : NULL, &o, m, core, edge, W, H);
    return st == ROTO_OK ? 0 : fail(roto_last_error());
}

// One EXR holding n float planes as the channels names[] (half or float).
static roto_status write_exr(const char *path, int n, const char *const *names, const float *const *planes, int W,
                             int H, int is_float, roto_exr_compression comp, const roto_frame_meta *meta,
                             const roto_exr_string_attr *attrs, int n_attrs) {
    roto_exr_channel ch[3];
    for (int c = 0; c < n && c < 3; c++)
        ch[c] = (roto_exr_channel){.name = names[c], .data = planes[c], .pixel_stride = 1,
                                   .type = is_float ? ROTO_EXR_FLOAT : ROTO_EXR_HALF};
    roto_exr_opts o;
    roto_exr_opts_init(&o);
    o.meta = meta;
    o.compression = comp;
    // The mask covers the plate's display window exactly.
    o.has_data_window = 1;
    o.data_window = meta->display_window;
    o.attrs = attrs;
    o.n_attrs = n_attrs;
    return roto_exr_write_channels(path, W, H, ch, n < 3 ? n : 3, &o);
}

// path with `tag` before its extension: masks/car.png + "_core" -> masks/car_core.png.
static roto_status sibling_path(const char *path, const char *tag, char *out, size_t cap) {
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash)) dot = path + strlen(path);
    int n = snprintf(out, cap, "%.*s%s%s", (int)(dot - path), path, tag, dot);
    if (n < 0 || (size_t)n >= cap) return roto_fail(ROTO_ERR_INVALID_ARG, "%s: path too long", path);
    return ROTO_OK;
}

static roto_status write_plane(const seg_args *a, const char *path, const float *m, int W, int H) {
    roto_frame f = {0};
    ROTO_TRY(roto_frame_alloc(&f, W, H, 1, ROTO_PIX_F32, 32));
    memcpy(f.data, m, (size_t)W * H * sizeof(float));
    roto_write_opts o;
    roto_write_opts_init(&o);
    o.format = roto_format_from_extension(path);
    o.bit_depth = a->bit_depth ? a->bit_depth : 8;
    roto_status st = roto_image_write(path, &f, &o);
    roto_frame_free(&f);
    return st;
}

// The mask, and with --core-edge its core and edge (core/edge NULL otherwise).
static roto_status write_mask(const seg_args *a, const char *path, const float *m, const float *core,
                              const float *edge, int W, int H, const roto_frame_meta *meta,
                              const roto_exr_string_attr *attrs, int n_attrs) {
    if (roto_format_from_extension(path) == ROTO_FMT_EXR) {
        const char *names[3] = {"A", "core.A", "edge.A"};
        const float *planes[3] = {m, core, edge};
        return write_exr(path, core ? 3 : 1, names, planes, W, H, a->bit_depth != 16, a->compression, meta, attrs,
                         n_attrs);
    }
    ROTO_TRY(write_plane(a, path, m, W, H));
    if (!core) return ROTO_OK;
    char sib[PATH_MAX + 16];
    ROTO_TRY(sibling_path(path, "_core", sib, sizeof sib));
    ROTO_TRY(write_plane(a, sib, core, W, H));
    ROTO_TRY(sibling_path(path, "_edge", sib, sizeof sib));
    return write_plane(a, sib, edge, W, H);
}

static void progress(const seg_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(const seg_args *a, const char *fmt, ...) {
    if (a->quiet) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "roto segment: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

// Predict one job and write its outputs. Returns 0 or an exit code.
static int run_job(const seg_args *a, roto_model *model, seg_job *jobs, int ji, int W, int H,
                   const roto_frame_meta *meta) {
    seg_job *j = &jobs[ji];
    roto_prompt p = {.points = j->p.n_points ? j->p.points : NULL,
                     .labels = j->p.labels,
                     .n_points = j->p.n_points,
                     .box = j->p.has_box ? j->p.box : NULL,
                     .mask = j->matte,
                     .mask_logits = j->p.mask_from >= 0 ? jobs[j->p.mask_from].low_res : NULL};
    roto_predict_opts po = {.multimask = j->multimask, .mask_threshold = a->threshold};
    roto_result *r = NULL;
    double t0 = rt_now_seconds();
    if (roto_predict(model, &p, &po, &r) != ROTO_OK) {
        fprintf(stderr, "roto segment: %s: %s\n", j->what, roto_last_error());
        return 1;
    }
    j->seconds = rt_now_seconds() - t0;
    j->n_masks = r->n_masks;
    j->chosen = r->best;
    for (int k = 0; k < r->n_masks; k++) j->iou[k] = r->iou[k];
    j->score = r->object_score;
    size_t npix = (size_t)W * H, L2 = (size_t)r->low_res * r->low_res;
    j->low_res = malloc(L2 * sizeof(float));
    // The matte, and with --core-edge its core and edge after it.
    float *m = malloc((a->core_edge > 0 ? 3 : 1) * npix * sizeof(float));
    float *core = a->core_edge > 0 && m ? m + npix : NULL, *edge = core ? core + npix : NULL;
    if (!j->low_res || !m) {
        free(m);
        roto_result_free(r);
        return fail("out of memory");
    }
    memcpy(j->low_res, r->low_res_logits + (size_t)j->chosen * L2, L2 * sizeof(float));
    const uint8_t *mask = r->masks + (size_t)j->chosen * npix;
    for (size_t i = 0; i < npix; i++) m[i] = mask[i] ? 1.0f : 0.0f;
    int rc = cleanup_matte(a, m, core, edge, W, H);
    size_t inside = 0;
    for (size_t i = 0; i < npix; i++) inside += m[i] >= 0.5f;
    j->area = (double)inside / (double)npix;

    // Provenance in EXR headers.
    char iou_s[32], score_s[32];
    snprintf(iou_s, sizeof iou_s, "%.6f", (double)j->iou[j->chosen]);
    snprintf(score_s, sizeof score_s, "%.6f", (double)j->score);
    const char *model_name = strrchr(a->model, '/') ? strrchr(a->model, '/') + 1 : a->model;
    roto_exr_string_attr attrs[4] = {{"roto/model", model_name}, {"roto/prompt", j->what},
                                     {"roto/iou", iou_s}, {"roto/object_score", score_s}};
    if (rc == 0 && write_mask(a, j->output, m, core, edge, W, H, meta, attrs, 4) != ROTO_OK)
        rc = fail(roto_last_error());
    if (rc == 0 && j->logits[0] &&
        write_exr(j->logits, 1, (const char *[]){"Y"}, (const float *[]){r->logits + (size_t)j->chosen * npix}, W,
                  H, 1, a->compression, meta, attrs, 4) != ROTO_OK)
        rc = fail(roto_last_error());
    free(m);
    roto_result_free(r);
    return rc;
}

static void print_results(const seg_args *a, const seg_job *jobs, int n, int W, int H,
                          const roto_model_info *info, double t_load, double t_encode) {
    if (!a->json) {
        for (int i = 0; i < n; i++) {
            const seg_job *j = &jobs[i];
            printf("%s: iou %.6f  object_score %.6f (%s)  mask %d of %d", j->output,
                   (double)j->iou[j->chosen], (double)j->score,
                   j->score > 0 ? "object" : "no object", j->chosen, j->n_masks);
            if (j->n_masks > 1)
                printf(" (ious %.6f %.6f %.6f)", (double)j->iou[0], (double)j->iou[1],
                       (double)j->iou[2]);
            printf("  %.2f%% of %dx%d\n", 100.0 * j->area, W, H);
        }
        return;
    }
    json_t *res = json_array();
    for (int i = 0; i < n; i++) {
        const seg_job *j = &jobs[i];
        json_t *ious = json_array();
        for (int k = 0; k < j->n_masks; k++) json_array_append_new(ious, json_real(j->iou[k]));
        json_t *o = json_pack("{s:i, s:s, s:i, s:i, s:o, s:f, s:f, s:f, s:f}", "index", i, "output",
                              j->output, "mask_index", j->chosen, "n_masks", j->n_masks, "ious",
                              ious, "iou", (double)j->iou[j->chosen], "object_score",
                              (double)j->score, "area", j->area, "seconds", j->seconds);
        if (j->p.name) json_object_set_new(o, "name", json_string(j->p.name));
        if (j->logits[0]) json_object_set_new(o, "logits", json_string(j->logits));
        json_array_append_new(res, o);
    }
    json_t *root = json_pack("{s:s, s:i, s:i, s:{s:s, s:s, s:i, s:s, s:s}, s:f, s:f, s:o}", "image",
                             a->input, "width", W, "height", H, "model", "path", a->model,
                             "variant", info->variant, "image_size", info->image_size, "device",
                             info->device, "precision", info->precision, "load_seconds", t_load,
                             "encode_seconds", t_encode, "results", res);
    char *s = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
    if (s) printf("%s\n", s);
    free(s);
    json_decref(root);
}

int cmd_segment(int argc, char **argv) {
    seg_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;

    // The device before anything slow: a missing GPU is a one-line answer.
    if (a.device == ROTO_DEVICE_CPU && a.precision != ROTO_PRECISION_FP32)
        return fail("--precision other than fp32 needs --device cuda (the CPU backend computes in "
                    "fp32 only)");
    if (a.device == ROTO_DEVICE_CUDA) {
        int n = 0;
        if (!rt_cuda_backend())
            return fail("--device cuda: this roto was built without CUDA (rebuild with nvcc: make "
                        "CUDA=1)");
        if (rt_cuda_device_count(&n) != ROTO_OK) {
            fprintf(stderr, "roto segment: --device cuda: %s\n", roto_last_error());
            return 1;
        }
        if (a.cuda_device >= n) {
            fprintf(stderr, "roto segment: --device cuda:%d: there %s %d CUDA device%s\n",
                    a.cuda_device, n == 1 ? "is" : "are", n, n == 1 ? "" : "s");
            return 1;
        }
    }

    prompt_file pf = {0};
    seg_job *jobs = NULL;
    int n_jobs = 0;
    roto_frame frame = {0};
    float *rgb = NULL;
    roto_model *model = NULL;
    rc = make_jobs(&a, &pf, &jobs, &n_jobs);
    for (int i = 0; rc == 0 && i < n_jobs; i++) {
        rc = check_output_dir(jobs[i].output);
        if (rc == 0 && jobs[i].logits[0]) rc = check_output_dir(jobs[i].logits);
    }

    // The image, and every prompt against it.
    double t0 = rt_now_seconds();
    if (rc == 0) {
        roto_read_opts ro;
        roto_read_opts_init(&ro);
        ro.layer = a.layer;
        if (roto_image_read(a.input, &ro, &frame) != ROTO_OK) rc = fail(roto_last_error());
    }
    int W = frame.width, H = frame.height;
    if (rc == 0) {
        rgb = malloc((size_t)W * H * 3 * sizeof(float));
        if (!rgb) {
            rc = fail("out of memory");
        } else if (roto_frame_to_srgb(&frame, a.colorspace, 0, rgb) != ROTO_OK) {
            fprintf(stderr, "roto segment: %s: %s\n", a.input, roto_last_error());
            rc = 1;
        }
    }
    for (int i = 0; rc == 0 && i < n_jobs; i++) {
        rc = check_prompt(&jobs[i], W, H);
        if (rc == 0 && jobs[i].p.mask) rc = load_matte(jobs[i].p.mask, jobs[i].what, W, H, &jobs[i].matte);
    }
    if (rc == 0)
        progress(&a, "read %s (%dx%d, %d channels, %s) in %.2f s", a.input, W, H, frame.channels,
                 roto_format_name(frame.meta.source_format), rt_now_seconds() - t0);

    // Model, encoding, prompts.
    roto_model_info info = {0};
    double t_load = 0, t_encode = 0;
    if (rc == 0) {
        roto_model_opts mo = {.device = a.device, .cuda_device = a.cuda_device,
                              .precision = a.precision, .threads = a.threads, .config = a.config};
        t0 = rt_now_seconds();
        if (roto_model_load(a.model, &mo, &model) != ROTO_OK) rc = fail(roto_last_error());
        t_load = rt_now_seconds() - t0;
    }
    if (rc == 0) {
        roto_model_get_info(model, &info);
        progress(&a, "loaded %s: SAM 2 %s (image size %d) on %s, %s, in %.2f s", a.model,
                 info.variant, info.image_size, info.device, info.precision, t_load);
        t0 = rt_now_seconds();
        if (roto_image_set(model, rgb, W, H, 0, ROTO_PIXELS_RGB_F32) != ROTO_OK)
            rc = fail(roto_last_error());
        t_encode = rt_now_seconds() - t0;
        if (rc == 0) progress(&a, "encoded the image in %.2f s", t_encode);
    }
    free(rgb);
    rgb = NULL;
    for (int i = 0; rc == 0 && i < n_jobs; i++) {
        rc = run_job(&a, model, jobs, i, W, H, &frame.meta);
        if (rc == 0)
            progress(&a, "%s: predicted in %.3f s, wrote %s%s%s", jobs[i].what, jobs[i].seconds,
                     jobs[i].output, jobs[i].logits[0] ? " and " : "", jobs[i].logits);
    }
    if (rc == 0) print_results(&a, jobs, n_jobs, W, H, &info, t_load, t_encode);

    roto_model_free(model);
    matte_cleanup_cuda_ctx_free(g_cleanup_ctx);
    g_cleanup_ctx = NULL;
    for (int i = 0; i < n_jobs; i++) {
        free(jobs[i].matte);
        free(jobs[i].low_res);
    }
    free(jobs);
    prompt_file_free(&pf);
    roto_frame_free(&frame);
    return rc;
}
