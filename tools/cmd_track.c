// cmd_track.c: `roto track`: SAM 2.1 video object tracking of an image sequence
// (nets/sam2/sam2_track.h). Objects and their keyframes come from a JSON file;
// every object's mask is written for every tracked frame, with the input's frame
// numbers, atomically (io/image.h writes through io/atomic.h).
//
// Order of work, so that input mistakes fail before the model loads: options ->
// prompt file -> sequence (frames, size) -> keyframes against the sequence and the
// frame size -> output directories -> device -> model -> prompts -> propagation.
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
#include "io/image.h"
#include "io/sequence.h"
#include "kernels/cuda/cuda_kernels.h"
#include "nets/sam2/sam2.h"
#include "nets/sam2/sam2_track.h"
#include "tools/commands.h"

static void track_usage(FILE *f) {
    fprintf(f,
        "usage: roto track -m CKPT -i SEQUENCE [--frames A-B] --prompts P.json -o OUTPUT [options]\n"
        "\n"
        "SAM 2.1 video tracking of every object of P.json through SEQUENCE.\n"
        "\n"
        "  -m, --model CKPT      SAM 2.1 checkpoint with its video tensors (.pt or .safetensors)\n"
        "  --config FILE.json    architecture of a checkpoint that is not a released size\n"
        "  -i, --input SEQ       frame pattern, e.g. plate.%%04d.exr or plate.####.png\n"
        "  --frames A-B          frames to track (default: every frame found)\n"
        "  --prompts P.json      {\"objects\": [{\"name\": \"actor\", \"keyframes\": [{\"frame\": 1001,\n"
        "                        \"points\": [[x, y, 1], [x, y, 0]], \"box\": [x0, y0, x1, y1],\n"
        "                        \"mask\": \"file.png\"}]}]} (points, box and mask optional per\n"
        "                        keyframe; a mask is applied first, clicks then refine it)\n"
        "  -o, --output PATTERN  output frames; {obj} becomes the object name (needed with more\n"
        "                        than one object); .png/.tif/.dpx 8-bit 0/255, .exr float A\n"
        "  --direction D         forward, backward or both (default): forward tracks from the\n"
        "                        first keyframe to the end, backward from the last keyframe to\n"
        "                        the start, both runs forward then backward from the first keyframe\n"
        "  --skip-existing       do not rewrite outputs that exist (tracking still runs: the\n"
        "                        memory of every frame is needed)\n"
        "  --input-colorspace CS auto (default), srgb, linear, rec709, cineon\n"
        "  --device D            cpu (default), cuda, cuda:N\n"
        "  --precision P         fp32 (default); tf32, bf16, fp16 on cuda only\n"
        "  --threads N           CPU threads (default: all cores)\n"
        "  -q, --quiet           no progress on stderr\n");
}

typedef struct {
    const char *model, *config, *input, *frames, *prompts, *output;
    int direction;  // 0 forward, 1 backward, 2 both
    int skip_existing, quiet, threads, cuda, cuda_device;
    rt_precision precision;
    roto_colorspace colorspace;
} track_args;

typedef struct {
    int frame;  // frame number
    float points[2 * SAM2_MAX_POINTS];
    int labels[SAM2_MAX_POINTS];
    int n_points, has_box;
    float box[4];
    char *mask;          // mask file, or NULL
    uint8_t *mask_data;  // its pixels (>= 0.5), read before the model loads
} keyframe;

typedef struct {
    char *name;
    keyframe *kf;
    int n_kf;
} track_object;

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "roto track: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nRun 'roto track --help' for the options.\n");
    va_end(ap);
    return 2;
}

static int fail(const char *what) {
    fprintf(stderr, "roto track: %s: %s\n", what, roto_last_error());
    return 1;
}

static int option(int argc, char **argv, int *i, const char *name, const char *alias,
                  const char **val) {
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (!strncmp(a, name, n) && a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (strcmp(a, name) && !(alias && !strcmp(a, alias))) return 0;
    *val = *i + 1 < argc ? argv[++*i] : NULL;
    return 1;
}

static int parse_args(int argc, char **argv, track_args *a) {
    memset(a, 0, sizeof *a);
    a->direction = 2;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            track_usage(stdout);
            return -1;
        } else if (option(argc, argv, &i, "--model", "-m", &v)) {
            if (!(a->model = v)) return usage_error("--model needs a file");
        } else if (option(argc, argv, &i, "--config", NULL, &v)) {
            if (!(a->config = v)) return usage_error("--config needs a file");
        } else if (option(argc, argv, &i, "--input", "-i", &v)) {
            if (!(a->input = v)) return usage_error("--input needs a frame pattern");
        } else if (option(argc, argv, &i, "--frames", NULL, &v)) {
            if (!(a->frames = v)) return usage_error("--frames needs a range");
        } else if (option(argc, argv, &i, "--prompts", NULL, &v)) {
            if (!(a->prompts = v)) return usage_error("--prompts needs a file");
        } else if (option(argc, argv, &i, "--output", "-o", &v)) {
            if (!(a->output = v)) return usage_error("--output needs a pattern");
        } else if (option(argc, argv, &i, "--direction", NULL, &v)) {
            if (v && !strcmp(v, "forward")) a->direction = 0;
            else if (v && !strcmp(v, "backward")) a->direction = 1;
            else if (v && !strcmp(v, "both")) a->direction = 2;
            else return usage_error("--direction %s: forward, backward or both", v ? v : "");
        } else if (!strcmp(argv[i], "--skip-existing")) {
            a->skip_existing = 1;
        } else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) {
            a->quiet = 1;
        } else if (option(argc, argv, &i, "--input-colorspace", NULL, &v)) {
            if (!v || roto_colorspace_parse(v, &a->colorspace) != ROTO_OK)
                return usage_error("--input-colorspace %s: auto, srgb, linear, rec709, cineon",
                                   v ? v : "");
        } else if (option(argc, argv, &i, "--device", NULL, &v)) {
            if (v && !strcmp(v, "cpu")) {
                a->cuda = 0;
            } else if (v && !strncmp(v, "cuda", 4) && (v[4] == 0 || v[4] == ':')) {
                a->cuda = 1;
                char *end = NULL;
                a->cuda_device = v[4] ? (int)strtol(v + 5, &end, 10) : 0;
                if (v[4] && (!*(v + 5) || *end || a->cuda_device < 0))
                    return usage_error("--device %s: cpu, cuda or cuda:N", v);
            } else {
                return usage_error("--device %s: cpu, cuda or cuda:N", v ? v : "");
            }
        } else if (option(argc, argv, &i, "--precision", NULL, &v)) {
            if (!v || !rt_cuda_parse_precision(v, &a->precision))
                return usage_error("--precision %s: fp32, tf32, bf16 or fp16", v ? v : "");
        } else if (option(argc, argv, &i, "--threads", NULL, &v)) {
            char *end = NULL;
            long n = v ? strtol(v, &end, 10) : 0;
            if (!v || *end || n < 1 || n > 4096)
                return usage_error("--threads %s: expected a count >= 1", v ? v : "");
            a->threads = (int)n;
        } else {
            return usage_error("unknown option '%s'", argv[i]);
        }
    }
    if (!a->model) return usage_error("missing --model");
    if (!a->input) return usage_error("missing --input");
    if (!a->prompts) return usage_error("missing --prompts");
    if (!a->output) return usage_error("missing --output");
    if (!a->cuda && a->precision != RT_PREC_FP32)
        return usage_error("--precision other than fp32 needs --device cuda");
    return 0;
}

// ---- the architecture file (the keys of docs/cli.md's --config) ----------------------------

static int ints(json_t *a, int *dst, int max, int *n) {
    if (!json_is_array(a) || (int)json_array_size(a) > max) return 0;
    for (size_t i = 0; i < json_array_size(a); i++) {
        if (!json_is_integer(json_array_get(a, i))) return 0;
        dst[i] = (int)json_integer_value(json_array_get(a, i));
    }
    if (n) *n = (int)json_array_size(a);
    return 1;
}

static int load_config(const char *path, sam2_config *c) {
    json_error_t err;
    json_t *o = json_load_file(path, 0, &err);
    if (!o) {
        fprintf(stderr, "roto track: %s:%d: %s\n", path, err.line, err.text);
        return 1;
    }
    memset(c, 0, sizeof *c);
    const char *name = json_string_value(json_object_get(o, "name"));
    snprintf(c->name, sizeof c->name, "%s", name ? name : "custom");
    int n4 = 0, n4b = 0, n2 = 0;
    int ok = json_is_integer(json_object_get(o, "image_size")) &&
             json_is_integer(json_object_get(o, "embed_dim")) &&
             json_is_integer(json_object_get(o, "num_heads")) &&
             json_is_integer(json_object_get(o, "d_model")) &&
             ints(json_object_get(o, "stages"), c->stages, 4, &n4) && n4 == 4 &&
             ints(json_object_get(o, "window_spec"), c->window_spec, 4, &n4b) && n4b == 4 &&
             ints(json_object_get(o, "global_att_blocks"), c->global_blocks, SAM2_MAX_GLOBAL,
                  &c->n_global) &&
             ints(json_object_get(o, "window_pos_embed_bkg_spatial_size"), c->pos_bkg, 2, &n2) &&
             n2 == 2;
    c->image_size = (int)json_integer_value(json_object_get(o, "image_size"));
    c->embed_dim = (int)json_integer_value(json_object_get(o, "embed_dim"));
    c->num_heads = (int)json_integer_value(json_object_get(o, "num_heads"));
    c->d_model = (int)json_integer_value(json_object_get(o, "d_model"));
    json_decref(o);
    if (!ok) {
        fprintf(stderr, "roto track: %s: needs image_size, embed_dim, num_heads, d_model, stages[4], "
                "window_spec[4], global_att_blocks, window_pos_embed_bkg_spatial_size[2]\n", path);
        return 1;
    }
    return 0;
}

// ---- the prompt file -------------------------------------------------------------------------

static void objects_free(track_object *o, int n) {
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < o[i].n_kf; k++) free(o[i].kf[k].mask), free(o[i].kf[k].mask_data);
        free(o[i].kf);
        free(o[i].name);
    }
    free(o);
}

static int bad_json(const char *file, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad_json(const char *file, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "roto track: %s: ", file);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    return 1;
}

static int json_number(json_t *v, double *out) {
    if (!json_is_number(v)) return 0;
    *out = json_number_value(v);
    return isfinite(*out);
}

// {"objects": [{"name": ..., "keyframes": [{"frame", "points", "box", "mask"}]}]}
static int load_objects(const char *path, track_object **out, int *n_out) {
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root) return bad_json(path, "line %d: %s", err.line, err.text);
    char dirbuf[PATH_MAX];
    snprintf(dirbuf, sizeof dirbuf, "%s", path);
    const char *base = dirname(dirbuf);
    json_t *objs = json_object_get(root, "objects");
    int rc = 0, n = 0;
    track_object *o = NULL;
    if (!json_is_array(objs) || json_array_size(objs) == 0) {
        rc = bad_json(path, "expected {\"objects\": [...]} with at least one object");
        goto done;
    }
    n = (int)json_array_size(objs);
    o = calloc((size_t)n, sizeof *o);
    for (int i = 0; i < n && !rc; i++) {
        json_t *ob = json_array_get(objs, i), *v;
        const char *key;
        json_object_foreach(ob, key, v) {
            if (strcmp(key, "name") && strcmp(key, "keyframes")) {
                rc = bad_json(path, "object %d: unknown key '%s'", i, key);
                break;
            }
        }
        if (rc) break;
        const char *name = json_string_value(json_object_get(ob, "name"));
        if (!name || !*name || strchr(name, '/')) {
            rc = bad_json(path, "object %d: needs a \"name\" (non-empty, no '/')", i);
            break;
        }
        for (int j = 0; j < i; j++)
            if (!strcmp(o[j].name, name)) rc = bad_json(path, "two objects are named '%s'", name);
        o[i].name = strdup(name);
        json_t *kfs = json_object_get(ob, "keyframes");
        if (!json_is_array(kfs) || json_array_size(kfs) == 0) {
            rc = bad_json(path, "object '%s': needs \"keyframes\" (at least one)", name);
            break;
        }
        o[i].n_kf = (int)json_array_size(kfs);
        o[i].kf = calloc((size_t)o[i].n_kf, sizeof *o[i].kf);
        for (int k = 0; k < o[i].n_kf && !rc; k++) {
            json_t *kf = json_array_get(kfs, k);
            keyframe *K = &o[i].kf[k];
            json_object_foreach(kf, key, v) {
                if (strcmp(key, "frame") && strcmp(key, "points") && strcmp(key, "box") &&
                    strcmp(key, "mask")) {
                    rc = bad_json(path, "object '%s' keyframe %d: unknown key '%s'", name, k, key);
                    break;
                }
            }
            if (rc) break;
            if (!json_is_integer(json_object_get(kf, "frame"))) {
                rc = bad_json(path, "object '%s' keyframe %d: needs an integer \"frame\"", name, k);
                break;
            }
            K->frame = (int)json_integer_value(json_object_get(kf, "frame"));
            json_t *pts = json_object_get(kf, "points");
            if (pts && (!json_is_array(pts) || json_array_size(pts) > SAM2_MAX_POINTS)) {
                rc = bad_json(path, "object '%s' frame %d: \"points\" must be a list of at most %d "
                              "[x, y] or [x, y, label]", name, K->frame, SAM2_MAX_POINTS);
                break;
            }
            for (size_t p = 0; pts && p < json_array_size(pts) && !rc; p++) {
                json_t *pt = json_array_get(pts, p);
                double x, y, l = 1;
                size_t np = json_array_size(pt);
                if (!json_is_array(pt) || np < 2 || np > 3 || !json_number(json_array_get(pt, 0), &x) ||
                    !json_number(json_array_get(pt, 1), &y) ||
                    (np == 3 && (!json_number(json_array_get(pt, 2), &l) || (l != 0 && l != 1)))) {
                    rc = bad_json(path, "object '%s' frame %d point %zu: expected [x, y] or [x, y, 0|1]",
                                  name, K->frame, p);
                    break;
                }
                K->points[2 * K->n_points] = (float)x;
                K->points[2 * K->n_points + 1] = (float)y;
                K->labels[K->n_points++] = (int)l;
            }
            json_t *box = json_object_get(kf, "box");
            if (box) {
                double b[4];
                if (!json_is_array(box) || json_array_size(box) != 4 ||
                    !json_number(json_array_get(box, 0), &b[0]) || !json_number(json_array_get(box, 1), &b[1]) ||
                    !json_number(json_array_get(box, 2), &b[2]) || !json_number(json_array_get(box, 3), &b[3])) {
                    rc = bad_json(path, "object '%s' frame %d: \"box\" must be [x0, y0, x1, y1]", name,
                                  K->frame);
                    break;
                }
                K->has_box = 1;
                for (int c = 0; c < 4; c++) K->box[c] = (float)b[c];
            }
            json_t *mask = json_object_get(kf, "mask");
            if (mask) {
                const char *m = json_string_value(mask);
                if (!m || !*m) {
                    rc = bad_json(path, "object '%s' frame %d: \"mask\" must be a file name", name, K->frame);
                    break;
                }
                char full[PATH_MAX];
                snprintf(full, sizeof full, "%s%s%s", m[0] == '/' ? "" : base, m[0] == '/' ? "" : "/", m);
                K->mask = strdup(full);
            }
            if (!K->n_points && !K->has_box && !K->mask)
                rc = bad_json(path, "object '%s' frame %d: give points, a box or a mask", name, K->frame);
            for (int j = 0; j < k && !rc; j++)
                if (o[i].kf[j].frame == K->frame)
                    rc = bad_json(path, "object '%s': two keyframes on frame %d", name, K->frame);
        }
    }
done:
    json_decref(root);
    if (rc) {
        objects_free(o, n);
        return 1;
    }
    *out = o;
    *n_out = n;
    return 0;
}

// ---- frames --------------------------------------------------------------------------------------

typedef struct {
    roto_seq_reader *seq;
    roto_colorspace cs;
    int W, H;
    float *rgbf;
} frame_source;

// A sequence frame as 8-bit sRGB RGB (the official loader works on 8-bit frames).
static roto_status read_frame(void *user, int index, uint8_t *rgb) {
    frame_source *src = user;
    roto_frame fr = {0};
    int missing = 0;
    ROTO_TRY(roto_seq_load(src->seq, index, &fr, &missing));
    roto_status st = ROTO_OK;
    if (fr.width != src->W || fr.height != src->H) {
        st = roto_fail(ROTO_ERR_FORMAT, "frame %d is %dx%d, the first frame %dx%d",
                       roto_seq_frame_number(src->seq, index), fr.width, fr.height, src->W, src->H);
    }
    roto_colorspace cs = src->cs;
    if (st == ROTO_OK) st = roto_colorspace_resolve(&fr, src->cs, &cs);
    if (st == ROTO_OK) st = roto_frame_to_srgb(&fr, cs, 0, src->rgbf);
    roto_frame_free(&fr);
    ROTO_TRY(st);
    size_t n = (size_t)src->W * src->H * 3;
    for (size_t i = 0; i < n; i++) {
        float v = src->rgbf[i] * 255.0f;
        rgb[i] = (uint8_t)(v <= 0.0f ? 0 : v >= 255.0f ? 255 : (int)(v + 0.5f));
    }
    return ROTO_OK;
}

static int load_mask(const char *path, int W, int H, uint8_t **out) {
    roto_frame f = {0};
    if (roto_image_read(path, NULL, &f) != ROTO_OK) return fail(path);
    if (f.width != W || f.height != H) {
        fprintf(stderr, "roto track: the mask %s is %dx%d but the frames are %dx%d\n", path, f.width,
                f.height, W, H);
        roto_frame_free(&f);
        return 1;
    }
    size_t n = roto_frame_pixels(&f);
    uint8_t *m = malloc(n);
    int c = (f.channels == 2 || f.channels == 4) ? f.channels - 1 : 0;
    for (size_t i = 0; i < n; i++) m[i] = roto_frame_value(&f, i * (size_t)f.channels + (size_t)c) >= 0.5f;
    roto_frame_free(&f);
    *out = m;
    return 0;
}

// ---- writing -------------------------------------------------------------------------------------

typedef struct {
    const track_args *a;
    roto_seq_reader *seq;
    const track_object *objs;
    int n_objs;
    int W, H;
    uint8_t *written;    // per sequence index: results already written this run
    int n_done, n_total; // frames emitted / to emit
    double t0;
    float *buf;
} writer;

static roto_status write_mask(const char *path, const uint8_t *mask, int W, int H, float *buf) {
    roto_image_format fmt = roto_format_from_extension(path);
    roto_frame f = {0};
    ROTO_TRY(roto_frame_alloc(&f, W, H, 1, ROTO_PIX_F32, 32));
    float *d = f.data;
    for (size_t i = 0; i < (size_t)W * H; i++) d[i] = mask[i] ? 1.0f : 0.0f;
    (void)buf;
    roto_write_opts o;
    roto_write_opts_init(&o);
    o.format = fmt;
    o.bit_depth = fmt == ROTO_FMT_EXR ? 32 : 8;
    if (fmt == ROTO_FMT_EXR) snprintf(f.channel_names[0], sizeof f.channel_names[0], "A");
    roto_status st = roto_image_write(path, &f, &o);
    roto_frame_free(&f);
    return st;
}

static roto_status on_frame(void *user, const sam2_track_result *r) {
    writer *w = user;
    if (w->written[r->frame]) return ROTO_OK;  // (the first keyframe is emitted by both passes)
    int number = roto_seq_frame_number(w->seq, r->frame);
    for (int k = 0; k < r->n_objects; k++) {
        const sam2_track_object *o = &r->objects[k];
        char path[PATH_MAX];
        ROTO_TRY(roto_seq_output_path(w->a->output, w->objs[o->obj].name, number, path, sizeof path));
        if (w->a->skip_existing) {
            FILE *f = fopen(path, "rb");
            if (f) {
                fclose(f);
                continue;
            }
        }
        ROTO_TRY(write_mask(path, o->mask, w->W, w->H, w->buf));
    }
    w->written[r->frame] = 1;
    w->n_done++;
    if (!w->a->quiet) {
        double el = rt_now_seconds() - w->t0, fps = w->n_done / (el > 0 ? el : 1e-9);
        double eta = (w->n_total - w->n_done) / (fps > 0 ? fps : 1e-9);
        fprintf(stderr, "\rroto track: frame %d  %d/%d  %.2f fps  ETA %d:%02d   ", number, w->n_done,
                w->n_total, fps, (int)eta / 60, (int)eta % 60);
        fflush(stderr);
    }
    return ROTO_OK;
}

// ---- main ------------------------------------------------------------------------------------------

int cmd_track(int argc, char **argv) {
    track_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    sam2_config cfg;
    if (a.config && load_config(a.config, &cfg)) return 1;
    track_object *objs = NULL;
    int n_objs = 0;
    if (load_objects(a.prompts, &objs, &n_objs)) return 1;
    if (n_objs > 1 && !strstr(a.output, "{obj}")) {
        objects_free(objs, n_objs);
        return usage_error("--output needs {obj} with %d objects (their masks would collide)", n_objs);
    }

    roto_seq_reader seq;
    if (roto_seq_open(&seq, a.input, a.frames, NULL, 0) != ROTO_OK) {
        objects_free(objs, n_objs);
        return fail(a.input);
    }
    int nf = roto_seq_count(&seq), W = 0, H = 0;
    rc = 1;
    rt_ctx ctx;
    int have_ctx = 0;
    sam2_model *m = NULL;
    sam2_track *trk = NULL;
    frame_source src = {.seq = &seq, .cs = a.colorspace};
    writer w = {.a = &a, .seq = &seq, .objs = objs, .n_objs = n_objs};
    {
        roto_frame fr = {0};
        int missing = 0;
        if (roto_seq_load(&seq, 0, &fr, &missing) != ROTO_OK) {
            fail(a.input);
            goto out;
        }
        W = fr.width, H = fr.height;
        roto_frame_free(&fr);
    }
    src.W = w.W = W, src.H = w.H = H;
    // Keyframes against the sequence and the frame size; mask files read now.
    int first_kf = nf, last_kf = -1;
    for (int i = 0; i < n_objs; i++) {
        for (int k = 0; k < objs[i].n_kf; k++) {
            keyframe *K = &objs[i].kf[k];
            int idx = -1;
            for (int j = 0; j < nf; j++)
                if (roto_seq_frame_number(&seq, j) == K->frame) idx = j;
            if (idx < 0) {
                fprintf(stderr, "roto track: object '%s': keyframe %d is not in the sequence (%d-%d)\n",
                        objs[i].name, K->frame, roto_seq_frame_number(&seq, 0),
                        roto_seq_frame_number(&seq, nf - 1));
                goto out;
            }
            K->frame = idx;  // from here on: the sequence index
            if (idx < first_kf) first_kf = idx;
            if (idx > last_kf) last_kf = idx;
            for (int p = 0; p < K->n_points; p++)
                if (!(K->points[2 * p] >= 0 && K->points[2 * p] <= W && K->points[2 * p + 1] >= 0 &&
                      K->points[2 * p + 1] <= H)) {
                    fprintf(stderr, "roto track: object '%s' frame %d: point %d is outside the %dx%d frame\n",
                            objs[i].name, roto_seq_frame_number(&seq, idx), p, W, H);
                    goto out;
                }
            if (K->mask && load_mask(K->mask, W, H, &K->mask_data)) goto out;
        }
    }
    // Output directories, created and probed before any work.
    for (int i = 0; i < n_objs; i++) {
        char path[PATH_MAX];
        if (roto_seq_output_path(a.output, objs[i].name, roto_seq_frame_number(&seq, 0), path,
                                 sizeof path) != ROTO_OK) {
            fail(a.output);
            goto out;
        }
        const char *dir = dirname(path);
        if (roto_mkdir_p(dir) != ROTO_OK || roto_check_writable_dir(dir) != ROTO_OK) {
            fail(dir);
            goto out;
        }
    }

    // Device, model, session.
    const rt_backend *be = rt_cpu_backend();
    if (a.cuda) {
        int n = 0;
        be = rt_cuda_backend();
        if (!be) {
            fprintf(stderr, "roto track: this roto was built without CUDA\n");
            goto out;
        }
        if (rt_cuda_device_count(&n) != ROTO_OK || a.cuda_device >= n ||
            rt_cuda_select_device(a.cuda_device) != ROTO_OK) {
            fprintf(stderr, "roto track: CUDA device %d: %s\n", a.cuda_device, roto_last_error());
            goto out;
        }
    }
    sam2_config big;
    sam2_config_variant(&big, "large");
    int max_kf = 1;
    for (int i = 0; i < n_objs; i++) max_kf = objs[i].n_kf > max_kf ? objs[i].n_kf : max_kf;
    // Sized for the largest released variant (on the CPU the untouched part costs nothing).
    if (rt_ctx_create(&ctx, be, sam2_track_arena_bytes(&big, 64, max_kf)) != ROTO_OK) {
        fail("context");
        goto out;
    }
    have_ctx = 1;
    ctx.num_threads = a.threads;
    if (a.cuda && rt_cuda_set_precision(&ctx, a.precision) != ROTO_OK) {
        fail("precision");
        goto out;
    }
    if (sam2_load(&ctx, a.model, a.config ? &cfg : NULL, &m) != ROTO_OK) {
        fail(a.model);
        goto out;
    }
    src.rgbf = malloc((size_t)W * H * 3 * sizeof(float));
    w.written = calloc((size_t)nf, 1);
    sam2_track_opts o;
    sam2_track_opts_init(&o);
    o.n_frames = nf, o.width = W, o.height = H, o.read_frame = read_frame, o.read_user = &src;
    if (!src.rgbf || !w.written || sam2_track_create(m, &o, &trk) != ROTO_OK) {
        fail("tracking session");
        goto out;
    }
    for (int i = 0; i < n_objs; i++) {
        int id;
        if (sam2_track_add_object(trk, &id) != ROTO_OK) {
            fail("object");
            goto out;
        }
        for (int k = 0; k < objs[i].n_kf; k++) {
            keyframe *K = &objs[i].kf[k];
            uint8_t *mk = K->mask_data;
            char what[512];
            snprintf(what, sizeof what, "object '%s' frame %d", objs[i].name,
                     roto_seq_frame_number(&seq, K->frame));
            if (mk) {
                sam2_track_prompt p = {.mask = mk};
                if (sam2_track_add_prompt(trk, id, K->frame, &p, NULL, NULL) != ROTO_OK) {
                    fail(what);
                    goto out;
                }
            }
            if (K->n_points || K->has_box) {
                sam2_track_prompt p = {.points = K->n_points ? K->points : NULL,
                                       .labels = K->labels, .n_points = K->n_points,
                                       .box = K->has_box ? K->box : NULL};
                if (sam2_track_add_prompt(trk, id, K->frame, &p, NULL, NULL) != ROTO_OK) {
                    fail(what);
                    goto out;
                }
            }
        }
    }
    if (a.direction == 0) w.n_total = nf - first_kf;
    else if (a.direction == 1) w.n_total = last_kf + 1;
    else w.n_total = nf;
    w.t0 = rt_now_seconds();
    roto_status st = ROTO_OK;
    if (a.direction == 0 || a.direction == 2) st = sam2_track_propagate(trk, first_kf, -1, 0, on_frame, &w);
    if (st == ROTO_OK && a.direction == 1) st = sam2_track_propagate(trk, last_kf, -1, 1, on_frame, &w);
    if (st == ROTO_OK && a.direction == 2 && first_kf > 0)
        st = sam2_track_propagate(trk, first_kf, -1, 1, on_frame, &w);
    if (!a.quiet) fprintf(stderr, "\n");
    if (st != ROTO_OK) {
        fail("tracking");
        goto out;
    }
    double el = rt_now_seconds() - w.t0;
    if (!a.quiet)
        fprintf(stderr, "roto track: %d object%s, %d frames in %.1f s (%.2f fps), masks in %s\n", n_objs,
                n_objs == 1 ? "" : "s", w.n_done, el, w.n_done / (el > 0 ? el : 1e-9), a.output);
    rc = 0;
out:
    sam2_track_free(trk);
    sam2_free(m);
    if (have_ctx) rt_ctx_destroy(&ctx);
    free(src.rgbf);
    free(w.written);
    roto_seq_close(&seq);
    objects_free(objs, n_objs);
    return rc;
}
