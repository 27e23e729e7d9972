// test_matte_ops.c: the matte op family (rt_matte_*, engine/ops.h) on the CPU
// backend:
// - against the slow references of tests/ref/ref_matte.c (brute-force
//   distances, the direct 2-D Gaussian sum, components by label relaxation)
//   on small random mattes of odd sizes;
// - bit for bit against the host functions roto_matte_* (io/matte.h, what the
//   CLI runs on the CPU) on sizes up to 640x360 and thin 7x5000 strips;
// - in place (out = in, core or edge = in);
// - the op layer's argument checks: dtype, rank, shape, layout, aliasing,
//   device, radius, connectivity, a backend without the ops.
// Outputs are poisoned with NaN first, so an unwritten pixel fails.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/matte.h"
#include "ref/ref_matte.h"
#include "util/test_util.h"

static rt_tensor mt(float *d, int w, int h) { return rt_f32_2d(d, h, w); }

// Index of the first element whose bits differ, or n.
static size_t first_bit_diff(const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(a + i, b + i, sizeof *a)) return i;
    return n;
}

static void expect_bits(const float *got, const float *want, size_t n, const char *what) {
    size_t i = first_bit_diff(got, want, n);
    if (i < n) ck_abort_msg("%s: pixel %zu is %.9g, expected %.9g", what, i, (double)got[i], (double)want[i]);
}

#define OK(call)                                                               \
    do {                                                                       \
        roto_status _s = (call);                                               \
        ck_assert_msg(_s == ROTO_OK, "%s -> %s", #call, roto_last_error());   \
    } while (0)

static const float k_morph_radii[] = {0.0f, 0.5f, 1.0f, 1.5f, 2.236068f, 3.0f, 5.0f, 17.3f, 100.0f};
static const float k_feather_radii[] = {0.0f, 0.0005f, 0.5f, 1.0f, 2.5f, 3.0f, 7.9f};
static const long long k_limits[] = {-1, 0, 1, 2, 3, 7, 50, 1ll << 40};
#define COUNT(a) (sizeof(a) / sizeof *(a))

// ---- against the references -----------------------------------------------------------------

START_TEST(test_against_reference) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    const int sizes[][2] = {{1, 1}, {9, 1}, {1, 9}, {5, 4}, {13, 7}, {31, 23}};  // w, h
    for (size_t si = 0; si < COUNT(sizes); si++)
        for (int mode = 0; mode < 3; mode++) {
            int w = sizes[si][0], h = sizes[si][1];
            size_t n = (size_t)w * h;
            float *in = tu_alloc_f32(n), *out = tu_alloc_f32(n), *out2 = tu_alloc_f32(n);
            double *ref = malloc(n * sizeof *ref);
            ref_matte_random(in, w, h, 100 + si, mode);
            rt_tensor ti = mt(in, w, h), to = mt(out, w, h), to2 = mt(out2, w, h);
            char what[128];

            const float ts[] = {0.0f, 0.3f, 0.5f, 1.0f};
            for (size_t k = 0; k < COUNT(ts); k++) {
                tu_poison_f32(out, n);
                OK(rt_matte_threshold(&ctx, &to, &ti, ts[k]));
                for (size_t i = 0; i < n; i++) ref[i] = in[i] >= ts[k] ? 1.0 : 0.0;
                snprintf(what, sizeof what, "threshold %dx%d mode %d t %g", w, h, mode, (double)ts[k]);
                tu_check_close(out, ref, n, TU_TOL_EXACT, what);
            }
            for (size_t k = 0; k < COUNT(k_morph_radii); k++)
                for (int erode = 0; erode < 2; erode++) {
                    float r = k_morph_radii[k];
                    tu_poison_f32(out, n);
                    OK(erode ? rt_matte_erode(&ctx, &to, &ti, r) : rt_matte_dilate(&ctx, &to, &ti, r));
                    ref_matte_morph(in, ref, w, h, r, erode);
                    snprintf(what, sizeof what, "%s %dx%d mode %d radius %g", erode ? "erode" : "dilate", w, h,
                             mode, (double)r);
                    tu_check_close(out, ref, n, TU_TOL_EXACT, what);
                }
            // Feather: float taps summed in float over at most 17 taps per pass
            // against double weights and sums: elementwise fp32 tolerance.
            for (size_t k = 0; k < COUNT(k_feather_radii); k++) {
                float r = k_feather_radii[k];
                tu_poison_f32(out, n);
                OK(rt_matte_feather(&ctx, &to, &ti, r));
                ref_matte_feather(in, ref, w, h, r);
                snprintf(what, sizeof what, "feather %dx%d mode %d radius %g", w, h, mode, (double)r);
                tu_check_close(out, ref, n, TU_TOL_F32, what);
            }
            for (int conn = 4; conn <= 8; conn += 4)
                for (size_t k = 0; k < COUNT(k_limits); k++)
                    for (int holes = 0; holes < 2; holes++) {
                        long long lim = k_limits[k];
                        tu_poison_f32(out, n);
                        OK(holes ? rt_matte_fill_holes(&ctx, &to, &ti, lim, conn)
                                 : rt_matte_remove_islands(&ctx, &to, &ti, lim, conn));
                        ck_assert_int_eq(ref_matte_components(in, ref, w, h, lim, conn, holes), 0);
                        snprintf(what, sizeof what, "%s %dx%d mode %d conn %d limit %lld",
                                 holes ? "fill holes" : "remove islands", w, h, mode, conn, lim);
                        tu_check_close(out, ref, n, TU_TOL_EXACT, what);
                    }
            const float core_radii[] = {0.0f, 1.0f, 3.0f};
            for (size_t k = 0; k < COUNT(core_radii); k++) {
                tu_poison_f32(out, n);
                tu_poison_f32(out2, n);
                OK(rt_matte_core_edge(&ctx, &to, &to2, &ti, core_radii[k]));
                ref_matte_morph(in, ref, w, h, core_radii[k], 1);
                snprintf(what, sizeof what, "core %dx%d mode %d radius %g", w, h, mode, (double)core_radii[k]);
                tu_check_close(out, ref, n, TU_TOL_EXACT, what);
                for (size_t i = 0; i < n; i++) ref[i] = fmax((double)in[i] - ref[i], 0.0);
                snprintf(what, sizeof what, "edge %dx%d mode %d radius %g", w, h, mode, (double)core_radii[k]);
                tu_check_close(out2, ref, n, TU_TOL_EXACT, what);
            }
            free(in), free(out), free(out2), free(ref);
        }
    rt_ctx_destroy(&ctx);
}
END_TEST

// ---- bit for bit against the host functions -------------------------------------------------

START_TEST(test_same_bits_as_host_functions) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    ctx.num_threads = 2;  // the host functions use OpenMP's default; results do not depend on it
    const int sizes[][2] = {{1, 1}, {5000, 7}, {7, 5000}, {33, 17}, {17, 33}, {257, 131}, {640, 360}};
    for (size_t si = 0; si < COUNT(sizes); si++)
        for (int mode = 0; mode < 3; mode++) {
            int w = sizes[si][0], h = sizes[si][1];
            size_t n = (size_t)w * h;
            float *in = tu_alloc_f32(n), *got = tu_alloc_f32(n), *want = tu_alloc_f32(n);
            float *got2 = tu_alloc_f32(n), *want2 = tu_alloc_f32(n);
            ref_matte_random(in, w, h, 7 * si + mode, mode);
            rt_tensor ti = mt(in, w, h), tg = mt(got, w, h), tg2 = mt(got2, w, h);
            char what[128];
#define SAME(call_rt, call_host, ...)                                          \
    do {                                                                       \
        tu_poison_f32(got, n);                                                 \
        OK(call_rt);                                                           \
        OK(call_host);                                                         \
        snprintf(what, sizeof what, __VA_ARGS__);                              \
        expect_bits(got, want, n, what);                                       \
    } while (0)
            SAME(rt_matte_threshold(&ctx, &tg, &ti, 0.5f), roto_matte_threshold(in, want, w, h, 0.5f),
                 "threshold %dx%d", w, h);
            for (size_t k = 0; k < COUNT(k_morph_radii); k++) {
                float r = k_morph_radii[k];
                SAME(rt_matte_dilate(&ctx, &tg, &ti, r), roto_matte_dilate(in, want, w, h, r),
                     "dilate %dx%d mode %d radius %g", w, h, mode, (double)r);
                SAME(rt_matte_erode(&ctx, &tg, &ti, r), roto_matte_erode(in, want, w, h, r),
                     "erode %dx%d mode %d radius %g", w, h, mode, (double)r);
            }
            const float fr[] = {0.5f, 1.0f, 3.0f, 17.3f, 100.0f};
            for (size_t k = 0; k < COUNT(fr); k++)
                SAME(rt_matte_feather(&ctx, &tg, &ti, fr[k]), roto_matte_feather(in, want, w, h, fr[k]),
                     "feather %dx%d mode %d radius %g", w, h, mode, (double)fr[k]);
            for (int conn = 4; conn <= 8; conn += 4)
                for (size_t k = 0; k < COUNT(k_limits); k++) {
                    long long lim = k_limits[k];
                    SAME(rt_matte_fill_holes(&ctx, &tg, &ti, lim, conn),
                         roto_matte_fill_holes(in, want, w, h, (long)lim, conn),
                         "fill holes %dx%d mode %d conn %d limit %lld", w, h, mode, conn, lim);
                    SAME(rt_matte_remove_islands(&ctx, &tg, &ti, lim, conn),
                         roto_matte_remove_islands(in, want, w, h, (long)lim, conn),
                         "remove islands %dx%d mode %d conn %d limit %lld", w, h, mode, conn, lim);
                }
#undef SAME
            tu_poison_f32(got, n);
            tu_poison_f32(got2, n);
            OK(rt_matte_core_edge(&ctx, &tg, &tg2, &ti, 4.5f));
            OK(roto_matte_core_edge(in, want, want2, w, h, 4.5f));
            snprintf(what, sizeof what, "core %dx%d mode %d", w, h, mode);
            expect_bits(got, want, n, what);
            snprintf(what, sizeof what, "edge %dx%d mode %d", w, h, mode);
            expect_bits(got2, want2, n, what);
            free(in), free(got), free(want), free(got2), free(want2);
        }
    rt_ctx_destroy(&ctx);
}
END_TEST

// ---- in place ---------------------------------------------------------------------------------

START_TEST(test_in_place) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    const int w = 61, h = 37;
    const size_t n = (size_t)w * h;
    float *in = tu_alloc_f32(n), *buf = tu_alloc_f32(n), *want = tu_alloc_f32(n), *other = tu_alloc_f32(n);
    ref_matte_random(in, w, h, 5, 0);
    rt_tensor ti = mt(in, w, h), tb = mt(buf, w, h), tw = mt(want, w, h), tother = mt(other, w, h);
    for (int op = 0; op < 7; op++) {
        memcpy(buf, in, n * sizeof *in);
        switch (op) {
        case 0:
            OK(rt_matte_threshold(&ctx, &tw, &ti, 0.4f));
            OK(rt_matte_threshold(&ctx, &tb, &tb, 0.4f));
            break;
        case 1:
            OK(rt_matte_dilate(&ctx, &tw, &ti, 2.5f));
            OK(rt_matte_dilate(&ctx, &tb, &tb, 2.5f));
            break;
        case 2:
            OK(rt_matte_erode(&ctx, &tw, &ti, 2.5f));
            OK(rt_matte_erode(&ctx, &tb, &tb, 2.5f));
            break;
        case 3:
            OK(rt_matte_feather(&ctx, &tw, &ti, 4.0f));
            OK(rt_matte_feather(&ctx, &tb, &tb, 4.0f));
            break;
        case 4:
            OK(rt_matte_fill_holes(&ctx, &tw, &ti, 0, 4));
            OK(rt_matte_fill_holes(&ctx, &tb, &tb, 0, 4));
            break;
        case 5:
            OK(rt_matte_remove_islands(&ctx, &tw, &ti, 9, 8));
            OK(rt_matte_remove_islands(&ctx, &tb, &tb, 9, 8));
            break;
        default:  // core into the input buffer, then edge into it
            OK(rt_matte_core_edge(&ctx, &tw, &tother, &ti, 2.0f));
            OK(rt_matte_core_edge(&ctx, &tb, &tother, &tb, 2.0f));
            expect_bits(buf, want, n, "core in place");
            memcpy(buf, in, n * sizeof *in);
            OK(rt_matte_core_edge(&ctx, &tw, &tother, &ti, 2.0f));
            memcpy(want, other, n * sizeof *other);
            OK(rt_matte_core_edge(&ctx, &tother, &tb, &tb, 2.0f));
            break;
        }
        char what[32];
        snprintf(what, sizeof what, "op %d in place", op);
        expect_bits(buf, want, n, what);
    }
    free(in), free(buf), free(want), free(other);
    rt_ctx_destroy(&ctx);
}
END_TEST

// ---- argument checks ----------------------------------------------------------------------------

// The call fails with `code` and a message containing `needle`.
static void expect_fail(roto_status st, roto_status code, const char *needle, const char *what) {
    ck_assert_msg(st == code, "%s: status %d (%s), expected %d", what, (int)st, roto_last_error(), (int)code);
    ck_assert_msg(strstr(roto_last_error(), needle), "%s: message \"%s\" lacks \"%s\"", what, roto_last_error(),
                  needle);
}

START_TEST(test_bad_args) {
    rt_ctx ctx;
    tu_cpu_ctx(&ctx, 0);
    float a[64] = {0}, b[64] = {0}, c[64] = {0};
    rt_tensor ta = rt_f32_2d(a, 4, 8), tb = rt_f32_2d(b, 4, 8), tc = rt_f32_2d(c, 4, 8);

    rt_tensor half = ta;
    half.dtype = RT_F16;
    expect_fail(rt_matte_dilate(&ctx, &tb, &half, 1), ROTO_ERR_SHAPE, "matte_dilate: in", "f16 input");
    rt_tensor i32 = tb;
    i32.dtype = RT_I32;
    expect_fail(rt_matte_threshold(&ctx, &i32, &ta, 0.5f), ROTO_ERR_SHAPE, "matte_threshold: out", "i32 output");
    rt_tensor t3 = rt_f32_3d(a, 2, 4, 8);
    expect_fail(rt_matte_feather(&ctx, &tb, &t3, 1), ROTO_ERR_SHAPE, "expected 2 dims", "3-d input");
    rt_tensor small = rt_f32_2d(b, 4, 7);
    expect_fail(rt_matte_erode(&ctx, &small, &ta, 1), ROTO_ERR_SHAPE, "shapes differ", "shape mismatch");
    rt_tensor view;
    OK(rt_view_slice(&view, &ta, 1, 0, 4));
    rt_tensor tb4 = rt_f32_2d(b, 4, 4);
    expect_fail(rt_matte_dilate(&ctx, &tb4, &view, 1), ROTO_ERR_SHAPE, "contiguous", "strided input");
    rt_tensor empty = rt_f32_2d(a, 0, 8), empty2 = rt_f32_2d(b, 0, 8);
    expect_fail(rt_matte_threshold(&ctx, &empty2, &empty, 0.5f), ROTO_ERR_SHAPE, "pixels", "empty matte");
    rt_tensor shifted = rt_f32_2d(a + 1, 4, 8);
    expect_fail(rt_matte_dilate(&ctx, &shifted, &ta, 1), ROTO_ERR_INVALID_ARG, "overlaps", "partial overlap");
    expect_fail(rt_matte_dilate(&ctx, &tb, NULL, 1), ROTO_ERR_INVALID_ARG, "NULL", "NULL input");
    rt_tensor dev = ta;
    dev.device = RT_DEV_CUDA;
    expect_fail(rt_matte_dilate(&ctx, &tb, &dev, 1), ROTO_ERR_INVALID_ARG, "matte_dilate: in", "CUDA tensor on CPU");

    expect_fail(rt_matte_dilate(&ctx, &tb, &ta, -1), ROTO_ERR_INVALID_ARG, "radius", "negative radius");
    expect_fail(rt_matte_erode(&ctx, &tb, &ta, NAN), ROTO_ERR_INVALID_ARG, "radius", "NaN radius");
    expect_fail(rt_matte_erode(&ctx, &tb, &ta, 2e6f), ROTO_ERR_INVALID_ARG, "radius", "huge radius");
    expect_fail(rt_matte_feather(&ctx, &tb, &ta, -0.5f), ROTO_ERR_INVALID_ARG, "radius", "negative feather");
    expect_fail(rt_matte_feather(&ctx, &tb, &ta, 10001.0f), ROTO_ERR_INVALID_ARG, "radius", "huge feather");
    expect_fail(rt_matte_core_edge(&ctx, &tb, &tc, &ta, -2), ROTO_ERR_INVALID_ARG, "radius", "core radius");
    expect_fail(rt_matte_fill_holes(&ctx, &tb, &ta, 0, 6), ROTO_ERR_INVALID_ARG, "connectivity 6", "conn 6");
    expect_fail(rt_matte_remove_islands(&ctx, &tb, &ta, 5, 0), ROTO_ERR_INVALID_ARG, "connectivity", "conn 0");
    expect_fail(rt_matte_core_edge(&ctx, &tb, &tb, &ta, 1), ROTO_ERR_INVALID_ARG, "core vs edge", "core = edge");

    // Valid calls still work after the failures.
    OK(rt_matte_dilate(&ctx, &tb, &ta, 1));
    OK(rt_matte_core_edge(&ctx, &tb, &tc, &ta, 0));

    // A backend without the matte entries says so.
    rt_backend bare = *rt_cpu_backend();
    bare.matte_morph = NULL;
    rt_ctx bctx;
    OK(rt_ctx_create(&bctx, &bare, 0));
    expect_fail(rt_matte_erode(&bctx, &tb, &ta, 1), ROTO_ERR_UNSUPPORTED, "matte_erode is not implemented",
                "no backend entry");
    rt_ctx_destroy(&bctx);
    rt_ctx_destroy(&ctx);
}
END_TEST

static Suite *matte_ops_suite(void) {
    Suite *s = suite_create("matte_ops");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_against_reference);
    tcase_add_test(tc, test_same_bits_as_host_functions);
    tcase_add_test(tc, test_in_place);
    tcase_add_test(tc, test_bad_args);
    suite_add_tcase(s, tc);
    return s;
}

TU_MAIN(matte_ops_suite)
