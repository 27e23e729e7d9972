// matte_cleanup.h: the matte clean-up of roto segment and roto track: fill
// holes, remove islands, grow, shrink, soften, in that order, in place on a
// host matte [h][w].
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
} matte_cleanup_opts;

// 1 when any step is on.
int matte_cleanup_wanted(const matte_cleanup_opts *o);

// Clean m up in place. ctx NULL: on the host. Otherwise on ctx's device; its
// arena is reset and grown to the matte's size when needed.
roto_status matte_cleanup_run(rt_ctx *ctx, const matte_cleanup_opts *o, float *m, int w, int h);

// The calling thread's CUDA context for clean-ups (on the device chosen with
// rt_cuda_select_device), created on first use and destroyed when the thread
// exits. roto track's writer workers each get one, so they clean frames up
// concurrently on their own streams. Not for the main thread (nothing would
// destroy it): use matte_cleanup_cuda there.
roto_status matte_cleanup_thread_ctx(rt_ctx **out);

// One clean-up on a CUDA context made for it and destroyed after (roto segment:
// a few mattes per run). Runs nothing, and makes no context, when no step is on.
roto_status matte_cleanup_cuda(const matte_cleanup_opts *o, float *m, int w, int h);

#endif
