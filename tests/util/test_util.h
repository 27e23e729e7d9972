// test_util.h: shared helpers for the Check test programs: deterministic random
// data, comparison against fp64 references with stated tolerances, and a main()
// macro that runs one suite.
#ifndef ROTO_TEST_UTIL_H
#define ROTO_TEST_UTIL_H

#include <check.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/backend.h"
#include "engine/ctx.h"
#include "engine/ops.h"
#include "engine/tensor.h"

// Tolerances, written once. An fp32 kernel is compared with an fp64 reference
// by max |got - ref| <= atol + rtol * |ref| at every element.
typedef struct {
    double atol, rtol;
} tu_tol;
#define TU_TOL_F32 ((tu_tol){1e-5, 1e-4})       // elementwise / short reductions
#define TU_TOL_F32_LONG ((tu_tol){1e-4, 1e-3})  // long reductions (GEMM K >= 1k, attention)
#define TU_TOL_EXACT ((tu_tol){0, 0})

// xorshift64* generator, seeded per test for reproducibility.
typedef struct {
    uint64_t s;
} tu_rng;
void tu_rng_seed(tu_rng *r, uint64_t seed);
uint64_t tu_rng_u64(tu_rng *r);
double tu_rng_uniform(tu_rng *r);              // [0, 1)
int tu_rng_int(tu_rng *r, int lo, int hi);     // [lo, hi]
void tu_fill_uniform(tu_rng *r, float *x, size_t n, float lo, float hi);
void tu_fill_normal(tu_rng *r, float *x, size_t n, float mean, float std);

// Allocate n floats (64-byte aligned), zero/NaN-filled. Freed with free().
float *tu_alloc_f32(size_t n);
// Fill with NaN so unwritten outputs are caught by the comparison.
void tu_poison_f32(float *x, size_t n);

// Compare got (f32) against ref (f64). On failure records a Check failure
// naming `what`, the worst index and values. Returns the max abs error.
double tu_check_close(const float *got, const double *ref, size_t n, tu_tol tol,
                      const char *what);
double tu_max_abs_err(const float *got, const double *ref, size_t n);

// A CPU context with an arena of `arena_bytes` (Check-asserted).
void tu_cpu_ctx(rt_ctx *ctx, size_t arena_bytes);

// Run one suite; CK_FORK etc. from the environment. Returns the exit code.
int tu_run_suite(Suite *s);
#define TU_MAIN(suite_fn) \
    int main(void) { return tu_run_suite(suite_fn()); }

#endif
