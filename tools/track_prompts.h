// track_prompts.h: the objects file of `roto track --prompts` (docs/cli.md):
//
//   {"objects": [{"name": "actor", "keyframes": [
//       {"frame": 1001, "points": [[x, y, 1], [x, y, 0]], "box": [x0, y0, x1, y1],
//        "mask": "actor_1001.png"}]}]}
//
// Per keyframe any of points ([x, y] = foreground, or [x, y, 1|0]), box and mask
// (an image file, relative to the JSON's directory). Unknown keys, duplicate
// object names or keyframes, empty keyframes and names that cannot be file names
// are errors: a typo must not silently drop a click. The file's own consistency is
// checked here; frames against the sequence and coordinates against the frame
// size are checked by the caller (track_objects_check_image).
#ifndef ROTO_TRACK_PROMPTS_H
#define ROTO_TRACK_PROMPTS_H

#include <stdint.h>

#include "engine/status.h"
#include "nets/sam2/sam2.h"

typedef struct {
    int frame;   // frame number, as in the file
    int index;   // position in the sequence (set by the caller; -1 until then)
    float points[2 * SAM2_MAX_POINTS];
    int labels[SAM2_MAX_POINTS];
    int n_points;
    int has_box;
    float box[4];
    char *mask;          // mask file (resolved against the JSON's directory), or NULL
    uint8_t *mask_data;  // its pixels (1 where >= 0.5), loaded by track_objects_check_image
} track_keyframe;

typedef struct {
    char *name;
    track_keyframe *kf;
    int n_kf;
} track_object;

typedef struct {
    track_object *obj;
    int n;
} track_objects;

// Parse the file. Messages name the file, the object and the keyframe.
roto_status track_objects_load(const char *path, track_objects *out);
void track_objects_free(track_objects *o);

// Points and boxes inside [0, W] x [0, H]; mask files read, of size W x H.
roto_status track_objects_check_image(track_objects *o, int W, int H);

#endif
