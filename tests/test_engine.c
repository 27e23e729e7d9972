// test_engine.c: tensors, views, dtype conversion, status messages, the arena,
// the backend table and the op layer's argument validation.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/test_util.h"

START_TEST(test_status_message) {
    roto_clear_error();
    roto_status st = roto_fail(ROTO_ERR_FORMAT, "file %s is truncated", "x.pt");
    ck_assert_int_eq(st, ROTO_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "x.pt is truncated"));
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "format error"));
}
END_TEST

START_TEST(test_views) {
    float buf[2 * 3 * 4 * 5];
    for (int i = 0; i < 120; i++) buf[i] = (float)i;
    rt_tensor t = rt_f32_4d(buf, 2, 3, 4, 5);
    ck_assert(rt_is_contiguous(&t));
    ck_assert_int_eq(rt_numel(&t), 120);
    rt_tensor v;
    ck_assert_int_eq(rt_view_slice(&v, &t, 2, 1, 2), ROTO_OK);
    ck_assert(!rt_is_contiguous(&v));
    ck_assert_float_eq(*(float *)rt_elem_ptr(&v, 1, 2, 1, 3), buf[1 * 60 + 2 * 20 + 2 * 5 + 3]);
    int perm[4] = {0, 2, 1, 3};
    rt_tensor p;
    ck_assert_int_eq(rt_view_permute(&p, &t, perm), ROTO_OK);
    ck_assert_int_eq(p.shape[1], 4);
    ck_assert_float_eq(*(float *)rt_elem_ptr(&p, 1, 3, 2, 4), buf[1 * 60 + 2 * 20 + 3 * 5 + 4]);
    rt_tensor r;
    int64_t s[2] = {-1, 5};
    ck_assert_int_eq(rt_view_reshape(&r, &t, 2, s), ROTO_OK);
    ck_assert_int_eq(r.shape[0], 24);
    int64_t bad[2] = {7, -1};
    ck_assert_int_eq(rt_view_reshape(&r, &t, 2, bad), ROTO_ERR_SHAPE);
    ck_assert_int_eq(rt_view_reshape(&r, &v, 2, s), ROTO_ERR_SHAPE);  // non-contiguous
    ck_assert_int_eq(rt_view_slice(&v, &t, 1, 2, 2), ROTO_ERR_SHAPE);
    int badperm[4] = {0, 0, 1, 2};
    ck_assert_int_eq(rt_view_permute(&p, &t, badperm), ROTO_ERR_SHAPE);
}
END_TEST

START_TEST(test_half_conversions) {
    // Exact values survive both half formats; rounding is to nearest even.
    const float exact[] = {0.f, -0.f, 1.f, -2.5f, 65504.f, 6.103515625e-05f, 5.960464477539063e-08f};
    for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
        ck_assert_float_eq(rt_f16_to_f32(rt_f32_to_f16(exact[i])), exact[i]);
    ck_assert(isinf(rt_f16_to_f32(rt_f32_to_f16(65520.f))));
    ck_assert_float_eq(rt_f16_to_f32(rt_f32_to_f16(1.0f + 1.0f / 2048)), 1.0f);  // tie -> even
    ck_assert_float_eq(rt_f16_to_f32(rt_f32_to_f16(1.0f + 3.0f / 2048)), 1.0f + 2.0f / 1024);
    ck_assert(isnan(rt_f16_to_f32(rt_f32_to_f16(NAN))));
    ck_assert_float_eq(rt_bf16_to_f32(rt_f32_to_bf16(3.0f)), 3.0f);
    ck_assert_float_eq(rt_bf16_to_f32(rt_f32_to_bf16(1.0f + 1.0f / 256)), 1.0f);  // tie -> even
    ck_assert(isnan(rt_bf16_to_f32(rt_f32_to_bf16(NAN))));
    // Every finite f16 bit pattern round-trips through f32.
    for (uint32_t h = 0; h < 0x10000; h++) {
        if ((h & 0x7c00) == 0x7c00) continue;
        ck_assert_uint_eq(rt_f32_to_f16(rt_f16_to_f32((uint16_t)h)), h);
    }
}
END_TEST

START_TEST(test_arena) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 1 << 16);
    rt_tensor a, b, c;
    ck_assert_int_eq(rt_arena_f32(&ctx, &a, 2, 10, 10, 0, 0), ROTO_OK);
    ck_assert_int_eq(((uintptr_t)a.data) % 64, 0);
    size_t mark = rt_arena_mark(&ctx);
    ck_assert_int_eq(rt_arena_f32(&ctx, &b, 1, 1000, 0, 0, 0), ROTO_OK);
    ck_assert_int_eq(((uintptr_t)b.data) % 64, 0);
    rt_arena_release(&ctx, mark);
    ck_assert_int_eq(rt_arena_f32(&ctx, &c, 1, 1000, 0, 0, 0), ROTO_OK);
    ck_assert_ptr_eq(b.data, c.data);  // released space is reused
    // Too big: a clear OOM naming the request, not a crash.
    ck_assert_int_eq(rt_arena_f32(&ctx, &c, 1, 1 << 20, 0, 0, 0), ROTO_ERR_OOM);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "request 4194304 bytes"));
    rt_ctx_reset(&ctx);
    rt_tensor d;
    ck_assert_int_eq(rt_arena_f32(&ctx, &d, 2, 10, 10, 0, 0), ROTO_OK);
    ck_assert_ptr_eq(d.data, a.data);  // same addresses every forward
    rt_ctx_destroy(&ctx);
}
END_TEST

START_TEST(test_arena_reserve) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 1024);
    rt_tensor a;
    ck_assert_int_eq(rt_arena_f32(&ctx, &a, 1, 1000, 0, 0, 0), ROTO_ERR_OOM);
    ck_assert_int_eq(rt_ctx_reserve(&ctx, 512), ROTO_OK);  // already big enough: kept
    ck_assert_uint_eq(ctx.arena.capacity, 1024);
    ck_assert_int_eq(rt_ctx_reserve(&ctx, 8192), ROTO_OK);
    ck_assert_uint_eq(ctx.arena.capacity, 8192);
    ck_assert_int_eq(rt_arena_f32(&ctx, &a, 1, 1000, 0, 0, 0), ROTO_OK);
    // An impossible size fails cleanly and keeps the old arena.
    ck_assert_int_ne(rt_ctx_reserve(&ctx, (size_t)1 << 62), ROTO_OK);
    ck_assert_uint_eq(ctx.arena.capacity, 8192);
    rt_ctx_destroy(&ctx);
}
END_TEST

START_TEST(test_op_validation) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    float x[6 * 4], w[3 * 5], y[6 * 3];
    rt_tensor tx = rt_f32_2d(x, 6, 4), tw = rt_f32_2d(w, 3, 5), ty = rt_f32_2d(y, 6, 3);
    ck_assert_int_eq(rt_linear(&ctx, &ty, &tx, &tw, NULL, RT_ACT_NONE), ROTO_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "linear: w"));
    ck_assert_int_eq(rt_linear(&ctx, &ty, NULL, &tw, NULL, RT_ACT_NONE), ROTO_ERR_INVALID_ARG);
    rt_tensor dev = tx;
    dev.device = RT_DEV_CUDA;
    tw = rt_f32_2d(w, 3, 4);
    ck_assert_int_eq(rt_linear(&ctx, &ty, &dev, &tw, NULL, RT_ACT_NONE), ROTO_ERR_INVALID_ARG);
    // Output aliasing an input is refused.
    rt_tensor alias = rt_f32_2d(x, 6, 3);
    ck_assert_int_eq(rt_linear(&ctx, &alias, &tx, &tw, NULL, RT_ACT_NONE), ROTO_ERR_INVALID_ARG);
    rt_ctx_destroy(&ctx);
}
END_TEST

START_TEST(test_backend_table_complete) {
    // Every op of the op API is implemented on the CPU backend.
    const rt_backend *be = rt_cpu_backend();
    const void *const ops[] = {
        (const void *)be->linear, (const void *)be->matmul, (const void *)be->conv2d,
        (const void *)be->conv_transpose, (const void *)be->layernorm,
        (const void *)be->activation, (const void *)be->softmax, (const void *)be->attention,
        (const void *)be->rope, (const void *)be->window_partition,
        (const void *)be->window_unpartition, (const void *)be->maxpool2x2,
        (const void *)be->interpolate, (const void *)be->copy, (const void *)be->concat,
        (const void *)be->binary, (const void *)be->scale, (const void *)be->fill,
        (const void *)be->connected_components,
    };
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
        ck_assert_msg(ops[i] != NULL, "cpu backend op #%zu is missing", i);
}
END_TEST

static Suite *engine_suite(void) {
    Suite *s = suite_create("engine");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_status_message);
    tcase_add_test(tc, test_views);
    tcase_add_test(tc, test_half_conversions);
    tcase_add_test(tc, test_arena);
    tcase_add_test(tc, test_arena_reserve);
    tcase_add_test(tc, test_op_validation);
    tcase_add_test(tc, test_backend_table_complete);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(engine_suite)
