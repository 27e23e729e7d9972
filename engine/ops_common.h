// ops_common.h: argument checks and the dispatch macro shared by engine/ops_*.c.
// Internal to the engine: nets include ops.h only.
#ifndef ROTO_OPS_COMMON_H
#define ROTO_OPS_COMMON_H

#include "backend.h"
#include "ops.h"

// Check that t is non-NULL, has data, lives on ctx's device, has `ndim` dims
// (-1: any 1..4) and dtype `dt` (-1: any). `what` names it in the message,
// e.g. "linear: x".
roto_status rt_check(const rt_ctx *ctx, const rt_tensor *t, const char *what, int ndim, int dt);
// Fails unless the last dim has stride 1 (or size 1).
roto_status rt_check_last_contiguous(const rt_tensor *t, const char *what);
// Fails unless t is contiguous.
roto_status rt_check_contiguous(const rt_tensor *t, const char *what);
// Fails unless a and b have the same shape.
roto_status rt_check_same_shape(const rt_tensor *a, const rt_tensor *b, const char *what);
// Fails unless t's dim `d` equals `want`.
roto_status rt_check_dim(const rt_tensor *t, int d, int64_t want, const char *what);
// True when the memory spans of a and b intersect (contiguous extents).
int rt_overlaps(const rt_tensor *a, const rt_tensor *b);
// Fails when y overlaps x (an op whose output must not alias an input).
roto_status rt_check_no_alias(const rt_tensor *y, const rt_tensor *x, const char *what);

// Call the backend's `fn` with profiling, or fail if the backend lacks it.
#define RT_DISPATCH(ctx, fn, kind, ...)                                                    \
    do {                                                                                   \
        if (!(ctx)->be->fn)                                                                \
            return roto_fail(ROTO_ERR_UNSUPPORTED, "%s is not implemented on the %s backend", \
                             kind, (ctx)->be->name);                                       \
        double _t0 = 0;                                                                    \
        int _slot = rt_prof_begin((ctx), kind, &_t0);                                      \
        roto_status _st = (ctx)->be->fn((ctx), __VA_ARGS__);                               \
        rt_prof_end((ctx), _slot, _t0);                                                    \
        return _st;                                                                        \
    } while (0)

#endif
