// test_util.c: helpers shared by the test programs (see test_util.h).
#include "test_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void tu_rng_seed(tu_rng *r, uint64_t seed) { r->s = seed * 0x9E3779B97F4A7C15ull + 1; }

uint64_t tu_rng_u64(tu_rng *r) {
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 2685821657736338717ull;
}

double tu_rng_uniform(tu_rng *r) { return (double)(tu_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0); }

int tu_rng_int(tu_rng *r, int lo, int hi) {
    return lo + (int)(tu_rng_u64(r) % (uint64_t)(hi - lo + 1));
}

void tu_fill_uniform(tu_rng *r, float *x, size_t n, float lo, float hi) {
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * (float)tu_rng_uniform(r);
}

void tu_fill_normal(tu_rng *r, float *x, size_t n, float mean, float std) {
    for (size_t i = 0; i < n; i++) {
        double u1 = tu_rng_uniform(r), u2 = tu_rng_uniform(r);
        if (u1 < 1e-300) u1 = 1e-300;
        x[i] = mean + std * (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
    }
}

float *tu_alloc_f32(size_t n) {
    size_t bytes = ((n ? n : 1) * sizeof(float) + 63) & ~(size_t)63;
    float *p = aligned_alloc(64, bytes);
    ck_assert_ptr_nonnull(p);
    memset(p, 0, bytes);
    return p;
}

void tu_poison_f32(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = NAN;
}

double tu_max_abs_err(const float *got, const double *ref, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - ref[i]);
        if (!(e <= m)) m = e;  // NaN propagates as "worst"
    }
    return m;
}

double tu_check_close(const float *got, const double *ref, size_t n, tu_tol tol,
                      const char *what) {
    double worst_excess = -1, max_err = 0;
    size_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got[i] - ref[i]);
        double lim = tol.atol + tol.rtol * fabs(ref[i]);
        if (isnan(got[i]) != isnan(ref[i]) || isinf(got[i]) != isinf(ref[i])) e = INFINITY;
        else if (isnan(ref[i]) || (isinf(ref[i]) && (double)got[i] == ref[i])) e = 0;
        if (e > max_err) max_err = e;
        if (e - lim > worst_excess) {
            worst_excess = e - lim;
            worst = i;
        }
    }
    if (n)
        ck_assert_msg(worst_excess <= 0,
                      "%s: element %zu got %.9g, reference %.9g (max abs err %.3g, tol %.1g + "
                      "%.1g*|ref|)",
                      what, worst, (double)got[worst], ref[worst], max_err, tol.atol, tol.rtol);
    return max_err;
}

void tu_cpu_ctx(rt_ctx *ctx, size_t arena_bytes) {
    roto_status st = rt_ctx_create(ctx, rt_cpu_backend(), arena_bytes);
    ck_assert_msg(st == ROTO_OK, "rt_ctx_create: %s", roto_last_error());
}

int tu_run_suite(Suite *s) {
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
