// ctx.c: execution context, activation arena, persistent buffers, profiling.
#include "ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"

#define ARENA_ALIGN 64

double rt_now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

roto_status rt_ctx_create(rt_ctx *ctx, const rt_backend *be, size_t arena_bytes) {
    if (!ctx || !be) return roto_fail(ROTO_ERR_INVALID_ARG, "rt_ctx_create: NULL argument");
    memset(ctx, 0, sizeof *ctx);
    ctx->be = be;
    const char *p = getenv("ROTO_PROFILE");
    ctx->prof.enabled = p && p[0] && strcmp(p, "0") != 0;
    if (be->ctx_init) ROTO_TRY(be->ctx_init(ctx));
    if (arena_bytes) {
        void *base = NULL;
        roto_status st = be->alloc(ctx, &base, arena_bytes);
        if (st != ROTO_OK) {
            if (be->ctx_shutdown) be->ctx_shutdown(ctx);
            return st;
        }
        ctx->arena.base = (char *)base;
        ctx->arena.capacity = arena_bytes;
    }
    return ROTO_OK;
}

void rt_ctx_destroy(rt_ctx *ctx) {
    if (!ctx || !ctx->be) return;
    if (ctx->prof.enabled) rt_prof_print(ctx);
    if (ctx->arena.base) ctx->be->free(ctx, ctx->arena.base);
    ctx->arena.base = NULL;
    ctx->arena.capacity = ctx->arena.used = 0;
    if (ctx->be->ctx_shutdown) ctx->be->ctx_shutdown(ctx);
}

void rt_ctx_reset(rt_ctx *ctx) { ctx->arena.used = 0; }

roto_status rt_ctx_reserve(rt_ctx *ctx, size_t bytes) {
    if (ctx->arena.capacity >= bytes) return ROTO_OK;
    void *base = NULL;
    // Allocate first so a failure leaves the old arena usable.
    roto_status st = ctx->be->alloc(ctx, &base, bytes);
    if (st != ROTO_OK) return st;
    if (ctx->arena.base) ctx->be->free(ctx, ctx->arena.base);
    ctx->arena.base = (char *)base;
    ctx->arena.capacity = bytes;
    ctx->arena.used = 0;
    return ROTO_OK;
}

roto_status rt_arena_tensor(rt_ctx *ctx, rt_tensor *t, rt_dtype dtype, int ndim,
                            const int64_t *shape) {
    if (ndim < 0 || ndim > RT_MAX_DIMS)
        return roto_fail(ROTO_ERR_SHAPE, "arena tensor with %d dims", ndim);
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return roto_fail(ROTO_ERR_SHAPE, "arena tensor with negative dim");
        if (shape[i] && n > INT64_MAX / shape[i])
            return roto_fail(ROTO_ERR_OOM, "arena tensor size overflows");
        n *= shape[i];
    }
    size_t bytes = (size_t)n * rt_dtype_size(dtype);
    size_t start = (ctx->arena.used + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (start > ctx->arena.capacity || bytes > ctx->arena.capacity - start)
        return roto_fail(ROTO_ERR_OOM,
                         "activation arena (%s) full: request %zu bytes, %zu of %zu in use",
                         ctx->be->name, bytes, ctx->arena.used, ctx->arena.capacity);
    *t = rt_tensor_make(ctx->arena.base + start, dtype, ctx->be->device, ndim, shape);
    ctx->arena.used = start + bytes;
    if (ctx->arena.used > ctx->arena.peak) ctx->arena.peak = ctx->arena.used;
    return ROTO_OK;
}

roto_status rt_arena_f32(rt_ctx *ctx, rt_tensor *t, int ndim, int64_t d0, int64_t d1,
                         int64_t d2, int64_t d3) {
    int64_t s[4] = {d0, d1, d2, d3};
    return rt_arena_tensor(ctx, t, RT_F32, ndim, s);
}

size_t rt_arena_mark(const rt_ctx *ctx) { return ctx->arena.used; }

void rt_arena_release(rt_ctx *ctx, size_t mark) {
    if (mark <= ctx->arena.used) ctx->arena.used = mark;
}

roto_status rt_ctx_alloc_persistent(rt_ctx *ctx, void **ptr, size_t bytes) {
    roto_status st = ctx->be->alloc(ctx, ptr, bytes);
    if (st == ROTO_OK) ctx->persistent_bytes += bytes;
    return st;
}

void rt_ctx_free_persistent(rt_ctx *ctx, void *ptr, size_t bytes) {
    if (!ptr) return;
    ctx->be->free(ctx, ptr);
    ctx->persistent_bytes -= bytes <= ctx->persistent_bytes ? bytes : ctx->persistent_bytes;
}

roto_status rt_ctx_upload(rt_ctx *ctx, void *dst, const void *src, size_t bytes) {
    return ctx->be->upload(ctx, dst, src, bytes);
}

roto_status rt_ctx_download(rt_ctx *ctx, void *dst, const void *src, size_t bytes) {
    return ctx->be->download(ctx, dst, src, bytes);
}

roto_status rt_ctx_synchronize(rt_ctx *ctx) {
    return ctx->be->synchronize ? ctx->be->synchronize(ctx) : ROTO_OK;
}

// Returns the slot for `kind` (or -1 when profiling is off) and the start time.
int rt_prof_begin(rt_ctx *ctx, const char *kind, double *t0) {
    if (!ctx->prof.enabled) return -1;
    rt_profile *p = &ctx->prof;
    int slot = -1;
    for (int i = 0; i < p->n; i++)
        if (p->names[i] == kind || strcmp(p->names[i], kind) == 0) { slot = i; break; }
    if (slot < 0) {
        if (p->n == RT_PROF_MAX_KINDS) return -1;
        slot = p->n++;
        p->names[slot] = kind;
    }
    // Device backends run asynchronously: wait so the time is this op's alone.
    rt_ctx_synchronize(ctx);
    *t0 = rt_now_seconds();
    return slot;
}

void rt_prof_end(rt_ctx *ctx, int slot, double t0) {
    if (slot < 0) return;
    rt_ctx_synchronize(ctx);
    ctx->prof.seconds[slot] += rt_now_seconds() - t0;
    ctx->prof.calls[slot]++;
}

void rt_prof_print(const rt_ctx *ctx) {
    const rt_profile *p = &ctx->prof;
    double total = 0;
    for (int i = 0; i < p->n; i++) total += p->seconds[i];
    fprintf(stderr, "roto profile (%s backend): %.3f ms in ops\n", ctx->be->name, total * 1e3);
    fprintf(stderr, "  %-22s %10s %12s %7s\n", "op", "calls", "ms", "share");
    for (int i = 0; i < p->n; i++)
        fprintf(stderr, "  %-22s %10lld %12.3f %6.1f%%\n", p->names[i], (long long)p->calls[i],
                p->seconds[i] * 1e3, total > 0 ? 100.0 * p->seconds[i] / total : 0.0);
}
