// test_cuda_ops.c: every CUDA op against the CPU op on the same random inputs,
// plus the CUDA-only machinery: contexts, copies, out-of-memory errors, flash
// attention at every supported head dim, CUDA graph replay == eager, image
// normalisation.
//
// Without a CUDA device (or in a build without CUDA) it prints a "SKIP:" line
// and exits 0 without running Check, so scripts/run_tests.sh counts it as
// skipped. The suite runs in Check's no-fork mode: CUDA cannot be used in a
// child forked after the parent initialised it (the device probe does).
//
// How each op is checked: inputs are drawn on the host, rounded to the GPU
// tensor's dtype (so the CPU sees exactly the values the GPU sees), uploaded
// to both backends; the GPU output is poisoned with NaN first, so an element
// a kernel forgets to write fails the comparison. Tolerances (per dtype):
// - f32 data, fp32 math: elementwise TU_TOL_F32, reductions TU_TOL_F32_LONG
//   (the GPU sums in another order; erf/exp differ by an ulp or two).
// - f16/bf16 outputs: the GPU rounds its fp32 result once to the output type,
//   so rtol is about one ulp of that type (f16 2^-11, bf16 2^-8) plus slack.
// - reduced-precision products (TF32/BF16/FP16 modes, half-type GEMMs and
//   attention): relative L2 error ||got - ref|| / ||ref|| bounds as measured
//   practice gives them (tf32 ~3e-4, bf16 1e-3..1e-2), plus a loose max-abs
//   bound that catches a wrong block hiding in a small L2 error.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/test_util.h"

#ifdef ROTO_HAVE_CUDA
#include "kernels/cuda/cuda_internal.h"
#include "kernels/cuda/cuda_kernels.h"
#include "gpu/gpu_test_main.h"

// ---- fixtures -----------------------------------------------------------------------

static rt_ctx g_cpu, g_gpu;
static tu_rng g_rng;

static void setup(void) {
    tu_cpu_ctx(&g_cpu, (size_t)768 << 20);
    roto_status st = rt_ctx_create(&g_gpu, rt_cuda_backend(), (size_t)1536 << 20);
    ck_assert_msg(st == ROTO_OK, "cuda context: %s", roto_last_error());
    ck_assert_int_eq(rt_cuda_set_precision(&g_gpu, RT_PREC_FP32), ROTO_OK);
    tu_rng_seed(&g_rng, 1234);
}

static void teardown(void) {
    rt_ctx_destroy(&g_gpu);
    rt_ctx_destroy(&g_cpu);
}

// ---- host <-> device helpers ----------------------------------------------------------

static rt_tensor gpu_new(rt_dtype dt, int nd, const int64_t *shape) {
    rt_tensor t;
    roto_status st = rt_arena_tensor(&g_gpu, &t, dt, nd, shape);
    ck_assert_msg(st == ROTO_OK, "gpu arena: %s", roto_last_error());
    return t;
}

static rt_tensor cpu_new(rt_dtype dt, int nd, const int64_t *shape) {
    rt_tensor t;
    roto_status st = rt_arena_tensor(&g_cpu, &t, dt, nd, shape);
    ck_assert_msg(st == ROTO_OK, "cpu arena: %s", roto_last_error());
    return t;
}

// Round values through dtype dt and back (what a dt tensor can hold).
static void round_to(rt_dtype dt, float *v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (dt == RT_BF16) v[i] = rt_bf16_to_f32(rt_f32_to_bf16(v[i]));
        else if (dt == RT_F16) v[i] = rt_f16_to_f32(rt_f32_to_f16(v[i]));
        else if (dt == RT_I32) v[i] = (float)(int32_t)v[i];
        else if (dt == RT_U8) v[i] = (float)(uint8_t)(v[i] < 0 ? 0 : (v[i] > 255 ? 255 : v[i]));
    }
}

// Byte extent of a (non-negatively) strided tensor from its data pointer.
static size_t extent_elems(const rt_tensor *t) {
    if (rt_numel(t) == 0) return 0;
    int64_t last = 0;
    for (int i = 0; i < t->ndim; i++) last += (t->shape[i] - 1) * t->stride[i];
    return (size_t)last + 1;
}

// Element offsets of t in logical (row-major) order.
static void logical_offsets(const rt_tensor *t, int64_t *off) {
    int64_t n[4] = {1, 1, 1, 1}, s[4] = {0, 0, 0, 0};
    int pad = 4 - t->ndim;
    for (int i = 0; i < t->ndim; i++) n[pad + i] = t->shape[i], s[pad + i] = t->stride[i];
    size_t k = 0;
    for (int64_t a = 0; a < n[0]; a++)
        for (int64_t b = 0; b < n[1]; b++)
            for (int64_t c = 0; c < n[2]; c++)
                for (int64_t d = 0; d < n[3]; d++) off[k++] = a * s[0] + b * s[1] + c * s[2] + d * s[3];
}

static float elem_to_f32(const void *base, rt_dtype dt, int64_t i) {
    switch (dt) {
    case RT_F32: return ((const float *)base)[i];
    case RT_F16: return rt_f16_to_f32(((const uint16_t *)base)[i]);
    case RT_BF16: return rt_bf16_to_f32(((const uint16_t *)base)[i]);
    case RT_I32: return (float)((const int32_t *)base)[i];
    default: return (float)((const uint8_t *)base)[i];
    }
}

static void f32_to_elem(void *base, rt_dtype dt, int64_t i, float v) {
    switch (dt) {
    case RT_F32: ((float *)base)[i] = v; break;
    case RT_F16: ((uint16_t *)base)[i] = rt_f32_to_f16(v); break;
    case RT_BF16: ((uint16_t *)base)[i] = rt_f32_to_bf16(v); break;
    case RT_I32: ((int32_t *)base)[i] = (int32_t)v; break;
    default: ((uint8_t *)base)[i] = (uint8_t)v; break;
    }
}

// Values of any tensor (CPU or GPU, strided) in logical order, as floats. Free().
static float *fetch(const rt_tensor *t) {
    size_t n = (size_t)rt_numel(t), ext = extent_elems(t), es = rt_dtype_size(t->dtype);
    float *out = tu_alloc_f32(n);
    int64_t *off = malloc((n ? n : 1) * sizeof *off);
    ck_assert_ptr_nonnull(off);
    logical_offsets(t, off);
    const void *src = t->data;
    void *tmp = NULL;
    if (t->device == RT_DEV_CUDA && ext) {
        tmp = malloc(ext * es);
        ck_assert_ptr_nonnull(tmp);
        roto_status st = rt_ctx_download(&g_gpu, tmp, t->data, ext * es);
        ck_assert_msg(st == ROTO_OK, "download: %s", roto_last_error());
        src = tmp;
    }
    for (size_t i = 0; i < n; i++) out[i] = elem_to_f32(src, t->dtype, off[i]);
    free(tmp);
    free(off);
    return out;
}

// Write values (logical order) into a tensor (CPU or GPU, strided; elements
// outside the view keep their contents).
static void put(rt_tensor *t, const float *v) {
    size_t n = (size_t)rt_numel(t), ext = extent_elems(t), es = rt_dtype_size(t->dtype);
    if (!n) return;
    int64_t *off = malloc(n * sizeof *off);
    ck_assert_ptr_nonnull(off);
    logical_offsets(t, off);
    if (t->device == RT_DEV_CUDA) {
        void *tmp = malloc(ext * es);
        ck_assert_ptr_nonnull(tmp);
        ck_assert_int_eq(rt_ctx_download(&g_gpu, tmp, t->data, ext * es), ROTO_OK);
        for (size_t i = 0; i < n; i++) f32_to_elem(tmp, t->dtype, off[i], v[i]);
        ck_assert_int_eq(rt_ctx_upload(&g_gpu, t->data, tmp, ext * es), ROTO_OK);
        free(tmp);
    } else {
        for (size_t i = 0; i < n; i++) f32_to_elem(t->data, t->dtype, off[i], v[i]);
    }
    free(off);
}

// Fill every element of a GPU tensor's extent with NaN (or 0x7f.. for ints).
static void poison(rt_tensor *t) {
    size_t ext = extent_elems(t), es = rt_dtype_size(t->dtype);
    if (!ext) return;
    unsigned char *tmp = malloc(ext * es);
    ck_assert_ptr_nonnull(tmp);
    for (size_t i = 0; i < ext; i++) {
        if (t->dtype == RT_F32 || t->dtype == RT_F16 || t->dtype == RT_BF16)
            f32_to_elem(tmp, t->dtype, (int64_t)i, NAN);
        else
            memset(tmp + i * es, 0x7f, es);
    }
    ck_assert_int_eq(rt_ctx_upload(&g_gpu, t->data, tmp, ext * es), ROTO_OK);
    free(tmp);
}

// A GPU tensor of dtype dt and an f32 CPU tensor holding the same random values.
typedef struct {
    rt_tensor g, c;
} pair;

static pair rand_pair(rt_dtype dt, int nd, const int64_t *shape, float lo, float hi) {
    pair p;
    p.g = gpu_new(dt, nd, shape);
    p.c = cpu_new(RT_F32, nd, shape);
    size_t n = (size_t)rt_numel(&p.c);
    float *v = tu_alloc_f32(n);
    tu_fill_uniform(&g_rng, v, n, lo, hi);
    round_to(dt, v, n);
    put(&p.g, v);
    memcpy(p.c.data, v, n * sizeof(float));
    free(v);
    return p;
}

static pair out_pair(rt_dtype dt, int nd, const int64_t *shape) {
    pair p;
    p.g = gpu_new(dt, nd, shape);
    p.c = cpu_new(RT_F32, nd, shape);
    poison(&p.g);
    tu_poison_f32(p.c.data, (size_t)rt_numel(&p.c));
    return p;
}

static tu_tol tol_of(rt_dtype dt) {
    if (dt == RT_BF16) return (tu_tol){1e-3, 8e-3};
    if (dt == RT_F16) return (tu_tol){1e-4, 1e-3};
    return TU_TOL_F32;
}

// Elementwise comparison of the GPU result with the CPU result.
static void expect_close(const rt_tensor *g, const rt_tensor *c, tu_tol tol, const char *what) {
    size_t n = (size_t)rt_numel(g);
    ck_assert_int_eq((int64_t)n, rt_numel(c));
    float *got = fetch(g), *ref = fetch(c);
    double *refd = malloc((n ? n : 1) * sizeof *refd);
    ck_assert_ptr_nonnull(refd);
    for (size_t i = 0; i < n; i++) refd[i] = ref[i];
    tu_check_close(got, refd, n, tol, what);
    free(refd);
    free(got);
    free(ref);
}

// Relative L2 error bound + every element written + a max-abs bound relative
// to the largest reference value.
static void expect_rel(const rt_tensor *g, const rt_tensor *c, double rel_l2, double max_rel,
                       const char *what) {
    size_t n = (size_t)rt_numel(g);
    float *got = fetch(g), *ref = fetch(c);
    double num = 0, den = 0, maxabs = 0, refmax = 0;
    size_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(!isnan(got[i]) || isnan(ref[i]), "%s: element %zu not written (NaN)", what, i);
        if (isnan(ref[i])) continue;
        double d = (double)got[i] - ref[i];
        num += d * d;
        den += (double)ref[i] * ref[i];
        if (fabs(d) > maxabs) maxabs = fabs(d), worst = i;
        if (fabs(ref[i]) > refmax) refmax = fabs(ref[i]);
    }
    double rel = den > 0 ? sqrt(num / den) : sqrt(num);
    ck_assert_msg(rel <= rel_l2, "%s: relative L2 error %.3g > %.3g", what, rel, rel_l2);
    ck_assert_msg(maxabs <= max_rel * (refmax > 0 ? refmax : 1.0),
                  "%s: element %zu got %.6g, ref %.6g (max abs err %.3g > %.3g * max|ref| %.3g)",
                  what, worst, n ? got[worst] : 0.f, n ? ref[worst] : 0.f, maxabs, max_rel, refmax);
    free(got);
    free(ref);
}

#define OK(call)                                                                      \
    do {                                                                              \
        roto_status _s = (call);                                                      \
        ck_assert_msg(_s == ROTO_OK, "%s -> %s", #call, roto_last_error());          \
    } while (0)

static const rt_dtype k_float_types[3] = {RT_F32, RT_F16, RT_BF16};

// Small mode: the host CUDA emulator (kernels/cuda/emu/run_emu_tests.sh sets
// ROTO_CUDA_EMU=1) and compute-sanitizer runs (ROTO_GPU_SMALL=1) skip the
// cases too large for them.
static int small_mode(void) {
    const char *e = getenv("ROTO_CUDA_EMU"), *s = getenv("ROTO_GPU_SMALL");
    return (e && e[0] == '1') || (s && s[0] == '1');
}

// ---- context, memory, errors ----------------------------------------------------------

START_TEST(test_context_basics) {
    int dev = -1, ma = 0, mi = 0;
    char name[128];
    OK(rt_cuda_ctx_info(&g_gpu, &dev, name, sizeof name, &ma, &mi));
    ck_assert_int_ge(dev, 0);
    ck_assert_int_ge(ma, 8);
    printf("cuda device %d: %s (sm_%d%d)\n", dev, name, ma, mi);
    int n = 0;
    OK(rt_cuda_device_count(&n));
    ck_assert_int_ge(n, 1);
    ck_assert_int_eq(rt_cuda_select_device(n + 5), ROTO_ERR_DEVICE);
    int d = -1;
    ck_assert(rt_cuda_parse_device("cuda:3", &d) && d == 3);
    ck_assert(rt_cuda_parse_device("cuda", &d) && d == 0);
    ck_assert(!rt_cuda_parse_device("cpu", &d));
    ck_assert(!rt_cuda_parse_device("cuda:x", &d));
    rt_precision p;
    ck_assert(rt_cuda_parse_precision("bf16", &p) && p == RT_PREC_BF16);
    ck_assert(!rt_cuda_parse_precision("fp8", &p));
    OK(rt_cuda_set_precision(&g_gpu, RT_PREC_TF32));
    ck_assert_int_eq(rt_cuda_get_precision(&g_gpu), RT_PREC_TF32);
    ck_assert_int_eq(rt_cuda_set_precision(&g_cpu, RT_PREC_TF32), ROTO_ERR_INVALID_ARG);
    // A CPU tensor handed to a CUDA op is refused by the op layer.
    float h[4] = {0};
    rt_tensor ct = rt_f32_1d(h, 4);
    ck_assert_int_eq(rt_fill(&g_gpu, &ct, 1.f), ROTO_ERR_INVALID_ARG);
}
END_TEST

START_TEST(test_copies_and_pinned) {
    const size_t n = 1 << 20;
    float *a = tu_alloc_f32(n), *b = tu_alloc_f32(n);
    tu_fill_uniform(&g_rng, a, n, -1, 1);
    void *d = NULL;
    OK(rt_ctx_alloc_persistent(&g_gpu, &d, n * 4));
    OK(rt_ctx_upload(&g_gpu, d, a, n * 4));
    OK(rt_ctx_download(&g_gpu, b, d, n * 4));
    ck_assert(memcmp(a, b, n * 4) == 0);
    // Pinned buffers with the asynchronous copies.
    float *pa = NULL, *pb = NULL;
    OK(rt_cuda_host_alloc((void **)&pa, n * 4));
    OK(rt_cuda_host_alloc((void **)&pb, n * 4));
    for (size_t i = 0; i < n; i++) pa[i] = a[n - 1 - i];
    OK(rt_cuda_upload_async(&g_gpu, d, pa, n * 4));
    OK(rt_cuda_download_async(&g_gpu, pb, d, n * 4));
    OK(rt_ctx_synchronize(&g_gpu));
    ck_assert(memcmp(pa, pb, n * 4) == 0);
    // Synchronous upload from pinned memory returns once pa may be reused.
    OK(rt_ctx_upload(&g_gpu, d, pa, n * 4));
    memset(pa, 0, n * 4);
    OK(rt_ctx_download(&g_gpu, b, d, n * 4));
    ck_assert(memcmp(b, pb, n * 4) == 0);
    rt_cuda_host_free(pa);
    rt_cuda_host_free(pb);
    rt_ctx_free_persistent(&g_gpu, d, n * 4);
    free(a);
    free(b);
}
END_TEST

START_TEST(test_out_of_memory) {
    // An absurd arena: a clear OOM naming the request and the device's memory.
    rt_ctx big;
    roto_status st = rt_ctx_create(&big, rt_cuda_backend(), (size_t)1 << 50);
    ck_assert_int_eq(st, ROTO_ERR_OOM);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "1125899906842624 bytes"));
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "free"));
    rt_ctx_destroy(&big);  // safe after a failed create
    void *p = NULL;
    ck_assert_int_eq(rt_ctx_alloc_persistent(&g_gpu, &p, (size_t)1 << 50), ROTO_ERR_OOM);
    ck_assert_ptr_null(p);
    // The context still works.
    int64_t s[1] = {1000};
    rt_tensor t = gpu_new(RT_F32, 1, s);
    OK(rt_fill(&g_gpu, &t, 2.5f));
    float *v = fetch(&t);
    for (int i = 0; i < 1000; i++) ck_assert_float_eq(v[i], 2.5f);
    free(v);
    // The arena's own OOM message still works on CUDA.
    rt_tensor huge;
    int64_t hs[1] = {(int64_t)1 << 40};
    ck_assert_int_eq(rt_arena_tensor(&g_gpu, &huge, RT_F32, 1, hs), ROTO_ERR_OOM);
}
END_TEST

// ---- GEMM ----------------------------------------------------------------------------------

typedef struct {
    int64_t M, K, N;
} mkn;

static void linear_case(rt_dtype dt, rt_precision prec, mkn s, int with_bias, rt_act act) {
    OK(rt_cuda_set_precision(&g_gpu, prec));
    int64_t xs[2] = {s.M, s.K}, ws[2] = {s.N, s.K}, bs[1] = {s.N}, ys[2] = {s.M, s.N};
    pair x = rand_pair(dt, 2, xs, -1, 1), w = rand_pair(dt, 2, ws, -1, 1);
    pair b = rand_pair(dt, 1, bs, -1, 1), y = out_pair(dt, 2, ys);
    OK(rt_linear(&g_gpu, &y.g, &x.g, &w.g, with_bias ? &b.g : NULL, act));
    OK(rt_linear(&g_cpu, &y.c, &x.c, &w.c, with_bias ? &b.c : NULL, act));
    char what[160];
    snprintf(what, sizeof what, "linear %s prec %d M=%lld K=%lld N=%lld bias %d act %d",
             rt_dtype_name(dt), (int)prec, (long long)s.M, (long long)s.K, (long long)s.N,
             with_bias, (int)act);
    if (dt == RT_F32 && prec == RT_PREC_FP32) expect_close(&y.g, &y.c, TU_TOL_F32_LONG, what);
    else if (dt == RT_F32 && prec == RT_PREC_TF32) expect_rel(&y.g, &y.c, 2e-3, 2e-2, what);
    else if (dt == RT_F16 || prec == RT_PREC_FP16) expect_rel(&y.g, &y.c, 2e-3, 2e-2, what);
    else expect_rel(&y.g, &y.c, 1e-2, 5e-2, what);
    rt_ctx_reset(&g_gpu);
    rt_ctx_reset(&g_cpu);
}

START_TEST(test_linear_f32) {
    const mkn shapes[] = {{1, 1, 1}, {7, 13, 5}, {65, 300, 129}, {256, 64, 256}, {33, 1024, 48},
                          {4096, 256, 64}};
    const rt_act acts[] = {RT_ACT_NONE, RT_ACT_RELU, RT_ACT_GELU, RT_ACT_SIGMOID};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        for (int a = 0; a < 4; a++)
            for (int bias = 0; bias < 2; bias++) linear_case(RT_F32, RT_PREC_FP32, shapes[i], bias, acts[a]);
}
END_TEST

START_TEST(test_linear_reduced_precision) {
    const mkn shapes[] = {{7, 13, 5}, {65, 300, 129}, {512, 256, 2048}, {100, 2048, 256}};
    const rt_act acts[] = {RT_ACT_NONE, RT_ACT_RELU, RT_ACT_GELU};
    const rt_precision precs[] = {RT_PREC_TF32, RT_PREC_BF16, RT_PREC_FP16};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++)
        for (int a = 0; a < 3; a++) {
            for (int p = 0; p < 3; p++) linear_case(RT_F32, precs[p], shapes[i], 1, acts[a]);
            linear_case(RT_BF16, RT_PREC_FP32, shapes[i], 1, acts[a]);
            linear_case(RT_F16, RT_PREC_FP32, shapes[i], a != 1, acts[a]);
        }
}
END_TEST

// Batched matmul, 3-d and 4-d, trans_b, alpha/beta, broadcast b, strided views.
static void matmul_case(rt_dtype dt, int B0, int B1, int64_t M, int64_t K, int64_t N, int trans_b,
                        float alpha, float beta, int bcast_b, int strided_a) {
    int nd = B0 > 0 ? 4 : 3;
    int64_t as[4], bsh[4], cs[4];
    int64_t Bb0 = bcast_b ? 1 : B0, Bb1 = bcast_b ? 1 : B1;
    int64_t Kb = trans_b ? N : K, Nb = trans_b ? K : N;  // b's last two dims
    if (nd == 4) {
        int64_t a4[4] = {B0, B1, M, strided_a ? K + 5 : K}, b4[4] = {Bb0, Bb1, Kb, Nb},
                c4[4] = {B0, B1, M, N};
        memcpy(as, a4, sizeof a4), memcpy(bsh, b4, sizeof b4), memcpy(cs, c4, sizeof c4);
    } else {
        int64_t a3[3] = {B1, M, strided_a ? K + 5 : K}, b3[3] = {bcast_b ? 1 : B1, Kb, Nb},
                c3[3] = {B1, M, N};
        memcpy(as, a3, sizeof a3), memcpy(bsh, b3, sizeof b3), memcpy(cs, c3, sizeof c3);
    }
    pair a = rand_pair(dt, nd, as, -1, 1), b = rand_pair(dt, nd, bsh, -1, 1);
    pair c = rand_pair(dt, nd, cs, -1, 1);  // beta reads c
    if (strided_a) {  // a view: the first K of K+5 columns
        rt_tensor ag, ac;
        OK(rt_view_slice(&ag, &a.g, nd - 1, 2, K));
        OK(rt_view_slice(&ac, &a.c, nd - 1, 2, K));
        a.g = ag, a.c = ac;
    }
    if (beta == 0.f) {
        poison(&c.g);
        tu_poison_f32(c.c.data, (size_t)rt_numel(&c.c));
    }
    OK(rt_matmul(&g_gpu, &c.g, &a.g, &b.g, trans_b, alpha, beta));
    OK(rt_matmul(&g_cpu, &c.c, &a.c, &b.c, trans_b, alpha, beta));
    char what[160];
    snprintf(what, sizeof what, "matmul %s %dx%d M=%lld K=%lld N=%lld tb=%d a=%g b=%g bc=%d sa=%d",
             rt_dtype_name(dt), B0, B1, (long long)M, (long long)K, (long long)N, trans_b,
             (double)alpha, (double)beta, bcast_b, strided_a);
    if (dt == RT_F32) expect_close(&c.g, &c.c, TU_TOL_F32_LONG, what);
    else expect_rel(&c.g, &c.c, dt == RT_F16 ? 2e-3 : 1e-2, 5e-2, what);
    rt_ctx_reset(&g_gpu);
    rt_ctx_reset(&g_cpu);
}

START_TEST(test_matmul) {
    for (int t = 0; t < 3; t++) {
        rt_dtype dt = k_float_types[t];
        for (int tb = 0; tb < 2; tb++) {
            matmul_case(dt, 0, 3, 17, 33, 9, tb, 1.f, 0.f, 0, 0);
            matmul_case(dt, 0, 5, 64, 96, 64, tb, 0.125f, 0.f, 0, 1);
            matmul_case(dt, 0, 4, 31, 40, 50, tb, 1.f, 0.f, 1, 0);      // broadcast b
            matmul_case(dt, 0, 4, 32, 40, 48, tb, 1.f, 0.f, 1, 0);      // broadcast, foldable
            matmul_case(dt, 2, 3, 20, 24, 28, tb, 2.f, 0.5f, 0, 0);     // 4-d, beta
            matmul_case(dt, 2, 2, 1, 7, 1, tb, 1.f, 1.f, 1, 1);         // 1x1 outputs
        }
    }
}
END_TEST

// The fallback kernel (used when cuBLASLt has no algorithm) against the CPU.
START_TEST(test_gemm_fallback_kernel) {
    cu_state *st = cu_get(&g_gpu);
    const mkn shapes[] = {{1, 1, 1}, {37, 53, 29}, {130, 70, 66}};
    for (size_t i = 0; i < 3; i++)
        for (int tb = 0; tb < 2; tb++) {
            mkn s = shapes[i];
            int64_t as[3] = {2, s.M, s.K}, bs[3] = {2, tb ? s.N : s.K, tb ? s.K : s.N},
                    cs[3] = {2, s.M, s.N}, bias_s[1] = {s.N};
            pair a = rand_pair(RT_F32, 3, as, -1, 1), b = rand_pair(RT_F32, 3, bs, -1, 1);
            pair c = out_pair(RT_F32, 3, cs), bias = rand_pair(RT_F32, 1, bias_s, -1, 1);
            cu_gemm_args g;
            memset(&g, 0, sizeof g);
            g.M = s.M, g.N = s.N, g.K = s.K, g.batch = 2;
            g.A = a.g.data, g.lda = s.K, g.stride_a = s.M * s.K;
            g.B = b.g.data, g.ldb = tb ? s.K : s.N, g.stride_b = s.K * s.N, g.trans_b = tb;
            g.C = c.g.data, g.ldc = s.N, g.stride_c = s.M * s.N;
            g.ab_type = g.c_type = RT_F32;
            g.alpha = 1.f;
            OK(cu_gemm_simple(st, &g));
            OK(rt_matmul(&g_cpu, &c.c, &a.c, &b.c, tb, 1.f, 0.f));
            expect_close(&c.g, &c.c, TU_TOL_F32_LONG, "gemm fallback kernel");
            // With bias and GELU, through cu_gemm on a 2-d problem vs rt_linear.
            g.batch = 1, g.trans_b = 1, g.ldb = s.K;
            g.bias = bias.g.data, g.bias_type = RT_F32, g.act = RT_ACT_GELU;
            int64_t ws2[2] = {s.N, s.K}, xs2[2] = {s.M, s.K}, ys2[2] = {s.M, s.N};
            pair w2 = rand_pair(RT_F32, 2, ws2, -1, 1), x2 = rand_pair(RT_F32, 2, xs2, -1, 1);
            pair y2 = out_pair(RT_F32, 2, ys2);
            g.A = x2.g.data, g.B = w2.g.data, g.C = y2.g.data;
            OK(cu_gemm_simple(st, &g));
            OK(rt_linear(&g_cpu, &y2.c, &x2.c, &w2.c, &bias.c, RT_ACT_GELU));
            expect_close(&y2.g, &y2.c, TU_TOL_F32_LONG, "gemm fallback kernel, bias + gelu");
            rt_ctx_reset(&g_gpu);
            rt_ctx_reset(&g_cpu);
        }
}
END_TEST

// ---- convolutions ---------------------------------------------------------------------------

typedef struct {
    int N, H, W, Cin, Cout, KH, KW, sh, sw, ph, pw, dh, dw, groups;
} conv_case;

static void run_conv(rt_dtype dt, rt_precision prec, conv_case c, int with_bias, rt_act act) {
    OK(rt_cuda_set_precision(&g_gpu, prec));
    rt_conv_params p = {c.sh, c.sw, c.ph, c.pw, c.dh, c.dw, c.groups};
    int64_t Ho = (c.H + 2 * c.ph - c.dh * (c.KH - 1) - 1) / c.sh + 1;
    int64_t Wo = (c.W + 2 * c.pw - c.dw * (c.KW - 1) - 1) / c.sw + 1;
    int64_t xs[4] = {c.N, c.H, c.W, c.Cin}, ws[4] = {c.Cout, c.KH, c.KW, c.Cin / c.groups},
            bs[1] = {c.Cout}, ys[4] = {c.N, Ho, Wo, c.Cout};
    pair x = rand_pair(dt, 4, xs, -1, 1), w = rand_pair(dt, 4, ws, -1, 1);
    pair b = rand_pair(dt, 1, bs, -1, 1), y = out_pair(dt, 4, ys);
    OK(rt_conv2d(&g_gpu, &y.g, &x.g, &w.g, with_bias ? &b.g : NULL, &p, act));
    OK(rt_conv2d(&g_cpu, &y.c, &x.c, &w.c, with_bias ? &b.c : NULL, &p, act));
    char what[200];
    snprintf(what, sizeof what,
             "conv2d %s prec %d x[%d,%d,%d,%d] k%dx%d s%d,%d p%d,%d d%d,%d g%d Cout %d act %d",
             rt_dtype_name(dt), (int)prec, c.N, c.H, c.W, c.Cin, c.KH, c.KW, c.sh, c.sw, c.ph,
             c.pw, c.dh, c.dw, c.groups, c.Cout, (int)act);
    if (dt == RT_F32 && prec == RT_PREC_FP32) expect_close(&y.g, &y.c, TU_TOL_F32_LONG, what);
    else if (dt == RT_F16) expect_rel(&y.g, &y.c, 2e-3, 2e-2, what);
    else expect_rel(&y.g, &y.c, 1e-2, 5e-2, what);
    rt_ctx_reset(&g_gpu);
    rt_ctx_reset(&g_cpu);
}

static const conv_case k_convs[] = {
    {1, 64, 64, 3, 32, 7, 7, 4, 4, 3, 3, 1, 1, 1},     // patch embed (scaled down)
    {2, 17, 23, 4, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1},     // mask downsampler step
    {1, 20, 20, 64, 64, 7, 7, 1, 1, 3, 3, 1, 1, 64},   // depthwise 7x7 (CXBlock)
    {1, 9, 11, 48, 40, 1, 1, 1, 1, 0, 0, 1, 1, 1},     // 1x1
    {1, 16, 16, 1, 4, 2, 2, 2, 2, 0, 0, 1, 1, 1},      // 2x2 s2, Cin 1
    {1, 32, 32, 1, 1, 4, 4, 4, 4, 0, 0, 1, 1, 1},      // 4x4 s4, 1 -> 1
    {1, 15, 13, 8, 12, 3, 3, 1, 1, 2, 2, 2, 2, 4},     // dilation 2, groups 4
    {3, 5, 7, 6, 9, 3, 5, 1, 2, 1, 2, 1, 1, 3},        // odd everything
};

START_TEST(test_conv2d) {
    const rt_act acts[] = {RT_ACT_NONE, RT_ACT_RELU, RT_ACT_GELU, RT_ACT_SIGMOID};
    for (size_t i = 0; i < sizeof k_convs / sizeof *k_convs; i++) {
        for (int a = 0; a < 4; a++) run_conv(RT_F32, RT_PREC_FP32, k_convs[i], a != 3, acts[a]);
        run_conv(RT_F32, RT_PREC_TF32, k_convs[i], 1, RT_ACT_NONE);
        run_conv(RT_BF16, RT_PREC_FP32, k_convs[i], 1, RT_ACT_GELU);
        run_conv(RT_F16, RT_PREC_FP32, k_convs[i], 0, RT_ACT_NONE);
    }
}
END_TEST

START_TEST(test_conv_transpose) {
    const int cases[][5] = {{1, 8, 8, 16, 4}, {2, 5, 7, 3, 6}, {1, 4, 4, 8, 2}};  // N H W Cin Cout
    for (int i = 0; i < 3; i++)
        for (int k = 1; k <= 4; k *= 2)
            for (int t = 0; t < 3; t++) {
                rt_dtype dt = k_float_types[t];
                const int *c = cases[i];
                int64_t xs[4] = {c[0], c[1], c[2], c[3]}, ws[4] = {c[3], c[4], k, k},
                        bs[1] = {c[4]}, ys[4] = {c[0], c[1] * k, c[2] * k, c[4]};
                pair x = rand_pair(dt, 4, xs, -1, 1), w = rand_pair(dt, 4, ws, -1, 1);
                pair b = rand_pair(dt, 1, bs, -1, 1), y = out_pair(dt, 4, ys);
                OK(rt_conv_transpose(&g_gpu, &y.g, &x.g, &w.g, (i & 1) ? NULL : &b.g, k));
                OK(rt_conv_transpose(&g_cpu, &y.c, &x.c, &w.c, (i & 1) ? NULL : &b.c, k));
                if (dt == RT_F32) expect_close(&y.g, &y.c, TU_TOL_F32_LONG, "conv_transpose f32");
                else expect_rel(&y.g, &y.c, 1e-2, 5e-2, "conv_transpose half");
                rt_ctx_reset(&g_gpu);
                rt_ctx_reset(&g_cpu);
            }
}
END_TEST

// ---- norms, activations, elementwise ------------------------------------------------------

START_TEST(test_layernorm) {
    const int64_t shapes[][2] = {{1, 1}, {5, 7}, {300, 256}, {33, 1152}, {2, 5000}};
    for (size_t i = 0; i < 5; i++)
        for (int t = 0; t < 3; t++)
            for (int wb = 0; wb < 4; wb++) {
                rt_dtype dt = k_float_types[t];
                int64_t C = shapes[i][1], xs[2] = {shapes[i][0], C}, ps[1] = {C};
                pair x = rand_pair(dt, 2, xs, -2, 3), w = rand_pair(dt, 1, ps, 0.5f, 1.5f);
                pair b = rand_pair(dt, 1, ps, -1, 1), y = out_pair(dt, 2, xs);
                const rt_tensor *wg = (wb & 1) ? &w.g : NULL, *wc = (wb & 1) ? &w.c : NULL;
                const rt_tensor *bg = (wb & 2) ? &b.g : NULL, *bc = (wb & 2) ? &b.c : NULL;
                OK(rt_layernorm(&g_gpu, &y.g, &x.g, wg, bg, 1e-5f));
                OK(rt_layernorm(&g_cpu, &y.c, &x.c, wc, bc, 1e-5f));
                expect_close(&y.g, &y.c, dt == RT_F32 ? TU_TOL_F32 : tol_of(dt), "layernorm");
                // In place.
                OK(rt_layernorm(&g_gpu, &x.g, &x.g, wg, bg, 1e-6f));
                OK(rt_layernorm(&g_cpu, &x.c, &x.c, wc, bc, 1e-6f));
                expect_close(&x.g, &x.c, dt == RT_F32 ? TU_TOL_F32 : tol_of(dt), "layernorm in place");
                rt_ctx_reset(&g_gpu);
                rt_ctx_reset(&g_cpu);
            }
}
END_TEST

START_TEST(test_softmax) {
    const int64_t shapes[][3] = {{1, 1, 1}, {2, 3, 7}, {4, 50, 64}, {1, 3, 1025}, {1, 2, 28736}};
    const float scales[] = {1.f, 0.125f, -2.f};
    for (size_t i = 0; i < 5; i++)
        for (int t = 0; t < 3; t++) {
            rt_dtype dt = k_float_types[t];
            float sc = scales[(i + t) % 3];
            pair x = rand_pair(dt, 3, shapes[i], -5, 5), y = out_pair(dt, 3, shapes[i]);
            OK(rt_softmax(&g_gpu, &y.g, &x.g, sc));
            OK(rt_softmax(&g_cpu, &y.c, &x.c, sc));
            expect_close(&y.g, &y.c, dt == RT_F32 ? TU_TOL_F32 : tol_of(dt), "softmax");
            OK(rt_softmax(&g_gpu, &x.g, &x.g, sc));  // in place
            OK(rt_softmax(&g_cpu, &x.c, &x.c, sc));
            expect_close(&x.g, &x.c, dt == RT_F32 ? TU_TOL_F32 : tol_of(dt), "softmax in place");
            rt_ctx_reset(&g_gpu);
            rt_ctx_reset(&g_cpu);
        }
}
END_TEST

START_TEST(test_activation_scale_fill) {
    const rt_act acts[] = {RT_ACT_NONE, RT_ACT_RELU, RT_ACT_GELU, RT_ACT_SIGMOID};
    const int64_t shapes[][2] = {{1, 1}, {3, 333}, {1000, 257}};
    for (int s = 0; s < 3; s++)
        for (int t = 0; t < 3; t++) {
            rt_dtype dt = k_float_types[t];
            tu_tol tol = dt == RT_F32 ? TU_TOL_F32 : tol_of(dt);
            for (int a = 0; a < 4; a++) {
                pair x = rand_pair(dt, 2, shapes[s], -6, 6), y = out_pair(dt, 2, shapes[s]);
                OK(rt_activation(&g_gpu, &y.g, &x.g, acts[a]));
                OK(rt_activation(&g_cpu, &y.c, &x.c, acts[a]));
                expect_close(&y.g, &y.c, tol, "activation");
                OK(rt_activation(&g_gpu, &x.g, &x.g, acts[a]));
                OK(rt_activation(&g_cpu, &x.c, &x.c, acts[a]));
                expect_close(&x.g, &x.c, tol, "activation in place");
            }
            pair x = rand_pair(dt, 2, shapes[s], -6, 6), y = out_pair(dt, 2, shapes[s]);
            OK(rt_scale(&g_gpu, &y.g, &x.g, 0.37f, -1.25f));
            OK(rt_scale(&g_cpu, &y.c, &x.c, 0.37f, -1.25f));
            expect_close(&y.g, &y.c, tol, "scale");
            poison(&y.g);
            OK(rt_fill(&g_gpu, &y.g, -3.5f));
            OK(rt_fill(&g_cpu, &y.c, -3.5f));
            expect_close(&y.g, &y.c, TU_TOL_EXACT, "fill");
            rt_ctx_reset(&g_gpu);
            rt_ctx_reset(&g_cpu);
        }
}
END_TEST

static void binary_case(rt_dtype dt, int na, const int64_t *sa, int nb, const int64_t *sb,
                        rt_binop op, int in_place) {
    int ny = na > nb ? na : nb;
    int64_t ys[4];
    for (int i = 0; i < ny; i++) {
        int ia = i - (ny - na), ib = i - (ny - nb);
        int64_t da = ia >= 0 ? sa[ia] : 1, db = ib >= 0 ? sb[ib] : 1;
        ys[i] = da == 1 ? db : da;
    }
    pair a = rand_pair(dt, na, sa, -2, 2), b = rand_pair(dt, nb, sb, -2, 2);
    pair y = in_place ? a : out_pair(dt, ny, ys);
    OK(rt_binary(&g_gpu, &y.g, &a.g, &b.g, op));
    OK(rt_binary(&g_cpu, &y.c, &a.c, &b.c, op));
    expect_close(&y.g, &y.c, dt == RT_F32 ? TU_TOL_F32 : tol_of(dt), "binary");
}

START_TEST(test_binary) {
    const int64_t s4[4] = {2, 5, 7, 33}, r1[1] = {33}, c4[4] = {2, 5, 7, 1}, m4[4] = {1, 5, 1, 33};
    const int64_t s2[2] = {64, 256}, r2[2] = {1, 256}, one[1] = {1};
    for (int t = 0; t < 3; t++)
        for (int op = 0; op < 3; op++) {
            rt_dtype dt = k_float_types[t];
            binary_case(dt, 4, s4, 4, s4, (rt_binop)op, 0);  // same shape
            binary_case(dt, 4, s4, 1, r1, (rt_binop)op, 0);  // row (bias) broadcast
            binary_case(dt, 4, s4, 4, c4, (rt_binop)op, 0);  // column broadcast
            binary_case(dt, 4, m4, 4, c4, (rt_binop)op, 0);  // both broadcast
            binary_case(dt, 1, r1, 4, s4, (rt_binop)op, 0);  // a broadcast
            binary_case(dt, 2, s2, 2, r2, (rt_binop)op, 1);  // in place
            binary_case(dt, 2, s2, 1, one, (rt_binop)op, 0); // scalar
            rt_ctx_reset(&g_gpu);
            rt_ctx_reset(&g_cpu);
        }
    // Strided a: a permuted view.
    int64_t s[3] = {6, 10, 8};
    pair a = rand_pair(RT_F32, 3, s, -1, 1), b = rand_pair(RT_F32, 3, s, -1, 1);
    int perm[3] = {1, 0, 2};
    pair av;
    OK(rt_view_permute(&av.g, &a.g, perm));
    OK(rt_view_permute(&av.c, &a.c, perm));
    rt_tensor bv_g, bv_c;
    int64_t bs[3] = {10, 6, 8};
    OK(rt_view_reshape(&bv_g, &b.g, 3, bs));
    OK(rt_view_reshape(&bv_c, &b.c, 3, bs));
    pair y = out_pair(RT_F32, 3, bs);
    OK(rt_binary(&g_gpu, &y.g, &av.g, &bv_g, RT_BIN_SUB));
    OK(rt_binary(&g_cpu, &y.c, &av.c, &bv_c, RT_BIN_SUB));
    expect_close(&y.g, &y.c, TU_TOL_F32, "binary strided a");
}
END_TEST

// ---- attention helpers: rope -----------------------------------------------------------------

START_TEST(test_rope) {
    // x as a [B, H, L, D] view of a packed [B, L, 3, H, D] buffer (the q slot).
    const int B = 2, H = 3, L = 70, D = 32, P = 16;
    for (int t = 0; t < 3; t++) {
        rt_dtype dt = k_float_types[t];
        int64_t bufs[4] = {B, L, 3 * H, D};
        pair buf = rand_pair(dt, 4, bufs, -1, 1);
        pair x;
        x.g = buf.g, x.c = buf.c;
        for (int side = 0; side < 2; side++) {
            rt_tensor *v = side ? &x.c : &x.g;
            v->ndim = 4;
            v->shape[0] = B, v->shape[1] = H, v->shape[2] = L, v->shape[3] = D;
            v->stride[0] = (int64_t)L * 3 * H * D, v->stride[1] = D, v->stride[2] = 3 * H * D,
            v->stride[3] = 1;
        }
        float *cs = tu_alloc_f32(P * D / 2), *sn = tu_alloc_f32(P * D / 2);
        rt_rope_axial_table(cs, sn, D, 4, 4, 10000.f, 1.f);
        int64_t ts[2] = {P, D / 2};
        pair ct = rand_pair(RT_F32, 2, ts, 0, 1), st = rand_pair(RT_F32, 2, ts, 0, 1);
        put(&ct.g, cs), put(&ct.c, cs), put(&st.g, sn), put(&st.c, sn);
        const int64_t nrots[] = {L, L - 6, 0};
        for (int k = 0; k < 3; k++) {
            OK(rt_rope(&g_gpu, &x.g, &ct.g, &st.g, nrots[k]));
            OK(rt_rope(&g_cpu, &x.c, &ct.c, &st.c, nrots[k]));
            // The whole packed buffer: k and v slots must be untouched too.
            expect_close(&buf.g, &buf.c, dt == RT_F32 ? TU_TOL_F32 : tol_of(dt), "rope");
            // The GPU stored dt values: give the CPU the same for the next step.
            round_to(dt, (float *)buf.c.data, (size_t)rt_numel(&buf.c));
        }
        free(cs);
        free(sn);
        rt_ctx_reset(&g_gpu);
        rt_ctx_reset(&g_cpu);
    }
}
END_TEST

// ---- layout ---------------------------------------------------------------------------------

START_TEST(test_window_ops) {
    const int cases[][5] = {{1, 14, 14, 8, 7}, {2, 13, 10, 3, 4}, {1, 64, 64, 16, 8},
                            {1, 1, 1, 5, 3}};  // N H W C ws
    for (int i = 0; i < 4; i++)
        for (int t = 0; t < 3; t++) {
            rt_dtype dt = k_float_types[t];
            const int *c = cases[i];
            int64_t nh = (c[1] + c[4] - 1) / c[4], nw = (c[2] + c[4] - 1) / c[4];
            int64_t xs[4] = {c[0], c[1], c[2], c[3]}, ws[4] = {c[0] * nh * nw, c[4], c[4], c[3]};
            pair x = rand_pair(dt, 4, xs, -1, 1), w = out_pair(dt, 4, ws), back = out_pair(dt, 4, xs);
            OK(rt_window_partition(&g_gpu, &w.g, &x.g, c[4]));
            OK(rt_window_partition(&g_cpu, &w.c, &x.c, c[4]));
            expect_close(&w.g, &w.c, TU_TOL_EXACT, "window_partition");
            OK(rt_window_unpartition(&g_gpu, &back.g, &w.g, c[4]));
            OK(rt_window_unpartition(&g_cpu, &back.c, &w.c, c[4]));
            expect_close(&back.g, &back.c, TU_TOL_EXACT, "window_unpartition");
            expect_close(&back.g, &x.c, TU_TOL_EXACT, "window round trip");
            rt_ctx_reset(&g_gpu);
            rt_ctx_reset(&g_cpu);
        }
}
END_TEST

START_TEST(test_maxpool) {
    const int64_t shapes[][4] = {{1, 2, 2, 1}, {2, 9, 7, 5}, {1, 64, 64, 96}, {1, 1, 5, 3}};
    for (int i = 0; i < 4; i++)
        for (int t = 0; t < 3; t++) {
            rt_dtype dt = k_float_types[t];
            const int64_t *s = shapes[i];
            int64_t ys[4] = {s[0], s[1] / 2, s[2] / 2, s[3]};
            pair x = rand_pair(dt, 4, s, -1, 1), y = out_pair(dt, 4, ys);
            OK(rt_maxpool2x2(&g_gpu, &y.g, &x.g));
            OK(rt_maxpool2x2(&g_cpu, &y.c, &x.c));
            expect_close(&y.g, &y.c, TU_TOL_EXACT, "maxpool2x2");
            rt_ctx_reset(&g_gpu);
            rt_ctx_reset(&g_cpu);
        }
}
END_TEST

START_TEST(test_copy_and_concat) {
    // Permute views with every dtype conversion.
    int64_t s[4] = {3, 5, 7, 9};
    int perm[4] = {0, 2, 1, 3};
    for (int ti = 0; ti < 3; ti++)
        for (int to = 0; to < 3; to++) {
            rt_dtype di = k_float_types[ti], dout = k_float_types[to];
            pair x = rand_pair(di, 4, s, -3, 3);
            pair xv;
            OK(rt_view_permute(&xv.g, &x.g, perm));
            OK(rt_view_permute(&xv.c, &x.c, perm));
            int64_t ys[4] = {3, 7, 5, 9};
            pair y = out_pair(dout, 4, ys);
            OK(rt_copy(&g_gpu, &y.g, &xv.g));
            OK(rt_copy(&g_cpu, &y.c, &xv.c));
            // The CPU output is f32; round it to dout like the GPU's store.
            size_t n = (size_t)rt_numel(&y.c);
            round_to(dout, (float *)y.c.data, n);
            expect_close(&y.g, &y.c, TU_TOL_EXACT, "copy with conversion");
            rt_ctx_reset(&g_gpu);
            rt_ctx_reset(&g_cpu);
        }
    // Slice views, same dtype (raw moves), i32 too.
    int64_t s2[3] = {6, 10, 8};
    pair a = rand_pair(RT_I32, 3, s2, 0, 1000);
    pair av;
    OK(rt_view_slice(&av.g, &a.g, 1, 3, 5));
    OK(rt_view_slice(&av.c, &a.c, 1, 3, 5));
    int64_t ys2[3] = {6, 5, 8};
    rt_tensor yg = gpu_new(RT_I32, 3, ys2);
    poison(&yg);
    OK(rt_copy(&g_gpu, &yg, &av.g));
    expect_close(&yg, &av.c, TU_TOL_EXACT, "copy i32 slice");
    // Concat along each dim, negative dim too, with strided inputs.
    for (int dim = -1; dim < 4; dim++) {
        int d = dim < 0 ? 3 : dim;
        int64_t s1[4] = {2, 3, 4, 5}, s2b[4] = {2, 3, 4, 5};
        s2b[d] = 2;
        pair p1 = rand_pair(RT_BF16, 4, s1, -1, 1), p2 = rand_pair(RT_BF16, 4, s2b, -1, 1);
        int64_t s3[4] = {2, 3, 4, 5};
        s3[d] = 7;
        pair big = rand_pair(RT_BF16, 4, s3, -1, 1);
        pair p3;  // a strided slice of `big` along d (or dim 1 when d == 1 is the concat dim)
        OK(rt_view_slice(&p3.g, &big.g, d, 1, 3));
        OK(rt_view_slice(&p3.c, &big.c, d, 1, 3));
        int64_t ys3[4] = {2, 3, 4, 5};
        ys3[d] = s1[d] + 2 + 3;
        pair y = out_pair(RT_BF16, 4, ys3);
        const rt_tensor *xg[3] = {&p1.g, &p2.g, &p3.g}, *xc[3] = {&p1.c, &p2.c, &p3.c};
        OK(rt_concat(&g_gpu, &y.g, xg, 3, dim));
        OK(rt_concat(&g_cpu, &y.c, xc, 3, dim));
        expect_close(&y.g, &y.c, TU_TOL_EXACT, "concat");
        rt_ctx_reset(&g_gpu);
        rt_ctx_reset(&g_cpu);
    }
}
END_TEST

// ---- interpolate -----------------------------------------------------------------------------

START_TEST(test_interpolate) {
    const int sizes[][4] = {{8, 8, 16, 16}, {7, 5, 13, 11}, {64, 64, 16, 16}, {37, 23, 256, 9},
                            {3, 3, 123, 2}, {1, 1, 4, 3}, {100, 80, 100, 80}, {9, 9, 1, 1}};
    for (int i = 0; i < 8; i++)
        for (int mode = 0; mode < 3; mode++)
            for (int ac = 0; ac < 2; ac++)
                for (int aa = 0; aa < 2; aa++) {
                    if (mode == RT_INTERP_NEAREST && (ac || aa)) continue;
                    rt_interp_params p = {(rt_interp_mode)mode, ac, aa, aa ? -0.5f : -0.75f};
                    rt_dtype dt = k_float_types[(i + mode) % 3];
                    int64_t xs[4] = {2, sizes[i][0], sizes[i][1], 3};
                    int64_t ys[4] = {2, sizes[i][2], sizes[i][3], 3};
                    pair x = rand_pair(dt, 4, xs, -1, 1), y = out_pair(dt, 4, ys);
                    OK(rt_interpolate(&g_gpu, &y.g, &x.g, &p));
                    // The CPU computes in f32: run it on the f32 copy and round.
                    OK(rt_interpolate(&g_cpu, &y.c, &x.c, &p));
                    if (dt != RT_F32) round_to(dt, (float *)y.c.data, (size_t)rt_numel(&y.c));
                    char what[128];
                    snprintf(what, sizeof what, "interpolate %s mode %d ac %d aa %d %dx%d->%dx%d",
                             rt_dtype_name(dt), mode, ac, aa, sizes[i][0], sizes[i][1],
                             sizes[i][2], sizes[i][3]);
                    // Same taps and summation order: equal up to an ulp (half: one rounding step).
                    tu_tol tol = dt == RT_F32 ? (tu_tol){1e-6, 1e-5} : tol_of(dt);
                    expect_close(&y.g, &y.c, tol, what);
                    rt_ctx_reset(&g_gpu);
                    rt_ctx_reset(&g_cpu);
                }
}
END_TEST

// ---- connected components ---------------------------------------------------------------------

START_TEST(test_connected_components) {
    const int sizes[][2] = {{1, 1}, {5, 7}, {64, 64}, {256, 256}, {100, 3}, {513, 1031}};
    for (int i = 0; i < 6; i++)
        for (int density = 0; density < 3; density++) {
            int H = sizes[i][0], W = sizes[i][1];
            int64_t ms[2] = {H, W};
            float *m = tu_alloc_f32((size_t)H * W);
            // Blobs: threshold a smoothed random field, or sparse noise.
            float thr = density == 0 ? 0.9f : (density == 1 ? 0.5f : 0.1f);
            for (int p = 0; p < H * W; p++) m[p] = tu_rng_uniform(&g_rng) > thr ? 1.f : 0.f;
            pair mask;
            mask.g = gpu_new(RT_U8, 2, ms);
            mask.c = cpu_new(RT_U8, 2, ms);
            put(&mask.g, m), put(&mask.c, m);
            pair lab = {gpu_new(RT_I32, 2, ms), cpu_new(RT_I32, 2, ms)};
            pair area = {gpu_new(RT_I32, 2, ms), cpu_new(RT_I32, 2, ms)};
            poison(&lab.g), poison(&area.g);
            int ng = -1, nc = -2;
            OK(rt_connected_components(&g_gpu, &lab.g, &area.g, &mask.g, &ng));
            OK(rt_connected_components(&g_cpu, &lab.c, &area.c, &mask.c, &nc));
            ck_assert_int_eq(ng, nc);
            expect_close(&lab.g, &lab.c, TU_TOL_EXACT, "ccl labels");
            expect_close(&area.g, &area.c, TU_TOL_EXACT, "ccl areas");
            // Without areas and count.
            poison(&lab.g);
            OK(rt_connected_components(&g_gpu, &lab.g, NULL, &mask.g, NULL));
            expect_close(&lab.g, &lab.c, TU_TOL_EXACT, "ccl labels (no areas)");
            free(m);
            rt_ctx_reset(&g_gpu);
            rt_ctx_reset(&g_cpu);
        }
    // A mask view with a row stride (a slice of a wider mask).
    int64_t ws[2] = {40, 50};
    float *m = tu_alloc_f32(40 * 50);
    for (int p = 0; p < 2000; p++) m[p] = tu_rng_uniform(&g_rng) > 0.5 ? 1.f : 0.f;
    pair wide = {gpu_new(RT_U8, 2, ws), cpu_new(RT_U8, 2, ws)};
    put(&wide.g, m), put(&wide.c, m);
    pair mv;
    OK(rt_view_slice(&mv.g, &wide.g, 1, 5, 33));
    OK(rt_view_slice(&mv.c, &wide.c, 1, 5, 33));
    int64_t ls[2] = {40, 33};
    pair lab = {gpu_new(RT_I32, 2, ls), cpu_new(RT_I32, 2, ls)};
    int ng = -1, nc = -2;
    OK(rt_connected_components(&g_gpu, &lab.g, NULL, &mv.g, &ng));
    OK(rt_connected_components(&g_cpu, &lab.c, NULL, &mv.c, &nc));
    ck_assert_int_eq(ng, nc);
    expect_close(&lab.g, &lab.c, TU_TOL_EXACT, "ccl strided mask");
    free(m);
}
END_TEST

// ---- attention ----------------------------------------------------------------------------------

// q, k, v as [B, H, L, D] views of packed [B, L, 3, H, D] buffers (when
// Lq == Lk) or separate contiguous tensors; out contiguous.
typedef struct {
    int B, H, Lq, Lk, D;
    int packed, bias_mode;  // bias: 0 none, 1 random, 2 random + masked keys + batch 0 all masked
} attn_case;

static rt_tensor heads(const rt_tensor *buf, int B, int L, int slot, int H, int D) {
    rt_tensor t = *buf;
    t.data = (char *)buf->data + (size_t)slot * H * D * rt_dtype_size(buf->dtype);
    t.ndim = 4;
    t.shape[0] = B, t.shape[1] = H, t.shape[2] = L, t.shape[3] = D;
    t.stride[0] = (int64_t)L * 3 * H * D, t.stride[1] = D, t.stride[2] = 3 * H * D, t.stride[3] = 1;
    return t;
}

// path: 0 auto, 1 flash, 2 naive. prec applies to f32 inputs.
static void attn_run(rt_dtype dt, rt_precision prec, attn_case c, int path) {
    OK(rt_cuda_set_precision(&g_gpu, prec));
    pair q, k, v;
    if (c.packed) {
        int64_t bs[4] = {c.B, c.Lq, 3 * c.H, c.D};
        pair buf = rand_pair(dt, 4, bs, -1, 1);
        q.g = heads(&buf.g, c.B, c.Lq, 0, c.H, c.D), q.c = heads(&buf.c, c.B, c.Lq, 0, c.H, c.D);
        k.g = heads(&buf.g, c.B, c.Lq, 1, c.H, c.D), k.c = heads(&buf.c, c.B, c.Lq, 1, c.H, c.D);
        v.g = heads(&buf.g, c.B, c.Lq, 2, c.H, c.D), v.c = heads(&buf.c, c.B, c.Lq, 2, c.H, c.D);
    } else {
        int64_t qs[4] = {c.B, c.H, c.Lq, c.D}, ks[4] = {c.B, c.H, c.Lk, c.D};
        q = rand_pair(dt, 4, qs, -2, 2);  // wider q: peakier softmax
        k = rand_pair(dt, 4, ks, -1, 1);
        v = rand_pair(dt, 4, ks, -1, 1);
    }
    int64_t os[4] = {c.B, c.H, c.Lq, c.D}, bs2[2] = {c.B, c.Lk};
    pair out = out_pair(dt, 4, os);
    pair bias = rand_pair(RT_F32, 2, bs2, -1, 1);
    if (c.bias_mode == 2) {
        float *bv = fetch(&bias.c);
        for (int b = 0; b < c.B; b++)
            for (int j = 0; j < c.Lk; j++)
                if (b == 0 || j % 5 == 1) bv[(size_t)b * c.Lk + j] = -INFINITY;
        put(&bias.g, bv), put(&bias.c, bv);
        free(bv);
    }
    const rt_tensor *bg = c.bias_mode ? &bias.g : NULL, *bc = c.bias_mode ? &bias.c : NULL;
    float scale = 1.f / sqrtf((float)c.D);
    roto_status st = cu_attention_path(&g_gpu, &out.g, &q.g, &k.g, &v.g, bg, scale, path);
    ck_assert_msg(st == ROTO_OK, "attention path %d %s D=%d: %s", path, rt_dtype_name(dt), c.D,
                  roto_last_error());
    OK(rt_attention(&g_cpu, &out.c, &q.c, &k.c, &v.c, bc, scale));
    char what[160];
    snprintf(what, sizeof what, "attention path %d %s prec %d B%d H%d Lq%d Lk%d D%d packed %d bias %d",
             path, rt_dtype_name(dt), (int)prec, c.B, c.H, c.Lq, c.Lk, c.D, c.packed, c.bias_mode);
    int reduced = dt != RT_F32 || prec == RT_PREC_BF16 || prec == RT_PREC_FP16;
    int bf = dt == RT_BF16 || (dt == RT_F32 && prec == RT_PREC_BF16);
    if (!reduced && prec == RT_PREC_FP32) expect_close(&out.g, &out.c, TU_TOL_F32_LONG, what);
    else if (!reduced) expect_rel(&out.g, &out.c, 3e-3, 3e-2, what);  // tf32 naive
    else expect_rel(&out.g, &out.c, bf ? 1.5e-2 : 3e-3, bf ? 8e-2 : 2e-2, what);
    rt_ctx_reset(&g_gpu);
    rt_ctx_reset(&g_cpu);
}

START_TEST(test_attention_flash_head_dims) {
    const int dims[] = {16, 32, 56, 64, 72, 96, 128, 256};
    for (int i = 0; i < 8; i++)
        for (int t = 1; t < 3; t++) {  // f16, bf16
            rt_dtype dt = k_float_types[t];
            int D = dims[i];
            attn_run(dt, RT_PREC_FP32, (attn_case){2, 3, 77, 131, D, 0, 0}, 1);
            attn_run(dt, RT_PREC_FP32, (attn_case){1, 2, 64, 64, D, 1, 1}, 1);
            attn_run(dt, RT_PREC_FP32, (attn_case){2, 1, 5, 300, D, 0, 2}, 1);
            attn_run(dt, RT_PREC_FP32, (attn_case){1, 1, 1, 1, D, 0, 0}, 1);
            // Split-KV: few query blocks, many keys.
            attn_run(dt, RT_PREC_FP32, (attn_case){1, 1, 100, 3000, D, 0, 1}, 1);
        }
}
END_TEST

START_TEST(test_attention_naive_and_f32) {
    const int dims[] = {8, 16, 24, 32, 56, 64, 96, 256};
    for (int i = 0; i < 8; i++) {
        int D = dims[i];
        attn_run(RT_F32, RT_PREC_FP32, (attn_case){2, 3, 77, 131, D, 0, 2}, 0);   // naive fp32
        attn_run(RT_F32, RT_PREC_FP32, (attn_case){1, 2, 49, 49, D, 1, 0}, 0);
        attn_run(RT_BF16, RT_PREC_FP32, (attn_case){2, 2, 70, 90, D, 0, 1}, 2);   // naive bf16
        attn_run(RT_F16, RT_PREC_FP32, (attn_case){1, 2, 33, 65, D, 1, 0}, 2);
        attn_run(RT_F32, RT_PREC_BF16, (attn_case){2, 2, 70, 90, D, 0, 2}, 0);    // f32 via flash
        attn_run(RT_F32, RT_PREC_FP16, (attn_case){1, 1, 130, 2500, D, 0, 0}, 0); // + split
        attn_run(RT_F32, RT_PREC_TF32, (attn_case){1, 2, 40, 60, D, 0, 1}, 0);
    }
    // Head dims the flash kernel does not take run naive under path 0.
    attn_run(RT_BF16, RT_PREC_FP32, (attn_case){1, 2, 20, 30, 12, 0, 1}, 0);
    attn_run(RT_F16, RT_PREC_FP32, (attn_case){1, 2, 20, 30, 3, 0, 0}, 0);
}
END_TEST

// SAM 2.1 memory attention size: flash vs the naive GPU path (the CPU op would
// take too long here), bf16.
START_TEST(test_attention_memory_shape) {
    if (small_mode()) {
        printf("test_attention_memory_shape: skipped in small mode (emulator, sanitizer)\n");
        return;
    }
    const int Lq = 4096, Lk = 28736, D = 256;
    int64_t qs[4] = {1, 1, Lq, D}, ks[4] = {1, 1, Lk, D};
    rt_tensor q = gpu_new(RT_BF16, 4, qs), k = gpu_new(RT_BF16, 4, ks), v = gpu_new(RT_BF16, 4, ks);
    float *h = tu_alloc_f32((size_t)Lk * D);
    tu_fill_uniform(&g_rng, h, (size_t)Lq * D, -2, 2);
    put(&q, h);
    tu_fill_uniform(&g_rng, h, (size_t)Lk * D, -1, 1);
    put(&k, h);
    tu_fill_uniform(&g_rng, h, (size_t)Lk * D, -1, 1);
    put(&v, h);
    free(h);
    rt_tensor of = gpu_new(RT_BF16, 4, qs), on = gpu_new(RT_F32, 4, qs);
    poison(&of);
    poison(&on);
    float scale = 1.f / 16.f;
    OK(cu_attention_path(&g_gpu, &of, &q, &k, &v, NULL, scale, 1));
    // The naive path in f32 output: same bf16 inputs, fp32 S and softmax.
    rt_tensor qf = gpu_new(RT_F32, 4, qs), kf = gpu_new(RT_F32, 4, ks), vf = gpu_new(RT_F32, 4, ks);
    OK(rt_copy(&g_gpu, &qf, &q));
    OK(rt_copy(&g_gpu, &kf, &k));
    OK(rt_copy(&g_gpu, &vf, &v));
    OK(rt_cuda_set_precision(&g_gpu, RT_PREC_FP32));
    OK(cu_attention_path(&g_gpu, &on, &qf, &kf, &vf, NULL, scale, 2));
    expect_rel(&of, &on, 1.5e-2, 8e-2, "memory attention flash vs naive");
}
END_TEST

// ---- CUDA graphs ---------------------------------------------------------------------------------

typedef struct {
    rt_tensor x, w, b, lw, lb, y1, y2, y3, qb, att, up, cw, cb, y4;
} graph_net;

static void graph_net_init(graph_net *n) {
    int64_t xs[2] = {64, 96}, ws[2] = {128, 96}, bs[1] = {128}, ys[2] = {64, 128};
    int64_t qs[4] = {1, 2, 64, 64}, us[4] = {1, 16, 16, 128}, cws[4] = {32, 3, 3, 128},
            cbs[1] = {32}, y4s[4] = {1, 16, 16, 32};
    n->x = gpu_new(RT_F32, 2, xs);
    n->w = rand_pair(RT_F32, 2, ws, -0.3f, 0.3f).g;
    n->b = rand_pair(RT_F32, 1, bs, -1, 1).g;
    n->lw = rand_pair(RT_F32, 1, bs, 0.5f, 1.5f).g;
    n->lb = rand_pair(RT_F32, 1, bs, -1, 1).g;
    n->y1 = gpu_new(RT_F32, 2, ys);
    n->y2 = gpu_new(RT_F32, 2, ys);
    n->y3 = gpu_new(RT_F32, 2, ys);
    n->qb = gpu_new(RT_BF16, 4, qs);
    n->att = gpu_new(RT_BF16, 4, qs);
    n->up = gpu_new(RT_F32, 4, us);
    n->cw = rand_pair(RT_F32, 4, cws, -0.1f, 0.1f).g;
    n->cb = rand_pair(RT_F32, 1, cbs, -1, 1).g;
    n->y4 = gpu_new(RT_F32, 4, y4s);
}

// linear+GELU, layernorm, bf16 copy, flash attention, add, bilinear x2, conv.
static roto_status graph_net_run(graph_net *n) {
    rt_ctx *c = &g_gpu;
    ROTO_TRY(rt_linear(c, &n->y1, &n->x, &n->w, &n->b, RT_ACT_GELU));
    ROTO_TRY(rt_layernorm(c, &n->y2, &n->y1, &n->lw, &n->lb, 1e-6f));
    rt_tensor y2v;
    int64_t s4[4] = {1, 2, 64, 64};
    ROTO_TRY(rt_view_reshape(&y2v, &n->y2, 4, s4));
    ROTO_TRY(rt_copy(c, &n->qb, &y2v));
    ROTO_TRY(cu_attention_path(c, &n->att, &n->qb, &n->qb, &n->qb, NULL, 0.125f, 1));
    rt_tensor attf;
    ROTO_TRY(rt_view_reshape(&attf, &n->y3, 4, s4));
    ROTO_TRY(rt_copy(c, &attf, &n->att));
    ROTO_TRY(rt_binary(c, &n->y3, &n->y3, &n->y1, RT_BIN_ADD));
    rt_tensor y3m;
    int64_t ms[4] = {1, 8, 8, 128};
    ROTO_TRY(rt_view_reshape(&y3m, &n->y3, 4, ms));
    rt_interp_params ip = {RT_INTERP_BILINEAR, 0, 0, -0.75f};
    ROTO_TRY(rt_interpolate(c, &n->up, &y3m, &ip));
    rt_conv_params cp = {1, 1, 1, 1, 1, 1, 1};
    ROTO_TRY(rt_conv2d(c, &n->y4, &n->up, &n->cw, &n->cb, &cp, RT_ACT_RELU));
    return ROTO_OK;
}

START_TEST(test_cuda_graph_replay) {
    graph_net n;
    graph_net_init(&n);
    size_t nx = 64 * 96;
    float *xa = tu_alloc_f32(nx), *xb = tu_alloc_f32(nx);
    tu_fill_uniform(&g_rng, xa, nx, -1, 1);
    tu_fill_uniform(&g_rng, xb, nx, -1, 1);
    // Eager warm-up on input A.
    put(&n.x, xa);
    OK(graph_net_run(&n));
    float *eager_a = fetch(&n.y4);
    // Capture.
    OK(rt_cuda_graph_begin(&g_gpu));
    roto_status st = graph_net_run(&n);
    rt_cuda_graph *g = NULL;
    roto_status st2 = rt_cuda_graph_end(&g_gpu, &g);
    ck_assert_msg(st == ROTO_OK, "ops in capture: %s", roto_last_error());
    ck_assert_msg(st2 == ROTO_OK, "graph end: %s", roto_last_error());
    // Replay on input B; compare with an eager run on B. The same kernels and
    // cuBLASLt/cuDNN algorithms run both times, so the results agree to the
    // bit unless a library algorithm reduces with atomics; allow an ulp or so.
    put(&n.x, xb);
    OK(rt_cuda_graph_launch(&g_gpu, g));
    OK(rt_ctx_synchronize(&g_gpu));
    float *graph_b = fetch(&n.y4);
    poison(&n.y4);
    OK(graph_net_run(&n));
    float *eager_b = fetch(&n.y4);
    size_t ny = (size_t)rt_numel(&n.y4);
    int differs_from_a = 0;
    for (size_t i = 0; i < ny; i++) {
        ck_assert_msg(!isnan(graph_b[i]), "graph replay left element %zu unwritten", i);
        ck_assert_msg(fabsf(graph_b[i] - eager_b[i]) <= 1e-6f + 1e-5f * fabsf(eager_b[i]),
                      "graph replay differs at %zu: %.9g vs eager %.9g", i, graph_b[i], eager_b[i]);
        differs_from_a |= graph_b[i] != eager_a[i];
    }
    ck_assert_msg(differs_from_a, "the replay did not see the new input");
    // Replays are repeatable.
    poison(&n.y4);
    OK(rt_cuda_graph_launch(&g_gpu, g));
    OK(rt_cuda_graph_launch(&g_gpu, g));
    float *again = fetch(&n.y4);
    for (size_t i = 0; i < ny; i++)
        ck_assert_msg(fabsf(again[i] - graph_b[i]) <= 1e-6f + 1e-5f * fabsf(graph_b[i]),
                      "repeated replay differs at %zu", i);
    rt_cuda_graph_destroy(g);
    free(again), free(graph_b), free(eager_b), free(eager_a), free(xa), free(xb);
}
END_TEST

START_TEST(test_cuda_graph_refusals) {
    int64_t ms[2] = {32, 32};
    rt_tensor mask = gpu_new(RT_U8, 2, ms), lab = gpu_new(RT_I32, 2, ms);
    float *m = tu_alloc_f32(32 * 32);
    for (int i = 0; i < 32 * 32; i++) m[i] = (float)((i / 7) % 2);
    put(&mask, m);
    free(m);
    int n = 0;
    OK(rt_connected_components(&g_gpu, &lab, NULL, &mask, &n));  // warm-up (scratch)
    int64_t xs[4] = {1, 64, 64, 8}, ys[4] = {1, 2048, 2048, 8};
    rt_tensor x = gpu_new(RT_F32, 4, xs), y = gpu_new(RT_F32, 4, ys);
    OK(rt_fill(&g_gpu, &x, 1.f));
    OK(rt_cuda_graph_begin(&g_gpu));
    ck_assert_int_eq(rt_cuda_graph_begin(&g_gpu), ROTO_ERR_INVALID_ARG);  // nested
    // A host count cannot be captured; without it the op is capturable.
    ck_assert_int_eq(rt_connected_components(&g_gpu, &lab, NULL, &mask, &n), ROTO_ERR_INVALID_ARG);
    OK(rt_connected_components(&g_gpu, &lab, NULL, &mask, NULL));
    // Synchronising and growing scratch are refused with a clear message.
    ck_assert_int_eq(rt_ctx_synchronize(&g_gpu), ROTO_ERR_INVALID_ARG);
    rt_interp_params ip = {RT_INTERP_BILINEAR, 0, 0, -0.75f};
    ck_assert_int_eq(rt_interpolate(&g_gpu, &y, &x, &ip), ROTO_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "graph capture"));
    rt_cuda_graph *g = NULL;
    OK(rt_cuda_graph_end(&g_gpu, &g));
    OK(rt_cuda_graph_launch(&g_gpu, g));
    OK(rt_ctx_synchronize(&g_gpu));
    rt_cuda_graph_destroy(g);
    ck_assert_int_eq(rt_cuda_graph_end(&g_gpu, &g), ROTO_ERR_INVALID_ARG);  // none open
}
END_TEST

// ---- image normalisation -------------------------------------------------------------------------

START_TEST(test_normalize_image) {
    const float mean[3] = {0.485f, 0.456f, 0.406f}, stdv[3] = {0.229f, 0.224f, 0.225f};
    const int W = 37, H = 19;
    for (int type = 0; type < 4; type++)
        for (int ch = 3; ch <= 4; ch++) {
            static const size_t sb[4] = {1, 2, 2, 4};
            size_t row = (size_t)W * ch * sb[type] + 12 * sb[type];  // padded rows
            unsigned char *img = calloc(row * H, 1);
            float *ref = tu_alloc_f32((size_t)H * W * 3);
            const float maxv = type == 0 ? 255.f : (type == 1 ? 65535.f : 1.f);
            for (int r = 0; r < H; r++)
                for (int c = 0; c < W; c++)
                    for (int k = 0; k < ch; k++) {
                        unsigned char *p = img + r * row + ((size_t)c * ch + k) * sb[type];
                        float v;
                        if (type == 0) v = (float)(*p = (unsigned char)tu_rng_int(&g_rng, 0, 255));
                        else if (type == 1) {
                            uint16_t u = (uint16_t)tu_rng_int(&g_rng, 0, 65535);
                            memcpy(p, &u, 2);
                            v = u;
                        } else if (type == 2) {
                            uint16_t u = rt_f32_to_f16((float)tu_rng_uniform(&g_rng));
                            memcpy(p, &u, 2);
                            v = rt_f16_to_f32(u);
                        } else {
                            v = (float)tu_rng_uniform(&g_rng);
                            memcpy(p, &v, 4);
                        }
                        if (k < 3) ref[((size_t)r * W + c) * 3 + k] = (v / maxv - mean[k]) / stdv[k];
                    }
            void *d = NULL;
            OK(rt_ctx_alloc_persistent(&g_gpu, &d, row * H));
            OK(rt_ctx_upload(&g_gpu, d, img, row * H));
            int64_t ys[4] = {1, H, W, 3};
            rt_tensor y = gpu_new(RT_F32, 4, ys);
            poison(&y);
            OK(rt_cuda_normalize_image(&g_gpu, &y, d, (rt_pixel_type)type, W, H, ch, row, mean, stdv));
            rt_tensor yc = rt_f32_4d(ref, 1, H, W, 3);
            expect_close(&y, &yc, TU_TOL_F32, "normalize_image");
            // Bad arguments are refused.
            ck_assert_int_eq(rt_cuda_normalize_image(&g_gpu, &y, d, (rt_pixel_type)type, W, H, 2,
                                                     row, mean, stdv),
                             ROTO_ERR_INVALID_ARG);
            ck_assert_int_eq(rt_cuda_normalize_image(&g_gpu, &y, d, (rt_pixel_type)type, W + 1, H,
                                                     ch, row, mean, stdv),
                             ROTO_ERR_SHAPE);  // y is [1, H, W, 3], not W + 1 wide
            rt_ctx_free_persistent(&g_gpu, d, row * H);
            free(img);
            free(ref);
            rt_ctx_reset(&g_gpu);
        }
}
END_TEST

// ---- suite -----------------------------------------------------------------------------------------

int main(void) {
    const TTest *tests[] = {
        test_context_basics, test_copies_and_pinned, test_out_of_memory, test_linear_f32,
        test_linear_reduced_precision, test_matmul, test_gemm_fallback_kernel, test_conv2d,
        test_conv_transpose, test_layernorm, test_softmax, test_activation_scale_fill,
        test_binary, test_rope, test_window_ops, test_maxpool, test_copy_and_concat,
        test_interpolate, test_connected_components, test_attention_flash_head_dims,
        test_attention_naive_and_f32, test_attention_memory_shape, test_cuda_graph_replay,
        test_cuda_graph_refusals, test_normalize_image,
    };
    return gpu_test_main("cuda_ops", "GPU tests", tests, (int)(sizeof tests / sizeof *tests), setup, teardown);
}

#else  // built without CUDA

int main(void) {
    printf("SKIP: built without CUDA; GPU tests not run\n");
    return 0;
}

#endif
