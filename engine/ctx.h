// ctx.h: an execution context: a backend, an activation arena and profiling.
//
// Memory model
// - Activations come from the context's arena: one block on the backend's
//   device, bump-allocated and reset once per forward (rt_ctx_reset), so a
//   frame's buffers have the same addresses every frame (CUDA graphs rely on it).
//   rt_arena_mark/rt_arena_release free a scope's temporaries early.
// - Persistent data (weights, memory banks) comes from rt_ctx_alloc_persistent
//   and lives until rt_ctx_free_persistent or rt_ctx_destroy.
#ifndef ROTO_CTX_H
#define ROTO_CTX_H

#include <stddef.h>
#include <stdint.h>

#include "tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rt_backend rt_backend;

typedef struct {
    char *base;       // device memory (backend alloc)
    size_t capacity;  // bytes
    size_t used;      // bytes
    size_t peak;      // high-water mark since creation
} rt_arena;

// Profiling: per op-kind time and call counts when ROTO_PROFILE=1.
#define RT_PROF_MAX_KINDS 32
typedef struct {
    int enabled;
    const char *names[RT_PROF_MAX_KINDS];
    double seconds[RT_PROF_MAX_KINDS];
    int64_t calls[RT_PROF_MAX_KINDS];
    int n;
} rt_profile;

typedef struct rt_ctx {
    const rt_backend *be;
    rt_arena arena;
    int num_threads;      // CPU threads (0 = OpenMP default)
    void *backend_state;  // e.g. CUDA stream and library handles
    rt_profile prof;
    size_t persistent_bytes;  // bytes held by rt_ctx_alloc_persistent
} rt_ctx;

// Create a context on `be` with an activation arena of `arena_bytes`.
// ROTO_PROFILE=1 in the environment turns on profiling.
roto_status rt_ctx_create(rt_ctx *ctx, const rt_backend *be, size_t arena_bytes);
// Print the profile (if on) and release the arena and backend state.
void rt_ctx_destroy(rt_ctx *ctx);
// Reset the activation arena: call once per forward.
void rt_ctx_reset(rt_ctx *ctx);
// Make the arena hold at least `bytes`: when it is smaller, its block is
// replaced by a larger one (contents and tensors from it are lost, so call it
// between forwards). On failure the old arena is kept.
roto_status rt_ctx_reserve(rt_ctx *ctx, size_t bytes);

// Allocate a contiguous activation tensor from the arena (64-byte aligned).
// Fails with ROTO_ERR_OOM naming the request, the arena size and its use.
roto_status rt_arena_tensor(rt_ctx *ctx, rt_tensor *t, rt_dtype dtype, int ndim,
                            const int64_t *shape);
// Shorthand for 1..4-d f32 activation tensors.
roto_status rt_arena_f32(rt_ctx *ctx, rt_tensor *t, int ndim, int64_t d0, int64_t d1,
                         int64_t d2, int64_t d3);
size_t rt_arena_mark(const rt_ctx *ctx);
void rt_arena_release(rt_ctx *ctx, size_t mark);

// Persistent device buffers (weights, state).
roto_status rt_ctx_alloc_persistent(rt_ctx *ctx, void **ptr, size_t bytes);
void rt_ctx_free_persistent(rt_ctx *ctx, void *ptr, size_t bytes);

// Copy host <-> the context's device (plain memcpy on CPU).
roto_status rt_ctx_upload(rt_ctx *ctx, void *dst, const void *src, size_t bytes);
roto_status rt_ctx_download(rt_ctx *ctx, void *dst, const void *src, size_t bytes);
roto_status rt_ctx_synchronize(rt_ctx *ctx);

// Profiling hooks used by the op layer.
int rt_prof_begin(rt_ctx *ctx, const char *kind, double *t0);
void rt_prof_end(rt_ctx *ctx, int slot, double t0);
void rt_prof_print(const rt_ctx *ctx);
double rt_now_seconds(void);

#ifdef __cplusplus
}
#endif
#endif
