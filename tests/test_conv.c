// test_conv.c: rt_conv2d (every path: 1x1 GEMM, depthwise, im2col + GEMM with
// chunking and groups), rt_conv_transpose and rt_weight_oihw_to_ohwi against
// the fp64 references in tests/ref/ref_conv.c, plus the op layer's argument
// checks.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref_conv.h"
#include "util/test_util.h"

// Conv outputs are sums of K = KH*KW*Cin/groups products of O(1) inputs and
// weights scaled by 1/sqrt(K), so |y| = O(1) and fp32 error grows like
// sqrt(K)*eps: TU_TOL_F32 holds up to K of a few thousand.
typedef struct {
    const char *name;
    int N, H, W, Cin, Cout, KH, KW;
    rt_conv_params p;
    int bias;
    rt_act act;
} conv_case;

#define P(sh, sw, ph, pw, dh, dw, g) ((rt_conv_params){sh, sw, ph, pw, dh, dw, g})

// Runs one case through rt_conv2d (weights given in PyTorch OIHW and converted)
// and compares with the reference.
static void run_conv_case(const conv_case *c, uint64_t seed) {
    tu_rng rng;
    tu_rng_seed(&rng, seed);
    int G = c->p.groups, Cig = c->Cin / G;
    int Ho = ref_conv_out_size(c->H, c->KH, c->p.stride_h, c->p.pad_h, c->p.dil_h);
    int Wo = ref_conv_out_size(c->W, c->KW, c->p.stride_w, c->p.pad_w, c->p.dil_w);
    size_t nx = (size_t)c->N * c->H * c->W * c->Cin;
    size_t nw = (size_t)c->Cout * Cig * c->KH * c->KW;
    size_t ny = (size_t)c->N * Ho * Wo * c->Cout;
    float *x = tu_alloc_f32(nx), *w_oihw = tu_alloc_f32(nw), *w = tu_alloc_f32(nw);
    float *b = tu_alloc_f32(c->Cout), *y = tu_alloc_f32(ny);
    double *ref = malloc(ny * sizeof(double));
    ck_assert_ptr_nonnull(ref);
    float wscale = 1.0f / sqrtf((float)(Cig * c->KH * c->KW));
    tu_fill_uniform(&rng, x, nx, -1, 1);
    tu_fill_uniform(&rng, w_oihw, nw, -wscale, wscale);
    tu_fill_uniform(&rng, b, c->Cout, -0.5f, 0.5f);
    rt_weight_oihw_to_ohwi(w, w_oihw, c->Cout, Cig, c->KH, c->KW);
    tu_poison_f32(y, ny);

    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    rt_tensor tx = rt_f32_4d(x, c->N, c->H, c->W, c->Cin);
    rt_tensor tw = rt_f32_4d(w, c->Cout, c->KH, c->KW, Cig);
    rt_tensor tb = rt_f32_1d(b, c->Cout);
    rt_tensor ty = rt_f32_4d(y, c->N, Ho, Wo, c->Cout);
    roto_status st = rt_conv2d(&ctx, &ty, &tx, &tw, c->bias ? &tb : NULL, &c->p, c->act);
    ck_assert_msg(st == ROTO_OK, "%s: %s", c->name, roto_last_error());
    ref_conv2d_oihw(ref, x, w_oihw, c->bias ? b : NULL, c->N, c->H, c->W, c->Cin, c->Cout, c->KH,
                    c->KW, &c->p, c->act);
    char what[160];
    snprintf(what, sizeof what, "conv2d %s [%d,%d,%d,%d] k%dx%d -> [%d,%d,%d,%d]", c->name, c->N,
             c->H, c->W, c->Cin, c->KH, c->KW, c->N, Ho, Wo, c->Cout);
    tu_check_close(y, ref, ny, TU_TOL_F32, what);
    rt_ctx_destroy(&ctx);
    free(x);
    free(w_oihw);
    free(w);
    free(b);
    free(y);
    free(ref);
}

START_TEST(test_weight_oihw_to_ohwi) {
    int O = 5, I = 3, KH = 2, KW = 7;
    float src[5 * 3 * 2 * 7], dst[5 * 3 * 2 * 7];
    for (int i = 0; i < O * I * KH * KW; i++) src[i] = (float)i;
    rt_weight_oihw_to_ohwi(dst, src, O, I, KH, KW);
    for (int o = 0; o < O; o++)
        for (int i = 0; i < I; i++)
            for (int h = 0; h < KH; h++)
                for (int w = 0; w < KW; w++)
                    ck_assert_float_eq(dst[((o * KH + h) * KW + w) * I + i],
                                       src[((o * I + i) * KH + h) * KW + w]);
}
END_TEST

// The shapes the nets use (scaled down where the plain-loop reference would be
// slow) and every path of cpu_conv2d.
START_TEST(test_conv_net_shapes) {
    const conv_case cases[] = {
        // SAM 2 patch embed 7x7 s4 p3, 3 -> E, on an odd-sized image.
        {"patch-embed 7x7 s4 p3", 1, 37, 29, 3, 24, 7, 7, P(4, 4, 3, 3, 1, 1, 1), 1, RT_ACT_NONE},
        // Mask downsampler 3x3 s2 p1 chain shapes.
        {"3x3 s2 p1 1->4", 2, 33, 31, 1, 4, 3, 3, P(2, 2, 1, 1, 1, 1, 1), 1, RT_ACT_GELU},
        {"3x3 s2 p1 16->64", 1, 16, 16, 16, 64, 3, 3, P(2, 2, 1, 1, 1, 1, 1), 1, RT_ACT_NONE},
        // Prompt mask 2x2 s2 and mask_downsample 4x4 s4.
        {"2x2 s2 1->4", 1, 20, 22, 1, 4, 2, 2, P(2, 2, 0, 0, 1, 1, 1), 1, RT_ACT_NONE},
        {"2x2 s2 4->16", 2, 10, 11, 4, 16, 2, 2, P(2, 2, 0, 0, 1, 1, 1), 1, RT_ACT_NONE},
        {"4x4 s4 1->1", 1, 64, 60, 1, 1, 4, 4, P(4, 4, 0, 0, 1, 1, 1), 1, RT_ACT_NONE},
        // 1x1 convs (the GEMM path) with and without bias and activations.
        {"1x1 256->32", 1, 12, 13, 256, 32, 1, 1, P(1, 1, 0, 0, 1, 1, 1), 1, RT_ACT_NONE},
        {"1x1 17->9 relu nobias", 3, 5, 7, 17, 9, 1, 1, P(1, 1, 0, 0, 1, 1, 1), 0, RT_ACT_RELU},
        {"1x1 8->8 sigmoid", 1, 1, 1, 8, 8, 1, 1, P(1, 1, 0, 0, 1, 1, 1), 1, RT_ACT_SIGMOID},
        // 1x1 with stride or padding goes through im2col.
        {"1x1 s2", 1, 9, 8, 5, 6, 1, 1, P(2, 2, 0, 0, 1, 1, 1), 1, RT_ACT_NONE},
        {"1x1 p1", 1, 4, 5, 3, 2, 1, 1, P(1, 1, 1, 1, 1, 1, 1), 1, RT_ACT_NONE},
        // CXBlock depthwise 7x7 p3 (SAM 2 memory encoder: 64x64x256; smaller here).
        {"depthwise 7x7 p3 C256", 1, 16, 16, 256, 256, 7, 7, P(1, 1, 3, 3, 1, 1, 256), 1,
         RT_ACT_NONE},
        {"depthwise 7x7 p3 C13", 2, 9, 11, 13, 13, 7, 7, P(1, 1, 3, 3, 1, 1, 13), 1, RT_ACT_GELU},
        {"depthwise 3x3 s2 d2 C5 nobias", 1, 12, 10, 5, 5, 3, 3, P(2, 2, 2, 2, 2, 2, 5), 0,
         RT_ACT_NONE},
        {"depthwise on 1x1", 1, 1, 1, 8, 8, 7, 7, P(1, 1, 3, 3, 1, 1, 8), 1, RT_ACT_NONE},
        // Depth Anything patch embed 14x14 s14.
        {"14x14 s14 3->32", 1, 42, 28, 3, 32, 14, 14, P(14, 14, 0, 0, 1, 1, 1), 1, RT_ACT_NONE},
        // Dilation, grouped, asymmetric kernels, strides and pads.
        {"3x3 d2 p2", 1, 11, 13, 6, 7, 3, 3, P(1, 1, 2, 2, 2, 2, 1), 1, RT_ACT_NONE},
        {"3x3 d(2,3) p(1,0)", 2, 12, 14, 3, 4, 3, 3, P(1, 2, 1, 0, 2, 3, 1), 1, RT_ACT_NONE},
        {"grouped g2", 1, 9, 9, 8, 6, 3, 3, P(1, 1, 1, 1, 1, 1, 2), 1, RT_ACT_RELU},
        {"grouped g4 1x1", 1, 5, 6, 8, 12, 1, 1, P(1, 1, 0, 0, 1, 1, 4), 1, RT_ACT_NONE},
        {"depthwise multiplier 2", 1, 7, 7, 4, 8, 3, 3, P(1, 1, 1, 1, 1, 1, 4), 1, RT_ACT_NONE},
        {"3x5 s(1,2) p(1,2)", 1, 10, 17, 5, 3, 3, 5, P(1, 2, 1, 2, 1, 1, 1), 1, RT_ACT_NONE},
        {"3x3 p1 on 1x1", 2, 1, 1, 4, 5, 3, 3, P(1, 1, 1, 1, 1, 1, 1), 1, RT_ACT_NONE},
        {"kernel = input", 1, 5, 4, 3, 2, 5, 4, P(1, 1, 0, 0, 1, 1, 1), 1, RT_ACT_NONE},
        {"pad > kernel", 1, 3, 3, 2, 2, 2, 2, P(3, 2, 3, 4, 1, 1, 1), 1, RT_ACT_NONE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) run_conv_case(&cases[i], 100 + i);
}
END_TEST

// The im2col path processes output pixels in bounded chunks; this case has
// more pixels than fit in one chunk (K = 576: about 3600 pixels per chunk).
START_TEST(test_conv_chunked) {
    conv_case c = {"3x3 64->16 chunked", 1, 70, 66, 64, 16, 3, 3, P(1, 1, 1, 1, 1, 1, 1), 1,
                   RT_ACT_NONE};
    run_conv_case(&c, 7);
    // The SAM 2 CXBlock depthwise shape itself.
    conv_case d = {"depthwise 64x64x256", 1, 64, 64, 256, 256, 7, 7, P(1, 1, 3, 3, 1, 1, 256), 1,
                   RT_ACT_NONE};
    run_conv_case(&d, 8);
}
END_TEST

// The depthwise cases again with the portable loop that CPUs without AVX2 run
// (ROTO_CPU_ISA=scalar also selects the scalar GEMM).
START_TEST(test_conv_depthwise_scalar) {
    const conv_case cases[] = {
        {"scalar depthwise 7x7 p3 C64", 1, 11, 9, 64, 64, 7, 7, P(1, 1, 3, 3, 1, 1, 64), 1,
         RT_ACT_GELU},
        {"scalar depthwise 3x3 s2 d2 C37", 2, 12, 10, 37, 37, 3, 3, P(2, 2, 2, 2, 2, 2, 37), 0,
         RT_ACT_NONE},
        {"scalar 3x3 p1", 1, 6, 7, 5, 6, 3, 3, P(1, 1, 1, 1, 1, 1, 1), 1, RT_ACT_RELU},
    };
    setenv("ROTO_CPU_ISA", "scalar", 1);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) run_conv_case(&cases[i], 300 + i);
    unsetenv("ROTO_CPU_ISA");
}
END_TEST

// Random shapes and parameters, all paths.
START_TEST(test_conv_random) {
    tu_rng rng;
    tu_rng_seed(&rng, 4242);
    for (int it = 0; it < 60; it++) {
        conv_case c;
        c.name = "random";
        c.N = tu_rng_int(&rng, 1, 2);
        c.KH = tu_rng_int(&rng, 1, 5);
        c.KW = tu_rng_int(&rng, 1, 5);
        c.p.stride_h = tu_rng_int(&rng, 1, 3);
        c.p.stride_w = tu_rng_int(&rng, 1, 3);
        c.p.dil_h = tu_rng_int(&rng, 1, 2);
        c.p.dil_w = tu_rng_int(&rng, 1, 2);
        c.p.pad_h = tu_rng_int(&rng, 0, 3);
        c.p.pad_w = tu_rng_int(&rng, 0, 3);
        int kind = tu_rng_int(&rng, 0, 3);  // 0 dense, 1 grouped, 2 depthwise, 3 1x1
        int g = kind == 1 ? tu_rng_int(&rng, 2, 3) : 1;
        c.Cin = g * tu_rng_int(&rng, 1, 9);
        c.Cout = g * tu_rng_int(&rng, 1, 9);
        if (kind == 2) {
            c.Cin = c.Cout = tu_rng_int(&rng, 1, 40);
            g = c.Cin;
        }
        if (kind == 3) {
            c.KH = c.KW = 1;
            c.p = P(1, 1, 0, 0, 1, 1, 1);
        }
        c.p.groups = g;
        // Input large enough for the dilated kernel.
        int minh = c.p.dil_h * (c.KH - 1) + 1 - 2 * c.p.pad_h, minw = c.p.dil_w * (c.KW - 1) + 1 - 2 * c.p.pad_w;
        c.H = tu_rng_int(&rng, minh > 1 ? minh : 1, 19);
        c.W = tu_rng_int(&rng, minw > 1 ? minw : 1, 19);
        c.bias = tu_rng_int(&rng, 0, 1);
        c.act = (rt_act)tu_rng_int(&rng, 0, 3);
        run_conv_case(&c, 1000 + it);
    }
}
END_TEST

static void run_convt_case(int N, int H, int W, int Cin, int Cout, int k, int bias, uint64_t seed) {
    tu_rng rng;
    tu_rng_seed(&rng, seed);
    size_t nx = (size_t)N * H * W * Cin, nw = (size_t)Cin * Cout * k * k;
    size_t ny = (size_t)N * H * k * W * k * Cout;
    float *x = tu_alloc_f32(nx), *w = tu_alloc_f32(nw), *b = tu_alloc_f32(Cout);
    float *y = tu_alloc_f32(ny);
    double *ref = malloc(ny * sizeof(double));
    tu_fill_uniform(&rng, x, nx, -1, 1);
    tu_fill_uniform(&rng, w, nw, -1.0f / sqrtf((float)Cin), 1.0f / sqrtf((float)Cin));
    tu_fill_uniform(&rng, b, Cout, -0.5f, 0.5f);
    tu_poison_f32(y, ny);
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    rt_tensor tx = rt_f32_4d(x, N, H, W, Cin), tw = rt_f32_4d(w, Cin, Cout, k, k);
    rt_tensor tb = rt_f32_1d(b, Cout), ty = rt_f32_4d(y, N, H * k, W * k, Cout);
    roto_status st = rt_conv_transpose(&ctx, &ty, &tx, &tw, bias ? &tb : NULL, k);
    ck_assert_msg(st == ROTO_OK, "conv_transpose: %s", roto_last_error());
    ref_conv_transpose(ref, x, w, bias ? b : NULL, N, H, W, Cin, Cout, k);
    char what[128];
    snprintf(what, sizeof what, "conv_transpose [%d,%d,%d,%d] k%d -> %d", N, H, W, Cin, k, Cout);
    tu_check_close(y, ref, ny, TU_TOL_F32, what);
    rt_ctx_destroy(&ctx);
    free(x);
    free(w);
    free(b);
    free(y);
    free(ref);
}

START_TEST(test_conv_transpose) {
    run_convt_case(1, 8, 8, 256, 64, 2, 1, 1);  // SAM 2 upscaling 256->64 (at 8x8, not 64x64)
    run_convt_case(1, 16, 12, 64, 32, 2, 1, 2);  // 64->32
    run_convt_case(2, 3, 5, 7, 3, 2, 0, 3);
    run_convt_case(1, 1, 1, 5, 4, 3, 1, 4);
    run_convt_case(1, 4, 3, 6, 5, 1, 1, 5);
    run_convt_case(3, 5, 2, 3, 1, 4, 1, 6);
    // More output pixels than one scratch chunk holds (8 MiB / (4*4*64*4 B) = 2048).
    run_convt_case(1, 48, 48, 16, 64, 4, 1, 7);
}
END_TEST

START_TEST(test_conv_errors) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    float *x = tu_alloc_f32(2 * 8 * 8 * 4), *w = tu_alloc_f32(6 * 3 * 3 * 4), *b = tu_alloc_f32(8);
    float *y = tu_alloc_f32(2 * 8 * 8 * 6);
    rt_tensor tx = rt_f32_4d(x, 2, 8, 8, 4), tw = rt_f32_4d(w, 6, 3, 3, 4);
    rt_tensor ty = rt_f32_4d(y, 2, 8, 8, 6), tb = rt_f32_1d(b, 6);
    rt_conv_params p = P(1, 1, 1, 1, 1, 1, 1);
    ck_assert_int_eq(rt_conv2d(&ctx, &ty, &tx, &tw, &tb, &p, RT_ACT_NONE), ROTO_OK);

    // Wrong output shape: the message names the expected one.
    rt_tensor bad_y = rt_f32_4d(y, 2, 7, 8, 6);
    ck_assert_int_eq(rt_conv2d(&ctx, &bad_y, &tx, &tw, &tb, &p, RT_ACT_NONE), ROTO_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "expected [2, 8, 8, 6]"));
    // Weight channels do not match x's.
    rt_tensor bad_w = rt_f32_4d(w, 6, 3, 3, 3);
    ck_assert_int_eq(rt_conv2d(&ctx, &ty, &tx, &bad_w, &tb, &p, RT_ACT_NONE), ROTO_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "OHWI"));
    // Groups that do not divide the channels.
    rt_conv_params pg = P(1, 1, 1, 1, 1, 1, 3);
    ck_assert_int_eq(rt_conv2d(&ctx, &ty, &tx, &tw, &tb, &pg, RT_ACT_NONE), ROTO_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "groups 3"));
    // Bad params, NULL params, bad activation.
    rt_conv_params ps = P(0, 1, 1, 1, 1, 1, 1);
    ck_assert_int_eq(rt_conv2d(&ctx, &ty, &tx, &tw, &tb, &ps, RT_ACT_NONE), ROTO_ERR_INVALID_ARG);
    rt_conv_params pp = P(1, 1, -1, 1, 1, 1, 1);
    ck_assert_int_eq(rt_conv2d(&ctx, &ty, &tx, &tw, &tb, &pp, RT_ACT_NONE), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(rt_conv2d(&ctx, &ty, &tx, &tw, &tb, NULL, RT_ACT_NONE), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(rt_conv2d(&ctx, &ty, &tx, &tw, &tb, &p, (rt_act)17), ROTO_ERR_INVALID_ARG);
    // Kernel larger than the padded input.
    rt_tensor small_x = rt_f32_4d(x, 1, 1, 1, 4);
    rt_conv_params p0 = P(1, 1, 0, 0, 1, 1, 1);
    ck_assert_int_eq(rt_conv2d(&ctx, &ty, &small_x, &tw, &tb, &p0, RT_ACT_NONE), ROTO_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "does not fit"));
    // Bias of the wrong length.
    rt_tensor bad_b = rt_f32_1d(b, 5);
    ck_assert_int_eq(rt_conv2d(&ctx, &ty, &tx, &tw, &bad_b, &p, RT_ACT_NONE), ROTO_ERR_SHAPE);
    // Output aliasing an input.
    float *big = tu_alloc_f32(2 * 8 * 8 * 6);
    rt_tensor alias_x = rt_f32_4d(big, 2, 8, 8, 4), alias_y2 = rt_f32_4d(big, 2, 8, 8, 6);
    ck_assert_int_eq(rt_conv2d(&ctx, &alias_y2, &alias_x, &tw, &tb, &p, RT_ACT_NONE),
                     ROTO_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "overlaps"));
    // Non-contiguous x, NULL x, wrong dims.
    rt_tensor sl;
    ck_assert_int_eq(rt_view_slice(&sl, &tx, 3, 0, 2), ROTO_OK);
    ck_assert_int_eq(rt_conv2d(&ctx, &ty, &sl, &tw, &tb, &p, RT_ACT_NONE), ROTO_ERR_SHAPE);
    ck_assert_int_eq(rt_conv2d(&ctx, &ty, NULL, &tw, &tb, &p, RT_ACT_NONE), ROTO_ERR_INVALID_ARG);
    rt_tensor x3 = rt_f32_3d(x, 2, 64, 4);
    ck_assert_int_eq(rt_conv2d(&ctx, &ty, &x3, &tw, &tb, &p, RT_ACT_NONE), ROTO_ERR_SHAPE);
    // Mixed dtypes.
    rt_tensor xh = tx;
    xh.dtype = RT_F16;
    ck_assert_int_eq(rt_conv2d(&ctx, &ty, &xh, &tw, &tb, &p, RT_ACT_NONE), ROTO_ERR_SHAPE);

    // conv_transpose: weight layout, output shape, k, alias.
    float *wt = tu_alloc_f32(4 * 3 * 2 * 2), *yt = tu_alloc_f32(2 * 16 * 16 * 3);
    rt_tensor twt = rt_f32_4d(wt, 4, 3, 2, 2), tyt = rt_f32_4d(yt, 2, 16, 16, 3);
    rt_tensor tbt = rt_f32_1d(b, 3);
    ck_assert_int_eq(rt_conv_transpose(&ctx, &tyt, &tx, &twt, &tbt, 2), ROTO_OK);
    ck_assert_int_eq(rt_conv_transpose(&ctx, &tyt, &tx, &twt, &tbt, 3), ROTO_ERR_SHAPE);
    ck_assert_int_eq(rt_conv_transpose(&ctx, &tyt, &tx, &twt, &tbt, 0), ROTO_ERR_INVALID_ARG);
    rt_tensor bad_yt = rt_f32_4d(yt, 2, 16, 15, 3);
    ck_assert_int_eq(rt_conv_transpose(&ctx, &bad_yt, &tx, &twt, &tbt, 2), ROTO_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "expected [2, 16, 16, 3]"));
    rt_tensor bad_wt = rt_f32_4d(wt, 3, 4, 2, 2);
    ck_assert_int_eq(rt_conv_transpose(&ctx, &tyt, &tx, &bad_wt, &tbt, 2), ROTO_ERR_SHAPE);
    rt_tensor alias_yt = rt_f32_4d(x, 1, 2, 2, 3);
    rt_tensor small_xt = rt_f32_4d(x, 1, 1, 1, 4);
    ck_assert_int_eq(rt_conv_transpose(&ctx, &alias_yt, &small_xt, &twt, &tbt, 2),
                     ROTO_ERR_INVALID_ARG);

    rt_ctx_destroy(&ctx);
    free(x);
    free(w);
    free(b);
    free(y);
    free(big);
    free(wt);
    free(yt);
}
END_TEST

static Suite *conv_suite(void) {
    Suite *s = suite_create("conv");
    TCase *tc = tcase_create("conv");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_weight_oihw_to_ohwi);
    tcase_add_test(tc, test_conv_net_shapes);
    tcase_add_test(tc, test_conv_chunked);
    tcase_add_test(tc, test_conv_depthwise_scalar);
    tcase_add_test(tc, test_conv_random);
    tcase_add_test(tc, test_conv_transpose);
    tcase_add_test(tc, test_conv_errors);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(conv_suite)
