// cmd_track.c: `roto track`: SAM 2.1 video object tracking of an image sequence
// (nets/sam2/sam2_track.h). Objects and their keyframes come from a JSON file
// (tools/track_prompts.h); every tracked frame's mattes are written with the input's
// frame number: per-object files (-o with {obj}), one multi-layer EXR per frame
// (--exr-out, layers obj_<name>.A), previews and a contact sheet (tools/track_io.h).
//
// Order of work, so that mistakes fail in a second and write nothing: options ->
// device -> prompts file -> output names -> checkpoint header -> sequence (every frame
// on disk, the size) -> keyframes against the range and the frame -> output paths
// (collisions, directories created and probed) -> model -> prompts -> propagation.
//
// While tracking, plates are decoded ahead on worker threads and each frame's outputs
// are written behind on others, every file atomically (temp, fsync, rename).
// SIGINT/SIGTERM stop after the current frame: its outputs and those queued are
// finished, so only complete files are left. Exit codes: 0 done, 1 failure or
// interrupted (message on stderr), 2 usage error.
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <omp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/roto_config.h"
#include "engine/backend.h"
#include "engine/ctx.h"
#include "engine/model_detect.h"
#include "engine/weights.h"
#include "io/atomic.h"
#include "io/image.h"
#include "kernels/cuda/cuda_kernels.h"
#include "nets/sam2/sam2.h"
#include "nets/sam2/sam2_track.h"
#include "tools/cli_common.h"
#include "tools/commands.h"
#include "tools/track_io.h"
#include "tools/track_prompts.h"

static void track_usage(FILE *f) {
    fprintf(f,
        "usage: roto track -m CKPT -i SEQUENCE --prompts P.json -o OUTPUT [options]\n"
        "       roto track -m CKPT -i SEQUENCE --prompts P.json --exr-out MATTES.####.exr [options]\n"
        "\n"
        "SAM 2.1 video tracking of every object of P.json through SEQUENCE.\n"
        "\n"
        "Input:\n"
        "  -m, --model CKPT        SAM 2.1 checkpoint (.pt or .safetensors, with its video tensors)\n"
        "  --config FILE.json      architecture of a checkpoint that is not a released size\n"
        "  -i, --input SEQ         frame pattern: plate.####.exr, plate.%%04d.png, ...\n"
        "  --frames A-B            frames to track (default: first to last found on disk)\n"
        "  --hold-missing          a missing frame repeats the previous one (default: error)\n"
        "  --input-colorspace CS   auto (default), srgb, linear, rec709, cineon\n"
        "  --input-layer NAME      EXR plates: read NAME.R, NAME.G, NAME.B\n"
        "  --prompts P.json        {\"objects\": [{\"name\": \"actor\", \"keyframes\": [{\"frame\": 1001,\n"
        "                          \"points\": [[x, y, 1], [x, y, 0]], \"box\": [x0, y0, x1, y1],\n"
        "                          \"mask\": \"file.png\"}]}]} (points, box, mask optional per keyframe)\n"
        "Tracking:\n"
        "  --direction D           forward (default): from the earliest keyframe to the end;\n"
        "                          backward: from the latest keyframe to the start;\n"
        "                          both: forward, then backward from the earliest keyframe\n"
        "  --device D              cpu (default), cuda, cuda:N\n"
        "  --precision P           fp32 (default); tf32, bf16, fp16 on cuda only\n"
        "  --threads N             CPU threads (default: all cores)\n"
        "Outputs (output frame numbers are the input's):\n"
        "  -o, --output PATTERN    mattes per frame; {obj} becomes the object name (needed with\n"
        "                          several objects). .png/.tif/.dpx: 8-bit 0/255; .exr with {obj}:\n"
        "                          channel A; .exr without {obj}: one multi-layer EXR (obj_<name>.A)\n"
        "  --exr-out PATTERN       one multi-layer EXR per frame, a layer obj_<name>.A per object\n"
        "  --compression C         EXR compression: zip (default), zips, piz, dwaa, dwab, none, rle, ...\n"
        "  --exr-float             EXR mattes as 32-bit float (default: half)\n"
        "  --preview DIR           DIR/preview.####.png: the plate with every object's matte\n"
        "                          overlaid in its own colour and outlined\n"
        "  --contact-sheet FILE    a PNG grid of every Nth preview with frame numbers\n"
        "  --contact-every N       frames between contact-sheet cells (default 10)\n"
        "  --skip-existing         outputs that exist are not written again (tracking still\n"
        "                          runs through their frames: the memory needs them)\n"
        "Matte clean-up (in this order, as roto segment):\n"
        "  --fill-holes AREA       fill holes of at most AREA pixels (0: every hole)\n"
        "  --remove-islands AREA   remove foreground regions smaller than AREA pixels\n"
        "  --dilate R, --erode R   grow / shrink by R pixels\n"
        "  --feather R             Gaussian soft edge, sigma R/3\n"
        "  --core-edge R           also write each object's core (matte eroded by R) and edge\n"
        "                          (matte - core): EXR layers obj_<name>_core, obj_<name>_edge;\n"
        "                          files {obj} = <name>_core, <name>_edge\n"
        "\n"
        "  -q, --quiet             no progress on stderr\n");
}

enum { DIR_FORWARD = 0, DIR_BACKWARD = 1, DIR_BOTH = 2 };

typedef struct {
    const char *model, *config, *input, *frames, *prompts, *output, *exr_out, *preview, *contact, *layer;
    int direction, skip_existing, quiet, threads, cuda, cuda_device, hold_missing, exr_float;
    int contact_every;
    rt_precision precision;
    roto_colorspace colorspace;
    roto_exr_compression compression;
    track_cleanup cleanup;
} track_args;

#define usage_error(...) cli_usage_error("track", __VA_ARGS__)
#define fail_msg(...) cli_fail("track", __VA_ARGS__)

// "roto track: <what>: <the library's message>"; exit code 1.
static int fail(const char *what) {
    fprintf(stderr, "roto track: %s%s%s\n", what ? what : "", what ? ": " : "", roto_last_error());
    return 1;
}

// ---- options ---------------------------------------------------------------------------------------

static int parse_radius(const char *opt, const char *v, float *out) {
    char *end = NULL;
    double r = v ? strtod(v, &end) : -1;
    if (!v || *end || !(r >= 0 && r <= 10000)) return usage_error("%s %s: expected pixels in 0..10000", opt, v ? v : "");
    *out = (float)r;
    return 0;
}

static int parse_area(const char *opt, const char *v, long *out) {
    char *end = NULL;
    long n = v ? strtol(v, &end, 10) : -1;
    if (!v || *end || n < 0) return usage_error("%s %s: expected a pixel count >= 0", opt, v ? v : "");
    *out = n;
    return 0;
}

static int parse_count(const char *opt, const char *v, int max, int *out) {
    char *end = NULL;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v || *end || n < 1 || n > max) return usage_error("%s %s: expected a count in 1..%d", opt, v ? v : "", max);
    *out = (int)n;
    return 0;
}

static int parse_device(const char *v, track_args *a) {
    if (v && !strcmp(v, "cpu")) {
        a->cuda = 0;
        return 0;
    }
    if (v && !strncmp(v, "cuda", 4) && (v[4] == 0 || v[4] == ':')) {
        char *end = NULL;
        a->cuda = 1;
        a->cuda_device = v[4] ? (int)strtol(v + 5, &end, 10) : 0;
        if (!v[4] || (v[5] && !*end && a->cuda_device >= 0)) return 0;
    }
    return usage_error("--device %s: cpu, cuda or cuda:N", v ? v : "");
}

// A string option: its value, or a usage error naming what it needs.
#define STRING_OPT(name, alias, field, what)                                           \
    else if (cli_option(argc, argv, &i, name, alias, &v)) {                            \
        if (!(a->field = v) || !*v) return usage_error("%s needs %s", name, what);    \
    }

static int parse_args(int argc, char **argv, track_args *a) {
    memset(a, 0, sizeof *a);
    a->direction = DIR_FORWARD;
    a->contact_every = 10;
    a->compression = ROTO_EXR_ZIP;
    a->cleanup.fill_holes = -1;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int rc = 0;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            track_usage(stdout);
            return -1;
        }
        STRING_OPT("--model", "-m", model, "a checkpoint file")
        STRING_OPT("--config", NULL, config, "a JSON file")
        STRING_OPT("--input", "-i", input, "a frame pattern")
        STRING_OPT("--frames", NULL, frames, "a range (1001-1100)")
        STRING_OPT("--prompts", NULL, prompts, "a JSON file")
        STRING_OPT("--output", "-o", output, "a pattern")
        STRING_OPT("--exr-out", NULL, exr_out, "a pattern")
        STRING_OPT("--preview", NULL, preview, "a directory")
        STRING_OPT("--contact-sheet", NULL, contact, "a file name")
        STRING_OPT("--input-layer", NULL, layer, "a layer name")
        else if (cli_option(argc, argv, &i, "--contact-every", NULL, &v)) {
            rc = parse_count("--contact-every", v, 1000000, &a->contact_every);
        } else if (cli_option(argc, argv, &i, "--compression", NULL, &v)) {
            if (!v || roto_exr_compression_parse(v, &a->compression) != ROTO_OK)
                return usage_error("--compression %s: expected zip, zips, piz, dwaa, dwab, none, rle, pxr24, b44 or b44a",
                                   v ? v : "");
        } else if (!strcmp(argv[i], "--exr-float")) {
            a->exr_float = 1;
        } else if (cli_option(argc, argv, &i, "--direction", NULL, &v)) {
            if (v && !strcmp(v, "forward")) a->direction = DIR_FORWARD;
            else if (v && !strcmp(v, "backward")) a->direction = DIR_BACKWARD;
            else if (v && !strcmp(v, "both")) a->direction = DIR_BOTH;
            else return usage_error("--direction %s: forward, backward or both", v ? v : "");
        } else if (!strcmp(argv[i], "--skip-existing")) {
            a->skip_existing = 1;
        } else if (!strcmp(argv[i], "--hold-missing")) {
            a->hold_missing = 1;
        } else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) {
            a->quiet = 1;
        } else if (cli_option(argc, argv, &i, "--input-colorspace", NULL, &v)) {
            if (!v || roto_colorspace_parse(v, &a->colorspace) != ROTO_OK)
                return usage_error("--input-colorspace %s: auto, srgb, linear, rec709, cineon", v ? v : "");
        } else if (cli_option(argc, argv, &i, "--fill-holes", NULL, &v)) {
            rc = parse_area("--fill-holes", v, &a->cleanup.fill_holes);
        } else if (cli_option(argc, argv, &i, "--remove-islands", NULL, &v)) {
            rc = parse_area("--remove-islands", v, &a->cleanup.remove_islands);
        } else if (cli_option(argc, argv, &i, "--dilate", NULL, &v)) {
            rc = parse_radius("--dilate", v, &a->cleanup.dilate);
        } else if (cli_option(argc, argv, &i, "--erode", NULL, &v)) {
            rc = parse_radius("--erode", v, &a->cleanup.erode);
        } else if (cli_option(argc, argv, &i, "--feather", NULL, &v)) {
            rc = parse_radius("--feather", v, &a->cleanup.feather);
        } else if (cli_option(argc, argv, &i, "--core-edge", NULL, &v)) {
            rc = parse_radius("--core-edge", v, &a->cleanup.core_edge);
            if (rc == 0 && !(a->cleanup.core_edge > 0)) rc = usage_error("--core-edge %s: expected pixels > 0", v);
        } else if (cli_option(argc, argv, &i, "--device", NULL, &v)) {
            rc = parse_device(v, a);
        } else if (cli_option(argc, argv, &i, "--precision", NULL, &v)) {
            if (!v || !rt_cuda_parse_precision(v, &a->precision))
                return usage_error("--precision %s: fp32, tf32, bf16 or fp16", v ? v : "");
        } else if (cli_option(argc, argv, &i, "--threads", NULL, &v)) {
            rc = parse_count("--threads", v, 4096, &a->threads);
        } else {
            return usage_error("unknown option '%s'", argv[i]);
        }
        if (rc) return rc;
    }
    if (!a->model) return usage_error("missing --model");
    if (!a->input) return usage_error("missing --input");
    if (!a->prompts) return usage_error("missing --prompts");
    if (!a->output && !a->exr_out) return usage_error("missing --output (or --exr-out)");
    if (a->contact && roto_format_from_extension(a->contact) != ROTO_FMT_PNG)
        return usage_error("--contact-sheet %s: the sheet is a PNG (name it .png)", a->contact);
    return 0;
}

// ---- the checkpoint --------------------------------------------------------------------------------

// Keys of the video fixtures' index.json "config" that are not architecture: the
// tracker reads them from the checkpoint's tensors (mem_dim, num_maskmem) or uses the
// official video predictor's value (fill_hole_area 8).
static const char *const VIDEO_KEYS[] = {"mem_dim", "num_maskmem", "fill_hole_area", NULL};

static roto_status config_from(json_t *root, const char *what, sam2_config *cfg) {
    json_t *c = json_is_object(root) ? json_object_get(root, "config") : NULL;
    json_t *copy = json_deep_copy(json_is_object(c) ? c : root);
    if (!copy) return roto_fail(ROTO_ERR_FORMAT, "%s: not a JSON object", what);
    for (int i = 0; VIDEO_KEYS[i] && json_is_object(copy); i++) json_object_del(copy, VIDEO_KEYS[i]);
    roto_status st = roto_config_from_json(copy, what, cfg);
    json_decref(copy);
    return st;
}

// The architecture, from the file's header only: --config, else the "sam2_config" a
// roto-converted file carries, else the released variant detected from the tensors.
// Files that are not SAM 2, or have no video tensors, are refused here.
static roto_status resolve_model(const track_args *a, sam2_config *cfg) {
    rt_weights w;
    ROTO_TRY(rt_weights_open(&w, a->model));
    rt_model_info info;
    roto_status st = rt_model_detect(&w, &info);
    const char *meta = st == ROTO_OK ? rt_weights_meta(&w, "sam2_config") : NULL;
    json_error_t err;
    json_t *root = NULL;
    if (st != ROTO_OK) {
    } else if (info.family != RT_FAMILY_SAM2) {
        st = roto_fail(ROTO_ERR_UNSUPPORTED, "%s holds %s, not a SAM 2 model", a->model,
                       info.family == RT_FAMILY_UNKNOWN ? "no model roto recognises" : info.description);
    } else if (!strcmp(info.version, "2")) {
        st = roto_fail(ROTO_ERR_UNSUPPORTED, "%s is an image-only SAM 2 export: tracking needs the video tensors "
                       "(memory encoder, memory attention) of the full checkpoint", a->model);
    } else if (a->config) {
        if (!(root = json_load_file(a->config, 0, &err)))
            st = roto_fail(ROTO_ERR_FORMAT, "%s: line %d: %s", a->config, err.line, err.text);
        else st = config_from(root, a->config, cfg);
    } else if (meta) {
        if (!(root = json_loads(meta, 0, &err)))
            st = roto_fail(ROTO_ERR_FORMAT, "%s: metadata \"sam2_config\": %s", a->model, err.text);
        else st = config_from(root, a->model, cfg);
    } else if (info.variant[0]) {
        st = sam2_config_variant(cfg, info.variant);
    } else {
        st = roto_fail(ROTO_ERR_UNSUPPORTED, "%s: a SAM 2 checkpoint of a size roto does not know (Hiera embed "
                       "dim %d, %d blocks): give its architecture with --config FILE.json", a->model,
                       info.embed_dim, info.n_blocks);
    }
    json_decref(root);
    rt_weights_close(&w);
    return st;
}

// ---- everything one run needs ------------------------------------------------------------------------

typedef struct {
    const track_args *a;
    track_objects objs;
    roto_seq_reader seq;
    int have_seq;
    int nf, W, H;
    int *src;                 // per sequence index: the index read (--hold-missing)
    int first_kf, last_kf, max_kf;
    int lo, hi;               // sequence indices written
    int defer;                // written by the second pass only (both), or -1
    track_out_plan plan;
    const char **layer_names;
    char *layer_store;  // the layer names' text, 300 bytes each
    // while tracking
    track_feeder feed;
    roto_writer *writer;
    int pass;                 // 0 first propagation, 1 second
    uint8_t *emitted;         // per sequence index
    int n_done, n_total;      // frames emitted / to emit
    long n_files, n_kept;     // files queued / left as they were
    int last_number;
    double t0, last_print;
    int tty, delay_ms, interrupted;
} track_run;

// ---- validation ------------------------------------------------------------------------------------------

// "1005-1007, 1010" for sorted frame numbers, cut to fit.
static void ranges_string(const int *v, int n, char *out, size_t cap) {
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && v[j + 1] == v[j] + 1) j++;
        char item[48];
        if (j > i) snprintf(item, sizeof item, "%s%d-%d", i ? ", " : "", v[i], v[j]);
        else snprintf(item, sizeof item, "%s%d", i ? ", " : "", v[i]);
        if (len + strlen(item) + 5 >= cap) {
            snprintf(out + len, cap - len, ", ...");
            return;
        }
        len += (size_t)snprintf(out + len, cap - len, "%s", item);
        i = j + 1;
    }
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

// Which outputs: -o with {obj} (a file per object), -o NAME.exr or --exr-out (one
// multi-layer EXR); usage errors for names that cannot work.
static int choose_outputs(track_run *R) {
    const track_args *a = R->a;
    track_out_plan *p = &R->plan;
    int n = R->objs.n;
    p->multi_pattern = a->exr_out;
    if (a->output) {
        roto_image_format fmt = roto_format_from_extension(a->output);
        int has_obj = strstr(a->output, "{obj}") != NULL;
        if (fmt == ROTO_FMT_UNKNOWN || fmt == ROTO_FMT_JPEG)
            return usage_error("--output %s: the extension names the format (.png, .tif, .dpx, .exr)", a->output);
        if (!has_obj && fmt == ROTO_FMT_EXR) {
            if (a->exr_out)
                return usage_error("--output %s and --exr-out %s: both are multi-layer EXRs; give one (or {obj} "
                                   "in --output for a file per object)", a->output, a->exr_out);
            p->multi_pattern = a->output;
        } else if (!has_obj && n > 1) {
            return usage_error("--output %s: %d objects need {obj} in the name (their mattes would collide), or "
                               "an .exr name for one multi-layer EXR", a->output, n);
        } else {
            p->obj_pattern = a->output;
        }
    }
    const char *multi_opt = p->multi_pattern == a->output ? "--output" : "--exr-out";
    if (p->multi_pattern && roto_format_from_extension(p->multi_pattern) != ROTO_FMT_EXR)
        return usage_error("%s %s: the multi-layer output is an EXR (name it .exr)", multi_opt, p->multi_pattern);
    if (p->multi_pattern && strstr(p->multi_pattern, "{obj}"))
        return usage_error("%s %s: one file holds every object: no {obj} in the name", multi_opt, p->multi_pattern);
    // One file per frame: the patterns need a frame field.
    const char *patterns[2] = {p->obj_pattern, p->multi_pattern}, *opts[2] = {"--output", multi_opt};
    for (int x = 0; x < 2; x++) {
        char exp[PATH_MAX];
        roto_seq_pattern sp;
        if (!patterns[x]) continue;
        if (roto_seq_expand_obj(patterns[x], R->objs.obj[0].name, exp, sizeof exp) != ROTO_OK ||
            roto_seq_parse_pattern(exp, &sp) != ROTO_OK)
            return fail(patterns[x]);
        if (!sp.has_frame)
            return usage_error("%s %s: needs a frame number field (#### or %%04d): one file per frame", opts[x],
                               patterns[x]);
    }
    if (p->multi_pattern) {
        // The layers: per object its name, then with --core-edge <name>_core and
        // <name>_edge. They must stay apart once sanitised (obj_<name>).
        int per = a->cleanup.core_edge > 0 ? 3 : 1, nl = n * per;
        R->layer_names = calloc((size_t)nl, sizeof(char *));
        R->layer_store = calloc((size_t)nl, 300);
        if (!R->layer_names || !R->layer_store) return fail_msg("out of memory");
        for (int i = 0; i < nl; i++) {
            char *name = R->layer_store + (size_t)i * 300, layer[320], other[320];
            static const char *const tags[3] = {"", "_core", "_edge"};
            if (snprintf(name, 300, "%s%s", R->objs.obj[i / per].name, tags[i % per]) >= 300)
                return fail_msg("%s: object name '%s' is too long for an EXR layer", a->prompts, R->objs.obj[i / per].name);
            if (roto_exr_object_layer(name, layer, sizeof layer) != ROTO_OK) return fail(a->prompts);
            for (int j = 0; j < i; j++) {
                roto_exr_object_layer(R->layer_names[j], other, sizeof other);
                if (!strcmp(layer, other))
                    return fail_msg("%s: '%s' and '%s' would both be the EXR layer %s (layer names keep only "
                                    "A-Z a-z 0-9 _ -)", a->prompts, R->layer_names[j], name, layer);
            }
            R->layer_names[i] = name;
        }
        p->layer_names = R->layer_names;
    }
    return 0;
}

// Every frame of the range on disk (or held), and the first frame's size and colour
// space, before any decoding.
static int open_sequence(track_run *R) {
    const track_args *a = R->a;
    roto_read_opts ro;
    roto_read_opts_init(&ro);
    ro.layer = a->layer;
    if (roto_seq_open(&R->seq, a->input, a->frames, &ro, a->hold_missing) != ROTO_OK) return fail(a->input);
    R->have_seq = 1;
    int nf = R->nf = roto_seq_count(&R->seq), n_missing = 0, last_good = -1;
    R->src = malloc((size_t)nf * sizeof(int));
    int *missing = malloc((size_t)nf * sizeof(int));
    if (!R->src || !missing) {
        free(missing);
        return fail_msg("out of memory");
    }
    for (int i = 0; i < nf; i++) {
        char path[PATH_MAX];
        struct stat st;
        if (roto_seq_path(&R->seq, i, path, sizeof path) != ROTO_OK) {
            free(missing);
            return fail(a->input);
        }
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            R->src[i] = last_good = i;
        } else {
            missing[n_missing++] = roto_seq_frame_number(&R->seq, i);
            R->src[i] = last_good;
        }
    }
    char list[512] = "";
    qsort(missing, (size_t)n_missing, sizeof(int), cmp_int);
    ranges_string(missing, n_missing, list, sizeof list);
    free(missing);
    if (n_missing && !a->hold_missing)
        return fail_msg("%s: %d frame%s missing: %s (--hold-missing repeats the previous frame instead)", a->input,
                        n_missing, n_missing == 1 ? " is" : "s are", list);
    if (n_missing && R->src[0] < 0)
        return fail_msg("%s: the first frame (%d) is missing: there is nothing to hold", a->input,
                        roto_seq_frame_number(&R->seq, 0));
    if (n_missing && !a->quiet)
        fprintf(stderr, "roto track: holding the previous frame for %d missing frame%s: %s\n", n_missing,
                n_missing == 1 ? "" : "s", list);
    roto_frame hdr = {0};
    char path[PATH_MAX];
    roto_colorspace cs;
    int ok = roto_seq_path(&R->seq, R->src[0], path, sizeof path) == ROTO_OK &&
             roto_image_probe(path, &ro, &hdr) == ROTO_OK && roto_colorspace_resolve(&hdr, a->colorspace, &cs) == ROTO_OK;
    R->W = hdr.width, R->H = hdr.height;
    roto_frame_free(&hdr);
    return ok ? 0 : fail(NULL);
}

// Keyframes to sequence indices; the span to write follows from the direction.
static int locate_keyframes(track_run *R) {
    const track_args *a = R->a;
    R->first_kf = R->nf, R->last_kf = -1, R->max_kf = 1;
    for (int i = 0; i < R->objs.n; i++) {
        track_object *o = &R->objs.obj[i];
        R->max_kf = o->n_kf > R->max_kf ? o->n_kf : R->max_kf;
        for (int k = 0; k < o->n_kf; k++) {
            track_keyframe *K = &o->kf[k];
            for (int j = 0; j < R->nf && K->index < 0; j++)
                if (roto_seq_frame_number(&R->seq, j) == K->frame) K->index = j;
            if (K->index < 0) {
                int lo = roto_seq_frame_number(&R->seq, 0), hi = roto_seq_frame_number(&R->seq, R->nf - 1);
                char range[64];
                if (R->nf == 1) snprintf(range, sizeof range, "frame %d only", lo);
                else snprintf(range, sizeof range, "frames %d-%d", lo < hi ? lo : hi, lo < hi ? hi : lo);
                return fail_msg("%s: object '%s': keyframe %d is not in the sequence (%s%s)", a->prompts, o->name,
                                K->frame, range, a->frames ? " of --frames" : "");
            }
            R->first_kf = K->index < R->first_kf ? K->index : R->first_kf;
            R->last_kf = K->index > R->last_kf ? K->index : R->last_kf;
        }
    }
    if (track_objects_check_image(&R->objs, R->W, R->H) != ROTO_OK) return fail(a->prompts);
    R->lo = a->direction == DIR_FORWARD ? R->first_kf : 0;
    R->hi = a->direction == DIR_BACKWARD ? R->last_kf : R->nf - 1;
    R->defer = a->direction == DIR_BOTH && R->first_kf > 0 ? R->first_kf : -1;
    R->n_total = R->hi - R->lo + 1;
    return 0;
}

static int make_dir_for(const char *path) {
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    const char *dir = dirname(buf);
    if (roto_mkdir_p(dir) != ROTO_OK || roto_check_writable_dir(dir) != ROTO_OK) {
        fprintf(stderr, "roto track: cannot write %s: %s\n", path, roto_last_error());
        return 1;
    }
    // Temp files of an earlier run that was killed (SIGKILL, power loss).
    int removed = 0;
    if (roto_atomic_remove_stale(dir, &removed) == ROTO_OK && removed > 0)
        fprintf(stderr, "roto track: removed %d temp file%s left by an interrupted run in %s\n", removed,
                removed == 1 ? "" : "s", dir);
    return 0;
}

// Every output path of the first written frame: pairwise distinct, not an input
// frame; then their directories created and probed, the contact sheet laid out.
static int prepare_outputs(track_run *R) {
    const track_args *a = R->a;
    track_out_plan *p = &R->plan;
    int n = R->objs.n, number = roto_seq_frame_number(&R->seq, R->lo), n_paths = 0, rc = 0;
    p->objs = &R->objs;
    p->W = R->W, p->H = R->H;
    p->compression = a->compression;
    p->exr_float = a->exr_float;
    p->cleanup = a->cleanup;
    p->cleanup.cuda = a->cuda;  // the clean-up runs where the tracker runs
    p->model_name = strrchr(a->model, '/') ? strrchr(a->model, '/') + 1 : a->model;
    if (a->preview) {
        // preview.<frame>.png with the input's padding.
        char hashes[16] = "%d";
        if (R->seq.pat.padding > 0 && R->seq.pat.padding < 10) {
            memset(hashes, '#', (size_t)R->seq.pat.padding);
            hashes[R->seq.pat.padding] = '\0';
        }
        snprintf(p->preview_pattern, sizeof p->preview_pattern, "%s/preview.%s.png", a->preview, hashes);
    }
    char(*paths)[PATH_MAX] = calloc((size_t)n + 4, PATH_MAX);
    const char **opts = calloc((size_t)n + 4, sizeof(char *));
    char in_path[PATH_MAX];
    if (!paths || !opts) rc = fail_msg("out of memory");
    for (int k = 0; !rc && p->obj_pattern && k < n; k++, n_paths++) {
        opts[n_paths] = "--output";
        if (track_out_path(p->obj_pattern, R->objs.obj[k].name, number, paths[n_paths]) != ROTO_OK) rc = fail(NULL);
    }
    if (!rc && p->multi_pattern) {
        opts[n_paths] = p->multi_pattern == a->output ? "--output" : "--exr-out";
        if (track_out_path(p->multi_pattern, NULL, number, paths[n_paths++]) != ROTO_OK) rc = fail(NULL);
    }
    if (!rc && a->preview) {
        opts[n_paths] = "--preview";
        if (track_out_path(p->preview_pattern, NULL, number, paths[n_paths++]) != ROTO_OK) rc = fail(NULL);
    }
    if (!rc && a->contact) {
        opts[n_paths] = "--contact-sheet";
        snprintf(paths[n_paths++], PATH_MAX, "%s", a->contact);
    }
    if (!rc && roto_seq_path(&R->seq, R->lo, in_path, sizeof in_path) != ROTO_OK) rc = fail(NULL);
    for (int x = 0; !rc && x < n_paths; x++) {
        if (!strcmp(paths[x], in_path)) rc = fail_msg("%s would overwrite the input frame %s", opts[x], in_path);
        for (int y = 0; !rc && y < x; y++)
            if (!strcmp(paths[x], paths[y])) rc = fail_msg("%s and %s would both write %s", opts[y], opts[x], paths[x]);
    }
    for (int x = 0; !rc && x < n_paths; x++) rc = make_dir_for(paths[x]);
    free(paths);
    free(opts);
    if (!rc && a->contact) {
        if (roto_contact_init(&p->sheet, (R->hi - R->lo) / a->contact_every + 1, R->W, R->H, 320, 0) != ROTO_OK)
            return fail("--contact-sheet");
        p->contact_lo = R->lo;
        p->contact_every = a->contact_every;
    }
    return rc;
}

// --skip-existing with every output of every frame there: nothing to compute.
static int nothing_to_do(const track_run *R) {
    if (R->a->contact && !roto_output_exists(R->a->contact)) return 0;
    track_out_job probe = {0};
    probe.write_obj = calloc((size_t)R->objs.n, 1);
    int all = probe.write_obj != NULL;
    for (int i = R->lo; all && i <= R->hi; i++) {
        int n_write = 0, n_kept = 0;
        all = track_out_select(&R->plan, &R->seq, i, 1, &probe, &n_write, &n_kept) == ROTO_OK && n_write == 0;
    }
    free(probe.write_obj);
    return all;
}

// ---- tracking ---------------------------------------------------------------------------------------------

static volatile sig_atomic_t g_signal;

// The first SIGINT/SIGTERM asks to stop after the current frame; the handler is
// one-shot (SA_RESETHAND), so a second signal ends the process at once (atomic
// writes still leave no partial file under a final name).
static void on_signal(int sig) { g_signal = sig; }

static void install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static void progress(track_run *R, int force) {
    if (R->a->quiet) return;
    double now = rt_now_seconds(), el = now - R->t0;
    if (!force && !R->tty && now - R->last_print < 5.0) return;  // logs: a line every 5 s
    R->last_print = now;
    double fps = R->n_done / (el > 1e-9 ? el : 1e-9);
    int eta = (int)((R->n_total - R->n_done) / (fps > 1e-9 ? fps : 1e-9) + 0.5);
    fprintf(stderr, "%sroto track: frame %d  %d/%d  %.2f fps  ETA %d:%02d:%02d%s", R->tty ? "\r" : "",
            R->last_number, R->n_done, R->n_total, fps, eta / 3600, eta / 60 % 60, eta % 60, R->tty ? "   " : "\n");
    fflush(stderr);
}

// A frame's results: queue its outputs (the writer owns the job from the push on).
static roto_status queue_frame(track_run *R, const sam2_track_result *r, int *n_write, int *n_kept) {
    const track_out_plan *p = &R->plan;
    size_t npix = (size_t)R->W * R->H;
    int preview = p->preview_pattern[0] || p->sheet.n_cells > 0;
    int exr_meta = p->multi_pattern || (p->obj_pattern && roto_format_from_extension(p->obj_pattern) == ROTO_FMT_EXR);
    track_out_job *j = calloc(1, sizeof *j);
    if (!j || !(j->write_obj = calloc((size_t)R->objs.n, 1))) {
        track_out_free(NULL, j);
        return roto_fail(ROTO_ERR_OOM, "out of memory");
    }
    j->index = r->frame;
    j->number = roto_seq_frame_number(&R->seq, r->frame);
    roto_status st = track_out_select(p, &R->seq, r->frame, R->a->skip_existing, j, n_write, n_kept);
    if (st != ROTO_OK || (*n_write == 0 && j->contact_cell < 0)) {
        track_out_free(NULL, j);
        return st;
    }
    j->masks = malloc((size_t)R->objs.n * npix);
    if (!j->masks) st = roto_fail(ROTO_ERR_OOM, "out of memory");
    for (int k = 0; k < r->n_objects && st == ROTO_OK; k++)
        memcpy(j->masks + (size_t)r->objects[k].obj * npix, r->objects[k].mask, npix);
    roto_frame_meta_init(&j->meta, R->W, R->H);
    if (st == ROTO_OK && (preview || exr_meta)) {
        const roto_frame *plate = NULL;
        st = track_feeder_get(&R->feed, r->frame, &plate);
        if (st == ROTO_OK) j->meta = plate->meta;
        if (st == ROTO_OK && (j->write_preview || j->contact_cell >= 0)) {
            if (!(j->plate = malloc(npix * 3))) st = roto_fail(ROTO_ERR_OOM, "out of memory");
            const uint16_t *d = plate->data;
            for (size_t q = 0; j->plate && q < npix * 3; q++) j->plate[q] = (uint8_t)d[q];
        }
    }
    if (st != ROTO_OK) {
        track_out_free(NULL, j);
        return st;
    }
    return roto_writer_push(R->writer, j);
}

static roto_status on_frame(void *user, const sam2_track_result *r) {
    track_run *R = user;
    int i = r->frame;
    // In `both` the earliest keyframe is emitted by both passes; the second pass's
    // result (with the memory of both sides) is the one written, as in the official
    // notebooks where the reverse pass overwrites the forward one.
    if (!(R->pass == 0 && i == R->defer) && !R->emitted[i] && i >= R->lo && i <= R->hi) {
        int n_write = 0, n_kept = 0;
        ROTO_TRY(queue_frame(R, r, &n_write, &n_kept));
        R->emitted[i] = 1;
        R->n_done++;
        R->n_files += n_write;
        R->n_kept += n_kept;
        R->last_number = roto_seq_frame_number(&R->seq, i);
        progress(R, R->n_done == R->n_total);
        if (R->delay_ms > 0) {  // test hook: slow runs down to interrupt them mid-sequence
            struct timespec ts = {R->delay_ms / 1000, (long)(R->delay_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (g_signal) {
        R->interrupted = 1;
        return roto_fail(ROTO_ERR_IO, "interrupted");
    }
    return ROTO_OK;
}

// Every keyframe, in file order: a mask first, then clicks and a box refining it.
static int add_prompts(track_run *R, sam2_track *trk) {
    for (int i = 0; i < R->objs.n; i++) {
        int id;
        if (sam2_track_add_object(trk, &id) != ROTO_OK) return fail("object");
        for (int k = 0; k < R->objs.obj[i].n_kf; k++) {
            const track_keyframe *K = &R->objs.obj[i].kf[k];
            char what[512];
            snprintf(what, sizeof what, "object '%s' frame %d", R->objs.obj[i].name, K->frame);
            if (K->mask_data) {
                sam2_track_prompt p = {.mask = K->mask_data};
                if (sam2_track_add_prompt(trk, id, K->index, &p, NULL, NULL) != ROTO_OK) return fail(what);
            }
            if (K->n_points || K->has_box) {
                sam2_track_prompt p = {.points = K->n_points ? K->points : NULL, .labels = K->labels,
                                       .n_points = K->n_points, .box = K->has_box ? K->box : NULL};
                if (sam2_track_add_prompt(trk, id, K->index, &p, NULL, NULL) != ROTO_OK) return fail(what);
            }
        }
    }
    return 0;
}

// The order the tracker will read plates in: the keyframes (memory-encoded at the
// start of the first propagation), then the passes (repeats in a row dropped: the
// tracker keeps the last frame's features).
static int *read_order(const track_run *R, int *n_out) {
    int nf = R->nf, n = 0;
    int *order = malloc(((size_t)nf * 2 + (size_t)R->objs.n * (size_t)R->max_kf + 2) * sizeof(int));
    if (!order) return NULL;
    for (int i = 0; i < R->objs.n; i++)
        for (int k = 0; k < R->objs.obj[i].n_kf; k++) order[n++] = R->objs.obj[i].kf[k].index;
    if (R->a->direction == DIR_BACKWARD) {
        for (int f = R->last_kf; f >= 0; f--) order[n++] = f;
    } else {
        for (int f = R->first_kf; f < nf; f++) order[n++] = f;
        if (R->a->direction == DIR_BOTH && R->first_kf > 0)
            for (int f = R->first_kf; f >= 0; f--) order[n++] = f;
    }
    int w = 0;
    for (int r = 0; r < n; r++)
        if (w == 0 || order[w - 1] != order[r]) order[w++] = order[r];
    *n_out = w;
    return order;
}

static long peak_rss_mb(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
    return ru.ru_maxrss / 1024;  // Linux: kilobytes
}

// Model, session, prompts, propagation, and the summary.
static int run_tracking(track_run *R, const sam2_config *cfg, double t_start) {
    const track_args *a = R->a;
    const rt_backend *be = a->cuda ? rt_cuda_backend() : rt_cpu_backend();
    rt_ctx ctx;
    int have_ctx = 0, rc = 1;
    sam2_model *m = NULL;
    sam2_track *trk = NULL;
    install_signals();
    double t_load = rt_now_seconds();
    if (a->cuda && rt_cuda_select_device(a->cuda_device) != ROTO_OK) {
        fail("--device");
        goto out;
    }
    if (rt_ctx_create(&ctx, be, sam2_track_arena_bytes(cfg, 64, R->max_kf)) != ROTO_OK) {
        fail("context");
        goto out;
    }
    have_ctx = 1;
    ctx.num_threads = a->threads;
    if (a->threads > 0) omp_set_num_threads(a->threads);  // the matte clean-up follows it too
    if (a->cuda && rt_cuda_set_precision(&ctx, a->precision) != ROTO_OK) {
        fail("--precision");
        goto out;
    }
    if (sam2_load(&ctx, a->model, cfg, &m) != ROTO_OK) {
        fail(a->model);
        goto out;
    }
    if (!a->quiet)
        fprintf(stderr, "roto track: %s: SAM 2.1 %s on %s in %.2f s; %d object%s, frames %d-%d (%d), %dx%d\n",
                R->plan.model_name, cfg->name, be->name, rt_now_seconds() - t_load, R->objs.n,
                R->objs.n == 1 ? "" : "s", roto_seq_frame_number(&R->seq, R->lo), roto_seq_frame_number(&R->seq, R->hi),
                R->n_total, R->W, R->H);
    R->feed.seq = &R->seq, R->feed.src = R->src, R->feed.W = R->W, R->feed.H = R->H, R->feed.cs = a->colorspace;
    R->feed.cur_index = -1;
    sam2_track_opts o;
    sam2_track_opts_init(&o);
    o.n_frames = R->nf, o.width = R->W, o.height = R->H, o.read_frame = track_feeder_read, o.read_user = &R->feed;
    if (sam2_track_create(m, &o, &trk) != ROTO_OK) {
        fail("tracking session");
        goto out;
    }
    if (add_prompts(R, trk)) goto out;

    // Decode-ahead and write-behind. On the CPU the workers share the cores with the
    // tracker, so one of each; a GPU leaves the CPU to them.
    int n_order = 0, *order = read_order(R, &n_order), workers = a->cuda ? 3 : 1;
    R->emitted = calloc((size_t)R->nf, 1);
    if (!order || !R->emitted) {
        free(order);
        fail_msg("out of memory");
        goto out;
    }
    if (track_feeder_start(&R->feed, order, n_order, 2 * workers + 1, workers) != ROTO_OK ||
        roto_writer_start(&R->writer, 2 * workers + 2, workers, track_out_run, track_out_free, &R->plan) != ROTO_OK) {
        fail("worker threads");
        goto out;
    }
    R->tty = isatty(2);
    const char *delay = getenv("ROTO_TRACK_FRAME_DELAY_MS");
    R->delay_ms = delay ? atoi(delay) : 0;
    R->t0 = R->last_print = rt_now_seconds();
    int back = a->direction == DIR_BACKWARD;
    roto_status st = ROTO_OK;
    if (g_signal) R->interrupted = 1, st = roto_fail(ROTO_ERR_IO, "interrupted");
    if (st == ROTO_OK) st = sam2_track_propagate(trk, back ? R->last_kf : R->first_kf, -1, back, on_frame, R);
    R->pass = 1;
    if (st == ROTO_OK && a->direction == DIR_BOTH && R->first_kf > 0)
        st = sam2_track_propagate(trk, R->first_kf, -1, 1, on_frame, R);
    char track_err[1024];
    snprintf(track_err, sizeof track_err, "%s", roto_last_error());
    // Finish every queued frame: what is on disk is complete.
    roto_status wst = roto_writer_finish(R->writer);
    R->writer = NULL;
    if (!a->quiet && R->tty && R->n_done > 0) fprintf(stderr, "\n");
    if (R->interrupted) {
        const char *sig = g_signal == SIGINT ? "SIGINT" : "SIGTERM";
        if (R->n_done == 0) fail_msg("interrupted by %s before the first frame was written", sig);
        else
            fail_msg("interrupted by %s after frame %d: %d of %d frames written completely; run the same command "
                     "with --skip-existing to finish", sig, R->last_number, R->n_done, R->n_total);
        if (wst != ROTO_OK) fail("writing");
        goto out;
    }
    if (wst != ROTO_OK) {
        fail("writing");
        goto out;
    }
    if (st != ROTO_OK) {
        fail_msg("tracking: %s", track_err);
        goto out;
    }
    if (a->contact) {
        if (roto_contact_write(&R->plan.sheet, a->contact) != ROTO_OK) {
            fail("--contact-sheet");
            goto out;
        }
        R->n_files++;
    }
    double el = rt_now_seconds() - R->t0;
    if (!a->quiet) {
        fprintf(stderr, "roto track: done: %d frames (%d-%d), %d object%s, %ld files written", R->n_done,
                roto_seq_frame_number(&R->seq, R->lo), roto_seq_frame_number(&R->seq, R->hi), R->objs.n,
                R->objs.n == 1 ? "" : "s", R->n_files);
        if (a->skip_existing) fprintf(stderr, " (%ld existing kept)", R->n_kept);
        fprintf(stderr, ", tracking %.1f s (%.2f fps), total %.1f s, peak RSS %ld MB\n", el,
                R->n_done / (el > 1e-9 ? el : 1e-9), rt_now_seconds() - t_start, peak_rss_mb());
        if (R->feed.n_direct > 0)
            fprintf(stderr, "roto track: %d frame%s decoded outside the decode-ahead order\n", R->feed.n_direct,
                    R->feed.n_direct == 1 ? "" : "s");
    }
    rc = 0;
out:
    if (R->writer) roto_writer_finish(R->writer);
    R->writer = NULL;
    track_feeder_stop(&R->feed);
    sam2_track_free(trk);
    sam2_free(m);
    if (have_ctx) rt_ctx_destroy(&ctx);
    return rc;
}

// ---- main ------------------------------------------------------------------------------------------------

int cmd_track(int argc, char **argv) {
    track_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    double t_start = rt_now_seconds();

    // The device before anything slow: a missing GPU is a one-line answer.
    if (!a.cuda && a.precision != RT_PREC_FP32)
        return fail_msg("--precision other than fp32 needs --device cuda (the CPU backend computes in fp32 only)");
    if (a.cuda) {
        int n = 0;
        if (!rt_cuda_backend())
            return fail_msg("--device cuda: this roto was built without CUDA (rebuild with nvcc: make CUDA=1)");
        if (rt_cuda_device_count(&n) != ROTO_OK) return fail("--device cuda");
        if (a.cuda_device >= n)
            return fail_msg("--device cuda:%d: there %s %d CUDA device%s", a.cuda_device, n == 1 ? "is" : "are", n,
                            n == 1 ? "" : "s");
    }

    track_run R;
    memset(&R, 0, sizeof R);
    R.a = &a;
    R.feed.cur_index = -1;
    sam2_config cfg;
    if (track_objects_load(a.prompts, &R.objs) != ROTO_OK) return fail(NULL);
    if ((rc = choose_outputs(&R))) goto out;
    rc = 1;
    if (resolve_model(&a, &cfg) != ROTO_OK) {
        fail(NULL);
        goto out;
    }
    if (open_sequence(&R) || locate_keyframes(&R) || prepare_outputs(&R)) goto out;
    if (a.skip_existing && nothing_to_do(&R)) {
        if (!a.quiet)
            fprintf(stderr, "roto track: every output of frames %d-%d exists already; nothing to do\n",
                    roto_seq_frame_number(&R.seq, R.lo), roto_seq_frame_number(&R.seq, R.hi));
        rc = 0;
        goto out;
    }
    rc = run_tracking(&R, &cfg, t_start);
out:
    free(R.emitted);
    free(R.src);
    free(R.layer_names);
    free(R.layer_store);
    roto_contact_free(&R.plan.sheet);
    if (R.have_seq) roto_seq_close(&R.seq);
    track_objects_free(&R.objs);
    return rc;
}
