// test_cuda_matte.c: the matte ops (rt_matte_*, engine/ops.h) on CUDA against
// the same ops on the CPU backend, on random mattes from tests/ref/ref_matte.c
// (discs with holes, their inverse, noise; each with salt-and-pepper pixels and
// soft values, some exactly at 0.5 or one float step below):
// - binary results (threshold, dilate, erode, fill holes, remove islands, core
//   and edge) bit for bit; feather within 1e-6 absolute (the kernels do the
//   CPU's float operations in the CPU's order, so it is expected to be exact;
//   the largest difference seen is printed);
// - sizes 1x1, 5000x7, 7x5000, 33x17, 17x33, 257x131, and 1920x1080 and
//   4096x2160 unless in small mode; radii 0 .. 100 (0.21 gives subnormal taps),
//   connectivity 4 and 8, area limits -1, 0, 1, 2, 3, ... 2^40;
// - every case again in place (out = in; core = in for core/edge);
// - special inputs: NaN, +-inf, -0, values outside 0..1, empty and full
//   mattes (no source pixel at all), squared distances beyond 2^24 where the
//   float rounding of the distance decides.
// GPU outputs are filled with NaN before each op, so an unwritten pixel fails.
//
// Without a CUDA device (or in a build without CUDA) it prints a "SKIP:" line
// and exits 0 without running Check, so scripts/run_tests.sh counts it as
// skipped (as test_cuda_ops.c does). Check runs without fork: CUDA cannot be
// used in a child forked after the parent initialised it.
// Small mode (ROTO_CUDA_EMU=1 under the host emulator, ROTO_GPU_SMALL=1 under
// compute-sanitizer) skips the 1080p and 4K mattes.
// ROTO_GPU_TESTS=name,name runs only those tests.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref_matte.h"
#include "util/test_util.h"

#ifdef ROTO_HAVE_CUDA
#include "kernels/cuda/cuda_internal.h"
#include "kernels/cuda/cuda_kernels.h"
#include "gpu/gpu_test_main.h"

#define OK(call)                                                               \
    do {                                                                       \
        roto_status _s = (call);                                               \
        ck_assert_msg(_s == ROTO_OK, "%s -> %s", #call, roto_last_error());   \
    } while (0)
#define COUNT(a) (sizeof(a) / sizeof *(a))

static rt_ctx g_cpu, g_gpu;
static double g_feather_max_diff;  // largest |GPU - CPU| of feather seen

static void setup(void) {
    tu_cpu_ctx(&g_cpu, 0);
    roto_status st = rt_ctx_create(&g_gpu, rt_cuda_backend(), (size_t)512 << 20);
    ck_assert_msg(st == ROTO_OK, "cuda context: %s", roto_last_error());
}

static void teardown(void) {
    rt_ctx_destroy(&g_gpu);
    rt_ctx_destroy(&g_cpu);
}

static int small_mode(void) {
    const char *e = getenv("ROTO_CUDA_EMU"), *s = getenv("ROTO_GPU_SMALL");
    return (e && e[0] == '1') || (s && s[0] == '1');
}

// ---- device helpers ---------------------------------------------------------------------------

// A GPU matte [h, w] from the arena holding `host`, or NaN when host is NULL.
static rt_tensor gpu_matte(const float *host, int w, int h) {
    rt_tensor t;
    OK(rt_arena_f32(&g_gpu, &t, 2, h, w, 1, 1));
    size_t n = (size_t)w * h;
    float *nan = NULL;
    if (!host) {
        nan = tu_alloc_f32(n);
        tu_poison_f32(nan, n);
        host = nan;
    }
    OK(rt_ctx_upload(&g_gpu, t.data, host, n * sizeof(float)));
    free(nan);
    return t;
}

static float *gpu_fetch(const rt_tensor *t) {
    size_t n = (size_t)rt_numel(t);
    float *h = tu_alloc_f32(n);
    OK(rt_ctx_download(&g_gpu, h, t->data, n * sizeof(float)));
    return h;
}

// ---- one case on both backends -----------------------------------------------------------------

typedef enum { M_THRESHOLD, M_DILATE, M_ERODE, M_FEATHER, M_FILL, M_ISLANDS, M_CORE_EDGE } op_kind;
static const char *const k_op_names[] = {"threshold", "dilate", "erode", "feather",
                                         "fill holes", "remove islands", "core/edge"};

typedef struct {
    op_kind op;
    float p;          // threshold or radius
    long long limit;  // max_area / min_area
    int conn;
} mcase;

static roto_status apply(rt_ctx *ctx, const mcase *c, rt_tensor *out, rt_tensor *out2, const rt_tensor *in) {
    switch (c->op) {
    case M_THRESHOLD: return rt_matte_threshold(ctx, out, in, c->p);
    case M_DILATE: return rt_matte_dilate(ctx, out, in, c->p);
    case M_ERODE: return rt_matte_erode(ctx, out, in, c->p);
    case M_FEATHER: return rt_matte_feather(ctx, out, in, c->p);
    case M_FILL: return rt_matte_fill_holes(ctx, out, in, c->limit, c->conn);
    case M_ISLANDS: return rt_matte_remove_islands(ctx, out, in, c->limit, c->conn);
    default: return rt_matte_core_edge(ctx, out, out2, in, c->p);
    }
}

// got (GPU) against want (CPU): bit for bit, or within 1e-6 for feather (NaN
// where the CPU has NaN: the GPU's NaN bits are canonical, the CPU's are not).
static void compare(const float *got, const float *want, size_t n, int w, int feather, const char *what) {
    for (size_t i = 0; i < n; i++) {
        if (!memcmp(got + i, want + i, sizeof *got)) continue;
        if (feather) {
            if (isnan(got[i]) && isnan(want[i])) continue;
            double d = fabs((double)got[i] - want[i]);
            if (d <= 1e-6) {
                if (d > g_feather_max_diff) g_feather_max_diff = d;
                continue;
            }
        }
        ck_abort_msg("%s: pixel (%zu, %zu) is %.9g on cuda, %.9g on the cpu", what, i % (size_t)w,
                     i / (size_t)w, (double)got[i], (double)want[i]);
    }
}

static void check_case(const float *in, int w, int h, const mcase *c, const char *size_what) {
    size_t n = (size_t)w * h;
    char what[192];
    snprintf(what, sizeof what, "%s %s p %g limit %lld conn %d", k_op_names[c->op], size_what, (double)c->p,
             c->limit, c->conn);
    int feather = c->op == M_FEATHER, two = c->op == M_CORE_EDGE;
    // CPU reference.
    float *want = tu_alloc_f32(n), *want2 = tu_alloc_f32(n);
    rt_tensor ci = rt_f32_2d((float *)in, h, w), co = rt_f32_2d(want, h, w), co2 = rt_f32_2d(want2, h, w);
    OK(apply(&g_cpu, c, &co, &co2, &ci));
    // GPU, out of place.
    rt_tensor gi = gpu_matte(in, w, h), go = gpu_matte(NULL, w, h), go2 = gpu_matte(NULL, w, h);
    OK(apply(&g_gpu, c, &go, &go2, &gi));
    float *got = gpu_fetch(&go);
    compare(got, want, n, w, feather, what);
    free(got);
    if (two) {
        got = gpu_fetch(&go2);
        compare(got, want2, n, w, 0, what);
        free(got);
    }
    // GPU in place: the output is the input tensor (core/edge: core = in,
    // then edge = in).
    rt_tensor gb = gpu_matte(in, w, h);
    OK(apply(&g_gpu, c, &gb, &go2, &gb));
    got = gpu_fetch(&gb);
    char what2[224];
    snprintf(what2, sizeof what2, "%s (in place)", what);
    compare(got, want, n, w, feather, what2);
    free(got);
    if (two) {
        rt_tensor gc = gpu_matte(in, w, h);
        OK(apply(&g_gpu, c, &go, &gc, &gc));
        got = gpu_fetch(&gc);
        snprintf(what2, sizeof what2, "%s (edge in place)", what);
        compare(got, want2, n, w, 0, what2);
        free(got);
    }
    free(want);
    free(want2);
    rt_ctx_reset(&g_gpu);
}

// ---- sizes and mattes --------------------------------------------------------------------------

typedef struct {
    int w, h, big;  // big: skipped in small mode, one matte mode, fewer cases
} msize;

static const msize k_sizes[] = {{1, 1, 0},     {5000, 7, 0},     {7, 5000, 0},     {33, 17, 0},
                                {17, 33, 0},   {257, 131, 0},    {1920, 1080, 1},  {4096, 2160, 1}};

// Run `cases` on every size and matte mode.
static void run_cases(const mcase *cases, int n_cases, const mcase *big_cases, int n_big) {
    for (size_t si = 0; si < COUNT(k_sizes); si++) {
        const msize *s = &k_sizes[si];
        if (s->big && small_mode()) continue;
        for (int mode = 0; mode < (s->big ? 1 : 3); mode++) {
            size_t n = (size_t)s->w * s->h;
            float *in = tu_alloc_f32(n);
            ref_matte_random(in, s->w, s->h, 31 * si + (size_t)mode, mode);
            char what[64];
            snprintf(what, sizeof what, "%dx%d mode %d", s->w, s->h, mode);
            const mcase *cs = s->big ? big_cases : cases;
            for (int k = 0; k < (s->big ? n_big : n_cases); k++) check_case(in, s->w, s->h, &cs[k], what);
            free(in);
        }
    }
}

// ---- tests -----------------------------------------------------------------------------------------

START_TEST(test_matte_threshold) {
    const mcase cases[] = {{M_THRESHOLD, 0.5f, 0, 0}, {M_THRESHOLD, 0.25f, 0, 0}, {M_THRESHOLD, 1.0f, 0, 0},
                           {M_THRESHOLD, 0.0f, 0, 0}};
    run_cases(cases, COUNT(cases), cases, 1);
}
END_TEST

START_TEST(test_matte_dilate_erode) {
    const float radii[] = {0.0f, 0.5f, 1.0f, 1.5f, 3.0f, 5.0f, 17.3f, 100.0f};
    mcase cases[2 * COUNT(radii)];
    for (size_t k = 0; k < COUNT(radii); k++) {
        cases[2 * k] = (mcase){M_DILATE, radii[k], 0, 0};
        cases[2 * k + 1] = (mcase){M_ERODE, radii[k], 0, 0};
    }
    const mcase big[] = {{M_DILATE, 1.0f, 0, 0}, {M_ERODE, 3.0f, 0, 0}, {M_DILATE, 17.3f, 0, 0},
                         {M_ERODE, 100.0f, 0, 0}};
    run_cases(cases, COUNT(cases), big, COUNT(big));
}
END_TEST

START_TEST(test_matte_feather) {
    const float radii[] = {0.0f, 0.0005f, 0.21f, 0.5f, 1.0f, 3.0f, 17.3f, 100.0f};
    mcase cases[COUNT(radii)];
    for (size_t k = 0; k < COUNT(radii); k++) cases[k] = (mcase){M_FEATHER, radii[k], 0, 0};
    const mcase big[] = {{M_FEATHER, 1.0f, 0, 0}, {M_FEATHER, 17.3f, 0, 0}, {M_FEATHER, 100.0f, 0, 0}};
    g_feather_max_diff = 0;
    run_cases(cases, COUNT(cases), big, COUNT(big));
    printf("feather: largest |cuda - cpu| over all cases %.3g\n", g_feather_max_diff);
}
END_TEST

START_TEST(test_matte_components) {
    const long long limits[] = {-1, 0, 1, 2, 3, 4, 9, 64, 1000, 1ll << 40};
    mcase cases[2 * 2 * COUNT(limits)];
    int nc = 0;
    for (int conn = 4; conn <= 8; conn += 4)
        for (size_t k = 0; k < COUNT(limits); k++) {
            cases[nc++] = (mcase){M_FILL, 0, limits[k], conn};
            cases[nc++] = (mcase){M_ISLANDS, 0, limits[k], conn};
        }
    const mcase big[] = {{M_FILL, 0, 0, 4},   {M_FILL, 0, 50, 8},     {M_ISLANDS, 0, 5, 8},
                         {M_ISLANDS, 0, 1000, 4}};
    run_cases(cases, nc, big, COUNT(big));
}
END_TEST

START_TEST(test_matte_core_edge) {
    const mcase cases[] = {{M_CORE_EDGE, 0.0f, 0, 0}, {M_CORE_EDGE, 1.0f, 0, 0}, {M_CORE_EDGE, 3.0f, 0, 0},
                           {M_CORE_EDGE, 17.3f, 0, 0}};
    const mcase big[] = {{M_CORE_EDGE, 4.0f, 0, 0}};
    run_cases(cases, COUNT(cases), big, COUNT(big));
}
END_TEST

// Every op on inputs the random mattes do not have.
static void all_ops(const float *in, int w, int h, const char *what) {
    const mcase cases[] = {{M_THRESHOLD, 0.5f, 0, 0}, {M_DILATE, 2.0f, 0, 0},     {M_ERODE, 2.0f, 0, 0},
                           {M_DILATE, 1e6f, 0, 0},    {M_ERODE, 1e6f, 0, 0},      {M_FEATHER, 2.5f, 0, 0},
                           {M_FEATHER, 0.01f, 0, 0},  {M_FILL, 0, 0, 4},          {M_FILL, 0, 3, 8},
                           {M_ISLANDS, 0, 4, 4},      {M_ISLANDS, 0, 2, 8},       {M_CORE_EDGE, 2.0f, 0, 0}};
    for (size_t k = 0; k < COUNT(cases); k++) check_case(in, w, h, &cases[k], what);
}

START_TEST(test_matte_special_values) {
    const int w = 23, h = 19;
    const size_t n = (size_t)w * h;
    float *m = tu_alloc_f32(n);
    ref_matte_random(m, w, h, 77, 0);
    const float odd[] = {NAN, INFINITY, -INFINITY, -0.0f, 2.0f, -1.0f, 0.5f, 1e-40f};
    for (size_t i = 0; i < n; i += 7) m[i] = odd[(i / 7) % COUNT(odd)];
    all_ops(m, w, h, "special values");
    for (size_t i = 0; i < n; i++) m[i] = 0.0f;
    all_ops(m, w, h, "all background");
    for (size_t i = 0; i < n; i++) m[i] = 1.0f;
    all_ops(m, w, h, "all foreground");
    free(m);

    // A 5000-pixel line with one source pixel: squared distances up to 2.5e7,
    // beyond 2^24, where the float rounding of the distance decides "near".
    const int L = 5000;
    float *line = tu_alloc_f32(L);
    const float radii[] = {4096.5f, 4097.0f, 4099.0f, 4500.3f, 4999.0f};
    for (int erode = 0; erode < 2; erode++) {
        for (int i = 0; i < L; i++) line[i] = erode ? 1.0f : 0.0f;
        line[3] = erode ? 0.0f : 1.0f;
        for (size_t k = 0; k < COUNT(radii); k++) {
            mcase c = {erode ? M_ERODE : M_DILATE, radii[k], 0, 0};
            check_case(line, L, 1, &c, "5000x1 single source");
            check_case(line, 1, L, &c, "1x5000 single source");
        }
    }
    free(line);
}
END_TEST

// ---- suite -----------------------------------------------------------------------------------------

int main(void) {
    const TTest *tests[] = {test_matte_threshold, test_matte_dilate_erode, test_matte_feather,
                          test_matte_components, test_matte_core_edge, test_matte_special_values};
    return gpu_test_main("cuda_matte", "GPU matte tests", tests, (int)(sizeof tests / sizeof *tests), setup, teardown);
}

#else  // built without CUDA

int main(void) {
    printf("SKIP: built without CUDA; GPU matte tests not run\n");
    return 0;
}

#endif
