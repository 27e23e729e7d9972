// prompts_json.h: the prompt file of `roto segment --prompts` (and later
// `roto track`): a list of prompts, each with clicks, a box, a mask, options
// and output names. Format (docs/cli.md):
//
//   {"prompts": [
//     {"name": "car", "points": [[420, 310], [380, 500, 0]], "box": [300, 200, 700, 560],
//      "multimask": false, "output": "masks/{name}.png", "logits": "logits_{i}.exr"},
//     {"mask": "rough.png", "output": "out_{i}.png"},
//     {"points": [[10, 20, 1]], "mask_from": 0}
//   ]}
//
// A point is [x, y] (foreground) or [x, y, label] with label 1 foreground or 0
// background. Keys: name, frame (for roto track), points, box, mask (an image
// file), mask_from (index of an earlier prompt whose low-res logits become the
// mask prompt), multimask, output, logits. Unknown keys are errors (a typo
// must not silently drop a prompt). Relative paths are taken relative to the
// prompt file's directory. The parser checks the file's own consistency; sizes
// against the image are the caller's check.
#ifndef ROTO_PROMPTS_JSON_H
#define ROTO_PROMPTS_JSON_H

#include <stddef.h>

#include "engine/status.h"

#define PROMPT_MAX_POINTS 64

typedef struct {
    int index;        // position in the file, 0-based
    char *name;       // "name", or NULL
    int frame;        // "frame" (>= 0), or -1 when absent
    float points[2 * PROMPT_MAX_POINTS];  // (x, y) pairs
    int labels[PROMPT_MAX_POINTS];
    int n_points;
    int has_box;
    float box[4];     // x0, y0, x1, y1
    char *mask;       // "mask": image path (resolved), or NULL
    int mask_from;    // "mask_from": an earlier prompt's index, or -1
    int multimask;    // "multimask": 0 / 1, or -1 when absent
    char *output;     // "output": path template (resolved), or NULL
    char *logits;     // "logits": path template (resolved), or NULL
} prompt_entry;

typedef struct {
    prompt_entry *items;
    int n;
} prompt_file;

// Read and parse a prompt file. Errors name the file, the prompt and the key.
roto_status prompt_file_load(const char *path, prompt_file *out);
// Parse JSON text; `name` is used in messages, relative paths are joined to
// base_dir (NULL or "" keeps them as they are).
roto_status prompt_file_parse(const char *text, size_t len, const char *name, const char *base_dir,
                              prompt_file *out);
void prompt_file_free(prompt_file *f);

// Expand a path template: "{i}" becomes the prompt index, "{name}" its name
// (an error when it has none). Any other "{...}" is an error.
roto_status prompt_expand(const char *tmpl, int index, const char *name, char *out, size_t cap);

// Command-line forms: "X,Y" or "X,Y,LABEL" (label 0 or 1) and "X0,Y0,X1,Y1".
// Return 1 on success, 0 on malformed text (not finite, trailing junk, bad label).
int prompt_parse_point(const char *s, float *x, float *y, int *label);
int prompt_parse_box(const char *s, float box[4]);

#endif
