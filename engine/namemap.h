// namemap.h: canonical tensor names across naming schemes.
// Nets ask the weight store for the official (canonical) names of their family.
// A file saved in another scheme (the Hugging Face transformers ports) gets
// aliases: each of its tensors is also listed under its canonical name, as a
// view of the same bytes, so `rt_weights_find(w, official_name)` just works.
//
// Each family has one rule table (namemap.c). A rule maps a name prefix, matched
// segment by segment ('.'-separated), to a canonical prefix; the rest of the
// name is kept. In patterns, "#" matches a numeric segment and "*" any one
// segment; the captures fill the same marks in the target, in order. A
// "split rows" rule gives one alias per row of the first dimension (the HF
// prompt encoder stores the four [1, 256] point embeddings as one [4, 256]).
// Adding Depth Anything or MatAnyone later means adding a table.
#ifndef ROTO_NAMEMAP_H
#define ROTO_NAMEMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "weights.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    RT_NAMES_SAM2 = 0,  // SAM 2 / 2.1: Hugging Face transformers -> official sam2
    RT_NAMES_COUNT
} rt_names;

const char *rt_names_label(rt_names fam);  // "sam2"

// The canonical name of one file name. Returns true and writes `out` when a rule
// applies (for a split-rows rule, the name of row `row`, else row is ignored);
// false when the name is already canonical or unknown to the table. *split_rows (may
// be NULL) is set to 1 for split-rows rules, 0 otherwise.
bool rt_namemap_to_canonical(rt_names fam, const char *name, int64_t row, char *out, size_t n,
                             int *split_rows);

// Add canonical aliases for every file tensor of `w` that the table renames.
// Names already present (an official file, a second attach) are left alone; of
// two file tensors with the same canonical name (HF stores the prompt encoder's
// positional matrix twice) the first wins. *n_added (may be NULL) counts aliases.
roto_status rt_namemap_attach(rt_weights *w, rt_names fam, int *n_added);

#ifdef __cplusplus
}
#endif
#endif
