// test_resample.c: rt_interpolate against the fp64 reference in
// tests/ref/ref_resample.c for every mode (nearest, bilinear, bicubic, with and
// without align_corners and antialias) on up- and downscales with odd and
// non-integer ratios, plus values derived by hand from PyTorch's formulas (and
// a few from Pillow) that anchor the reference itself, and the op layer's
// argument checks.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref_resample.h"
#include "util/test_util.h"

static const rt_interp_params NEAREST = {RT_INTERP_NEAREST, 0, 0, 0.0f};
static const rt_interp_params BILINEAR = {RT_INTERP_BILINEAR, 0, 0, 0.0f};
static const rt_interp_params BILINEAR_AC = {RT_INTERP_BILINEAR, 1, 0, 0.0f};
static const rt_interp_params BILINEAR_AA = {RT_INTERP_BILINEAR, 0, 1, 0.0f};
static const rt_interp_params BILINEAR_AA_AC = {RT_INTERP_BILINEAR, 1, 1, 0.0f};
static const rt_interp_params BICUBIC = {RT_INTERP_BICUBIC, 0, 0, -0.75f};
static const rt_interp_params BICUBIC_AC = {RT_INTERP_BICUBIC, 1, 0, -0.75f};
static const rt_interp_params BICUBIC_AA = {RT_INTERP_BICUBIC, 0, 1, -0.5f};  // torch aa and PIL
static const rt_interp_params BICUBIC_AA_AC = {RT_INTERP_BICUBIC, 1, 1, -0.75f};
static const rt_interp_params BICUBIC_PIL_NOAA = {RT_INTERP_BICUBIC, 0, 0, -0.5f};

// Runs rt_interpolate on x [N, H, W, C] and returns y (caller frees).
static float *run_interp(const float *x, int N, int H, int W, int C, int Ho, int Wo,
                         const rt_interp_params *p) {
    size_t ny = (size_t)N * Ho * Wo * C;
    float *y = tu_alloc_f32(ny);
    tu_poison_f32(y, ny);
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    rt_tensor tx = rt_f32_4d((float *)x, N, H, W, C), ty = rt_f32_4d(y, N, Ho, Wo, C);
    roto_status st = rt_interpolate(&ctx, &ty, &tx, p);
    ck_assert_msg(st == ROTO_OK, "interpolate: %s", roto_last_error());
    rt_ctx_destroy(&ctx);
    return y;
}

// Compares rt_interpolate on a single-channel H x W image with `want`, and
// checks that the fp64 reference agrees with `want` too.
static void expect_values(const float *x, int H, int W, int Ho, int Wo, const rt_interp_params *p,
                          const double *want, double tol, const char *what) {
    float *y = run_interp(x, 1, H, W, 1, Ho, Wo, p);
    double *ref = malloc(sizeof(double) * Ho * Wo);
    ref_interpolate(ref, x, 1, H, W, 1, Ho, Wo, p);
    tu_tol t = {tol, 0};
    tu_check_close(y, want, (size_t)Ho * Wo, t, what);
    for (int i = 0; i < Ho * Wo; i++)
        ck_assert_msg(fabs(ref[i] - want[i]) <= tol, "%s: reference element %d is %.9g, want %.9g",
                      what, i, ref[i], want[i]);
    free(y);
    free(ref);
}

// The hand-derived values. x = [[1, 2], [3, 4]] = 1 + w + 2h is linear, and
// every 1-d filter here has weights summing to 1, so an output is
// 1 + E[ow] + 2*E[oh] where E[o] is the weight the 1-d filter of output o puts
// on input pixel 1.
static void expect_linear_2x2(int Ho, int Wo, const rt_interp_params *p, const double *E_h,
                              const double *E_w, const char *what) {
    const float x[4] = {1, 2, 3, 4};
    double want[64];
    for (int oh = 0; oh < Ho; oh++)
        for (int ow = 0; ow < Wo; ow++) want[oh * Wo + ow] = 1 + E_w[ow] + 2 * E_h[oh];
    expect_values(x, 2, 2, Ho, Wo, p, want, 1e-6, what);
}

START_TEST(test_interp_hand_values) {
    // Bilinear, align_corners=False, 2 -> 4: src = (o + 0.5)/2 - 0.5 =
    // -0.25 (clamped to 0), 0.25, 0.75, 1.25 (past the last pixel: repeats it),
    // so E = 0, 1/4, 3/4, 1. torch gives [[1, 1.25, 1.75, 2], [1.5, ...], ...].
    const double e_bl[4] = {0, 0.25, 0.75, 1};
    expect_linear_2x2(4, 4, &BILINEAR, e_bl, e_bl, "bilinear 2->4");
    // align_corners=True, 2 -> 4: src = o/3.
    const double e_ac[4] = {0, 1.0 / 3, 2.0 / 3, 1};
    expect_linear_2x2(4, 4, &BILINEAR_AC, e_ac, e_ac, "bilinear ac 2->4");
    // align_corners=True, 2 -> 3 and 2 -> 1 (a single output takes pixel 0).
    const double e_ac3[3] = {0, 0.5, 1}, e_one[1] = {0};
    expect_linear_2x2(3, 1, &BILINEAR_AC, e_ac3, e_one, "bilinear ac 2->3x1");
    // Bicubic A = -0.75, align_corners=False, 2 -> 4. Output 0 has src -0.25,
    // floor -1, t = 0.75: taps -2, -1, 0 (all clamped to pixel 0) and 1 with
    // weight cc2(1 + 0.25) = A*1.25^3 - 5A*1.25^2 + 8A*1.25 - 4A = -0.10546875.
    // Output 1: src 0.25, taps -1, 0, 1, 2 -> pixel 1 gets cc1(0.75) + cc2(1.75)
    // = 0.26171875 - 0.03515625 = 0.2265625. Outputs 2, 3 mirror them.
    const double e_bc[4] = {-0.10546875, 0.2265625, 0.7734375, 1.10546875};
    expect_linear_2x2(4, 4, &BICUBIC, e_bc, e_bc, "bicubic 2->4");
    // Bicubic align_corners=True 2 -> 4: src = o/3, t = 1/3 for output 1:
    // pixel 1 (taps 1 and 2 clamped) gets cc1(2/3) + cc2(5/3) with A = -0.75.
    double A = -0.75, t1 = 2.0 / 3, t2 = 5.0 / 3;
    double c1 = ((A + 2) * t1 - (A + 3)) * t1 * t1 + 1;
    double c2 = ((A * t2 - 5 * A) * t2 + 8 * A) * t2 - 4 * A;
    const double e_bcac[4] = {0, c1 + c2, 1 - (c1 + c2), 1};
    expect_linear_2x2(4, 4, &BICUBIC_AC, e_bcac, e_bcac, "bicubic ac 2->4");
    // Antialiased bicubic (a = -0.5) upscaling 2 -> 4 is not plain bicubic:
    // output 0 (centre 0.25) sees pixels 0 and 1 only, at distances 0.25 and
    // 1.25: weights 0.8671875 and -0.0703125, normalised: pixel 1 gets
    // -0.0703125 / 0.796875 = -3/34. Output 1 (centre 0.75): distances 0.25,
    // 0.75: 0.8671875 and 0.2265625 -> 0.2265625 / 1.09375 = 29/140.
    // torch: [[0.7353, 1.0307, 1.6164, 1.9118], ...].
    const double e_aa[4] = {-3.0 / 34, 29.0 / 140, 1 - 29.0 / 140, 1 + 3.0 / 34};
    expect_linear_2x2(4, 4, &BICUBIC_AA, e_aa, e_aa, "bicubic aa 2->4");
    // Antialias with align_corners keeps scale (in-1)/(out-1) = 1/3 but centres
    // at (o + 0.5)/3: centres 1/6, 1/2, 5/6, 7/6 -> pixel 1 gets 0, 0, 1/3, 2/3
    // (torch: [[1, 1, 1.3333, 1.6667], ...]).
    const double e_aaac[4] = {0, 0, 1.0 / 3, 2.0 / 3};
    expect_linear_2x2(4, 4, &BILINEAR_AA_AC, e_aaac, e_aaac, "bilinear aa ac 2->4");

    // Antialiased bilinear downscale 4 -> 2 of [0, 1, 2, 3]: scale 2, support
    // 2, triangle stretched by 2. Output 0: centre 1, pixels 0..2 at distances
    // -0.5, 0.5, 1.5 -> weights 3/4, 3/4, 1/4 -> (0*3 + 1*3 + 2*1)/7 = 5/7.
    // Output 1: centre 3, pixels 1..3 -> (1*1 + 2*3 + 3*3)/7 = 16/7.
    const float row[4] = {0, 1, 2, 3};
    const double want_aa[2] = {5.0 / 7, 16.0 / 7};
    expect_values(row, 1, 4, 1, 2, &BILINEAR_AA, want_aa, 1e-6, "bilinear aa 4->2");
    // Without antialias the same downscale samples src 0.5 and 2.5.
    const double want_bl[2] = {0.5, 2.5};
    expect_values(row, 1, 4, 1, 2, &BILINEAR, want_bl, 1e-6, "bilinear 4->2");
}
END_TEST

// PyTorch's legacy nearest picks src = floor(dst * float(in/out)). Exact
// cases by hand, and two where float rounding picks the previous pixel (torch
// agrees: for 3 -> 123, outputs 41 and 82 take pixels 0 and 1, not 1 and 2).
START_TEST(test_interp_nearest_values) {
    const float x[4] = {10, 20, 30, 40};
    const double w23[3] = {10, 10, 20};         // 2 -> 3: floor(0, 2/3, 4/3)
    expect_values(x, 1, 2, 1, 3, &NEAREST, w23, 0, "nearest 2->3");
    const double w24[4] = {10, 10, 20, 20};     // 2 -> 4: o >> 1
    expect_values(x, 1, 2, 1, 4, &NEAREST, w24, 0, "nearest 2->4");
    const double w43[3] = {10, 20, 30};         // 4 -> 3: floor(0, 4/3, 8/3)
    expect_values(x, 1, 4, 1, 3, &NEAREST, w43, 0, "nearest 4->3");
    const double w41[1] = {10};
    expect_values(x, 1, 4, 1, 1, &NEAREST, w41, 0, "nearest 4->1");
    double w[123];
    for (int o = 0; o < 123; o++) w[o] = x[o * 3 / 123];
    w[41] = x[0];
    w[82] = x[1];
    expect_values(x, 1, 3, 1, 123, &NEAREST, w, 0, "nearest 3->123 (float rounding)");
    expect_values(x, 3, 1, 123, 1, &NEAREST, w, 0, "nearest 3->123 vertical");
}
END_TEST

// Pillow 13.0 Image.resize on a mode 'F' (float) image, 6x5 -> 4x3 (H x W),
// x[h][w] = sin(0.7h + 1.3w) + 0.1h; Pillow uses a = -0.5 and always
// antialiases. torch's antialias=True matches these to 2.4e-7.
START_TEST(test_interp_pil_values) {
    enum { H = 6, W = 5 };
    float x[H * W];
    for (int h = 0; h < H; h++)
        for (int w = 0; w < W; w++) x[h * W + w] = (float)(sin(0.7 * h + 1.3 * w) + 0.1 * h);
    const double pil_bicubic[12] = {0.6087416,  0.27318954,  -0.79634863, 0.98994714,
                                    -0.29777092, -0.17788303, 0.57057434,  -0.41710094,
                                    0.83633584,  -0.06658244, 0.17851539,  1.3026476};
    const double pil_bilinear[12] = {0.5797797, 0.2149015,   -0.7020594,  0.8876222,
                                     -0.21618536, -0.09395909, 0.565244,   -0.2828823,
                                     0.75210816,  0.01066482,  0.19026865, 1.2170706};
    expect_values(x, H, W, 4, 3, &BICUBIC_AA, pil_bicubic, 1e-6, "PIL bicubic 6x5->4x3");
    expect_values(x, H, W, 4, 3, &BILINEAR_AA, pil_bilinear, 1e-6, "PIL bilinear 6x5->4x3");
}
END_TEST

typedef struct {
    int H, W, Ho, Wo;
} size_case;

static void run_random_case(const size_case *s, const rt_interp_params *p, const char *mode,
                            uint64_t seed) {
    tu_rng rng;
    tu_rng_seed(&rng, seed);
    const int Cs[4] = {1, 3, 8, 17};
    int N = tu_rng_int(&rng, 1, 2), C = Cs[tu_rng_int(&rng, 0, 3)];
    size_t nx = (size_t)N * s->H * s->W * C, ny = (size_t)N * s->Ho * s->Wo * C;
    float *x = tu_alloc_f32(nx);
    tu_fill_uniform(&rng, x, nx, -1, 1);
    float *y = run_interp(x, N, s->H, s->W, C, s->Ho, s->Wo, p);
    double *ref = malloc(ny * sizeof(double));
    ref_interpolate(ref, x, N, s->H, s->W, C, s->Ho, s->Wo, p);
    char what[128];
    snprintf(what, sizeof what, "%s [%d,%d,%d,%d] -> %dx%d", mode, N, s->H, s->W, C, s->Ho, s->Wo);
    // Nearest only copies. The filters sum normalised weights times |x| <= 1
    // (TU_TOL_F32), but like PyTorch the kernel forms source coordinates in
    // float: a coordinate near pixel `in` is off by up to ~2 ulp = 2.4e-7 * in
    // pixels, and random data has a slope up to ~2.5 per pixel (cubic
    // overshoot), so the absolute tolerance grows by 6e-7 per input pixel.
    int in = s->H > s->W ? s->H : s->W;
    tu_tol tol = {TU_TOL_F32.atol + 6e-7 * in, TU_TOL_F32.rtol};
    tu_check_close(y, ref, ny, p->mode == RT_INTERP_NEAREST ? TU_TOL_EXACT : tol, what);
    free(x);
    free(y);
    free(ref);
}

START_TEST(test_interp_vs_reference) {
    const size_case sizes[] = {
        {1, 1, 5, 3},      {5, 7, 11, 13},  {37, 23, 16, 16}, {16, 16, 37, 23},
        {2, 2, 4, 4},      {24, 18, 24, 18}, {7, 7, 64, 64},  {108, 192, 64, 64},
        {300, 200, 7, 5},  {9, 1, 4, 3},     {13, 17, 1, 1},  {32, 32, 128, 128},
        {17, 33, 34, 66},  {64, 64, 256, 256}, {256, 256, 64, 64}, {3, 123, 2, 41},
    };
    const struct {
        const rt_interp_params *p;
        const char *name;
    } modes[] = {
        {&NEAREST, "nearest"},
        {&BILINEAR, "bilinear"},
        {&BILINEAR_AC, "bilinear ac"},
        {&BILINEAR_AA, "bilinear aa"},
        {&BILINEAR_AA_AC, "bilinear aa ac"},
        {&BICUBIC, "bicubic"},
        {&BICUBIC_AC, "bicubic ac"},
        {&BICUBIC_AA, "bicubic aa -0.5"},
        {&BICUBIC_AA_AC, "bicubic aa ac -0.75"},
        {&BICUBIC_PIL_NOAA, "bicubic -0.5"},
    };
    uint64_t seed = 1;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        for (size_t m = 0; m < sizeof modes / sizeof *modes; m++)
            run_random_case(&sizes[i], modes[m].p, modes[m].name, seed++);
}
END_TEST

// Random sizes from 1 to 40 on each axis, every mode.
START_TEST(test_interp_random_sizes) {
    tu_rng rng;
    tu_rng_seed(&rng, 99);
    const rt_interp_params *modes[] = {&NEAREST,        &BILINEAR,   &BILINEAR_AC,
                                       &BILINEAR_AA,    &BICUBIC,    &BICUBIC_AC,
                                       &BICUBIC_AA,     &BILINEAR_AA_AC, &BICUBIC_AA_AC};
    for (int it = 0; it < 150; it++) {
        size_case s = {tu_rng_int(&rng, 1, 40), tu_rng_int(&rng, 1, 40), tu_rng_int(&rng, 1, 40),
                       tu_rng_int(&rng, 1, 40)};
        run_random_case(&s, modes[it % 9], "random", 500 + it);
    }
}
END_TEST

// Upscaling with antialias=True equals plain bilinear (align_corners=False),
// and a same-size resize is the identity, for every filter.
START_TEST(test_interp_identities) {
    tu_rng rng;
    tu_rng_seed(&rng, 5);
    enum { N = 2, H = 9, W = 14, C = 5 };
    float x[N * H * W * C];
    tu_fill_uniform(&rng, x, N * H * W * C, -1, 1);
    float *a = run_interp(x, N, H, W, C, 31, 29, &BILINEAR);
    float *b = run_interp(x, N, H, W, C, 31, 29, &BILINEAR_AA);
    for (int i = 0; i < N * 31 * 29 * C; i++) ck_assert_float_eq_tol(a[i], b[i], 1e-6f);
    free(a);
    free(b);
    const rt_interp_params *modes[] = {&NEAREST, &BILINEAR, &BILINEAR_AC, &BILINEAR_AA,
                                       &BICUBIC, &BICUBIC_AC, &BICUBIC_AA};
    for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
        float *y = run_interp(x, N, H, W, C, H, W, modes[m]);
        for (int i = 0; i < N * H * W * C; i++) ck_assert_float_eq_tol(y[i], x[i], 1e-6f);
        free(y);
    }
}
END_TEST

START_TEST(test_interp_errors) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    float *x = tu_alloc_f32(2 * 8 * 8 * 3), *y = tu_alloc_f32(2 * 16 * 16 * 3);
    rt_tensor tx = rt_f32_4d(x, 2, 8, 8, 3), ty = rt_f32_4d(y, 2, 16, 16, 3);
    ck_assert_int_eq(rt_interpolate(&ctx, &ty, &tx, &BILINEAR), ROTO_OK);
    rt_tensor bad_c = rt_f32_4d(y, 2, 16, 16, 2);
    ck_assert_int_eq(rt_interpolate(&ctx, &bad_c, &tx, &BILINEAR), ROTO_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "same batch and channels"));
    rt_tensor bad_n = rt_f32_4d(y, 1, 16, 16, 3);
    ck_assert_int_eq(rt_interpolate(&ctx, &bad_n, &tx, &BILINEAR), ROTO_ERR_SHAPE);
    rt_tensor empty = rt_f32_4d(y, 2, 0, 16, 3);
    ck_assert_int_eq(rt_interpolate(&ctx, &empty, &tx, &BILINEAR), ROTO_ERR_SHAPE);
    ck_assert_int_eq(rt_interpolate(&ctx, &ty, &tx, NULL), ROTO_ERR_INVALID_ARG);
    rt_interp_params bad_mode = {(rt_interp_mode)7, 0, 0, 0};
    ck_assert_int_eq(rt_interpolate(&ctx, &ty, &tx, &bad_mode), ROTO_ERR_INVALID_ARG);
    rt_interp_params near_ac = {RT_INTERP_NEAREST, 1, 0, 0};
    ck_assert_int_eq(rt_interpolate(&ctx, &ty, &tx, &near_ac), ROTO_ERR_INVALID_ARG);
    rt_interp_params near_aa = {RT_INTERP_NEAREST, 0, 1, 0};
    ck_assert_int_eq(rt_interpolate(&ctx, &ty, &tx, &near_aa), ROTO_ERR_INVALID_ARG);
    rt_interp_params cubic_nan = {RT_INTERP_BICUBIC, 0, 0, NAN};
    ck_assert_int_eq(rt_interpolate(&ctx, &ty, &tx, &cubic_nan), ROTO_ERR_INVALID_ARG);
    // Output aliasing the input.
    rt_tensor alias = rt_f32_4d(y, 2, 4, 4, 3), src = rt_f32_4d(y, 2, 8, 8, 3);
    ck_assert_int_eq(rt_interpolate(&ctx, &alias, &src, &BILINEAR), ROTO_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "overlaps"));
    // Non-contiguous input, wrong rank, dtype mismatch.
    rt_tensor sl;
    ck_assert_int_eq(rt_view_slice(&sl, &tx, 3, 0, 2), ROTO_OK);
    rt_tensor ty2 = rt_f32_4d(y, 2, 16, 16, 2);
    ck_assert_int_eq(rt_interpolate(&ctx, &ty2, &sl, &BILINEAR), ROTO_ERR_SHAPE);
    rt_tensor x3 = rt_f32_3d(x, 2, 64, 3);
    ck_assert_int_eq(rt_interpolate(&ctx, &ty, &x3, &BILINEAR), ROTO_ERR_SHAPE);
    rt_tensor xh = tx;
    xh.dtype = RT_F16;
    ck_assert_int_eq(rt_interpolate(&ctx, &ty, &xh, &BILINEAR), ROTO_ERR_SHAPE);
    // f16 on both sides is valid for the op but the CPU computes in f32 only.
    rt_tensor yh = ty;
    yh.dtype = RT_F16;
    ck_assert_int_eq(rt_interpolate(&ctx, &yh, &xh, &BILINEAR), ROTO_ERR_UNSUPPORTED);
    rt_ctx_destroy(&ctx);
    free(x);
    free(y);
}
END_TEST

static Suite *resample_suite(void) {
    Suite *s = suite_create("resample");
    TCase *tc = tcase_create("resample");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_interp_hand_values);
    tcase_add_test(tc, test_interp_nearest_values);
    tcase_add_test(tc, test_interp_pil_values);
    tcase_add_test(tc, test_interp_vs_reference);
    tcase_add_test(tc, test_interp_random_sizes);
    tcase_add_test(tc, test_interp_identities);
    tcase_add_test(tc, test_interp_errors);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(resample_suite)
