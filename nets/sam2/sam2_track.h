// sam2_track.h: SAM 2.1 video object tracking (the official SAM2VideoPredictor): a
// session over a video of n frames, several objects each with its own memory,
// prompts (clicks, boxes, masks) on any frame, propagation forward or backward.
//
//   sam2_track_opts o;  sam2_track_opts_init(&o);
//   o.n_frames = n;  o.width = w;  o.height = h;  o.read_frame = my_reader;  o.read_user = ...;
//   sam2_track *t;  sam2_track_create(model, &o, &t);        // model from sam2_load (video tensors)
//   int a;  sam2_track_add_object(t, &a);
//   float xy[2] = {410, 220};  int lab = 1;
//   sam2_track_prompt p = {.points = xy, .labels = &lab, .n_points = 1};
//   sam2_track_add_prompt(t, a, 0, &p, on_result, user);     // result of that frame
//   sam2_track_propagate(t, -1, -1, 0, on_result, user);     // forward from the first prompt
//   sam2_track_free(t);
//
// Frames come from the read_frame callback (u8 RGB, width x height), one at a time:
// the session holds the features of the last frame read only, and per object the
// memories the bank can still select (every prompted frame, and the non-prompted
// frames within 16 of the frame being tracked or of a prompted frame), so memory
// stays flat over long videos (opts.keep_all keeps everything, as the official code).
//
// Semantics follow sam2 1.1.0 (see docs/sam2_video.md): objects are tracked
// independently; a prompt on a frame not yet tracked for that object makes it a
// conditioning frame; a prompt on a tracked frame is a correction (non-conditioning
// unless opts.corrections_as_cond), fed the frame's previous low-res logits as the
// mask prompt with the clicks; propagation skips conditioning frames (their prompt
// result stands) and re-runs every other frame, so a non-conditioning correction is
// replaced when a later propagation passes over its frame (as in the official code).
// The session uses the model (its features and context) exclusively while it exists.
#ifndef ROTO_SAM2_TRACK_H
#define ROTO_SAM2_TRACK_H

#include <stdint.h>

#include "nets/sam2/sam2.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sam2_track sam2_track;

// Fill rgb (width * height * 3, row-major u8 RGB) with frame `index` (0-based).
typedef roto_status (*sam2_frame_reader)(void *user, int index, uint8_t *rgb);

typedef struct {
    int n_frames;
    int width, height;           // the video resolution (results come back at it)
    sam2_frame_reader read_frame;
    void *read_user;
    int fill_hole_area;          // fill background holes of at most this many low-res
                                 // pixels (8-connected; 8 = official video predictor, 0 off)
    int corrections_as_cond;     // add_all_frames_to_correct_as_cond (default 0)
    int keep_all;                // keep every frame's memory (default 0: a sliding window)
} sam2_track_opts;

void sam2_track_opts_init(sam2_track_opts *o);

typedef struct {
    const float *points;   // n_points (x, y) in video pixels, or NULL
    const int *labels;     // 1 foreground, 0 background
    int n_points;
    const float *box;      // x0, y0, x1, y1 in video pixels, or NULL
    int keep_old;          // 1: add to this frame's earlier clicks (no box allowed);
                           // 0: replace them (the official default)
    const uint8_t *mask;   // height x width, nonzero = object; alone (no points, no box)
} sam2_track_prompt;

// One object's result on a frame (pointers valid during the callback only).
typedef struct {
    int obj;                    // object index (from sam2_track_add_object)
    float obj_score;            // object-score logit (> 0: object present)
    int low_res;                // L = image_size / 4
    const float *low_res_logits;  // [L, L] as stored (after hole filling)
    const float *obj_ptr;       // [d_model] object pointer
    const float *logits;        // [height, width] upsampled logits
    const uint8_t *mask;        // [height, width] 1 where logit > 0
} sam2_track_object;

typedef struct {
    int frame;
    int width, height;
    int n_objects;
    const sam2_track_object *objects;
} sam2_track_result;

// Called with each result as it is computed; a non-OK return stops the call.
typedef roto_status (*sam2_track_cb)(void *user, const sam2_track_result *r);

// Arena bytes the session's context needs (frames at the model's resolution, the
// memory bank with up to max_cond conditioning frames per object).
size_t sam2_track_arena_bytes(const sam2_config *cfg, int mem_dim, int max_cond);

roto_status sam2_track_create(sam2_model *m, const sam2_track_opts *o, sam2_track **out);
void sam2_track_free(sam2_track *t);

roto_status sam2_track_add_object(sam2_track *t, int *obj);

// Prompt object `obj` on `frame`; calls cb once with that object's result there.
roto_status sam2_track_add_prompt(sam2_track *t, int obj, int frame, const sam2_track_prompt *p,
                                  sam2_track_cb cb, void *user);

// Propagate every object from `start` (-1: the earliest conditioning frame of any
// object) over at most max_frames further frames (-1: to the end / the start of the
// video), forward or in reverse; cb gets every object's result on each frame.
roto_status sam2_track_propagate(sam2_track *t, int start, int max_frames, int reverse,
                                 sam2_track_cb cb, void *user);

// Number of frames whose outputs (memory, pointer, logits) the session holds for
// object `obj` (prompted and tracked ones), or -1 for a bad object: a measure of the
// session's memory, flat over long videos unless keep_all.
int sam2_track_stored_frames(const sam2_track *t, int obj);

#ifdef __cplusplus
}
#endif
#endif
