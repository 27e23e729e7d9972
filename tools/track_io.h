// track_io.h: frames in and mattes out for `roto track` (tools/cmd_track.c).
//
// Frames in: track_feeder hands the tracker 8-bit sRGB plates. Worker threads decode
// them ahead (io/pipeline.h) in the order the tracker is predicted to ask for them; a
// request off that order is decoded on the caller's thread, so a wrong prediction
// costs time, never correctness. At most `queue` plates are held beyond the current one.
//
// Mattes out: a track_out_job holds one frame's binary masks (and the plate when a
// preview is wanted); track_out_run, run by io/pipeline.h's writer workers, cleans
// the mattes up and writes every output of that frame (per-object files, the
// multi-layer EXR, the preview, the contact-sheet cell), each file atomically.
#ifndef ROTO_TRACK_IO_H
#define ROTO_TRACK_IO_H

#include <limits.h>
#include <stdint.h>

#include "io/exr.h"
#include "io/frame.h"
#include "io/colour.h"
#include "io/pipeline.h"
#include "io/preview.h"
#include "io/sequence.h"
#include "tools/track_prompts.h"

// ---- frames in -------------------------------------------------------------------------------

typedef struct {
    const roto_seq_reader *seq;
    const int *src;        // per sequence index: the index whose file is read (--hold-missing)
    int W, H;
    roto_colorspace cs;
    int *order, n_order;   // predicted reads (sequence indices); the feeder owns it
    roto_prefetch *pf;     // NULL until track_feeder_start
    int taken;             // order[taken] is the next item the queue hands out
    roto_frame cur;        // the plate last handed out: 3 channels of 8-bit codes (U16)
    int cur_index;         // its sequence index, -1 for none
    int n_direct;          // plates decoded on the caller's thread since the start
} track_feeder;

// seq, src, W, H, cs must be set; cur_index = -1. Without a start every request is
// decoded directly (used while the prompts are added).
roto_status track_feeder_start(track_feeder *f, int *order, int n_order, int queue, int threads);
void track_feeder_stop(track_feeder *f);

// The plate of sequence index `index` (valid until the next call). Decoded ahead when
// it is among the next few predicted reads; predicted reads skipped over are dropped.
roto_status track_feeder_get(track_feeder *f, int index, const roto_frame **out);

// sam2_track's read_frame callback (user = the feeder).
roto_status track_feeder_read(void *user, int index, uint8_t *rgb);

// ---- mattes out -------------------------------------------------------------------------------

typedef struct {
    float dilate, erode, feather;
    long fill_holes, remove_islands;  // -1 / 0: off
    float core_edge;                  // --core-edge radius, 0: off
    int cuda;                         // 1: on the CUDA device (--device cuda)
} track_cleanup;

// What to write and how; shared read-only by the writer workers (the contact sheet's
// cells are written by one job each).
typedef struct {
    const track_objects *objs;
    int W, H;
    const char *obj_pattern;              // per-object files ({obj}), or NULL
    const char *multi_pattern;            // one multi-layer EXR per frame, or NULL
    char preview_pattern[PATH_MAX + 32];  // "" for none
    const char *const *layer_names;       // names of the EXR layers (obj_<name>): per object its
                                          // name, then with --core-edge <name>_core, <name>_edge
    roto_exr_compression compression;
    int exr_float;
    track_cleanup cleanup;
    roto_contact_sheet sheet;             // n_cells 0 for none
    int contact_lo, contact_every;        // sequence index of cell 0, frames per cell
    const char *model_name;               // "roto/model" in EXR headers
} track_out_plan;

typedef struct {
    int index, number;      // sequence index, frame number
    uint8_t *masks;         // n_objs x W*H, 1 inside
    uint8_t *plate;         // W*H*3 8-bit sRGB (previews, contact sheet), or NULL
    roto_frame_meta meta;   // the plate's (EXR headers)
    uint8_t *write_obj;     // n_objs flags
    int write_multi, write_preview;
    int contact_cell;       // -1: none
} track_out_job;

// The path of an output of frame `number` ({obj} expanded when obj is given).
roto_status track_out_path(const char *pattern, const char *obj, int number, char out[PATH_MAX]);

// Which outputs of frame `index` to write (skip_existing: those not on disk yet) and
// its contact-sheet cell. *n_write / *n_kept count files. job->write_obj must hold
// n_objs flags.
roto_status track_out_select(const track_out_plan *p, const roto_seq_reader *seq, int index, int skip_existing,
                             track_out_job *job, int *n_write, int *n_kept);

roto_status track_out_run(void *plan, void *job);  // roto_job_fn
void track_out_free(void *plan, void *job);       // roto_job_free_fn

#endif
