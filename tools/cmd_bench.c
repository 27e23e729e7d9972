// cmd_bench.c: `roto bench`: times a network the way a user runs it and writes one
// JSON record per run (the schema is in bench/README.md; the Python runners in
// bench/ref/ write the same one for the official PyTorch code).
//
// Measured: model load, the first frame (cold), steady-state per-frame latency
// (median / p90 over N frames after W warm-up frames), frames per second, peak
// host RSS, device memory (arena peak + persistent bytes; on CUDA also the drop of
// cudaMemGetInfo's free memory), per-stage times, FLOPs per frame from the
// architecture and the achieved TFLOP/s; each number is printed next to the
// client's target (bench/targets.json, stated for an RTX 4090).
//
// Stages are timed at the API boundary (segment: set_image = encoder, predict =
// decoder) and, inside the tracker, at the debug taps the network already emits
// ("input", "dense_pe", "memattn.out", "video.tokens", "memenc.features"): the
// time between two taps goes to the stage the later tap ends. On CUDA each of
// these taps synchronises the stream (--no-stages turns them off).
#include <jansson.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#ifdef ROTO_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

#include "engine/backend.h"
#include "engine/ctx.h"
#include "engine/model_detect.h"
#include "engine/namemap.h"
#include "engine/weights.h"
#include "io/colour.h"
#include "io/image.h"
#include "io/sequence.h"
#include "kernels/cuda/cuda_kernels.h"
#include "nets/sam2/sam2.h"
#include "nets/sam2/sam2_track.h"
#include "roto.h"
#include "tools/cli_common.h"
#include "tools/commands.h"

#define BENCH_SCHEMA "roto-bench/1"

static void bench_usage(FILE *f) {
    fprintf(f,
        "usage: roto bench -m CKPT [options]\n"
        "\n"
        "Time a network: load, first frame, steady-state frames (median / p90), fps, memory,\n"
        "per-stage times, FLOPs and TFLOP/s, printed next to the client's targets (which are\n"
        "stated for an RTX 4090 GPU).\n"
        "\n"
        "  -m, --model CKPT      checkpoint (.pt or .safetensors)\n"
        "  --config FILE.json    architecture of a checkpoint that is not a released size\n"
        "  --task T              segment (default): set_image + predict (one click) per frame;\n"
        "                        track: prompts on frame 0, then propagation; depth, matte:\n"
        "                        not implemented yet\n"
        "  -i, --input PATH      an image, or a sequence pattern (plate.%%04d.png, plate.####.exr);\n"
        "                        default: synthetic frames\n"
        "  --size WxH            synthetic frame size (default 1920x1080)\n"
        "  --frames N            timed frames (segment, default 10) / video length (track,\n"
        "                        default 24)\n"
        "  --warmup W            segment: untimed frames after the first (default 1); track:\n"
        "                        frames at the start of each pass left out of the statistics\n"
        "                        (default min(8, N/2): the memory bank fills over 7 frames)\n"
        "  --objects K           tracked objects, 1..8 (default 1); one click each on frame 0\n"
        "  --runs R              track: timed propagation passes (default 1)\n"
        "  --warmup-runs R       track: untimed passes before them (default 0)\n"
        "  --device D            cpu (default), cuda, cuda:N\n"
        "  --precision P         fp32 (default); tf32, bf16, fp16 on cuda only\n"
        "  --threads T           CPU threads (default: all cores)\n"
        "  --json OUT.json       write the record\n"
        "  --targets FILE        targets file (default bench/targets.json)\n"
        "  --no-stages           no per-stage times (no stream syncs at the taps on CUDA)\n"
        "  --profile             per-op profile of the timed frames (syncs after every op)\n"
        "  --flops-only          print the FLOPs per frame and exit (-m, or --variant NAME)\n"
        "  --variant NAME        tiny, small, base_plus, large (with --flops-only)\n"
        "  -q, --quiet           only the summary\n");
}

enum { TASK_SEGMENT, TASK_TRACK, TASK_DEPTH, TASK_MATTE };
static const char *task_names[] = {"segment", "track", "depth", "matte"};

typedef struct {
    const char *model, *config, *input, *json_out, *targets, *variant;
    int task, width, height, frames, warmup, objects, runs, warmup_runs, threads;
    int cuda, cuda_device, stages, profile, flops_only, quiet, size_given;
    rt_precision precision;
} bench_args;

#define usage_error(...) cli_usage_error("bench", __VA_ARGS__)

static int fail(const char *what) {
    fprintf(stderr, "roto bench: %s: %s\n", what, roto_last_error());
    return 1;
}

static int parse_int(const char *v, int lo, int hi, int *out) {
    if (!v || !*v) return 0;
    char *end;
    long n = strtol(v, &end, 10);
    if (*end || n < lo || n > hi) return 0;
    *out = (int)n;
    return 1;
}

static int parse_args(int argc, char **argv, bench_args *a) {
    memset(a, 0, sizeof *a);
    a->width = 1920, a->height = 1080;
    a->frames = -1, a->warmup = -1, a->objects = 1, a->runs = 1, a->stages = 1;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            bench_usage(stdout);
            return -1;
        } else if (cli_option(argc, argv, &i, "--model", "-m", &v)) {
            if (!(a->model = v)) return usage_error("--model needs a file");
        } else if (cli_option(argc, argv, &i, "--config", NULL, &v)) {
            if (!(a->config = v)) return usage_error("--config needs a file");
        } else if (cli_option(argc, argv, &i, "--input", "-i", &v)) {
            if (!(a->input = v)) return usage_error("--input needs a path");
        } else if (cli_option(argc, argv, &i, "--json", NULL, &v)) {
            if (!(a->json_out = v)) return usage_error("--json needs a file");
        } else if (cli_option(argc, argv, &i, "--targets", NULL, &v)) {
            if (!(a->targets = v)) return usage_error("--targets needs a file");
        } else if (cli_option(argc, argv, &i, "--variant", NULL, &v)) {
            if (!(a->variant = v)) return usage_error("--variant needs a name");
        } else if (cli_option(argc, argv, &i, "--task", NULL, &v)) {
            int k = 0;
            while (k < 4 && (!v || strcmp(v, task_names[k]))) k++;
            if (k == 4) return usage_error("--task %s: segment, track, depth or matte", v ? v : "");
            a->task = k;
        } else if (cli_option(argc, argv, &i, "--size", NULL, &v)) {
            int w = 0, h = 0, used = 0;
            if (!v || sscanf(v, "%dx%d%n", &w, &h, &used) != 2 || v[used] || w < 1 || h < 1 ||
                w > 32768 || h > 32768)
                return usage_error("--size %s: expected WxH, e.g. 1920x1080", v ? v : "");
            a->width = w, a->height = h, a->size_given = 1;
        } else if (cli_option(argc, argv, &i, "--frames", NULL, &v)) {
            if (!parse_int(v, 1, 1000000, &a->frames)) return usage_error("--frames: a count >= 1");
        } else if (cli_option(argc, argv, &i, "--warmup", NULL, &v)) {
            if (!parse_int(v, 0, 1000000, &a->warmup)) return usage_error("--warmup: a count >= 0");
        } else if (cli_option(argc, argv, &i, "--objects", NULL, &v)) {
            if (!parse_int(v, 1, 8, &a->objects)) return usage_error("--objects: 1 to 8");
        } else if (cli_option(argc, argv, &i, "--runs", NULL, &v)) {
            if (!parse_int(v, 1, 10000, &a->runs)) return usage_error("--runs: a count >= 1");
        } else if (cli_option(argc, argv, &i, "--warmup-runs", NULL, &v)) {
            if (!parse_int(v, 0, 10000, &a->warmup_runs))
                return usage_error("--warmup-runs: a count >= 0");
        } else if (cli_option(argc, argv, &i, "--threads", NULL, &v)) {
            if (!parse_int(v, 1, 4096, &a->threads)) return usage_error("--threads: a count >= 1");
        } else if (cli_option(argc, argv, &i, "--device", NULL, &v)) {
            if (v && !strcmp(v, "cpu")) {
                a->cuda = 0;
            } else if (v && !strncmp(v, "cuda", 4) && (!v[4] || v[4] == ':')) {
                a->cuda = 1;
                if (v[4] && !parse_int(v + 5, 0, 1024, &a->cuda_device))
                    return usage_error("--device %s: cpu, cuda or cuda:N", v);
            } else {
                return usage_error("--device %s: cpu, cuda or cuda:N", v ? v : "");
            }
        } else if (cli_option(argc, argv, &i, "--precision", NULL, &v)) {
            static const char *names[] = {"fp32", "tf32", "bf16", "fp16"};
            int k = 0;
            while (k < 4 && (!v || strcmp(v, names[k]))) k++;
            if (k == 4) return usage_error("--precision %s: fp32, tf32, bf16 or fp16", v ? v : "");
            a->precision = (rt_precision)k;
        } else if (!strcmp(argv[i], "--no-stages")) {
            a->stages = 0;
        } else if (!strcmp(argv[i], "--profile")) {
            a->profile = 1;
        } else if (!strcmp(argv[i], "--flops-only")) {
            a->flops_only = 1;
        } else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet")) {
            a->quiet = 1;
        } else {
            return usage_error("unknown option '%s'", argv[i]);
        }
    }
    if (!a->model && !(a->flops_only && a->variant)) return usage_error("--model is required");
    if (!a->cuda && a->precision != RT_PREC_FP32)
        return usage_error("--precision other than fp32 needs --device cuda");
    if (a->input && a->size_given) return usage_error("--size is for synthetic frames (no --input)");
    if (a->frames < 0) a->frames = a->task == TASK_TRACK ? 24 : 10;
    if (a->task == TASK_TRACK && a->frames < 2)
        return usage_error("--frames: tracking needs at least 2 frames");
    if (a->warmup < 0) {
        a->warmup = 1;
        if (a->task == TASK_TRACK) a->warmup = a->frames / 2 < 8 ? a->frames / 2 : 8;
    }
    if (a->task == TASK_TRACK && a->warmup >= a->frames)
        return usage_error("--warmup %d leaves no timed frame of %d", a->warmup, a->frames);
    return 0;
}

// ---- statistics ------------------------------------------------------------------------------

typedef struct {
    double median, p90, mean, min, max;
    int n;
} stats;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// Percentile by linear interpolation between order statistics (numpy's default,
// which bench/ref/common.py uses too).
static double percentile(const double *sorted, int n, double p) {
    if (n == 0) return NAN;
    double pos = p * (n - 1);
    int lo = (int)floor(pos), hi = lo + 1 < n ? lo + 1 : lo;
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

static stats stats_of(const double *x, int n) {
    stats s = {NAN, NAN, NAN, NAN, NAN, n};
    if (n <= 0) return s;
    double *v = malloc((size_t)n * sizeof *v);
    if (!v) return s;
    memcpy(v, x, (size_t)n * sizeof *v);
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double sum = 0;
    for (int i = 0; i < n; i++) sum += v[i];
    s.median = percentile(v, n, 0.5), s.p90 = percentile(v, n, 0.9);
    s.mean = sum / n, s.min = v[0], s.max = v[n - 1];
    free(v);
    return s;
}

// A growable list of doubles.
typedef struct {
    double *v;
    int n, cap;
} dlist;

static int dl_push(dlist *l, double x) {
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        double *v = realloc(l->v, (size_t)cap * sizeof *v);
        if (!v) return 0;
        l->v = v, l->cap = cap;
    }
    l->v[l->n++] = x;
    return 1;
}

// ---- host facts ------------------------------------------------------------------------------

// A "Key:   123 kB" line of /proc/self/status in MiB, or -1.
static double proc_status_mb(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    double mb = -1;
    size_t n = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, n) && line[n] == ':') {
            mb = strtod(line + n + 1, NULL) / 1024.0;
            break;
        }
    fclose(f);
    return mb;
}

static double peak_rss_mb(void) {
    double mb = proc_status_mb("VmHWM");
    if (mb >= 0) return mb;
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss / 1024.0 : -1;  // kB on Linux
}

static void cpu_model(char *out, size_t cap) {
    snprintf(out, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10)) continue;
        char *p = strchr(line, ':');
        if (!p) break;
        p++;
        while (*p == ' ' || *p == '\t') p++;
        p[strcspn(p, "\n")] = '\0';
        snprintf(out, cap, "%s", p);
        break;
    }
    fclose(f);
}

// The 1-minute load average (how busy the machine was), or -1.
static double loadavg(void) {
    double l[1];
    return getloadavg(l, 1) == 1 ? l[0] : -1;
}

// The first line a shell command prints, or "" (git facts for the record).
static void first_line_of(const char *cmd, char *out, size_t cap) {
    out[0] = '\0';
    FILE *p = popen(cmd, "r");
    if (!p) return;
    if (fgets(out, (int)cap, p)) out[strcspn(out, "\n")] = '\0';
    pclose(p);
}

// ---- FLOPs from the architecture ---------------------------------------------------------------
//
// Multiply-accumulates of the matrix products and convolutions, counted the way
// /work/shared/research/sam2_spec.md section 3 does (its table is reproduced:
// tiny encoder 143.5 GMAC = 287 GFLOP at 1024, large 911.4 = 1823; memory
// attention 303 GMAC per object in the steady state). Norms, activations and
// softmax are left out (a few percent). Linear layers count the tokens of the
// feature map; attention counts whole (zero-padded) windows, as the table does
// (the qkv/proj of padding tokens, also executed, add 2 % for T/S/B+).
// FLOPs = 2 x MACs.

typedef struct {
    sam2_config cfg;
    int mem_dim;       // memory channels (64)
    int num_maskmem;   // 7
    int ma_layers;     // memory attention layers (4)
    int ma_ffn;        // memory attention FFN width (2048)
    int dec_layers;    // two-way transformer layers (2)
    int dec_mlp;       // two-way MLP width (2048)
    int exact;         // 0 when some of the above are guesses
} flop_model;

typedef struct {
    double patch, trunk_linear, trunk_attn, neck;  // MACs of the image encoder parts
} enc_macs;

static enc_macs encoder_macs(const sam2_config *c) {
    enc_macs r = {0};
    int64_t G = c->image_size / 4, E = c->embed_dim;
    r.patch = (double)(G * G) * E * 3 * 49;
    int ends[4], total = 0;
    for (int s = 0; s < 4; s++) total += c->stages[s], ends[s] = total - 1;
    int64_t dim = E, H = G;
    int stage = 0;
    for (int i = 0; i < total; i++) {
        // The first block of stages 2-4 doubles the width, pools q (2x2) and still
        // uses the previous stage's window (the window "lags" by one block).
        int64_t dim_out = dim;
        int window = c->window_spec[stage];
        int qpool = stage < 3 && i == ends[stage] + 1;
        if (qpool) dim_out = 2 * dim, stage++;
        for (int g = 0; g < c->n_global; g++)
            if (c->global_blocks[g] == i) window = 0;
        int64_t Ho = qpool ? H / 2 : H, N = H * H, No = Ho * Ho;
        int64_t nw, nk;
        if (window > 0) {
            int64_t Hp = (H + window - 1) / window * window;
            nw = (Hp / window) * (Hp / window), nk = (int64_t)window * window;
        } else {
            nw = 1, nk = N;
        }
        int64_t nq = qpool ? nk / 4 : nk;
        r.trunk_linear += (double)N * dim * 3 * dim_out + (double)No * dim_out * dim_out;
        if (dim != dim_out) r.trunk_linear += (double)N * dim * dim_out;  // shortcut proj
        r.trunk_linear += 2.0 * No * dim_out * 4 * dim_out;                 // MLP
        r.trunk_attn += 2.0 * nw * nq * nk * dim_out;                       // QK^T and AV
        dim = dim_out, H = Ho;
    }
    int64_t d = c->d_model;
    for (int l = 0; l < 4; l++) r.neck += (double)((G >> l) * (G >> l)) * (E << l) * d;
    r.neck += (double)(G * G) * d * (d / 8) + (double)((G / 2) * (G / 2)) * d * (d / 4);  // conv_s0/s1
    return r;
}

// Prompt encoder + mask decoder for one object: n_sparse prompt tokens (a click and
// the pad point: 2; a tracking frame: 2 "not a point" tokens).
static double decoder_macs(const flop_model *fm, int n_sparse) {
    double d = fm->cfg.d_model, N = pow(fm->cfg.image_size / 16.0, 2), T = 6 + n_sparse;
    double di = d / 2;  // the cross attentions run at half width (downsample rate 2)
    double t2i = T * d * di + 2 * N * d * di + T * di * d + 2 * T * N * di;
    double layer = 4 * T * d * d + 2 * T * T * d + t2i + 2 * T * d * fm->dec_mlp +
                   (N * d * di + 2 * T * d * di + N * di * d + 2 * N * T * di);
    double up = N * d * (d / 4) * 4 + 4 * N * (d / 4) * (d / 8) * 4;  // two 2x2 transposed convs
    double heads = 4 * (2 * d * d + d * d / 8) + 3 * (2 * d * 256.0) + 4 * (d / 8) * 16 * N;
    return fm->dec_layers * layer + t2i + up + heads;
}

// Memory attention over n_mem spatial memories and n_ptr object pointers.
static double memattn_macs(const flop_model *fm, int n_mem, int n_ptr) {
    double d = fm->cfg.d_model, HW = pow(fm->cfg.image_size / 16.0, 2), m = fm->mem_dim;
    double Nk = n_mem * HW + n_ptr * (d / m);
    double self = 4 * HW * d * d + 2 * HW * HW * d;
    double cross = 2 * HW * d * d + 2 * Nk * m * d + 2 * HW * Nk * d;
    double ffn = 2 * HW * d * fm->ma_ffn;
    return fm->ma_layers * (self + cross + ffn);
}

static double memenc_macs(const flop_model *fm) {
    double S = fm->cfg.image_size, d = fm->cfg.d_model, HW = pow(S / 16.0, 2);
    double macs = 0, c_in = 1, side = S;
    for (int l = 0; l < 4; l++) {  // MaskDownSampler: 3x3 s2 convs, channels x4 each
        side /= 2;
        macs += side * side * (c_in * 4) * c_in * 9;
        c_in *= 4;
    }
    macs += HW * c_in * d + HW * d * d;                  // final 1x1, pix_feat_proj
    macs += 2 * (HW * d * 49 + 2 * HW * d * 4 * d);      // 2 CXBlocks (dw 7x7, MLP 4x)
    return macs + HW * d * fm->mem_dim;                  // out_proj
}

// Memories and pointers in the bank of frame f when one conditioning frame (0) was
// prompted and propagation runs forward over a video of nf frames.
static void bank_at(const flop_model *fm, int f, int nf, int *n_mem, int *n_ptr) {
    int max_ptrs = nf < 16 ? nf : 16, prev = f - 1;
    *n_mem = 1 + (prev < fm->num_maskmem - 1 ? prev : fm->num_maskmem - 1);
    *n_ptr = 1 + (prev < max_ptrs - 1 ? prev : max_ptrs - 1);
}

static double enc_total(const enc_macs *e) {
    return e->patch + e->trunk_linear + e->trunk_attn + e->neck;
}

// MACs of propagation frame f (>= 1) with k objects.
static double track_frame_macs(const flop_model *fm, int f, int nf, int k) {
    enc_macs e = encoder_macs(&fm->cfg);
    int nm, np;
    bank_at(fm, f, nf, &nm, &np);
    return enc_total(&e) + k * (memattn_macs(fm, nm, np) + decoder_macs(fm, 2) + memenc_macs(fm));
}

static void flop_model_released(flop_model *fm, const sam2_config *c) {
    fm->cfg = *c;
    fm->mem_dim = 64, fm->num_maskmem = 7, fm->ma_layers = 4, fm->ma_ffn = 2048;
    fm->dec_layers = 2, fm->dec_mlp = 2048, fm->exact = 1;
}

// Count the layers named prefix.N.suffix in the file.
static int count_layers(const rt_weights *w, const char *prefix, const char *suffix) {
    char name[256];
    int n = 0;
    for (;;) {
        snprintf(name, sizeof name, "%s.%d.%s", prefix, n, suffix);
        if (!rt_weights_find(w, name)) return n;
        n++;
    }
}

// The sizes the config does not give, read from the weights' shapes.
static void flop_model_from_weights(flop_model *fm, const rt_weights *w) {
    const rt_wtensor *t;
    fm->exact = 1;
    if ((t = rt_weights_find(w, "memory_encoder.out_proj.weight"))) fm->mem_dim = (int)t->shape[0];
    else fm->exact = 0;
    if ((t = rt_weights_find(w, "maskmem_tpos_enc"))) fm->num_maskmem = (int)t->shape[0];
    if ((t = rt_weights_find(w, "memory_attention.layers.0.linear1.weight"))) fm->ma_ffn = (int)t->shape[0];
    else fm->exact = 0;
    int n = count_layers(w, "memory_attention.layers", "linear1.weight");
    if (n > 0) fm->ma_layers = n;
    if ((t = rt_weights_find(w, "sam_mask_decoder.transformer.layers.0.mlp.layers.0.weight")))
        fm->dec_mlp = (int)t->shape[0];
    else fm->exact = 0;
    n = count_layers(w, "sam_mask_decoder.transformer.layers", "norm1.weight");
    if (n > 0) fm->dec_layers = n;
}

static json_t *flops_json(const flop_model *fm, int nf, int k) {
    enc_macs e = encoder_macs(&fm->cfg);
    int nm, np;
    bank_at(fm, 1 << 20, 1 << 20, &nm, &np);
    double steady = memattn_macs(fm, nm, np);
    bank_at(fm, 1, nf, &nm, &np);
    double second = memattn_macs(fm, nm, np);
    json_t *o = json_object();
    json_object_set_new(o, "unit", json_string("GFLOP (2 x multiply-accumulates)"));
    json_object_set_new(o, "exact_architecture", json_boolean(fm->exact));
    json_object_set_new(o, "image_encoder", json_real(2e-9 * enc_total(&e)));
    json_object_set_new(o, "patch_embed", json_real(2e-9 * e.patch));
    json_object_set_new(o, "trunk_linear", json_real(2e-9 * e.trunk_linear));
    json_object_set_new(o, "trunk_attention", json_real(2e-9 * e.trunk_attn));
    json_object_set_new(o, "neck", json_real(2e-9 * e.neck));
    json_object_set_new(o, "decoder_per_object", json_real(2e-9 * decoder_macs(fm, 2)));
    json_object_set_new(o, "memory_attention_steady_per_object", json_real(2e-9 * steady));
    json_object_set_new(o, "memory_attention_second_frame_per_object", json_real(2e-9 * second));
    json_object_set_new(o, "memory_encoder_per_object", json_real(2e-9 * memenc_macs(fm)));
    json_object_set_new(o, "track_frame_steady",
                        json_real(2e-9 * (enc_total(&e) + k * (steady + decoder_macs(fm, 2) +
                                                               memenc_macs(fm)))));
    return o;
}

static void print_flops(const flop_model *fm, int k) {
    enc_macs e = encoder_macs(&fm->cfg);
    int nm, np;
    bank_at(fm, 1 << 20, 1 << 20, &nm, &np);
    double steady = memattn_macs(fm, nm, np);
    printf("FLOPs per frame, %s at %d (GFLOP = 2 x GMAC%s):\n", fm->cfg.name, fm->cfg.image_size,
           fm->exact ? "" : "; some sizes guessed");
    printf("  image encoder      %8.1f  (patch %.1f, trunk linear %.1f, trunk attention %.1f, "
           "neck %.1f)\n", 2e-9 * enc_total(&e), 2e-9 * e.patch, 2e-9 * e.trunk_linear,
           2e-9 * e.trunk_attn, 2e-9 * e.neck);
    printf("  decoder            %8.1f  per object\n", 2e-9 * decoder_macs(fm, 2));
    printf("  memory attention   %8.1f  per object, steady state (%d memories, %d pointers)\n",
           2e-9 * steady, nm, np);
    printf("  memory encoder     %8.1f  per object\n", 2e-9 * memenc_macs(fm));
    printf("  tracking frame     %8.1f  with %d object%s, steady state\n",
           2e-9 * (enc_total(&e) + k * (steady + decoder_macs(fm, 2) + memenc_macs(fm))), k,
           k == 1 ? "" : "s");
}

// ---- architecture ------------------------------------------------------------------------------

static int ints(json_t *a, int *dst, int max, int *n) {
    if (!json_is_array(a) || (int)json_array_size(a) > max) return 0;
    for (size_t i = 0; i < json_array_size(a); i++) {
        if (!json_is_integer(json_array_get(a, i))) return 0;
        dst[i] = (int)json_integer_value(json_array_get(a, i));
    }
    if (n) *n = (int)json_array_size(a);
    return 1;
}

// The architecture keys of docs/cli.md's --config, at top level or under "config"
// (a fixture's index.json works as it is).
static int config_from_json(json_t *root, const char *what, sam2_config *c) {
    json_t *o = json_object_get(root, "config");
    if (!json_is_object(o)) o = root;
    memset(c, 0, sizeof *c);
    const char *name = json_string_value(json_object_get(o, "name"));
    snprintf(c->name, sizeof c->name, "%s", name ? name : "custom");
    int n4 = 0, n4b = 0, n2 = 0;
    json_t *is = json_object_get(o, "image_size"), *dm = json_object_get(o, "d_model");
    int ok = json_is_integer(json_object_get(o, "embed_dim")) &&
             json_is_integer(json_object_get(o, "num_heads")) &&
             ints(json_object_get(o, "stages"), c->stages, 4, &n4) && n4 == 4 &&
             ints(json_object_get(o, "window_spec"), c->window_spec, 4, &n4b) && n4b == 4 &&
             ints(json_object_get(o, "global_att_blocks"), c->global_blocks, SAM2_MAX_GLOBAL,
                  &c->n_global) &&
             ints(json_object_get(o, "window_pos_embed_bkg_spatial_size"), c->pos_bkg, 2, &n2) &&
             n2 == 2;
    c->image_size = json_is_integer(is) ? (int)json_integer_value(is) : 1024;
    c->d_model = json_is_integer(dm) ? (int)json_integer_value(dm) : 256;
    c->embed_dim = (int)json_integer_value(json_object_get(o, "embed_dim"));
    c->num_heads = (int)json_integer_value(json_object_get(o, "num_heads"));
    if (!ok || c->image_size < 32 || c->d_model < 16) {
        fprintf(stderr, "roto bench: %s: needs embed_dim, num_heads, stages[4], window_spec[4], "
                "global_att_blocks, window_pos_embed_bkg_spatial_size[2] (image_size, d_model "
                "optional)\n", what);
        return 0;
    }
    return 1;
}

static int config_from_file(const char *path, sam2_config *c) {
    json_error_t err;
    json_t *o = json_load_file(path, 0, &err);
    if (!o) {
        fprintf(stderr, "roto bench: %s:%d: %s\n", path, err.line, err.text);
        return 0;
    }
    int ok = config_from_json(o, path, c);
    json_decref(o);
    return ok;
}

// Architecture and FLOP model of a checkpoint: --config, else the "sam2_config" a
// converted file carries, else the released variant detected from its tensors.
// *custom: the config must be handed to sam2_load. Returns 0 (message printed) on
// failure, 2 for a network roto cannot run yet.
static int describe_model(const bench_args *a, flop_model *fm, int *custom) {
    rt_weights w;
    if (rt_weights_open(&w, a->model) != ROTO_OK) return fail(a->model), 0;
    rt_model_info info;
    int ok = 1;
    *custom = 0;
    if (rt_model_detect(&w, &info) != ROTO_OK) {
        ok = !fail(a->model);
    } else if (info.family == RT_FAMILY_DEPTH_ANYTHING_V2 || info.family == RT_FAMILY_MATANYONE) {
        fprintf(stderr, "roto bench: %s holds %s: benchmarking it is not implemented yet (roto "
                "does not run this network yet)\n", a->model, info.description);
        ok = 2;
    } else if (info.family != RT_FAMILY_SAM2) {
        fprintf(stderr, "roto bench: %s: not a SAM 2 checkpoint (%s)\n", a->model, info.description);
        ok = 0;
    }
    if (ok == 1 && info.naming == RT_NAMING_HF && rt_namemap_attach(&w, RT_NAMES_SAM2, NULL) != ROTO_OK)
        ok = !fail(a->model);
    if (ok == 1) {
        sam2_config c;
        const char *meta = rt_weights_meta(&w, "sam2_config");
        if (a->config) {
            ok = config_from_file(a->config, &c);
            *custom = 1;
        } else if (meta) {
            json_t *o = json_loads(meta, 0, NULL);
            ok = o && config_from_json(o, "metadata sam2_config", &c);
            json_decref(o);
            *custom = 1;
        } else if (info.variant[0]) {
            ok = sam2_config_variant(&c, info.variant) == ROTO_OK;
        } else {
            fprintf(stderr, "roto bench: %s: a SAM 2 checkpoint of a size roto does not know: "
                    "give its architecture (--config FILE.json)\n", a->model);
            ok = 0;
        }
        if (ok) {
            flop_model_released(fm, &c);
            flop_model_from_weights(fm, &w);
        }
    }
    rt_weights_close(&w);
    return ok;
}

// ---- input frames ------------------------------------------------------------------------------

// Default clicks, one per object, in the coordinates of a 960x540 frame (the first is
// the official benchmark's click on the bedroom clip; bench/ref uses the same list).
static const float click_960[8][2] = {{210, 350}, {400, 150}, {750, 300}, {100, 100},
                                      {850, 100}, {480, 450}, {300, 250}, {650, 480}};

static void click_for(int obj, int W, int H, float *xy) {
    xy[0] = click_960[obj][0] / 960.0f * (float)W;
    xy[1] = click_960[obj][1] / 540.0f * (float)H;
}

typedef struct {
    int synthetic;
    roto_seq_reader seq;  // -i: a sequence, or one image (read once)
    int have_seq, n_files;
    uint8_t *still;       // the decoded image when the input is a single file
    double still_io_s;    // the time decoding it took
    float *rgbf;
    int W, H;
} frame_source;

// A plate-like synthetic frame: smooth gradients with a fine texture and a disc under
// each default click that drifts a little per frame, so tracking has something to
// follow. Deterministic in the index.
static void synth_frame(uint8_t *rgb, int W, int H, int index) {
    float r = 0.08f * (float)(W < H ? W : H);
    float cx[8], cy[8];
    for (int k = 0; k < 8; k++) {
        float xy[2];
        click_for(k, W, H, xy);
        cx[k] = xy[0] + 0.002f * W * index, cy[k] = xy[1] + 0.001f * H * index;
    }
    for (int y = 0; y < H; y++) {
        uint8_t *p = rgb + (size_t)y * W * 3;
        for (int x = 0; x < W; x++, p += 3) {
            int tex = ((x * 7 + y * 13 + index * 5) & 31) - 16;
            int R = 40 + 120 * x / W + tex, G = 60 + 100 * y / H + tex / 2, B = 110 - tex;
            for (int k = 0; k < 3; k++) {
                float dx = x - cx[k], dy = y - cy[k];
                if (dx * dx + dy * dy < r * r) R = 230 - 60 * k, G = 80 + 70 * k, B = 40 + 90 * k;
            }
            p[0] = (uint8_t)(R < 0 ? 0 : R > 255 ? 255 : R);
            p[1] = (uint8_t)(G < 0 ? 0 : G > 255 ? 255 : G);
            p[2] = (uint8_t)(B < 0 ? 0 : B > 255 ? 255 : B);
        }
    }
}

// A decoded frame as 8-bit sRGB (what the network takes; as roto track does).
static roto_status frame_to_u8(const roto_frame *fr, float *rgbf, uint8_t *rgb) {
    roto_colorspace cs;
    ROTO_TRY(roto_colorspace_resolve(fr, ROTO_CS_AUTO, &cs));
    ROTO_TRY(roto_frame_to_srgb(fr, cs, 0, rgbf));
    size_t n = roto_frame_pixels(fr) * 3;
    for (size_t i = 0; i < n; i++) {
        float v = rgbf[i] * 255.0f;
        rgb[i] = (uint8_t)(v <= 0.0f ? 0 : v >= 255.0f ? 255 : (int)(v + 0.5f));
    }
    return ROTO_OK;
}

static roto_status source_open(frame_source *s, const bench_args *a) {
    memset(s, 0, sizeof *s);
    if (!a->input) {
        s->synthetic = 1, s->W = a->width, s->H = a->height;
        return ROTO_OK;
    }
    ROTO_TRY(roto_seq_open(&s->seq, a->input, NULL, NULL, 0));
    s->have_seq = 1;
    s->n_files = roto_seq_count(&s->seq);
    roto_frame fr = {0};
    int missing = 0;
    double t0 = rt_now_seconds();
    ROTO_TRY(roto_seq_load(&s->seq, 0, &fr, &missing));
    s->W = fr.width, s->H = fr.height;
    s->rgbf = malloc((size_t)s->W * s->H * 3 * sizeof(float));
    roto_status st = s->rgbf ? ROTO_OK : roto_fail(ROTO_ERR_OOM, "out of host memory");
    if (st == ROTO_OK && s->n_files == 1) {  // one image: decoded once, reused
        s->still = malloc((size_t)s->W * s->H * 3);
        st = s->still ? frame_to_u8(&fr, s->rgbf, s->still) : roto_fail(ROTO_ERR_OOM, "out of host memory");
        s->still_io_s = rt_now_seconds() - t0;
    }
    roto_frame_free(&fr);
    return st;
}

static void source_close(frame_source *s) {
    if (s->have_seq) roto_seq_close(&s->seq);
    free(s->still);
    free(s->rgbf);
}

// Frame `index` into rgb (W x H x 3). A sequence shorter than the run wraps around.
static roto_status source_read(frame_source *s, int index, uint8_t *rgb) {
    if (s->synthetic) {
        synth_frame(rgb, s->W, s->H, index);
        return ROTO_OK;
    }
    if (s->still) {
        memcpy(rgb, s->still, (size_t)s->W * s->H * 3);
        return ROTO_OK;
    }
    roto_frame fr = {0};
    int missing = 0;
    ROTO_TRY(roto_seq_load(&s->seq, index % s->n_files, &fr, &missing));
    roto_status st = ROTO_OK;
    if (fr.width != s->W || fr.height != s->H)
        st = roto_fail(ROTO_ERR_FORMAT, "frame %d is %dx%d, the first one %dx%d", index, fr.width,
                       fr.height, s->W, s->H);
    if (st == ROTO_OK) st = frame_to_u8(&fr, s->rgbf, rgb);
    roto_frame_free(&fr);
    return st;
}

// ---- stage clock ------------------------------------------------------------------------------

enum { ST_IO, ST_PRE, ST_ENC, ST_MEMATTN, ST_DEC, ST_MEMENC, ST_POST, N_ST };
static const char *stage_names[N_ST] = {"io", "preprocess", "image_encoder", "memory_attention",
                                        "decoder", "memory_encoder", "postprocess"};

typedef struct stage_clock {
    rt_ctx *ctx;
    int sync;             // synchronise the device at each boundary (stage timing on)
    double mark;          // time of the last boundary
    double acc[N_ST];     // seconds per stage in the current frame
} stage_clock;

static void clock_start(stage_clock *c) {
    memset(c->acc, 0, sizeof c->acc);
    if (c->sync) rt_ctx_synchronize(c->ctx);
    c->mark = rt_now_seconds();
}

// The time since the last boundary goes to `stage`.
static void clock_mark(stage_clock *c, int stage) {
    if (c->sync) rt_ctx_synchronize(c->ctx);
    double now = rt_now_seconds();
    c->acc[stage] += now - c->mark;
    c->mark = now;
}

// Tap names that end a stage. The decoder's are all marked (the interval between
// two of them goes to the decoder too), so the last one the heads emit ends it,
// whichever of the image or video names the network uses. ROTO_BENCH_TAPS=1 lists
// the taps as they fire (to re-check these names when the network changes).
static void bench_tap(void *user, const char *name, const rt_tensor *t) {
    (void)t;
    stage_clock *c = user;
    static int list = -1;
    if (list < 0) list = getenv("ROTO_BENCH_TAPS") && strcmp(getenv("ROTO_BENCH_TAPS"), "0");
    if (list) fprintf(stderr, "tap %.6f %s\n", rt_now_seconds(), name);
    if (!strcmp(name, "input")) clock_mark(c, ST_PRE);
    else if (!strcmp(name, "dense_pe")) clock_mark(c, ST_ENC);
    else if (!strcmp(name, "memattn.out")) clock_mark(c, ST_MEMATTN);
    else if (!strcmp(name, "memenc.features")) clock_mark(c, ST_MEMENC);
    else if (!strcmp(name, "tokens") || !strcmp(name, "low_res_all") || !strcmp(name, "iou_all") ||
             !strcmp(name, "obj_score") || !strcmp(name, "video.tokens") ||
             !strcmp(name, "video.low_res_all"))
        clock_mark(c, ST_DEC);
}

// ---- memory ------------------------------------------------------------------------------------

typedef struct {
    double rss_after_load_mb;
    size_t persistent_peak;
    int cuda;
    size_t cuda_free0, cuda_used_peak;  // cudaMemGetInfo: free before the context, drop since
} mem_watch;

static void mem_sample(mem_watch *m, const rt_ctx *ctx) {
    if (ctx->persistent_bytes > m->persistent_peak) m->persistent_peak = ctx->persistent_bytes;
#ifdef ROTO_HAVE_CUDA
    size_t fr = 0, total = 0;
    if (m->cuda && cudaMemGetInfo(&fr, &total) == cudaSuccess && m->cuda_free0 > fr &&
        m->cuda_free0 - fr > m->cuda_used_peak)
        m->cuda_used_peak = m->cuda_free0 - fr;
#endif
}

// ---- targets -----------------------------------------------------------------------------------

// What a run measured, under the metric names bench/targets.json uses.
typedef struct {
    int task, W, H;
    double load_s, first_frame_s, next_frame_s, frame_s, fps;
    double sequence_100_s, sequence_1000_s, device_memory_gb;
    int seq100_extrapolated, seq1000_extrapolated;
} measured;

static int metric_value(const measured *m, const char *name, double *v, const char **note) {
    *note = NULL;
    if (!strcmp(name, "load_s")) *v = m->load_s;
    else if (!strcmp(name, "first_frame_s")) *v = m->first_frame_s;
    else if (!strcmp(name, "next_frame_s")) {
        *v = m->next_frame_s;
        *note = m->task == TASK_SEGMENT ? "predict on the cached encoding"
                                        : "steady-state propagation frame";
    } else if (!strcmp(name, "frame_s")) *v = m->frame_s;
    else if (!strcmp(name, "fps")) *v = m->fps;
    else if (!strcmp(name, "sequence_100_s")) {
        *v = m->sequence_100_s;
        if (m->seq100_extrapolated) *note = "extrapolated from the steady-state frame time";
    } else if (!strcmp(name, "sequence_1000_s")) {
        *v = m->sequence_1000_s;
        if (m->seq1000_extrapolated) *note = "extrapolated from the steady-state frame time";
    } else if (!strcmp(name, "device_memory_gb")) *v = m->device_memory_gb;
    else if (!strcmp(name, "frame_cache_gb")) {
        *v = 0;  // frames are read one at a time; only the last frame's features are kept
        *note = "roto keeps no frame cache: frames are streamed";
    } else return 0;
    return !isnan(*v);
}

static const char *default_targets_path(char *buf, size_t cap) {
    if (access("bench/targets.json", R_OK) == 0) return "bench/targets.json";
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash) return NULL;
    *slash = '\0';
    snprintf(buf, cap, "%s/../bench/targets.json", exe);  // <repo>/<build>/roto
    return access(buf, R_OK) == 0 ? buf : NULL;
}

static int task_listed(json_t *tasks, int task) {
    if (!json_is_array(tasks)) return 1;  // no list: every task
    size_t k;
    json_t *x;
    json_array_foreach(tasks, k, x) {
        const char *s = json_string_value(x);
        if (s && !strcmp(s, task_names[task])) return 1;
    }
    return 0;
}

// Print every target next to the measurement and return them as JSON rows:
// {id, what, op, limit, unit, measured?, applies, pass (null unless it applies),
// note?, status?}.
static json_t *check_targets(const bench_args *a, const measured *m, const char *device, int quiet) {
    char buf[4200];
    const char *path = a->targets ? a->targets : default_targets_path(buf, sizeof buf);
    json_t *root = path ? json_load_file(path, 0, NULL) : NULL;
    json_t *out = json_array();
    if (!root) {
        if (!quiet)
            printf("\ntargets: %s not found or not valid JSON (--targets FILE)\n",
                   path ? path : "bench/targets.json");
        return out;
    }
    const char *gpu = json_string_value(json_object_get(root, "gpu"));
    if (!quiet)
        printf("\nClient targets (stated for %s; this run: %s%s):\n", gpu ? gpu : "an RTX 4090",
               device, strcmp(device, "cpu") ? "" : ", so not comparable");
    json_t *t;
    size_t i;
    json_array_foreach(json_object_get(root, "targets"), i, t) {
        const char *id = json_string_value(json_object_get(t, "id"));
        const char *what = json_string_value(json_object_get(t, "what"));
        const char *net = json_string_value(json_object_get(t, "network"));
        const char *metric = json_string_value(json_object_get(t, "metric"));
        const char *unit = json_string_value(json_object_get(t, "unit"));
        const char *op = json_string_value(json_object_get(t, "op"));
        double limit = json_number_value(json_object_get(t, "limit"));
        if (!id || !what) continue;
        if (!unit) unit = "";
        if (!op) op = "<";
        const char *status = NULL, *note = NULL;
        double v = NAN;
        int applies = 0, size[2], n2 = 0;
        if (net && strcmp(net, "segmentation"))
            status = "not implemented yet";
        else if (!task_listed(json_object_get(t, "tasks"), m->task))
            status = "other task";
        else if (!metric || !metric_value(m, metric, &v, &note))
            status = "not measured by this run";
        else {
            applies = 1;
            if (ints(json_object_get(t, "size"), size, 2, &n2) && n2 == 2 &&
                (m->W != size[0] || m->H != size[1]))
                applies = 0, note = "measured at another frame size than the target's";
            if (ints(json_object_get(t, "min_size"), size, 2, &n2) && n2 == 2 &&
                (m->W < size[0] || m->H < size[1]))
                applies = 0, note = "measured at a smaller frame size than the target's";
        }
        int pass = 0;
        if (!isnan(v))
            pass = !strcmp(op, "<") ? v < limit : !strcmp(op, "<=") ? v <= limit
                 : !strcmp(op, ">") ? v > limit : v >= limit;
        json_t *row = json_pack("{s:s, s:s, s:s, s:f, s:s, s:b}", "id", id, "what", what, "op", op,
                                "limit", limit, "unit", unit, "applies", applies);
        if (!isnan(v)) json_object_set_new(row, "measured", json_real(v));
        json_object_set_new(row, "pass", applies ? json_boolean(pass) : json_null());
        if (note) json_object_set_new(row, "note", json_string(note));
        if (status) json_object_set_new(row, "status", json_string(status));
        json_array_append_new(out, row);
        if (quiet) continue;
        char target[64], meas[64] = "";
        snprintf(target, sizeof target, "%s %g %s", op, limit, unit);
        if (!isnan(v)) snprintf(meas, sizeof meas, "%.3g %s", v, unit);
        printf("  %-46s %-11s %-11s %s%s%s%s\n", what, target, meas,
               status ? status : applies ? (pass ? "meets" : "MISSES") : "n/a",
               note ? " (" : "", note ? note : "", note ? ")" : "");
    }
    json_decref(root);
    return out;
}

// ---- the record --------------------------------------------------------------------------------

static stats stats_ms(stats s) {
    s.median *= 1e3, s.p90 *= 1e3, s.mean *= 1e3, s.min *= 1e3, s.max *= 1e3;
    return s;
}

static json_t *stats_json(const stats *s) {
    if (s->n == 0) return json_null();
    return json_pack("{s:f, s:f, s:f, s:f, s:f, s:i}", "median", s->median, "p90", s->p90, "mean",
                     s->mean, "min", s->min, "max", s->max, "n", s->n);
}

static json_t *ms_list(const dlist *l) {
    json_t *a = json_array();
    for (int i = 0; i < l->n; i++) json_array_append_new(a, json_real(l->v[i] * 1e3));
    return a;
}

// Everything both tasks share; the task adds its own keys.
typedef struct {
    const bench_args *a;
    const flop_model *fm;
    rt_ctx *ctx;
    char device[160], gpu[128];
    double ctx_s, load_s, first_frame_s;
    dlist frame, frame_io, stage[N_ST];  // timed frames, seconds
    double flops_timed;                  // FLOPs of the timed frames
    mem_watch mem;
    int W, H;
    double load_start;  // 1-minute load average when the run began
} bench_run;

static void run_free(bench_run *r) {
    free(r->frame.v), free(r->frame_io.v);
    for (int s = 0; s < N_ST; s++) free(r->stage[s].v);
}

static json_t *record_base(const bench_run *r) {
    const bench_args *a = r->a;
    char cpu[256], commit[64], dirty[8], date[32];
    cpu_model(cpu, sizeof cpu);
    const char *env = getenv("ROTO_BENCH_COMMIT");
    if (env && *env) snprintf(commit, sizeof commit, "%s", env);
    else first_line_of("git rev-parse --short=12 HEAD 2>/dev/null", commit, sizeof commit);
    first_line_of("git status --porcelain --untracked-files=no 2>/dev/null | head -n 1", dirty,
                  sizeof dirty);
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    int threads = a->threads ? a->threads : omp_get_max_threads();
    json_t *o = json_object();
    json_object_set_new(o, "schema", json_string(BENCH_SCHEMA));
    json_object_set_new(o, "impl", json_string("roto"));
    json_object_set_new(o, "impl_version", json_string(roto_version()));
    json_object_set_new(o, "mode", json_string(a->cuda ? "cuda" : "cpu"));
    json_object_set_new(o, "commit", commit[0] ? json_string(commit) : json_null());
    json_object_set_new(o, "worktree_dirty", json_boolean(dirty[0] != '\0'));
    json_object_set_new(o, "date", json_string(date));
    json_object_set_new(o, "host", json_pack("{s:s, s:i, s:i, s:s?, s:f, s:f}", "cpu", cpu,
                                             "threads", threads, "cores_online",
                                             (int)sysconf(_SC_NPROCESSORS_ONLN), "gpu",
                                             r->gpu[0] ? r->gpu : NULL, "loadavg_start",
                                             r->load_start, "loadavg_end", loadavg()));
    json_object_set_new(o, "task", json_string(task_names[a->task]));
    json_object_set_new(o, "model", json_pack("{s:s, s:s, s:i}", "path", a->model, "variant",
                                              r->fm->cfg.name, "image_size", r->fm->cfg.image_size));
    static const char *prec[] = {"fp32", "tf32", "bf16", "fp16"};
    json_object_set_new(o, "device", json_string(a->cuda ? "cuda" : "cpu"));
    json_object_set_new(o, "device_name", json_string(r->device));
    json_object_set_new(o, "precision", json_string(prec[a->precision]));
    json_object_set_new(o, "input",
                        json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "source",
                                  a->input ? a->input : "synthetic", "width", r->W, "height", r->H,
                                  "frames", a->frames, "warmup", a->warmup, "objects",
                                  a->task == TASK_TRACK ? a->objects : 1, "runs",
                                  a->task == TASK_TRACK ? a->runs : 1, "warmup_runs",
                                  a->task == TASK_TRACK ? a->warmup_runs : 0));
    json_object_set_new(o, "context_s", json_real(r->ctx_s));
    json_object_set_new(o, "load_s", json_real(r->load_s));
    json_object_set_new(o, "first_frame_s", json_real(r->first_frame_s));
    stats f = stats_ms(stats_of(r->frame.v, r->frame.n));
    stats fio = stats_ms(stats_of(r->frame_io.v, r->frame_io.n));
    json_object_set_new(o, "frame_ms", stats_json(&f));
    json_object_set_new(o, "frame_with_io_ms", stats_json(&fio));
    json_object_set_new(o, "fps", f.n ? json_real(1e3 / f.median) : json_null());
    json_object_set_new(o, "frames_ms", ms_list(&r->frame));
    json_t *st = json_object();
    for (int s = 0; s < N_ST; s++) {
        if (r->stage[s].n == 0) continue;
        stats x = stats_of(r->stage[s].v, r->stage[s].n);
        json_object_set_new(st, stage_names[s],
                            json_pack("{s:f, s:f, s:f}", "median", 1e3 * x.median, "p90",
                                      1e3 * x.p90, "mean", 1e3 * x.mean));
    }
    json_object_set_new(o, "stages_ms", st);
    json_object_set_new(o, "stage_sync", json_boolean(a->stages && a->cuda));
    double dev_peak = (double)r->ctx->arena.peak + (double)r->mem.persistent_peak;
    json_t *mem = json_object();
    json_object_set_new(mem, "host_peak_rss_mb", json_real(peak_rss_mb()));
    json_object_set_new(mem, "host_rss_after_load_mb", json_real(r->mem.rss_after_load_mb));
    json_object_set_new(mem, "device_persistent_peak_mb", json_real(r->mem.persistent_peak / 1048576.0));
    json_object_set_new(mem, "device_arena_capacity_mb", json_real(r->ctx->arena.capacity / 1048576.0));
    json_object_set_new(mem, "device_arena_peak_mb", json_real(r->ctx->arena.peak / 1048576.0));
    json_object_set_new(mem, "device_peak_mb", json_real(dev_peak / 1048576.0));
    json_object_set_new(mem, "cuda_used_peak_mb",
                        r->mem.cuda ? json_real(r->mem.cuda_used_peak / 1048576.0) : json_null());
    json_object_set_new(o, "memory", mem);
    return o;
}

// GPU memory for the targets: the drop of cudaMemGetInfo's free memory (what the
// process really took on the device), else arena peak + persistent; NAN on the CPU
// (host memory is not what the GPU budget is about).
static double device_memory_gb(const bench_run *r) {
    if (!r->a->cuda) return NAN;
    if (r->mem.cuda && r->mem.cuda_used_peak) return r->mem.cuda_used_peak / 1073741824.0;
    return ((double)r->ctx->arena.peak + (double)r->mem.persistent_peak) / 1073741824.0;
}

static void print_common(const bench_run *r, const stats *f) {
    printf("roto bench: %s, %s %s on %s, %dx%d %s\n", task_names[r->a->task], r->fm->cfg.name,
           r->a->model, r->device, r->W, r->H, r->a->input ? r->a->input : "(synthetic)");
    printf("  load            %8.3f s   (context %.3f s)\n", r->load_s, r->ctx_s);
    printf("  first frame     %8.3f s\n", r->first_frame_s);
    if (f->n)
        printf("  frame           %8.1f ms  median, p90 %.1f ms, %d timed; %.2f fps\n", 1e3 * f->median,
               1e3 * f->p90, f->n, 1.0 / f->median);
    for (int s = 0; s < N_ST; s++) {
        if (r->stage[s].n == 0) continue;
        stats x = stats_of(r->stage[s].v, r->stage[s].n);
        printf("    %-16s %8.1f ms  median, p90 %.1f\n", stage_names[s], 1e3 * x.median, 1e3 * x.p90);
    }
    double dev = (double)r->ctx->arena.peak + (double)r->mem.persistent_peak;
    printf("  memory          host peak RSS %.0f MiB; device %.0f MiB (arena peak %.0f + persistent "
           "%.0f)", peak_rss_mb(), dev / 1048576.0, r->ctx->arena.peak / 1048576.0,
           r->mem.persistent_peak / 1048576.0);
    if (r->mem.cuda) printf(", cudaMemGetInfo drop %.0f MiB", r->mem.cuda_used_peak / 1048576.0);
    printf("\n");
}

static int write_record(const bench_run *r, json_t *o) {
    if (!r->a->json_out) return 0;
    if (json_dump_file(o, r->a->json_out, JSON_INDENT(1) | JSON_REAL_PRECISION(7)) != 0) {
        fprintf(stderr, "roto bench: cannot write %s\n", r->a->json_out);
        return 1;
    }
    if (!r->a->quiet) printf("record: %s\n", r->a->json_out);
    return 0;
}

static json_t *profile_json(const rt_ctx *ctx, int frames) {
    json_t *a = json_array();
    for (int i = 0; i < ctx->prof.n; i++)
        json_array_append_new(a, json_pack("{s:s, s:I, s:f}", "op", ctx->prof.names[i], "calls",
                                           (json_int_t)ctx->prof.calls[i], "ms_per_frame",
                                           frames ? 1e3 * ctx->prof.seconds[i] / frames : 0.0));
    return a;
}

static void profile_reset(rt_ctx *ctx) {
    memset(ctx->prof.seconds, 0, sizeof ctx->prof.seconds);
    memset(ctx->prof.calls, 0, sizeof ctx->prof.calls);
}

// ---- segment -----------------------------------------------------------------------------------

static int bench_segment(bench_run *r, sam2_model *m, frame_source *src, stage_clock *clk) {
    const bench_args *a = r->a;
    size_t px = (size_t)r->W * r->H;
    uint8_t *rgb = malloc(px * 3);
    if (!rgb) return fail("frame buffer");
    float click[2];
    click_for(0, r->W, r->H, click);
    int label = 1, total = 1 + a->warmup + a->frames;
    dlist enc = {0}, dec = {0};
    enc_macs e = encoder_macs(&r->fm->cfg);
    double frame_flops = 2.0 * (enc_total(&e) + decoder_macs(r->fm, 2));
    for (int it = 0; it < total; it++) {
        if (it == 1 + a->warmup && a->profile) profile_reset(r->ctx);
        double t0 = rt_now_seconds();
        if (source_read(src, it, rgb) != ROTO_OK) return free(rgb), fail("input");
        double io = rt_now_seconds() - t0;
        clock_start(clk);
        double t1 = clk->mark;
        if (sam2_set_image(m, rgb, r->H, r->W) != ROTO_OK) return free(rgb), fail("set_image");
        double t2 = rt_now_seconds();
        sam2_prompt p = {.points = click, .labels = &label, .n_points = 1, .multimask = 1};
        sam2_result res;
        if (sam2_predict(m, &p, &res) != ROTO_OK) return free(rgb), fail("predict");
        sam2_result_free(&res);
        double t3 = rt_now_seconds();
        mem_sample(&r->mem, r->ctx);
        if (it == 0) {
            r->first_frame_s = t3 - t1;
            continue;
        }
        if (it < 1 + a->warmup) continue;
        double pre = clk->acc[ST_PRE];
        // A single image is decoded once (before the first frame): that is its io.
        if (src->still) io = src->still_io_s;
        dl_push(&r->frame, t3 - t1), dl_push(&r->frame_io, t3 - t1 + io);
        if (!src->still || r->stage[ST_IO].n == 0) dl_push(&r->stage[ST_IO], io);
        if (a->stages) dl_push(&r->stage[ST_PRE], pre);
        dl_push(&r->stage[ST_ENC], t2 - t1 - (a->stages ? pre : 0));
        dl_push(&r->stage[ST_DEC], t3 - t2);
        dl_push(&enc, t2 - t1), dl_push(&dec, t3 - t2);
        r->flops_timed += frame_flops;
    }
    free(rgb);
    stats f = stats_of(r->frame.v, r->frame.n);
    stats se = stats_of(enc.v, enc.n), sd = stats_of(dec.v, dec.n);
    if (!a->quiet) {
        print_common(r, &f);
        printf("  FLOPs           %.4g GFLOP per frame (encoder %.4g, decoder %.3g); achieved "
               "%.3g TFLOP/s (encoder %.3g)\n", 1e-9 * frame_flops, 2e-9 * enc_total(&e),
               2e-9 * decoder_macs(r->fm, 2), 1e-12 * frame_flops / f.median,
               2e-12 * enc_total(&e) / se.median);
    }
    measured ms = {.task = TASK_SEGMENT, .W = r->W, .H = r->H, .load_s = r->load_s,
                   .first_frame_s = r->first_frame_s, .next_frame_s = sd.median,
                   .frame_s = f.median, .fps = 1.0 / f.median,
                   .sequence_100_s = NAN, .sequence_1000_s = NAN,
                   .device_memory_gb = device_memory_gb(r)};
    json_t *o = record_base(r);
    json_t *fl = flops_json(r->fm, a->frames, 1);
    json_object_set_new(fl, "per_frame", json_real(1e-9 * frame_flops));
    json_object_set_new(fl, "achieved_tflops", json_real(1e-12 * frame_flops / f.median));
    json_object_set_new(fl, "encoder_achieved_tflops", json_real(2e-12 * enc_total(&e) / se.median));
    json_object_set_new(o, "flops", fl);
    char device[200];
    snprintf(device, sizeof device, "%s", a->cuda ? r->device : "cpu");
    json_object_set_new(o, "targets", check_targets(a, &ms, device, a->quiet));
    if (a->profile) json_object_set_new(o, "op_profile", profile_json(r->ctx, f.n));
    json_object_set_new(o, "notes",
                        json_pack("[s, s]",
                                  "segment: a frame is set_image (encoder, preprocessing included) + "
                                  "predict (one click, multimask, masks at the image size on the host)",
                                  "frame_ms excludes decoding the input (stages_ms.io)"));
    int rc = write_record(r, o);
    json_decref(o);
    free(enc.v), free(dec.v);
    return rc;
}

// ---- track -------------------------------------------------------------------------------------

typedef struct {
    bench_run *r;
    stage_clock *clk;
    frame_source *src;
    int pass, timed;     // current pass; whether it is timed
    double frame_start;  // time the current frame began
    double pass_start, pass_io;
    double seq_s;        // first frame + the first pass so far (io included)
    double seq_at[2];    // seq_s after 100 and 1000 frames (NAN until reached)
    dlist pass_s;        // timed passes: seconds per pass (io excluded)
} track_state;

static roto_status track_read(void *user, int index, uint8_t *rgb) {
    track_state *ts = user;
    clock_mark(ts->clk, ST_POST);  // whatever ran since the last boundary
    roto_status st = source_read(ts->src, index, rgb);
    clock_mark(ts->clk, ST_IO);
    return st;
}

static roto_status on_prompt(void *user, const sam2_track_result *res) {
    (void)user, (void)res;
    return ROTO_OK;
}

static roto_status on_frame(void *user, const sam2_track_result *res) {
    track_state *ts = user;
    bench_run *r = ts->r;
    const bench_args *a = r->a;
    stage_clock *c = ts->clk;
    clock_mark(c, ST_POST);
    double now = c->mark, total = now - ts->frame_start, io = c->acc[ST_IO];
    mem_sample(&r->mem, r->ctx);
    if (ts->pass == 0) {
        ts->seq_s += total;
        if (res->frame + 1 == 100) ts->seq_at[0] = ts->seq_s;
        if (res->frame + 1 == 1000) ts->seq_at[1] = ts->seq_s;
    }
    ts->pass_io += io;
    if (ts->timed && res->frame >= a->warmup) {
        dl_push(&r->frame, total - io), dl_push(&r->frame_io, total);
        for (int s = 0; s < N_ST; s++)
            if (s == ST_IO || a->stages) dl_push(&r->stage[s], c->acc[s]);
        // Frame 0 (prompted) is not recomputed: only its memory is encoded, on the first pass.
        double macs = res->frame > 0 ? track_frame_macs(r->fm, res->frame, a->frames, a->objects)
                    : ts->pass == 0 ? a->objects * memenc_macs(r->fm) : 0.0;
        r->flops_timed += 2.0 * macs;
    }
    memset(c->acc, 0, sizeof c->acc);
    ts->frame_start = now;
    return ROTO_OK;
}

static int bench_track(bench_run *r, sam2_model *m, frame_source *src, stage_clock *clk) {
    const bench_args *a = r->a;
    track_state ts = {.r = r, .clk = clk, .src = src, .seq_at = {NAN, NAN}};
    sam2_track_opts o;
    sam2_track_opts_init(&o);
    o.n_frames = a->frames, o.width = r->W, o.height = r->H;
    o.read_frame = track_read, o.read_user = &ts;
    sam2_track *t = NULL;
    int rc = 1;
    // First frame: the session, the objects and one click each on frame 0 (read and
    // encoded once, then the heads per object).
    clock_start(clk);
    double t0 = clk->mark;
    if (sam2_track_create(m, &o, &t) != ROTO_OK) return fail("tracking session");
    for (int k = 0; k < a->objects; k++) {
        int id, label = 1;
        float xy[2];
        click_for(k, r->W, r->H, xy);
        sam2_track_prompt p = {.points = xy, .labels = &label, .n_points = 1};
        if (sam2_track_add_object(t, &id) != ROTO_OK ||
            sam2_track_add_prompt(t, id, 0, &p, on_prompt, NULL) != ROTO_OK) {
            fail("prompt on frame 0");
            goto out;
        }
    }
    rt_ctx_synchronize(r->ctx);
    r->first_frame_s = rt_now_seconds() - t0;
    ts.seq_s = r->first_frame_s;
    double first_io = clk->acc[ST_IO];
    mem_sample(&r->mem, r->ctx);
    // Propagation passes over the whole video, forward from frame 0.
    for (int pass = 0; pass < a->warmup_runs + a->runs; pass++) {
        ts.pass = pass, ts.timed = pass >= a->warmup_runs, ts.pass_io = 0;
        if (ts.timed && pass == a->warmup_runs && a->profile) profile_reset(r->ctx);
        clock_start(clk);
        ts.frame_start = ts.pass_start = clk->mark;
        if (sam2_track_propagate(t, 0, -1, 0, on_frame, &ts) != ROTO_OK) {
            fail("propagation");
            goto out;
        }
        if (ts.timed) dl_push(&ts.pass_s, rt_now_seconds() - ts.pass_start - ts.pass_io);
    }
    // Sequence times: the first frame plus the first pass (io included), measured as far
    // as the video goes and extrapolated with the steady-state mean beyond.
    stats f = stats_of(r->frame.v, r->frame.n), fio = stats_of(r->frame_io.v, r->frame_io.n);
    double seq_s = ts.seq_s;
    double seq100 = a->frames >= 100 ? ts.seq_at[0] : seq_s + (100 - a->frames) * fio.mean;
    double seq1000 = a->frames >= 1000 ? ts.seq_at[1] : seq_s + (1000 - a->frames) * fio.mean;
    stats passes = stats_of(ts.pass_s.v, ts.pass_s.n);
    double frame_flops_mean = r->frame.n ? r->flops_timed / r->frame.n : 0;
    double sum_t = 0;
    for (int i = 0; i < r->frame.n; i++) sum_t += r->frame.v[i];
    if (!a->quiet) {
        print_common(r, &f);
        printf("  passes          %.2f fps over whole passes (frame 0 included, io excluded), "
               "sequence of %d frames %.2f s\n", a->frames / passes.median, a->frames, seq_s);
        printf("  FLOPs           %.4g GFLOP per timed frame (mean, %d object%s); achieved %.3g "
               "TFLOP/s\n", 1e-9 * frame_flops_mean, a->objects, a->objects == 1 ? "" : "s",
               sum_t > 0 ? 1e-12 * r->flops_timed / sum_t : 0.0);
    }
    measured ms = {.task = TASK_TRACK, .W = r->W, .H = r->H, .load_s = r->load_s,
                   .first_frame_s = r->first_frame_s, .next_frame_s = f.median,
                   .frame_s = f.median, .fps = 1.0 / f.median,
                   .sequence_100_s = seq100, .sequence_1000_s = seq1000,
                   .seq100_extrapolated = a->frames < 100, .seq1000_extrapolated = a->frames < 1000,
                   .device_memory_gb = device_memory_gb(r)};
    json_t *rec = record_base(r);
    json_object_set_new(rec, "first_frame_io_s", json_real(first_io));
    json_object_set_new(rec, "sequence_s", json_real(seq_s));
    json_object_set_new(rec, "sequence_100_s", json_real(seq100));
    json_object_set_new(rec, "sequence_1000_s", json_real(seq1000));
    json_object_set_new(rec, "sequence_extrapolated",
                        json_pack("{s:b, s:b}", "100", a->frames < 100, "1000", a->frames < 1000));
    json_object_set_new(rec, "pass_fps", passes.n ? json_real(a->frames / passes.median) : json_null());
    json_object_set_new(rec, "stored_frames_per_object", json_integer(sam2_track_stored_frames(t, 0)));
    json_t *fl = flops_json(r->fm, a->frames, a->objects);
    json_object_set_new(fl, "per_frame", json_real(1e-9 * frame_flops_mean));
    json_object_set_new(fl, "achieved_tflops", json_real(sum_t > 0 ? 1e-12 * r->flops_timed / sum_t : 0));
    if (a->stages && r->stage[ST_MEMATTN].n) {
        // Memory attention alone: its FLOPs over the timed frames by its measured time.
        double mf = 0, mt = 0;
        for (int i = 0; i < r->frame.n; i++) mt += r->stage[ST_MEMATTN].v[i];
        for (int fr = a->warmup; fr < a->frames; fr++) {
            int nm, np;
            bank_at(r->fm, fr, a->frames, &nm, &np);
            mf += 2.0 * a->objects * memattn_macs(r->fm, nm, np) * (fr >= 1);
        }
        mf *= a->runs;
        json_object_set_new(fl, "memory_attention_achieved_tflops", json_real(mt > 0 ? 1e-12 * mf / mt : 0));
    }
    json_object_set_new(rec, "flops", fl);
    char device[200];
    snprintf(device, sizeof device, "%s", a->cuda ? r->device : "cpu");
    json_object_set_new(rec, "targets", check_targets(a, &ms, device, a->quiet));
    if (a->profile) json_object_set_new(rec, "op_profile", profile_json(r->ctx, f.n));
    json_object_set_new(rec, "notes",
                        json_pack("[s, s, s]",
                                  "track: one click per object on frame 0 (first_frame_s: session, "
                                  "prompts, reading and encoding frame 0), then forward propagation "
                                  "passes over the video; frame_ms: frames >= warmup of the timed "
                                  "passes, masks and logits at the video size on the host",
                                  "frame_ms excludes decoding the frame (stages_ms.io); "
                                  "frame_with_io_ms includes it",
                                  "stage boundaries are the network's taps: memory_attention "
                                  "includes assembling the bank, postprocess the hole filling and "
                                  "the upsampling to the video size"));
    rc = write_record(r, rec);
    json_decref(rec);
out:
    free(ts.pass_s.v);
    sam2_track_free(t);
    return rc;
}

// ---- main --------------------------------------------------------------------------------------

int cmd_bench(int argc, char **argv) {
    bench_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    if (a.task == TASK_DEPTH || a.task == TASK_MATTE) {
        fprintf(stderr, "roto bench: --task %s: not implemented yet (roto runs SAM 2.1 only so "
                "far: --task segment or track)\n", task_names[a.task]);
        return 1;
    }
    flop_model fm;
    int custom = 0;
    if (a.flops_only && !a.model) {
        sam2_config c;
        if (sam2_config_variant(&c, a.variant) != ROTO_OK) return fail(a.variant);
        flop_model_released(&fm, &c);
    } else {
        int d = describe_model(&a, &fm, &custom);
        if (d != 1) return 1;
    }
    if (a.flops_only) {
        print_flops(&fm, a.objects);
        if (a.json_out) {
            json_t *o = json_pack("{s:s, s:s, s:o}", "schema", BENCH_SCHEMA, "variant", fm.cfg.name,
                                  "flops", flops_json(&fm, a.frames, a.objects));
            int bad = json_dump_file(o, a.json_out, JSON_INDENT(1)) != 0;
            json_decref(o);
            if (bad) return fprintf(stderr, "roto bench: cannot write %s\n", a.json_out), 1;
        }
        return 0;
    }

    frame_source src;
    if (source_open(&src, &a) != ROTO_OK) {
        source_close(&src);
        return fail(a.input);
    }
    if (a.task == TASK_TRACK && a.input && !src.still && src.n_files < a.frames)
        fprintf(stderr, "roto bench: note: %s has %d frames; the run of %d wraps around\n", a.input,
                src.n_files, a.frames);

    bench_run r = {.a = &a, .fm = &fm, .W = src.W, .H = src.H, .load_start = loadavg()};
    rt_ctx ctx;
    int have_ctx = 0;
    sam2_model *m = NULL;
    stage_clock clk = {.ctx = &ctx, .sync = a.stages && a.cuda};
    rc = 1;
    const rt_backend *be = rt_cpu_backend();
    snprintf(r.device, sizeof r.device, "cpu");
    if (a.cuda) {
        int n = 0;
        be = rt_cuda_backend();
        if (!be) {
            fprintf(stderr, "roto bench: this roto was built without CUDA\n");
            goto out;
        }
        if (rt_cuda_device_count(&n) != ROTO_OK || a.cuda_device >= n ||
            rt_cuda_select_device(a.cuda_device) != ROTO_OK) {
            fprintf(stderr, "roto bench: CUDA device %d: %s\n", a.cuda_device, roto_last_error());
            goto out;
        }
#ifdef ROTO_HAVE_CUDA
        size_t total = 0;
        r.mem.cuda = cudaSetDevice(a.cuda_device) == cudaSuccess &&
                     cudaMemGetInfo(&r.mem.cuda_free0, &total) == cudaSuccess;
#endif
    }
    if (a.threads) omp_set_num_threads(a.threads);
    // Load: the context (device, stream, library handles, arena) and the weights.
    double t0 = rt_now_seconds();
    // Arena: what the network needs for this model and frame size (the tracker also
    // upsamples each object's logits to the video size in it).
    size_t arena = a.task == TASK_TRACK ? sam2_track_arena_bytes(&fm.cfg, fm.mem_dim, 1) +
                                              (size_t)src.W * src.H * 8
                                        : sam2_arena_bytes(&fm.cfg, src.H, src.W);
    if (rt_ctx_create(&ctx, be, arena) != ROTO_OK) {
        fail("context");
        goto out;
    }
    have_ctx = 1;
    r.ctx = &ctx;
    ctx.num_threads = a.threads;
    ctx.prof.enabled = a.profile;
    if (a.cuda && rt_cuda_set_precision(&ctx, a.precision) != ROTO_OK) {
        fail("precision");
        goto out;
    }
    if (a.cuda) {
        int dev = 0, ma = 0, mi = 0;
        if (rt_cuda_ctx_info(&ctx, &dev, r.gpu, sizeof r.gpu, &ma, &mi) == ROTO_OK)
            snprintf(r.device, sizeof r.device, "cuda:%d %s (sm_%d%d)", dev, r.gpu, ma, mi);
        else
            snprintf(r.device, sizeof r.device, "cuda:%d", a.cuda_device);
    } else {
        char cpu[128];
        cpu_model(cpu, sizeof cpu);
        snprintf(r.device, sizeof r.device, "cpu %s, %d threads", cpu,
                 a.threads ? a.threads : omp_get_max_threads());
    }
    r.ctx_s = rt_now_seconds() - t0;
    if (sam2_load(&ctx, a.model, custom ? &fm.cfg : NULL, &m) != ROTO_OK) {
        fail(a.model);
        goto out;
    }
    rt_ctx_synchronize(&ctx);
    r.load_s = rt_now_seconds() - t0;
    r.mem.rss_after_load_mb = peak_rss_mb();
    mem_sample(&r.mem, &ctx);
    if (a.stages) sam2_set_tap(m, bench_tap, &clk);
    if (!a.quiet) {
        if (a.task == TASK_TRACK)
            fprintf(stderr, "roto bench: loaded in %.2f s; tracking %d object%s through %d frames, "
                    "%d pass%s...\n", r.load_s, a.objects, a.objects == 1 ? "" : "s", a.frames,
                    a.warmup_runs + a.runs, a.warmup_runs + a.runs == 1 ? "" : "es");
        else
            fprintf(stderr, "roto bench: loaded in %.2f s; %d frames...\n", r.load_s,
                    1 + a.warmup + a.frames);
    }
    rc = a.task == TASK_TRACK ? bench_track(&r, m, &src, &clk) : bench_segment(&r, m, &src, &clk);
out:
    sam2_free(m);
    if (have_ctx) {
        ctx.prof.enabled = 0;  // the record has the profile; no second print at destroy
        rt_ctx_destroy(&ctx);
    }
    source_close(&src);
    run_free(&r);
    return rc;
}
