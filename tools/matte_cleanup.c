// matte_cleanup.c: roto segment's and roto track's matte clean-up on the host
// or on a CUDA context (see matte_cleanup.h).
#include "tools/matte_cleanup.h"

#include <pthread.h>
#include <stdlib.h>

#include "engine/backend.h"
#include "engine/ops.h"
#include "io/matte.h"

int matte_cleanup_wanted(const matte_cleanup_opts *o) {
    return o->fill_holes >= 0 || o->remove_islands > 0 || o->dilate > 0 || o->erode > 0 || o->feather > 0;
}

// Holes are background components, 4-connected (they are enclosed by an
// 8-connected object); islands are 8-connected foreground components.
static roto_status run_host(const matte_cleanup_opts *o, float *m, float *core, float *edge, int w, int h) {
    if (o->fill_holes >= 0) ROTO_TRY(roto_matte_fill_holes(m, m, w, h, o->fill_holes, 4));
    if (o->remove_islands > 0) ROTO_TRY(roto_matte_remove_islands(m, m, w, h, o->remove_islands, 8));
    if (o->dilate > 0) ROTO_TRY(roto_matte_dilate(m, m, w, h, o->dilate));
    if (o->erode > 0) ROTO_TRY(roto_matte_erode(m, m, w, h, o->erode));
    if (o->feather > 0) ROTO_TRY(roto_matte_feather(m, m, w, h, o->feather));
    if (o->core_edge > 0) ROTO_TRY(roto_matte_core_edge(m, core, edge, w, h, o->core_edge));
    return ROTO_OK;
}

roto_status matte_cleanup_run(rt_ctx *ctx, const matte_cleanup_opts *o, float *m, float *core, float *edge, int w,
                              int h) {
    if (o->core_edge > 0 && (!core || !edge))
        return roto_fail(ROTO_ERR_INVALID_ARG, "matte clean-up: the core/edge split needs two output mattes");
    if (!ctx) return run_host(o, m, core, edge, w, h);
    int split = o->core_edge > 0;
    if (!matte_cleanup_wanted(o) && !split) return ROTO_OK;
    if (w < 1 || h < 1) return roto_fail(ROTO_ERR_INVALID_ARG, "matte clean-up: bad matte size %dx%d", w, h);
    size_t bytes = (size_t)w * h * sizeof(float);
    rt_ctx_reset(ctx);
    ROTO_TRY(rt_ctx_reserve(ctx, (split ? 3 : 1) * (bytes + 256)));
    rt_tensor t, tc, te;
    ROTO_TRY(rt_arena_f32(ctx, &t, 2, h, w, 1, 1));
    ROTO_TRY(rt_ctx_upload(ctx, t.data, m, bytes));
    // The same steps as run_host, in place on the device.
    if (o->fill_holes >= 0) ROTO_TRY(rt_matte_fill_holes(ctx, &t, &t, o->fill_holes, 4));
    if (o->remove_islands > 0) ROTO_TRY(rt_matte_remove_islands(ctx, &t, &t, o->remove_islands, 8));
    if (o->dilate > 0) ROTO_TRY(rt_matte_dilate(ctx, &t, &t, o->dilate));
    if (o->erode > 0) ROTO_TRY(rt_matte_erode(ctx, &t, &t, o->erode));
    if (o->feather > 0) ROTO_TRY(rt_matte_feather(ctx, &t, &t, o->feather));
    if (split) {
        ROTO_TRY(rt_arena_f32(ctx, &tc, 2, h, w, 1, 1));
        ROTO_TRY(rt_arena_f32(ctx, &te, 2, h, w, 1, 1));
        ROTO_TRY(rt_matte_core_edge(ctx, &tc, &te, &t, o->core_edge));
        ROTO_TRY(rt_ctx_download(ctx, core, tc.data, bytes));
        ROTO_TRY(rt_ctx_download(ctx, edge, te.data, bytes));
    }
    return rt_ctx_download(ctx, m, t.data, bytes);  // waits for the ops
}

static roto_status cuda_ctx_new(rt_ctx **out) {
    const rt_backend *be = rt_cuda_backend();
    if (!be) return roto_fail(ROTO_ERR_UNSUPPORTED, "matte clean-up: roto was built without CUDA");
    rt_ctx *c = calloc(1, sizeof *c);
    if (!c) return roto_fail(ROTO_ERR_OOM, "matte clean-up: out of memory");
    roto_status st = rt_ctx_create(c, be, 0);
    if (st != ROTO_OK) {
        free(c);
        return st;
    }
    *out = c;
    return ROTO_OK;
}

static void cuda_ctx_free(void *p) {
    rt_ctx_destroy(p);
    free(p);
}

static pthread_key_t g_key;
static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;
static int g_key_ok;

static void make_key(void) { g_key_ok = pthread_key_create(&g_key, cuda_ctx_free) == 0; }

roto_status matte_cleanup_thread_ctx(rt_ctx **out) {
    pthread_once(&g_key_once, make_key);
    if (!g_key_ok) return roto_fail(ROTO_ERR_INTERNAL, "matte clean-up: pthread_key_create failed");
    rt_ctx *c = pthread_getspecific(g_key);
    if (!c) {
        ROTO_TRY(cuda_ctx_new(&c));
        if (pthread_setspecific(g_key, c) != 0) {
            cuda_ctx_free(c);
            return roto_fail(ROTO_ERR_INTERNAL, "matte clean-up: pthread_setspecific failed");
        }
    }
    *out = c;
    return ROTO_OK;
}

roto_status matte_cleanup_cuda_ctx(rt_ctx **out) { return cuda_ctx_new(out); }

void matte_cleanup_cuda_ctx_free(rt_ctx *ctx) {
    if (ctx) cuda_ctx_free(ctx);
}
