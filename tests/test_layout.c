// test_layout.c: window partition / unpartition (Hiera padding cases), 2x2
// max-pool, strided copy with dtype conversion and concat against the fp64
// references in tests/ref/ref_layout.c, plus the op layer's argument checks.
// These ops only move or compare values, so results must be exact.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref_layout.h"
#include "util/test_util.h"

static void run_window_case(int N, int H, int W, int C, int ws, uint64_t seed) {
    tu_rng rng;
    tu_rng_seed(&rng, seed);
    int nh = (H + ws - 1) / ws, nw = (W + ws - 1) / ws, B = N * nh * nw;
    size_t nx = (size_t)N * H * W * C, ny = (size_t)B * ws * ws * C;
    float *x = tu_alloc_f32(nx), *win = tu_alloc_f32(ny), *back = tu_alloc_f32(nx);
    double *ref = malloc(ny * sizeof(double)), *ref_back = malloc(nx * sizeof(double));
    tu_fill_uniform(&rng, x, nx, -1, 1);
    tu_poison_f32(win, ny);
    tu_poison_f32(back, nx);
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    rt_tensor tx = rt_f32_4d(x, N, H, W, C), tw = rt_f32_4d(win, B, ws, ws, C);
    rt_tensor tb = rt_f32_4d(back, N, H, W, C);
    ck_assert_msg(rt_window_partition(&ctx, &tw, &tx, ws) == ROTO_OK, "%s", roto_last_error());
    ref_window_partition(ref, x, N, H, W, C, ws);
    char what[96];
    snprintf(what, sizeof what, "window_partition [%d,%d,%d,%d] ws %d", N, H, W, C, ws);
    tu_check_close(win, ref, ny, TU_TOL_EXACT, what);
    // Unpartition of the windows gives x back (the padding is cropped).
    ck_assert_msg(rt_window_unpartition(&ctx, &tb, &tw, ws) == ROTO_OK, "%s", roto_last_error());
    ref_window_unpartition(ref_back, win, N, H, W, C, ws);
    snprintf(what, sizeof what, "window_unpartition [%d,%d,%d,%d] ws %d", N, H, W, C, ws);
    tu_check_close(back, ref_back, nx, TU_TOL_EXACT, what);
    ck_assert(memcmp(back, x, nx * sizeof(float)) == 0);
    rt_ctx_destroy(&ctx);
    free(x);
    free(win);
    free(back);
    free(ref);
    free(ref_back);
}

START_TEST(test_window_partition_cases) {
    run_window_case(1, 64, 64, 8, 14, 1);  // SAM 2 T/S/B+ stage 3: pad 64 -> 70, 5x5 windows
    run_window_case(2, 35, 35, 3, 7, 2);   // 35 with ws 7: 5x5 windows, no padding
    run_window_case(1, 32, 32, 5, 7, 3);   // SAM 2 stage 4: pad 32 -> 35
    run_window_case(1, 35, 35, 2, 8, 10);  // pad 35 -> 40
    run_window_case(1, 16, 16, 4, 8, 4);   // Large: divides evenly
    run_window_case(2, 13, 20, 4, 7, 5);   // H and W padded differently
    run_window_case(1, 7, 3, 2, 4, 6);
    run_window_case(1, 1, 1, 1, 7, 7);     // one pixel, one window
    run_window_case(3, 5, 9, 17, 1, 8);    // ws 1: every pixel a window
    run_window_case(1, 6, 6, 16, 6, 9);    // one window covering everything
}
END_TEST

// The window order by hand: window b = wh*nw + ww holds rows wh*ws.. and
// columns ww*ws.. of the image, zeros past the edge (SAM 2's window_partition).
START_TEST(test_window_partition_order) {
    enum { H = 5, W = 3, WS = 2 };
    float x[H * W], y[3 * 2 * WS * WS];
    for (int h = 0; h < H; h++)
        for (int w = 0; w < W; w++) x[h * W + w] = (float)(100 * (h + 1) + w + 1);
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    rt_tensor tx = rt_f32_4d(x, 1, H, W, 1), ty = rt_f32_4d(y, 6, WS, WS, 1);
    ck_assert_int_eq(rt_window_partition(&ctx, &ty, &tx, WS), ROTO_OK);
    const float want[6][4] = {
        {101, 102, 201, 202}, {103, 0, 203, 0},  // rows 1-2
        {301, 302, 401, 402}, {303, 0, 403, 0},  // rows 3-4
        {501, 502, 0, 0},     {503, 0, 0, 0},    // row 5 and the padding row
    };
    for (int b = 0; b < 6; b++)
        for (int i = 0; i < 4; i++) ck_assert_float_eq(y[b * 4 + i], want[b][i]);
    rt_ctx_destroy(&ctx);
}
END_TEST

// Window ops move bytes, so half-precision maps work on the CPU too.
START_TEST(test_window_partition_f16) {
    enum { N = 1, H = 9, W = 10, C = 3, WS = 4 };
    uint16_t x[N * H * W * C], y[9 * WS * WS * C], back[N * H * W * C];
    for (int i = 0; i < N * H * W * C; i++) x[i] = rt_f32_to_f16((float)i * 0.25f);
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    int64_t sx[4] = {N, H, W, C}, sy[4] = {9, WS, WS, C};
    rt_tensor tx = rt_tensor_make(x, RT_F16, RT_DEV_CPU, 4, sx);
    rt_tensor ty = rt_tensor_make(y, RT_F16, RT_DEV_CPU, 4, sy);
    rt_tensor tb = rt_tensor_make(back, RT_F16, RT_DEV_CPU, 4, sx);
    ck_assert_int_eq(rt_window_partition(&ctx, &ty, &tx, WS), ROTO_OK);
    ck_assert_int_eq(rt_window_unpartition(&ctx, &tb, &ty, WS), ROTO_OK);
    ck_assert(memcmp(back, x, sizeof x) == 0);
    // Window 2 (third in the first window row) covers columns 8..11: 8, 9 valid.
    ck_assert_uint_eq(y[(2 * WS * WS + 0 * WS + 1) * C], x[(0 * W + 9) * C]);
    ck_assert_uint_eq(y[(2 * WS * WS + 0 * WS + 2) * C], 0);
    rt_ctx_destroy(&ctx);
}
END_TEST

START_TEST(test_window_errors) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    float *x = tu_alloc_f32(64 * 64), *y = tu_alloc_f32(25 * 14 * 14);
    rt_tensor tx = rt_f32_4d(x, 1, 64, 64, 1), ty = rt_f32_4d(y, 25, 14, 14, 1);
    ck_assert_int_eq(rt_window_partition(&ctx, &ty, &tx, 14), ROTO_OK);
    rt_tensor bad = rt_f32_4d(y, 16, 14, 14, 1);  // forgot the padding: 16 windows
    ck_assert_int_eq(rt_window_partition(&ctx, &bad, &tx, 14), ROTO_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "expected [25, 14, 14, 1]"));
    ck_assert_int_eq(rt_window_partition(&ctx, &ty, &tx, 0), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(rt_window_unpartition(&ctx, &tx, &bad, 14), ROTO_ERR_SHAPE);
    float *x2 = tu_alloc_f32(25 * 14 * 14);
    rt_tensor tx2 = rt_f32_4d(x2, 1, 64, 64, 1), alias2 = rt_f32_4d(x2, 25, 14, 14, 1);
    ck_assert_int_eq(rt_window_partition(&ctx, &alias2, &tx2, 14), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(rt_window_unpartition(&ctx, &tx2, &alias2, 14), ROTO_ERR_INVALID_ARG);
    rt_tensor th = ty;
    th.dtype = RT_F16;
    ck_assert_int_eq(rt_window_partition(&ctx, &th, &tx, 14), ROTO_ERR_SHAPE);
    rt_ctx_destroy(&ctx);
    free(x);
    free(x2);
    free(y);
}
END_TEST

static void run_maxpool_case(int N, int H, int W, int C, uint64_t seed, int with_nan) {
    tu_rng rng;
    tu_rng_seed(&rng, seed);
    int Ho = H / 2, Wo = W / 2;
    size_t nx = (size_t)N * H * W * C, ny = (size_t)N * Ho * Wo * C;
    float *x = tu_alloc_f32(nx), *y = tu_alloc_f32(ny);
    double *ref = malloc((ny ? ny : 1) * sizeof(double));
    tu_fill_uniform(&rng, x, nx, -1, 1);
    if (with_nan)
        for (size_t i = 0; i < nx; i += 7) x[i] = NAN;
    tu_poison_f32(y, ny);
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    rt_tensor tx = rt_f32_4d(x, N, H, W, C), ty = rt_f32_4d(y, N, Ho, Wo, C);
    ck_assert_msg(rt_maxpool2x2(&ctx, &ty, &tx) == ROTO_OK, "%s", roto_last_error());
    ref_maxpool2x2(ref, x, N, H, W, C);
    char what[96];
    snprintf(what, sizeof what, "maxpool2x2 [%d,%d,%d,%d]%s", N, H, W, C, with_nan ? " NaN" : "");
    tu_check_close(y, ref, ny, TU_TOL_EXACT, what);
    rt_ctx_destroy(&ctx);
    free(x);
    free(y);
    free(ref);
}

START_TEST(test_maxpool) {
    run_maxpool_case(1, 64, 64, 96, 1, 0);  // a Hiera q-pool shape (stage 1 -> 2 at 128x128 / 2)
    run_maxpool_case(2, 7, 9, 5, 2, 0);     // odd sizes: last row / column dropped (floor)
    run_maxpool_case(1, 2, 2, 1, 3, 0);
    run_maxpool_case(3, 1, 1, 4, 4, 0);     // -> 0x0 output
    run_maxpool_case(1, 3, 5, 17, 5, 0);
    run_maxpool_case(1, 8, 6, 9, 6, 1);     // NaN propagates like torch's max_pool2d
}
END_TEST

START_TEST(test_maxpool_errors) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    float x[2 * 5 * 5 * 3], y[2 * 3 * 3 * 3];
    rt_tensor tx = rt_f32_4d(x, 2, 5, 5, 3);
    rt_tensor bad = rt_f32_4d(y, 2, 3, 3, 3);  // ceil instead of floor
    ck_assert_int_eq(rt_maxpool2x2(&ctx, &bad, &tx), ROTO_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "expected [2, 2, 2, 3]"));
    rt_tensor alias = rt_f32_4d(x, 2, 2, 2, 3);
    ck_assert_int_eq(rt_maxpool2x2(&ctx, &alias, &tx), ROTO_ERR_INVALID_ARG);
    rt_tensor ok = rt_f32_4d(y, 2, 2, 2, 3);
    ck_assert_int_eq(rt_maxpool2x2(&ctx, &ok, &tx), ROTO_OK);
    rt_tensor xi = tx, yi = ok;
    xi.dtype = yi.dtype = RT_I32;
    ck_assert_int_eq(rt_maxpool2x2(&ctx, &yi, &xi), ROTO_ERR_SHAPE);
    rt_ctx_destroy(&ctx);
}
END_TEST

// Copies x (any strides, any float dtype) into y and checks every element of
// y against x read back in double; conversion to a half type is checked
// against the reference rounding of dtype.h.
static void check_copy(const rt_tensor *y, const rt_tensor *x, const char *what) {
    int64_t n = rt_numel(x);
    double *rx = malloc((n ? n : 1) * sizeof(double)), *ry = malloc((n ? n : 1) * sizeof(double));
    ref_gather(rx, x);
    ref_gather(ry, y);
    for (int64_t i = 0; i < n; i++) {
        double want = rx[i];
        if (y->dtype == RT_F16) want = rt_f16_to_f32(rt_f32_to_f16((float)want));
        if (y->dtype == RT_BF16) want = rt_bf16_to_f32(rt_f32_to_bf16((float)want));
        ck_assert_msg(ry[i] == want || (isnan(ry[i]) && isnan(want)),
                      "%s: element %lld is %.9g, want %.9g", what, (long long)i, ry[i], want);
    }
    free(rx);
    free(ry);
}

START_TEST(test_copy_permute_slice) {
    tu_rng rng;
    tu_rng_seed(&rng, 11);
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    // NCHW -> NHWC "contiguous()" of a permuted view.
    enum { N = 2, C = 3, H = 17, W = 23 };
    float *x = tu_alloc_f32(N * C * H * W), *y = tu_alloc_f32(N * C * H * W);
    tu_fill_uniform(&rng, x, N * C * H * W, -1, 1);
    rt_tensor tx = rt_f32_4d(x, N, C, H, W), p;
    int perm[4] = {0, 2, 3, 1};
    ck_assert_int_eq(rt_view_permute(&p, &tx, perm), ROTO_OK);
    rt_tensor ty = rt_f32_4d(y, N, H, W, C);
    tu_poison_f32(y, N * C * H * W);
    ck_assert_int_eq(rt_copy(&ctx, &ty, &p), ROTO_OK);
    check_copy(&ty, &p, "permute NCHW->NHWC");
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            for (int h = 0; h < H; h++)
                for (int w = 0; w < W; w++)
                    ck_assert_float_eq(y[((n * H + h) * W + w) * C + c], x[((n * C + c) * H + h) * W + w]);
    // A slice of a slice into a strided destination (a slice of a bigger buffer).
    rt_tensor s1, s2, d1;
    ck_assert_int_eq(rt_view_slice(&s1, &tx, 2, 3, 11), ROTO_OK);
    ck_assert_int_eq(rt_view_slice(&s2, &s1, 3, 5, 7), ROTO_OK);
    float *big = tu_alloc_f32(N * C * 11 * 20);
    tu_poison_f32(big, N * C * 11 * 20);
    rt_tensor tbig = rt_f32_4d(big, N, C, 11, 20);
    ck_assert_int_eq(rt_view_slice(&d1, &tbig, 3, 9, 7), ROTO_OK);
    ck_assert_int_eq(rt_copy(&ctx, &d1, &s2), ROTO_OK);
    check_copy(&d1, &s2, "slice -> strided slice");
    ck_assert(isnan(big[0]));  // outside the destination slice: untouched
    // Contiguous -> contiguous of every rank, incl. a 0-d scalar.
    for (int nd = 0; nd <= 4; nd++) {
        int64_t shape[4] = {3, 5, 7, 9};
        rt_tensor a = rt_tensor_make(x, RT_F32, RT_DEV_CPU, nd, shape);
        rt_tensor b = rt_tensor_make(y, RT_F32, RT_DEV_CPU, nd, shape);
        tu_poison_f32(y, N * C * H * W);
        ck_assert_int_eq(rt_copy(&ctx, &b, &a), ROTO_OK);
        check_copy(&b, &a, "contiguous");
    }
    // A broadcast source (stride 0) fills every row.
    rt_tensor row = rt_f32_2d(x, 1, 9);
    row.shape[0] = 6;
    row.stride[0] = 0;
    rt_tensor dst = rt_f32_2d(y, 6, 9);
    ck_assert_int_eq(rt_copy(&ctx, &dst, &row), ROTO_OK);
    check_copy(&dst, &row, "broadcast row");
    rt_ctx_destroy(&ctx);
    free(x);
    free(y);
    free(big);
}
END_TEST

START_TEST(test_copy_dtypes) {
    tu_rng rng;
    tu_rng_seed(&rng, 12);
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    enum { R = 13, K = 37 };
    float *x = tu_alloc_f32(R * K), *back = tu_alloc_f32(R * K);
    tu_fill_normal(&rng, x, R * K, 0, 100);
    x[0] = NAN;
    x[1] = INFINITY;
    x[2] = 70000.0f;  // overflows f16
    x[3] = 1e-6f;     // f16 subnormal
    uint16_t h[R * K], t[K * R];
    rt_tensor tx = rt_f32_2d(x, R, K);
    int64_t shape[2] = {R, K};
    const rt_dtype halves[2] = {RT_F16, RT_BF16};
    for (int i = 0; i < 2; i++) {
        rt_tensor th = rt_tensor_make(h, halves[i], RT_DEV_CPU, 2, shape);
        ck_assert_int_eq(rt_copy(&ctx, &th, &tx), ROTO_OK);
        check_copy(&th, &tx, rt_dtype_name(halves[i]));
        // Back to f32 is exact.
        rt_tensor tb = rt_f32_2d(back, R, K);
        ck_assert_int_eq(rt_copy(&ctx, &tb, &th), ROTO_OK);
        check_copy(&tb, &th, "half -> f32");
        // f16 <-> bf16 through a transposed (non-contiguous) view.
        int perm[2] = {1, 0};
        rt_tensor tp, to;
        ck_assert_int_eq(rt_view_permute(&tp, &th, perm), ROTO_OK);
        int64_t tshape[2] = {K, R};
        to = rt_tensor_make(t, halves[1 - i], RT_DEV_CPU, 2, tshape);
        ck_assert_int_eq(rt_copy(&ctx, &to, &tp), ROTO_OK);
        check_copy(&to, &tp, "half -> other half, transposed");
    }
    // Same-dtype copies of integer types are plain copies.
    uint8_t u[R * K], u2[R * K];
    for (int i = 0; i < R * K; i++) u[i] = (uint8_t)(i * 7);
    rt_tensor tu8 = rt_tensor_make(u, RT_U8, RT_DEV_CPU, 2, shape);
    rt_tensor tu8b = rt_tensor_make(u2, RT_U8, RT_DEV_CPU, 2, shape);
    ck_assert_int_eq(rt_copy(&ctx, &tu8b, &tu8), ROTO_OK);
    ck_assert(memcmp(u, u2, sizeof u) == 0);
    // Converting integer types is not a copy's job.
    rt_tensor tf = rt_f32_2d(back, R, K);
    ck_assert_int_eq(rt_copy(&ctx, &tf, &tu8), ROTO_ERR_UNSUPPORTED);
    rt_ctx_destroy(&ctx);
    free(x);
    free(back);
}
END_TEST

// A long contiguous copy is split across threads; check the block edges.
START_TEST(test_copy_large) {
    size_t n = (size_t)3 << 20;
    float *x = tu_alloc_f32(n), *y = tu_alloc_f32(n);
    for (size_t i = 0; i < n; i++) x[i] = (float)i;
    tu_poison_f32(y, n);
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    rt_tensor tx = rt_f32_1d(x, (int64_t)n), ty = rt_f32_1d(y, (int64_t)n);
    ck_assert_int_eq(rt_copy(&ctx, &ty, &tx), ROTO_OK);
    ck_assert(memcmp(x, y, n * sizeof(float)) == 0);
    // Same with a dtype conversion (element loop in blocks).
    uint16_t *h = malloc(n * sizeof(uint16_t));
    int64_t shape[1] = {(int64_t)n};
    rt_tensor th = rt_tensor_make(h, RT_BF16, RT_DEV_CPU, 1, shape);
    ck_assert_int_eq(rt_copy(&ctx, &th, &tx), ROTO_OK);
    for (size_t i = 0; i < n; i += 997) ck_assert_uint_eq(h[i], rt_f32_to_bf16(x[i]));
    ck_assert_uint_eq(h[n - 1], rt_f32_to_bf16(x[n - 1]));
    rt_ctx_destroy(&ctx);
    free(x);
    free(y);
    free(h);
}
END_TEST

START_TEST(test_copy_errors) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    float x[24], y[24];
    rt_tensor tx = rt_f32_2d(x, 4, 6), ty = rt_f32_2d(y, 6, 4);
    ck_assert_int_eq(rt_copy(&ctx, &ty, &tx), ROTO_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "shapes differ"));
    rt_tensor self = rt_f32_2d(x, 4, 6);
    ck_assert_int_eq(rt_copy(&ctx, &self, &tx), ROTO_ERR_INVALID_ARG);
    rt_tensor shifted = rt_f32_2d(x + 3, 3, 6), src = rt_f32_2d(x, 3, 6);
    ck_assert_int_eq(rt_copy(&ctx, &shifted, &src), ROTO_ERR_INVALID_ARG);  // partial overlap
    rt_tensor bcast = rt_f32_2d(y, 4, 6);
    bcast.stride[0] = 0;  // four rows written to one place
    ck_assert_int_eq(rt_copy(&ctx, &bcast, &tx), ROTO_ERR_SHAPE);
    rt_tensor neg = rt_f32_2d(x + 18, 4, 6), ty46 = rt_f32_2d(y, 4, 6);
    neg.stride[0] = -6;  // rows in reverse: not a supported view
    ck_assert_int_eq(rt_copy(&ctx, &ty46, &neg), ROTO_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "negative stride"));
    ck_assert_int_eq(rt_copy(&ctx, NULL, &tx), ROTO_ERR_INVALID_ARG);
    rt_ctx_destroy(&ctx);
}
END_TEST

// Concatenate three strided inputs along `dim` of 4-d tensors.
static void run_concat_case(int dim, uint64_t seed) {
    tu_rng rng;
    tu_rng_seed(&rng, seed);
    int64_t base[4] = {2, 3, 5, 4};
    const int64_t lens[3] = {1, 3, 2};
    rt_tensor views[3];
    float *bufs[3];
    int64_t total = 0;
    for (int i = 0; i < 3; i++) {
        int64_t s[4] = {base[0], base[1], base[2], base[3]};
        s[dim] = lens[i];
        // Each input is a view into a buffer with 2 extra elements per row,
        // so its rows are strided (last dim contiguous).
        int64_t padded[4] = {s[0], s[1], s[2], s[3] + 2};
        size_t n = (size_t)(padded[0] * padded[1] * padded[2] * padded[3]);
        bufs[i] = tu_alloc_f32(n);
        tu_fill_uniform(&rng, bufs[i], n, -1, 1);
        rt_tensor full = rt_tensor_make(bufs[i], RT_F32, RT_DEV_CPU, 4, padded);
        ck_assert_int_eq(rt_view_slice(&views[i], &full, 3, 1, s[3]), ROTO_OK);
        total += lens[i];
    }
    int64_t ys[4] = {base[0], base[1], base[2], base[3]};
    ys[dim] = total;
    size_t ny = (size_t)(ys[0] * ys[1] * ys[2] * ys[3]);
    float *y = tu_alloc_f32(ny);
    double *ref = malloc(ny * sizeof(double));
    tu_poison_f32(y, ny);
    rt_tensor ty = rt_tensor_make(y, RT_F32, RT_DEV_CPU, 4, ys);
    const rt_tensor *xs[3] = {&views[0], &views[1], &views[2]};
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    // Negative dims count from the end, as in torch.cat.
    int d = (seed & 1) ? dim - 4 : dim;
    ck_assert_msg(rt_concat(&ctx, &ty, xs, 3, d) == ROTO_OK, "%s", roto_last_error());
    ref_concat(ref, xs, 3, dim);
    char what[48];
    snprintf(what, sizeof what, "concat dim %d", d);
    tu_check_close(y, ref, ny, TU_TOL_EXACT, what);
    rt_ctx_destroy(&ctx);
    for (int i = 0; i < 3; i++) free(bufs[i]);
    free(y);
    free(ref);
}

START_TEST(test_concat) {
    for (int dim = 0; dim < 4; dim++) {
        run_concat_case(dim, 2 * dim);
        run_concat_case(dim, 2 * dim + 1);
    }
    // 2-d token concat (e.g. memory tokens + object pointers), bf16.
    uint16_t a[3 * 4], b[2 * 4], y[5 * 4];
    for (int i = 0; i < 12; i++) a[i] = rt_f32_to_bf16((float)i);
    for (int i = 0; i < 8; i++) b[i] = rt_f32_to_bf16((float)(100 + i));
    int64_t sa[2] = {3, 4}, sb[2] = {2, 4}, sy[2] = {5, 4};
    rt_tensor ta = rt_tensor_make(a, RT_BF16, RT_DEV_CPU, 2, sa);
    rt_tensor tb = rt_tensor_make(b, RT_BF16, RT_DEV_CPU, 2, sb);
    rt_tensor ty = rt_tensor_make(y, RT_BF16, RT_DEV_CPU, 2, sy);
    const rt_tensor *xs[2] = {&ta, &tb};
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    ck_assert_int_eq(rt_concat(&ctx, &ty, xs, 2, 0), ROTO_OK);
    ck_assert(memcmp(y, a, sizeof a) == 0 && memcmp(y + 12, b, sizeof b) == 0);
    rt_ctx_destroy(&ctx);
}
END_TEST

START_TEST(test_concat_errors) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    float a[2 * 3], b[2 * 4], y[2 * 7];
    rt_tensor ta = rt_f32_2d(a, 2, 3), tb = rt_f32_2d(b, 2, 4), ty = rt_f32_2d(y, 2, 7);
    const rt_tensor *xs[2] = {&ta, &tb};
    ck_assert_int_eq(rt_concat(&ctx, &ty, xs, 2, 1), ROTO_OK);
    ck_assert_int_eq(rt_concat(&ctx, &ty, xs, 2, 0), ROTO_ERR_SHAPE);  // dims 1 differ
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "may differ only in dim 0"));
    rt_tensor ty6 = rt_f32_2d(y, 2, 6);
    ck_assert_int_eq(rt_concat(&ctx, &ty6, xs, 2, 1), ROTO_ERR_SHAPE);  // sizes add to 7
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "add up to 7"));
    ck_assert_int_eq(rt_concat(&ctx, &ty, xs, 2, 2), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(rt_concat(&ctx, &ty, xs, 0, 1), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(rt_concat(&ctx, &ty, NULL, 2, 1), ROTO_ERR_INVALID_ARG);
    const rt_tensor *xn[2] = {&ta, NULL};
    ck_assert_int_eq(rt_concat(&ctx, &ty, xn, 2, 1), ROTO_ERR_INVALID_ARG);
    // An input that is the output.
    rt_tensor alias = rt_f32_2d(y, 2, 3);
    const rt_tensor *xa[2] = {&alias, &tb};
    ck_assert_int_eq(rt_concat(&ctx, &ty, xa, 2, 1), ROTO_ERR_INVALID_ARG);
    // Mixed dtypes.
    rt_tensor th = tb;
    th.dtype = RT_F16;
    const rt_tensor *xh[2] = {&ta, &th};
    ck_assert_int_eq(rt_concat(&ctx, &ty, xh, 2, 1), ROTO_ERR_SHAPE);
    rt_ctx_destroy(&ctx);
}
END_TEST

static Suite *layout_suite(void) {
    Suite *s = suite_create("layout");
    TCase *tc = tcase_create("layout");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_window_partition_cases);
    tcase_add_test(tc, test_window_partition_order);
    tcase_add_test(tc, test_window_partition_f16);
    tcase_add_test(tc, test_window_errors);
    tcase_add_test(tc, test_maxpool);
    tcase_add_test(tc, test_maxpool_errors);
    tcase_add_test(tc, test_copy_permute_slice);
    tcase_add_test(tc, test_copy_dtypes);
    tcase_add_test(tc, test_copy_large);
    tcase_add_test(tc, test_copy_errors);
    tcase_add_test(tc, test_concat);
    tcase_add_test(tc, test_concat_errors);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(layout_suite)
