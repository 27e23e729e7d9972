// matte_cleanup.h: the matte clean-up of roto segment and roto track: fill
// holes, remove islands, grow, shrink, soften, in that order, in place on a
// host matte [h][w]; then, when asked (--core-edge R), the split of the
// cleaned matte into a core (the matte eroded by R: binary, solid inside)
// and an edge (matte - core, clamped at 0: the soft border band).
//
// Without a context it runs the host functions of io/matte.h (what the CPU
// path always ran). With a CUDA context it uploads the matte, runs the same
// steps through the rt_matte_* ops (bit-identical results, feather within
// 1e-6) and downloads it: the masks reach the CLI on the host (roto_result,
// sam2_track's callback), so the copies are part of the cost.
#ifndef ROTO_TOOLS_MATTE_CLEANUP_H
#define ROTO_TOOLS_MATTE_CLEANUP_H

#include "engine/ctx.h"

typedef struct {
    long fill_holes;               // largest hole filled (0: any size), -1: off
    long remove_islands;           // islands smaller than this are removed, 0: off
    float dilate, erode, feather;  // radii in pixels, 0: off
    float core_edge;               // core/edge split radius in pixels, 0: off
} matte_cleanup_opts;

// 1 when any clean-up step is on (the split is not a clean-up step).
int matte_cleanup_wanted(const matte_cleanup_opts *o);

// Clean m up in place; with o->core_edge > 0 also write the split into core
// and edge ([h][w] each; may be NULL when the split is off). ctx NULL: on the
// host. Otherwise on ctx's device (one upload, one download per output); its
// arena is reset and grown to what the mattes need.
roto_status matte_cleanup_run(rt_ctx *ctx, const matte_cleanup_opts *o, float *m, float *core, float *edge, int w,
                              int h);

// The calling thread's CUDA context for clean-ups (on the device chosen with
// rt_cuda_select_device), created on first use and destroyed when the thread
// exits. roto track's writer workers each get one, so they clean frames up
// concurrently on their own streams. Not for the main thread (nothing would
// destroy it): use matte_cleanup_cuda_ctx there.
roto_status matte_cleanup_thread_ctx(rt_ctx **out);

// A CUDA context for clean-ups on the main thread (roto segment keeps one for
// its whole run: making one per mask would cost a context each), and its end.
roto_status matte_cleanup_cuda_ctx(rt_ctx **out);
void matte_cleanup_cuda_ctx_free(rt_ctx *ctx);

#endif
