// test_norm.c: rt_layernorm, rt_activation and rt_softmax on the CPU against the
// fp64 references in tests/ref/ref_norm.c, plus the op layer's argument checks.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref_norm.h"
#include "util/test_util.h"

// LayerNorm of rows x C random values (offset `mean`, spread `std`), with the
// given parameters present or not, out of place and in place.
static void check_layernorm(rt_ctx *ctx, tu_rng *rng, int64_t rows, int64_t C, float mean,
                            float std, int use_w, int use_b, tu_tol tol) {
    const size_t n = (size_t)(rows * C);
    float *x = tu_alloc_f32(n), *y = tu_alloc_f32(n), *w = tu_alloc_f32(C), *b = tu_alloc_f32(C);
    double *ref = malloc(sizeof(double) * n);
    tu_fill_normal(rng, x, n, mean, std);
    tu_fill_uniform(rng, w, C, 0.5f, 1.5f);
    tu_fill_uniform(rng, b, C, -1.0f, 1.0f);
    rt_tensor tx = rt_f32_2d(x, rows, C), ty = rt_f32_2d(y, rows, C);
    rt_tensor tw = rt_f32_1d(w, C), tb = rt_f32_1d(b, C);
    const float eps = 1e-6f;
    ref_layernorm(ref, x, rows, C, use_w ? w : NULL, use_b ? b : NULL, eps);
    char what[128];
    snprintf(what, sizeof what, "layernorm rows=%lld C=%lld mean=%g std=%g w=%d b=%d",
             (long long)rows, (long long)C, (double)mean, (double)std, use_w, use_b);
    tu_poison_f32(y, n);
    ck_assert_int_eq(rt_layernorm(ctx, &ty, &tx, use_w ? &tw : NULL, use_b ? &tb : NULL, eps),
                     ROTO_OK);
    tu_check_close(y, ref, n, tol, what);
    // In place gives the same result.
    ck_assert_int_eq(rt_layernorm(ctx, &tx, &tx, use_w ? &tw : NULL, use_b ? &tb : NULL, eps),
                     ROTO_OK);
    tu_check_close(x, ref, n, tol, what);
    free(x), free(y), free(w), free(b), free(ref);
}

START_TEST(test_layernorm_sizes) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    tu_rng rng;
    tu_rng_seed(&rng, 1);
    const int64_t Cs[] = {1, 2, 3, 15, 16, 17, 96, 257, 1024};
    for (size_t i = 0; i < sizeof Cs / sizeof *Cs; i++)
        for (int wb = 0; wb < 4; wb++)
            check_layernorm(&ctx, &rng, 1 + (int64_t)(i * 7 % 13), Cs[i], 0.3f, 2.0f, wb & 1,
                            wb >> 1, TU_TOL_F32);
    // Many rows (several OpenMP chunks), NHWC LayerNorm2d style: [N*H*W, C].
    check_layernorm(&ctx, &rng, 4096, 64, 0.0f, 1.0f, 1, 1, TU_TOL_F32);
    check_layernorm(&ctx, &rng, 333, 256, -2.0f, 0.5f, 1, 0, TU_TOL_F32);
    rt_ctx_destroy(&ctx);
}
END_TEST

START_TEST(test_layernorm_large_offset) {
    // A large common offset with a tiny spread: a naive E[x^2] - E[x]^2 or a
    // float mean subtracted once would lose most of the digits here.
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    tu_rng rng;
    tu_rng_seed(&rng, 2);
    check_layernorm(&ctx, &rng, 17, 96, 1000.0f, 0.01f, 1, 1, TU_TOL_F32);
    check_layernorm(&ctx, &rng, 9, 257, 1000.0f, 0.01f, 0, 0, TU_TOL_F32);
    check_layernorm(&ctx, &rng, 5, 1024, -1000.0f, 0.05f, 1, 0, TU_TOL_F32);
    check_layernorm(&ctx, &rng, 5, 3, 1e4f, 0.1f, 0, 1, TU_TOL_F32);
    // Constant rows: variance 0, output is b (eps keeps it finite).
    float x[2 * 8], y[2 * 8];
    for (int i = 0; i < 16; i++) x[i] = 5.0f;
    rt_tensor tx = rt_f32_2d(x, 2, 8), ty = rt_f32_2d(y, 2, 8);
    ck_assert_int_eq(rt_layernorm(&ctx, &ty, &tx, NULL, NULL, 1e-5f), ROTO_OK);
    for (int i = 0; i < 16; i++) ck_assert_float_eq(y[i], 0.0f);
    rt_ctx_destroy(&ctx);
}
END_TEST

static void check_activation(rt_ctx *ctx, const float *src, size_t n, rt_act act,
                             const char *name) {
    float *x = tu_alloc_f32(n), *y = tu_alloc_f32(n);
    double *ref = malloc(sizeof(double) * n);
    memcpy(x, src, sizeof(float) * n);
    ref_activation(ref, x, (int64_t)n, act);
    rt_tensor tx = rt_f32_1d(x, (int64_t)n), ty = rt_f32_1d(y, (int64_t)n);
    tu_poison_f32(y, n);
    ck_assert_int_eq(rt_activation(ctx, &ty, &tx, act), ROTO_OK);
    tu_check_close(y, ref, n, TU_TOL_F32, name);
    ck_assert_int_eq(rt_activation(ctx, &tx, &tx, act), ROTO_OK);  // in place
    tu_check_close(x, ref, n, TU_TOL_F32, name);
    free(x), free(y), free(ref);
}

START_TEST(test_activations) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    tu_rng rng;
    tu_rng_seed(&rng, 3);
    const size_t sizes[] = {1, 7, 16, 1000, 100003};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        const size_t n = sizes[s];
        float *src = tu_alloc_f32(n);
        tu_fill_uniform(&rng, src, n, -12.0f, 12.0f);
        check_activation(&ctx, src, n, RT_ACT_RELU, "relu");
        check_activation(&ctx, src, n, RT_ACT_GELU, "gelu");
        check_activation(&ctx, src, n, RT_ACT_SIGMOID, "sigmoid");
        check_activation(&ctx, src, n, RT_ACT_NONE, "none");
        free(src);
    }
    // GELU on a fine grid, much tighter than TU_TOL_F32: the erfc fit is good
    // to ~1e-7 relative; rounding x/sqrt(2) and its square to fp32 (as
    // PyTorch's fp32 GELU also does) adds up to ~|x|^2 * 6e-8 in the tail.
    const size_t n = 20001;
    float *x = tu_alloc_f32(n), *y = tu_alloc_f32(n);
    double *ref = malloc(sizeof(double) * n);
    for (size_t i = 0; i < n; i++) x[i] = -10.0f + 20.0f * (float)i / (float)(n - 1);
    ref_activation(ref, x, (int64_t)n, RT_ACT_GELU);
    rt_tensor tx = rt_f32_1d(x, (int64_t)n), ty = rt_f32_1d(y, (int64_t)n);
    ck_assert_int_eq(rt_activation(&ctx, &ty, &tx, RT_ACT_GELU), ROTO_OK);
    tu_check_close(y, ref, n, (tu_tol){1e-9, 2e-6}, "gelu grid");
    // Extremes: saturation without NaN.
    float e[6] = {-1e30f, -100.0f, 100.0f, 1e30f, 0.0f, -0.0f};
    float g[6], s[6];
    rt_tensor te = rt_f32_1d(e, 6), tg = rt_f32_1d(g, 6), ts = rt_f32_1d(s, 6);
    ck_assert_int_eq(rt_activation(&ctx, &tg, &te, RT_ACT_GELU), ROTO_OK);
    ck_assert_int_eq(rt_activation(&ctx, &ts, &te, RT_ACT_SIGMOID), ROTO_OK);
    const float gelu_want[6] = {0.0f, 0.0f, 100.0f, 1e30f, 0.0f, 0.0f};
    const float sig_want[6] = {0.0f, 0.0f, 1.0f, 1.0f, 0.5f, 0.5f};
    for (int i = 0; i < 6; i++) {
        ck_assert_msg(fabsf(g[i] - gelu_want[i]) <= 1e-6f * fabsf(gelu_want[i]) + 1e-30f,
                      "gelu(%g) = %g", (double)e[i], (double)g[i]);
        ck_assert_msg(fabsf(s[i] - sig_want[i]) <= 1e-7f, "sigmoid(%g) = %g", (double)e[i],
                      (double)s[i]);
    }
    // NaN propagates.
    float nan_in = NAN, nan_out = 0;
    rt_tensor tn = rt_f32_1d(&nan_in, 1), to = rt_f32_1d(&nan_out, 1);
    for (int act = RT_ACT_RELU; act <= RT_ACT_SIGMOID; act++) {
        ck_assert_int_eq(rt_activation(&ctx, &to, &tn, (rt_act)act), ROTO_OK);
        ck_assert_msg(isnan(nan_out), "act %d of NaN is %g", act, (double)nan_out);
    }
    free(x), free(y), free(ref);
    rt_ctx_destroy(&ctx);
}
END_TEST

static void check_softmax(rt_ctx *ctx, float *x, int64_t rows, int64_t C, float scale,
                          const char *name) {
    const size_t n = (size_t)(rows * C);
    float *y = tu_alloc_f32(n);
    double *ref = malloc(sizeof(double) * n);
    ref_softmax(ref, x, rows, C, scale);
    rt_tensor tx = rt_f32_2d(x, rows, C), ty = rt_f32_2d(y, rows, C);
    tu_poison_f32(y, n);
    ck_assert_int_eq(rt_softmax(ctx, &ty, &tx, scale), ROTO_OK);
    tu_check_close(y, ref, n, TU_TOL_F32, name);
    ck_assert_int_eq(rt_softmax(ctx, &tx, &tx, scale), ROTO_OK);  // in place
    tu_check_close(x, ref, n, TU_TOL_F32, name);
    free(y), free(ref);
}

START_TEST(test_softmax) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    tu_rng rng;
    tu_rng_seed(&rng, 4);
    const int64_t Cs[] = {1, 5, 16, 33, 1000, 4099};
    for (size_t i = 0; i < sizeof Cs / sizeof *Cs; i++) {
        const int64_t rows = 1 + (int64_t)(i * 5 % 11), C = Cs[i];
        float *x = tu_alloc_f32((size_t)(rows * C));
        tu_fill_normal(&rng, x, (size_t)(rows * C), 0.0f, 3.0f);
        check_softmax(&ctx, x, rows, C, 1.0f, "softmax");
        tu_fill_normal(&rng, x, (size_t)(rows * C), 0.0f, 3.0f);
        check_softmax(&ctx, x, rows, C, 0.125f, "softmax scale 1/8");
        // Large magnitudes: exp would overflow without subtracting the max.
        tu_fill_uniform(&rng, x, (size_t)(rows * C), -3e4f, 3e4f);
        check_softmax(&ctx, x, rows, C, 1.0f, "softmax large");
        tu_fill_uniform(&rng, x, (size_t)(rows * C), 1000.0f, 1010.0f);
        check_softmax(&ctx, x, rows, C, 2.0f, "softmax offset");
        free(x);
    }
    // -inf entries are masked out; a fully -inf row gives zeros.
    const int64_t rows = 4, C = 37;
    float *x = tu_alloc_f32(rows * C);
    tu_fill_normal(&rng, x, rows * C, 0.0f, 2.0f);
    for (int64_t c = 0; c < C; c += 3) x[c] = -INFINITY;  // row 0: partly masked
    for (int64_t c = 0; c < C; c++) x[2 * C + c] = -INFINITY;  // row 2: fully masked
    x[3 * C + 36] = -INFINITY;
    check_softmax(&ctx, x, rows, C, 0.5f, "softmax -inf");
    for (int64_t c = 0; c < C; c++) ck_assert_float_eq(x[2 * C + c], 0.0f);
    for (int64_t c = 0; c < C; c += 3) ck_assert_float_eq(x[c], 0.0f);
    free(x);
    // A row of 100000 columns: each OpenMP chunk holds whole rows.
    float *big = tu_alloc_f32(3 * 100000);
    tu_fill_normal(&rng, big, 3 * 100000, 0.0f, 4.0f);
    check_softmax(&ctx, big, 3, 100000, 1.0f, "softmax wide");
    free(big);
    rt_ctx_destroy(&ctx);
}
END_TEST

START_TEST(test_norm_op_errors) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    float x[4 * 8], y[4 * 8], w[8];
    int32_t xi[4 * 8];
    rt_tensor tx = rt_f32_2d(x, 4, 8), ty = rt_f32_2d(y, 4, 8), tw = rt_f32_1d(w, 8);
    rt_tensor tw7 = rt_f32_1d(w, 7), ty_bad = rt_f32_2d(y, 8, 4);
    ck_assert_int_eq(rt_layernorm(&ctx, &ty, &tx, &tw7, NULL, 1e-5f), ROTO_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "layernorm: w"));
    ck_assert_int_eq(rt_layernorm(&ctx, &ty_bad, &tx, &tw, NULL, 1e-5f), ROTO_ERR_SHAPE);
    ck_assert_int_eq(rt_layernorm(&ctx, &ty, NULL, &tw, NULL, 1e-5f), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(rt_layernorm(&ctx, &ty, &tx, &tw, NULL, -1.0f), ROTO_ERR_INVALID_ARG);
    // Output overlapping the weights, or partly overlapping x.
    rt_tensor tyw = rt_f32_2d(w, 1, 8), tx1 = rt_f32_2d(x, 1, 8);
    ck_assert_int_eq(rt_layernorm(&ctx, &tyw, &tx1, &tw, NULL, 1e-5f), ROTO_ERR_INVALID_ARG);
    rt_tensor shifted = rt_f32_2d(x + 1, 3, 8), tx3 = rt_f32_2d(x, 3, 8);
    ck_assert_int_eq(rt_softmax(&ctx, &shifted, &tx3, 1.0f), ROTO_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "overlaps"));
    // Non-contiguous input.
    rt_tensor sl;
    ck_assert_int_eq(rt_view_slice(&sl, &tx, 1, 0, 4), ROTO_OK);
    rt_tensor ty4 = rt_f32_2d(y, 4, 4);
    ck_assert_int_eq(rt_activation(&ctx, &ty4, &sl, RT_ACT_GELU), ROTO_ERR_SHAPE);
    // Wrong dtype, unknown activation.
    int64_t shp[2] = {4, 8};
    rt_tensor ti = rt_tensor_make(xi, RT_I32, RT_DEV_CPU, 2, shp);
    ck_assert_int_eq(rt_softmax(&ctx, &ty, &ti, 1.0f), ROTO_ERR_UNSUPPORTED);
    ck_assert_int_eq(rt_activation(&ctx, &ty, &tx, (rt_act)42), ROTO_ERR_INVALID_ARG);
    // Dtype mismatch between y and x.
    rt_tensor tyi = rt_tensor_make(xi, RT_I32, RT_DEV_CPU, 2, shp);
    ck_assert_int_eq(rt_activation(&ctx, &tyi, &tx, RT_ACT_RELU), ROTO_ERR_SHAPE);
    rt_ctx_destroy(&ctx);
}
END_TEST

static Suite *norm_suite(void) {
    Suite *s = suite_create("norm");
    TCase *tc = tcase_create("norm");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_layernorm_sizes);
    tcase_add_test(tc, test_layernorm_large_offset);
    tcase_add_test(tc, test_activations);
    tcase_add_test(tc, test_softmax);
    tcase_add_test(tc, test_norm_op_errors);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(norm_suite)
