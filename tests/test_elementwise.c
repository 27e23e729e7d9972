// test_elementwise.c: rt_binary (broadcasting add/mul/sub), rt_scale and rt_fill
// on the CPU against the fp64 reference in tests/ref/ref_elementwise.c, plus the
// op layer's argument checks.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref/ref_elementwise.h"
#include "util/test_util.h"

static int64_t numel_of(const int64_t *shape, int nd) {
    int64_t n = 1;
    for (int i = 0; i < nd; i++) n *= shape[i];
    return n;
}

// y = a op b for contiguous a, b of the given shapes, for all three ops.
static void check_binary_shapes(rt_ctx *ctx, tu_rng *rng, int and, const int64_t *ash, int bnd,
                                const int64_t *bsh) {
    const int ynd = and > bnd ? and : bnd;
    int64_t ysh[RT_MAX_DIMS];
    for (int i = 0; i < ynd; i++) {
        const int ia = i - (ynd - and), ib = i - (ynd - bnd);
        const int64_t da = ia >= 0 ? ash[ia] : 1, db = ib >= 0 ? bsh[ib] : 1;
        ysh[i] = da == 1 ? db : da;
    }
    const int64_t na = numel_of(ash, and), nb = numel_of(bsh, bnd), ny = numel_of(ysh, ynd);
    float *a = tu_alloc_f32(na), *b = tu_alloc_f32(nb), *y = tu_alloc_f32(ny);
    double *ref = malloc(sizeof(double) * (size_t)(ny ? ny : 1));
    tu_fill_uniform(rng, a, na, -2.0f, 2.0f);
    tu_fill_uniform(rng, b, nb, -2.0f, 2.0f);
    rt_tensor ta = rt_tensor_make(a, RT_F32, RT_DEV_CPU, and, ash);
    rt_tensor tb = rt_tensor_make(b, RT_F32, RT_DEV_CPU, bnd, bsh);
    rt_tensor ty = rt_tensor_make(y, RT_F32, RT_DEV_CPU, ynd, ysh);
    for (int op = RT_BIN_ADD; op <= RT_BIN_SUB; op++) {
        ref_binary(ref, ysh, ynd, &ta, &tb, (rt_binop)op);
        tu_poison_f32(y, ny);
        roto_status st = rt_binary(ctx, &ty, &ta, &tb, (rt_binop)op);
        ck_assert_msg(st == ROTO_OK, "binary: %s", roto_last_error());
        char what[128], sa[64], sb[64];
        snprintf(what, sizeof what, "binary op %d: %s with %s", op,
                 rt_shape_str(&ta, sa, sizeof sa), rt_shape_str(&tb, sb, sizeof sb));
        tu_check_close(y, ref, (size_t)ny, TU_TOL_F32, what);
    }
    free(a), free(b), free(y), free(ref);
}

START_TEST(test_binary_broadcast) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    tu_rng rng;
    tu_rng_seed(&rng, 31);
    struct {
        int and;
        int64_t a[4];
        int bnd;
        int64_t b[4];
    } cases[] = {
        {4, {2, 1, 5, 1}, 3, {3, 1, 7}},     // both sides broadcast -> [2, 3, 5, 7]
        {2, {37, 96}, 1, {96}},              // row vector
        {1, {96}, 2, {37, 96}},              // row vector on the left (sub order matters)
        {3, {4, 64, 256}, 3, {4, 64, 256}},  // same shape, several OpenMP chunks
        {3, {3, 5, 7}, 0, {0}},              // scalar (0-d) b
        {1, {1}, 3, {3, 5, 7}},              // 1-element a
        {4, {2, 8, 8, 3}, 4, {1, 8, 8, 3}},  // trailing block [8, 8, 3] repeated
        {4, {2, 8, 8, 3}, 4, {2, 1, 1, 3}},  // per-batch channel vector
        {3, {5, 1, 7}, 2, {4, 1}},           // -> [5, 4, 7]
        {2, {1, 1}, 2, {1, 1}},
        {2, {1000, 33}, 2, {1000, 1}},       // column vector
        {4, {1, 1, 1, 1}, 4, {2, 3, 4, 5}},
        {2, {0, 5}, 1, {5}},                 // empty
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_binary_shapes(&ctx, &rng, cases[i].and, cases[i].a, cases[i].bnd, cases[i].b);
    rt_ctx_destroy(&ctx);
}
END_TEST

START_TEST(test_binary_strided_and_inplace) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    tu_rng rng;
    tu_rng_seed(&rng, 32);
    // a is a slice [6, 10] of a [6, 16] buffer; a3 views it as [6, 1, 10].
    // b is [10, 6, 1] permuted to [6, 10, 1] (strides 1, 6). y = a3 * b is
    // [6, 10, 10] with y[i][j][k] = a[i][k] * b[i][j]: the general path.
    float abuf[6 * 16], bbuf[10 * 6], y[6 * 10];
    double ref[6 * 10];
    tu_fill_uniform(&rng, abuf, 96, -1, 1);
    tu_fill_uniform(&rng, bbuf, 60, -1, 1);
    rt_tensor full = rt_f32_2d(abuf, 6, 16), a, bt = rt_f32_3d(bbuf, 10, 6, 1), b;
    ck_assert_int_eq(rt_view_slice(&a, &full, 1, 3, 10), ROTO_OK);
    int perm[3] = {1, 0, 2};
    ck_assert_int_eq(rt_view_permute(&b, &bt, perm), ROTO_OK);
    rt_tensor a3 = a;
    a3.ndim = 3;
    a3.shape[0] = 6, a3.shape[1] = 1, a3.shape[2] = 10;
    a3.stride[0] = 16, a3.stride[1] = 10, a3.stride[2] = 1;
    float *y3 = tu_alloc_f32(600);
    double *ref3 = malloc(sizeof(double) * 600);
    int64_t ysh3[3] = {6, 10, 10};
    rt_tensor ty3 = rt_tensor_make(y3, RT_F32, RT_DEV_CPU, 3, ysh3);
    tu_poison_f32(y3, 600);
    ck_assert_int_eq(rt_binary(&ctx, &ty3, &a3, &b, RT_BIN_MUL), ROTO_OK);
    ref_binary(ref3, ysh3, 3, &a3, &b, RT_BIN_MUL);
    tu_check_close(y3, ref3, 600, TU_TOL_F32, "strided mul");
    // Strided a with a contiguous row vector.
    float rv[10];
    tu_fill_uniform(&rng, rv, 10, -1, 1);
    rt_tensor trv = rt_f32_1d(rv, 10), ty = rt_f32_2d(y, 6, 10);
    int64_t ysh2[2] = {6, 10};
    ck_assert_int_eq(rt_binary(&ctx, &ty, &a, &trv, RT_BIN_SUB), ROTO_OK);
    ref_binary(ref, ysh2, 2, &a, &trv, RT_BIN_SUB);
    tu_check_close(y, ref, 60, TU_TOL_F32, "strided a - row");
    // In place: y is a, and y is both a and b.
    float *x = tu_alloc_f32(40 * 50), *x0 = tu_alloc_f32(40 * 50);
    tu_fill_uniform(&rng, x, 2000, -1, 1);
    memcpy(x0, x, sizeof(float) * 2000);
    rt_tensor tx = rt_f32_2d(x, 40, 50), tx0 = rt_f32_2d(x0, 40, 50);
    float cv[50];
    tu_fill_uniform(&rng, cv, 50, -1, 1);
    rt_tensor tcv = rt_f32_1d(cv, 50);
    double *r2 = malloc(sizeof(double) * 2000);
    int64_t xs[2] = {40, 50};
    ref_binary(r2, xs, 2, &tx0, &tcv, RT_BIN_ADD);
    ck_assert_int_eq(rt_binary(&ctx, &tx, &tx, &tcv, RT_BIN_ADD), ROTO_OK);
    tu_check_close(x, r2, 2000, TU_TOL_F32, "in place row add");
    memcpy(x0, x, sizeof(float) * 2000);
    ref_binary(r2, xs, 2, &tx0, &tx0, RT_BIN_MUL);
    ck_assert_int_eq(rt_binary(&ctx, &tx, &tx, &tx, RT_BIN_MUL), ROTO_OK);
    tu_check_close(x, r2, 2000, TU_TOL_F32, "in place square");
    free(y3), free(ref3), free(x), free(x0), free(r2);
    rt_ctx_destroy(&ctx);
}
END_TEST

START_TEST(test_scale_fill) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    tu_rng rng;
    tu_rng_seed(&rng, 33);
    const size_t sizes[] = {1, 15, 16, 17, 100003};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        const size_t n = sizes[s];
        float *x = tu_alloc_f32(n), *y = tu_alloc_f32(n);
        double *ref = malloc(sizeof(double) * n);
        tu_fill_uniform(&rng, x, n, -5, 5);
        for (size_t i = 0; i < n; i++) ref[i] = (double)x[i] * 0.37 + -1.25;
        rt_tensor tx = rt_f32_1d(x, (int64_t)n), ty = rt_f32_1d(y, (int64_t)n);
        tu_poison_f32(y, n);
        ck_assert_int_eq(rt_scale(&ctx, &ty, &tx, 0.37f, -1.25f), ROTO_OK);
        tu_check_close(y, ref, n, TU_TOL_F32, "scale");
        ck_assert_int_eq(rt_scale(&ctx, &tx, &tx, 0.37f, -1.25f), ROTO_OK);  // in place
        tu_check_close(x, ref, n, TU_TOL_F32, "scale in place");
        ck_assert_int_eq(rt_fill(&ctx, &ty, -3.5f), ROTO_OK);
        for (size_t i = 0; i < n; i++) ck_assert_float_eq(y[i], -3.5f);
        free(x), free(y), free(ref);
    }
    rt_ctx_destroy(&ctx);
}
END_TEST

START_TEST(test_elementwise_op_errors) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    float a[4 * 6], b[5], y[4 * 6];
    int32_t yi[24];
    rt_tensor ta = rt_f32_2d(a, 4, 6), tb5 = rt_f32_1d(b, 5), ty = rt_f32_2d(y, 4, 6);
    ck_assert_int_eq(rt_binary(&ctx, &ty, &ta, &tb5, RT_BIN_ADD), ROTO_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "do not broadcast"));
    rt_tensor tb1 = rt_f32_1d(b, 1), ty_bad = rt_f32_2d(y, 6, 4);
    ck_assert_int_eq(rt_binary(&ctx, &ty_bad, &ta, &tb1, RT_BIN_ADD), ROTO_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "broadcast shape"));
    rt_tensor ty3 = rt_f32_3d(y, 1, 4, 6);
    ck_assert_int_eq(rt_binary(&ctx, &ty3, &ta, &tb1, RT_BIN_ADD), ROTO_ERR_SHAPE);
    // y partly overlapping a, or overlapping the broadcast operand.
    rt_tensor ta_small = rt_f32_2d(a, 3, 6), ty_shift = rt_f32_2d(a + 6, 3, 6);
    ck_assert_int_eq(rt_binary(&ctx, &ty_shift, &ta_small, &tb1, RT_BIN_ADD),
                     ROTO_ERR_INVALID_ARG);
    rt_tensor row = rt_f32_1d(a, 6);
    ck_assert_int_eq(rt_binary(&ctx, &ta, &ta, &row, RT_BIN_ADD), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(rt_binary(&ctx, &ty, &ta, &tb1, (rt_binop)9), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(rt_binary(&ctx, &ty, &ta, NULL, RT_BIN_ADD), ROTO_ERR_INVALID_ARG);
    int64_t shp[2] = {4, 6};
    rt_tensor tyi = rt_tensor_make(yi, RT_I32, RT_DEV_CPU, 2, shp);
    ck_assert_int_eq(rt_binary(&ctx, &tyi, &ta, &tb1, RT_BIN_ADD), ROTO_ERR_SHAPE);
    ck_assert_int_eq(rt_fill(&ctx, &tyi, 1.0f), ROTO_ERR_UNSUPPORTED);
    // Non-contiguous output for scale/fill.
    rt_tensor sl;
    ck_assert_int_eq(rt_view_slice(&sl, &ty, 1, 0, 3), ROTO_OK);
    ck_assert_int_eq(rt_fill(&ctx, &sl, 0.0f), ROTO_ERR_SHAPE);
    rt_tensor ta3 = rt_f32_2d(a, 4, 3);
    ck_assert_int_eq(rt_scale(&ctx, &sl, &ta3, 1.0f, 0.0f), ROTO_ERR_SHAPE);
    ck_assert_int_eq(rt_scale(&ctx, &ty_bad, &ta, 1.0f, 0.0f), ROTO_ERR_SHAPE);
    rt_ctx_destroy(&ctx);
}
END_TEST

static Suite *elementwise_suite(void) {
    Suite *s = suite_create("elementwise");
    TCase *tc = tcase_create("elementwise");
    tcase_add_test(tc, test_binary_broadcast);
    tcase_add_test(tc, test_binary_strided_and_inplace);
    tcase_add_test(tc, test_scale_fill);
    tcase_add_test(tc, test_elementwise_op_errors);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(elementwise_suite)
