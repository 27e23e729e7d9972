// matte_bench.c: the matte ops (rt_matte_*, engine/ops.h) at 1080p and 4K on
// the CPU backend and, when the build has CUDA and a device is present, on the
// CUDA backend; written to bench/results/<date>-<machine>-matte.json.
//
// The matte is a synthetic segmentation: a few large blobs (people, props)
// with holes, small islands and salt-and-pepper pixels, soft values at the
// blob edges. Each op runs with the parameters a pipeline uses (radius 5 and
// 25, any-size holes, islands under 100 pixels), and "chain" is roto
// segment/track's clean-up order (holes, islands, grow 3, shrink 3, soften 5);
// on CUDA "chain+copies" adds the upload of the mask and the download of the
// matte, which is what the CLI pays per object and frame.
//
// Timing: wall clock around `iters` back-to-back calls (CUDA: then a stream
// synchronisation), after 2 warm-up calls, repeated `reps` times; the median
// per call is kept. CPU threads: OpenMP's default (OMP_NUM_THREADS).
//
// usage: matte_bench [--out DIR] [--quick] [--cpu-only]
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/kernels/bench_env.h"
#include "engine/backend.h"
#include "engine/ops.h"
#include "kernels/cuda/cuda_kernels.h"

static int g_iters = 5, g_reps = 5;

static void die(const char *what) {
    fprintf(stderr, "matte_bench: %s: %s\n", what, roto_last_error());
    exit(1);
}

// ---- the matte ---------------------------------------------------------------------------------

static uint64_t g_rng = 88172645463325252ull;
static double unit(void) {
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (double)(g_rng >> 11) * (1.0 / 9007199254740992.0);
}

static void blob(float *m, int w, int h, double cx, double cy, double rx, double ry, float v) {
    for (int y = (int)fmax(0, cy - ry); y < (int)fmin(h, cy + ry + 1); y++)
        for (int x = (int)fmax(0, cx - rx); x < (int)fmin(w, cx + rx + 1); x++) {
            double dx = (x - cx) / rx, dy = (y - cy) / ry, d = dx * dx + dy * dy;
            if (d <= 1.0) m[(size_t)y * w + x] = d > 0.97 && v > 0 ? 0.5f + 0.5f * (float)unit() : v;
        }
}

static void make_matte(float *m, int w, int h) {
    size_t n = (size_t)w * h;
    memset(m, 0, n * sizeof *m);
    for (int b = 0; b < 4; b++)  // large shapes, a quarter of the frame tall
        blob(m, w, h, w * (0.2 + 0.2 * b), h * (0.4 + 0.2 * unit()), w * 0.08, h * 0.3, 1.0f);
    for (int k = 0; k < 40; k++)  // holes inside them
        blob(m, w, h, w * (0.15 + 0.7 * unit()), h * (0.2 + 0.6 * unit()), 2 + 20 * unit(), 2 + 20 * unit(), 0.0f);
    for (int k = 0; k < 200; k++)  // small islands
        blob(m, w, h, w * unit(), h * unit(), 1 + 4 * unit(), 1 + 4 * unit(), 1.0f);
    for (size_t i = 0; i < n; i++) {  // salt and pepper
        double u = unit();
        if (u < 0.001) m[i] = 1.0f;
        else if (u < 0.002) m[i] = 0.0f;
    }
}

// ---- ops ------------------------------------------------------------------------------------------

typedef enum {
    B_THRESHOLD, B_DILATE5, B_ERODE5, B_DILATE25, B_FEATHER5, B_FEATHER25, B_FILL, B_ISLANDS, B_CORE_EDGE,
    B_CHAIN, B_CHAIN_COPIES, B_COUNT
} bench_op;
static const char *const k_names[B_COUNT] = {
    "threshold 0.5",  "dilate r=5",         "erode r=5",         "dilate r=25",
    "feather r=5",    "feather r=25",       "fill holes any/4",  "remove islands <100/8",
    "core/edge r=5",  "chain",              "chain+copies"};

typedef struct {
    rt_ctx *ctx;
    rt_tensor a, b, c;  // in, out, second out (arena)
    float *host;        // the matte on the host (chain+copies)
    float *host_out;
} bench_arg;

// The clean-up chain of roto segment / track, in place on b.
static roto_status chain(bench_arg *g) {
    ROTO_TRY(rt_matte_fill_holes(g->ctx, &g->b, &g->b, 0, 4));
    ROTO_TRY(rt_matte_remove_islands(g->ctx, &g->b, &g->b, 100, 8));
    ROTO_TRY(rt_matte_dilate(g->ctx, &g->b, &g->b, 3.0f));
    ROTO_TRY(rt_matte_erode(g->ctx, &g->b, &g->b, 3.0f));
    return rt_matte_feather(g->ctx, &g->b, &g->b, 5.0f);
}

static roto_status run_op(bench_op op, bench_arg *g) {
    size_t bytes = rt_nbytes(&g->a);
    switch (op) {
    case B_THRESHOLD: return rt_matte_threshold(g->ctx, &g->b, &g->a, 0.5f);
    case B_DILATE5: return rt_matte_dilate(g->ctx, &g->b, &g->a, 5.0f);
    case B_ERODE5: return rt_matte_erode(g->ctx, &g->b, &g->a, 5.0f);
    case B_DILATE25: return rt_matte_dilate(g->ctx, &g->b, &g->a, 25.0f);
    case B_FEATHER5: return rt_matte_feather(g->ctx, &g->b, &g->a, 5.0f);
    case B_FEATHER25: return rt_matte_feather(g->ctx, &g->b, &g->a, 25.0f);
    case B_FILL: return rt_matte_fill_holes(g->ctx, &g->b, &g->a, 0, 4);
    case B_ISLANDS: return rt_matte_remove_islands(g->ctx, &g->b, &g->a, 100, 8);
    case B_CORE_EDGE: return rt_matte_core_edge(g->ctx, &g->b, &g->c, &g->a, 5.0f);
    case B_CHAIN:  // on a fresh copy of the matte each time
        ROTO_TRY(rt_copy(g->ctx, &g->b, &g->a));
        return chain(g);
    default:
        ROTO_TRY(rt_ctx_upload(g->ctx, g->b.data, g->host, bytes));
        ROTO_TRY(chain(g));
        return rt_ctx_download(g->ctx, g->host_out, g->b.data, bytes);
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

// Median milliseconds per call.
static double time_ms(bench_op op, bench_arg *g) {
    for (int i = 0; i < 2; i++)
        if (run_op(op, g) != ROTO_OK) die(k_names[op]);
    if (rt_ctx_synchronize(g->ctx) != ROTO_OK) die("synchronize");
    double t[64];
    int reps = g_reps < 64 ? g_reps : 64;
    for (int r = 0; r < reps; r++) {
        double t0 = rt_now_seconds();
        for (int i = 0; i < g_iters; i++)
            if (run_op(op, g) != ROTO_OK) die(k_names[op]);
        if (rt_ctx_synchronize(g->ctx) != ROTO_OK) die("synchronize");
        t[r] = (rt_now_seconds() - t0) * 1000.0 / g_iters;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    return t[reps / 2];
}

// Times every op of one backend on a w x h matte into ms[B_COUNT] (-1: not run).
static void bench_backend(rt_ctx *ctx, const float *matte, int w, int h, double *ms) {
    size_t n = (size_t)w * h;
    bench_arg g = {.ctx = ctx};
    rt_ctx_reset(ctx);
    if (rt_arena_f32(ctx, &g.a, 2, h, w, 1, 1) || rt_arena_f32(ctx, &g.b, 2, h, w, 1, 1) ||
        rt_arena_f32(ctx, &g.c, 2, h, w, 1, 1))
        die("arena");
    if (rt_ctx_upload(ctx, g.a.data, matte, n * sizeof(float))) die("upload");
    g.host = (float *)matte;
    g.host_out = malloc(n * sizeof(float));
    if (!g.host_out) die("out of memory");
    for (int op = 0; op < B_COUNT; op++) {
        ms[op] = -1;
        if (op == B_CHAIN_COPIES && ctx->be->device == RT_DEV_CPU) continue;  // no copies on the CPU
        ms[op] = time_ms((bench_op)op, &g);
    }
    free(g.host_out);
}

// ---- main ------------------------------------------------------------------------------------------

int main(int argc, char **argv) {
    const char *out_dir = "bench/results";
    int cpu_only = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc) out_dir = argv[++i];
        else if (!strcmp(argv[i], "--quick")) g_iters = 2, g_reps = 3;
        else if (!strcmp(argv[i], "--cpu-only")) cpu_only = 1;
        else {
            fprintf(stderr, "usage: %s [--out DIR] [--quick] [--cpu-only]\n", argv[0]);
            return 2;
        }
    }
    static const int sizes[2][2] = {{1920, 1080}, {4096, 2160}};
    size_t max_n = 4096 * 2160;

    rt_ctx cpu, gpu;
    if (rt_ctx_create(&cpu, rt_cpu_backend(), 3 * max_n * sizeof(float) + 4096)) die("cpu context");
    int have_gpu = 0, n_dev = 0;
    char gpu_name[256] = "", cpu_name[256] = "", commit[64] = "", date[32], host[128] = "";
    if (!cpu_only && rt_cuda_backend() && rt_cuda_device_count(&n_dev) == ROTO_OK && n_dev > 0) {
        if (rt_ctx_create(&gpu, rt_cuda_backend(), 3 * max_n * sizeof(float) + 4096)) die("cuda context");
        int dev, ma, mi;
        rt_cuda_ctx_info(&gpu, &dev, gpu_name, sizeof gpu_name, &ma, &mi);
        have_gpu = 1;
    }
    bench_shell_line("grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'", cpu_name, sizeof cpu_name);
    bench_commit(commit, sizeof commit);
    gethostname(host, sizeof host - 1);
    bench_date(date, sizeof date);
    int threads = omp_get_max_threads();
    printf("matte ops: CPU %s, %d threads; CUDA %s; commit %s; median of %d reps of %d calls\n",
           cpu_name[0] ? cpu_name : "?", threads, have_gpu ? gpu_name : "none", commit[0] ? commit : "?",
           g_reps, g_iters);

    double ms[2][2][B_COUNT];  // [size][cpu, cuda][op]
    float *matte = malloc(max_n * sizeof(float));
    if (!matte) die("out of memory");
    for (int s = 0; s < 2; s++) {
        int w = sizes[s][0], h = sizes[s][1];
        make_matte(matte, w, h);
        bench_backend(&cpu, matte, w, h, ms[s][0]);
        for (int op = 0; op < B_COUNT; op++) ms[s][1][op] = -1;
        if (have_gpu) bench_backend(&gpu, matte, w, h, ms[s][1]);
        printf("\n%dx%d %-22s %10s %10s %8s\n", w, h, "", "cpu ms", "cuda ms", "speedup");
        for (int op = 0; op < B_COUNT; op++) {
            double c = ms[s][0][op], g = ms[s][1][op];
            printf("  %-30s ", k_names[op]);
            if (c >= 0) printf("%10.3f ", c);
            else printf("%10s ", "-");
            if (g >= 0) printf("%10.3f %7.1fx\n", g, c > 0 ? c / g : 0.0);
            else printf("%10s %8s\n", "-", "-");
        }
    }

    // Named after the GPU, else after the CPU and its threads (cpu-amd-epyc-2t).
    char machine[320], path[700];
    if (have_gpu) snprintf(machine, sizeof machine, "%s", gpu_name);
    else snprintf(machine, sizeof machine, "cpu %s %dt", cpu_name[0] ? cpu_name : host, threads);
    bench_result_path(path, sizeof path, out_dir, date, machine, "matte");
    FILE *js = fopen(path, "w");
    if (!js) {
        fprintf(stderr, "matte_bench: cannot write %s\n", path);
        return 1;
    }
    fprintf(js, "{\n  \"date\": \"%s\",\n  \"git_commit\": \"%s\",\n  \"cpu\": \"%s\",\n  \"cpu_threads\": %d,\n",
            date, commit, cpu_name, threads);
    fprintf(js, "  \"gpu\": %s%s%s,\n", have_gpu ? "\"" : "", have_gpu ? gpu_name : "null", have_gpu ? "\"" : "");
    fprintf(js, "  \"timing\": \"median of %d reps of %d calls, wall clock (CUDA: stream synchronised after "
                "the calls), after 2 warm-up calls\",\n  \"results\": [\n", g_reps, g_iters);
    for (int s = 0; s < 2; s++)
        for (int op = 0; op < B_COUNT; op++) {
            fprintf(js, "    {\"op\": \"%s\", \"size\": \"%dx%d\", \"cpu_ms\": ", k_names[op], sizes[s][0],
                    sizes[s][1]);
            if (ms[s][0][op] >= 0) fprintf(js, "%.4f", ms[s][0][op]);
            else fprintf(js, "null");
            fprintf(js, ", \"cuda_ms\": ");
            if (ms[s][1][op] >= 0) fprintf(js, "%.4f", ms[s][1][op]);
            else fprintf(js, "null");
            fprintf(js, "}%s\n", s == 1 && op == B_COUNT - 1 ? "" : ",");
        }
    fprintf(js, "  ]\n}\n");
    fclose(js);
    printf("\nwrote %s\n", path);
    free(matte);
    if (have_gpu) rt_ctx_destroy(&gpu);
    rt_ctx_destroy(&cpu);
    return 0;
}
