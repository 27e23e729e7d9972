// test_ccl.c: rt_connected_components on the CPU against the breadth-first
// flood-fill reference in tests/ref/ref_ccl.c, special masks, and the op
// layer's argument checks.
#include <stdlib.h>
#include <string.h>

#include "ref/ref_ccl.h"
#include "util/test_util.h"

// Labels, areas and count of a (row-strided) mask against the reference.
static void check_mask(rt_ctx *ctx, const uint8_t *mask, int64_t H, int64_t W, int64_t ms,
                       const char *what) {
    const size_t n = (size_t)(H * W);
    int32_t *lab = malloc(sizeof(int32_t) * (n ? n : 1)), *area = malloc(sizeof(int32_t) * (n ? n : 1));
    int32_t *rlab = malloc(sizeof(int32_t) * (n ? n : 1)), *rarea = malloc(sizeof(int32_t) * (n ? n : 1));
    memset(lab, 0x5a, sizeof(int32_t) * n);  // poison
    memset(area, 0x5a, sizeof(int32_t) * n);
    int64_t shp[2] = {H, W};
    rt_tensor tm = rt_tensor_make((void *)mask, RT_U8, RT_DEV_CPU, 2, shp);
    tm.stride[0] = ms;
    rt_tensor tl = rt_tensor_make(lab, RT_I32, RT_DEV_CPU, 2, shp);
    rt_tensor ta = rt_tensor_make(area, RT_I32, RT_DEV_CPU, 2, shp);
    int count = -1;
    roto_status st = rt_connected_components(ctx, &tl, &ta, &tm, &count);
    ck_assert_msg(st == ROTO_OK, "%s: %s", what, roto_last_error());
    const int want = ref_ccl(rlab, rarea, mask, H, W, ms);
    ck_assert_int_ge(want, 0);
    ck_assert_msg(count == want, "%s: %d components, reference %d", what, count, want);
    // Find the first mismatch with plain loops (a Check assertion per pixel
    // would cost a syscall each in fork mode).
    size_t bad = n;
    for (size_t i = 0; i < n && bad == n; i++)
        if (lab[i] != rlab[i] || area[i] != rarea[i]) bad = i;
    if (bad < n)
        ck_abort_msg("%s: pixel %zu label %d area %d, reference label %d area %d", what, bad,
                     lab[bad], area[bad], rlab[bad], rarea[bad]);
    // Without areas and without a count the labels are the same.
    memset(lab, 0x5a, sizeof(int32_t) * n);
    ck_assert_int_eq(rt_connected_components(ctx, &tl, NULL, &tm, NULL), ROTO_OK);
    ck_assert(memcmp(lab, rlab, sizeof(int32_t) * n) == 0);
    free(lab), free(area), free(rlab), free(rarea);
}

START_TEST(test_ccl_random) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    tu_rng rng;
    tu_rng_seed(&rng, 41);
    const int64_t sizes[][2] = {{1, 1}, {1, 37}, {41, 1}, {2, 2}, {37, 53}, {64, 64}, {256, 200}};
    const double dens[] = {0.05, 0.3, 0.45, 0.6, 0.9};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        for (size_t d = 0; d < sizeof dens / sizeof *dens; d++) {
            const int64_t H = sizes[s][0], W = sizes[s][1], ms = W + 3;  // padded rows
            uint8_t *m = calloc((size_t)(H * ms), 1);
            for (int64_t y = 0; y < H; y++)
                for (int64_t x = 0; x < ms; x++)
                    // Any non-zero byte is foreground; padding bytes are junk.
                    m[y * ms + x] = x >= W ? 1 : tu_rng_uniform(&rng) < dens[d] ? (uint8_t)tu_rng_int(&rng, 1, 255) : 0;
            char what[64];
            snprintf(what, sizeof what, "random %lldx%lld density %.2f", (long long)H,
                     (long long)W, dens[d]);
            check_mask(&ctx, m, H, W, ms, what);
            free(m);
        }
    rt_ctx_destroy(&ctx);
}
END_TEST

START_TEST(test_ccl_special) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    const int64_t H = 97, W = 131;
    uint8_t *m = calloc((size_t)(H * W), 1);
    int32_t *lab = malloc(sizeof(int32_t) * H * W);
    int64_t shp[2] = {H, W};
    rt_tensor tm = rt_tensor_make(m, RT_U8, RT_DEV_CPU, 2, shp);
    rt_tensor tl = rt_tensor_make(lab, RT_I32, RT_DEV_CPU, 2, shp);
    int n = -1;
    // All background.
    check_mask(&ctx, m, H, W, W, "empty");
    ck_assert_int_eq(rt_connected_components(&ctx, &tl, NULL, &tm, &n), ROTO_OK);
    ck_assert_int_eq(n, 0);
    // All foreground: one component.
    memset(m, 1, (size_t)(H * W));
    check_mask(&ctx, m, H, W, W, "full");
    ck_assert_int_eq(rt_connected_components(&ctx, &tl, NULL, &tm, &n), ROTO_OK);
    ck_assert_int_eq(n, 1);
    // Checkerboard: diagonal contacts join everything under 8-connectivity.
    for (int64_t i = 0; i < H * W; i++) m[i] = ((i / W) + (i % W)) % 2;
    check_mask(&ctx, m, H, W, W, "checkerboard");
    ck_assert_int_eq(rt_connected_components(&ctx, &tl, NULL, &tm, &n), ROTO_OK);
    ck_assert_int_eq(n, 1);
    // Anti-diagonal lines: only the up-right neighbour connects them.
    for (int64_t i = 0; i < H * W; i++) m[i] = ((i / W) + (i % W)) % 5 == 0;
    check_mask(&ctx, m, H, W, W, "anti-diagonals");
    // Isolated pixels on a 2-grid: every one its own component.
    for (int64_t i = 0; i < H * W; i++) m[i] = (i / W) % 2 == 0 && (i % W) % 2 == 0;
    check_mask(&ctx, m, H, W, W, "dots");
    ck_assert_int_eq(rt_connected_components(&ctx, &tl, NULL, &tm, &n), ROTO_OK);
    ck_assert_int_eq(n, (int)(((H + 1) / 2) * ((W + 1) / 2)));
    // A "U" whose two arms are found first and merge at the bottom: raster
    // numbering follows the first pixel (top of the left arm).
    memset(m, 0, (size_t)(H * W));
    for (int64_t y = 0; y < 20; y++) m[y * W + 2] = m[y * W + 10] = 1;
    for (int64_t x = 2; x <= 10; x++) m[20 * W + x] = 1;
    m[0 * W + 50] = 1;  // a second component whose first pixel is on row 0
    check_mask(&ctx, m, H, W, W, "U shape");
    free(m), free(lab);
    rt_ctx_destroy(&ctx);
}
END_TEST

START_TEST(test_ccl_large) {
    // 4096 x 4096: no recursion, no stack overflow. A serpentine path (one
    // component with a very long chain) and a random mask.
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    tu_rng rng;
    tu_rng_seed(&rng, 42);
    const int64_t H = 4096, W = 4096;
    uint8_t *m = calloc((size_t)(H * W), 1);
    for (int64_t y = 0; y < H; y++)
        for (int64_t x = 0; x < W; x++) {
            if (y % 2 == 0) m[y * W + x] = 1;
            else if ((y / 2) % 2 == 0 ? x == W - 1 : x == 0) m[y * W + x] = 1;
        }
    check_mask(&ctx, m, H, W, W, "serpentine 4096");
    for (int64_t i = 0; i < H * W; i++) m[i] = tu_rng_uniform(&rng) < 0.55;
    check_mask(&ctx, m, H, W, W, "random 4096");
    free(m);
    rt_ctx_destroy(&ctx);
}
END_TEST

START_TEST(test_ccl_op_errors) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    uint8_t m[6 * 8] = {0};
    int32_t lab[6 * 8], area[6 * 8];
    float f[6 * 8];
    int64_t shp[2] = {6, 8}, shp2[2] = {8, 6};
    rt_tensor tm = rt_tensor_make(m, RT_U8, RT_DEV_CPU, 2, shp);
    rt_tensor tl = rt_tensor_make(lab, RT_I32, RT_DEV_CPU, 2, shp);
    rt_tensor ta = rt_tensor_make(area, RT_I32, RT_DEV_CPU, 2, shp);
    rt_tensor tl_bad = rt_tensor_make(lab, RT_I32, RT_DEV_CPU, 2, shp2);
    rt_tensor tf = rt_tensor_make(f, RT_F32, RT_DEV_CPU, 2, shp);
    int n;
    ck_assert_int_eq(rt_connected_components(&ctx, &tl, &ta, &tm, &n), ROTO_OK);
    ck_assert_int_eq(rt_connected_components(&ctx, &tl_bad, &ta, &tm, &n), ROTO_ERR_SHAPE);
    ck_assert_ptr_nonnull(strstr(roto_last_error(), "labels"));
    ck_assert_int_eq(rt_connected_components(&ctx, &tl, &ta, &tf, &n), ROTO_ERR_SHAPE);
    ck_assert_int_eq(rt_connected_components(&ctx, &tf, &ta, &tm, &n), ROTO_ERR_SHAPE);
    ck_assert_int_eq(rt_connected_components(&ctx, &tl, &tl, &tm, &n), ROTO_ERR_INVALID_ARG);
    ck_assert_int_eq(rt_connected_components(&ctx, &tl, &ta, NULL, &n), ROTO_ERR_INVALID_ARG);
    rt_ctx_destroy(&ctx);
}
END_TEST

static Suite *ccl_suite(void) {
    Suite *s = suite_create("ccl");
    TCase *tc = tcase_create("ccl");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_ccl_random);
    tcase_add_test(tc, test_ccl_special);
    tcase_add_test(tc, test_ccl_large);
    tcase_add_test(tc, test_ccl_op_errors);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(ccl_suite)
