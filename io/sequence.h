// sequence.h: image sequences: file-name patterns, frame ranges, discovery of
// what exists on disk, and a sequence reader that checks every frame.
//
// Patterns: `plate.####.exr` (each '#' is one digit of padding, so #### is
// %04d) or printf style `plate.%04d.exr` / `plate.%d.exr` (no padding). One
// frame field per pattern, in the file name (not in a directory). A pattern
// without a field names a single file. Frame numbers are formatted like
// printf's %0Nd: numbers wider than the padding keep all their digits
// (#### with 12345 -> 12345) and negative numbers get a '-' (-005).
//
// Ranges (OpenCue/Deadline syntax): `1001-1100`, `1001-1100x2` (step),
// `1001` (single), `1100-1001` (descending) and comma lists such as
// `1001-1010,1020,1030-1040x5`. Frames keep the order given; a frame listed
// twice is kept once (first occurrence).
//
// Output patterns may contain `{obj}`, replaced by an object name.
#ifndef ROTO_IO_SEQUENCE_H
#define ROTO_IO_SEQUENCE_H

#include <limits.h>
#include <stddef.h>

#include "io/frame.h"
#include "io/image.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ROTO_SEQ_MAX_FRAMES 10000000  // a sanity cap on a range's length

typedef struct {
    char dir[PATH_MAX];  // directory ("." when the pattern has none)
    char head[256];      // file-name text before the frame number
    char tail[256];      // file-name text after it
    int padding;         // digits; 0 = unpadded (%d)
    int has_frame;       // 0: a single file (no frame field)
} roto_seq_pattern;

// Parse a pattern. INVALID_ARG for two frame fields, a field in a directory
// name, or a malformed printf field ("%4d", "%0xd").
roto_status roto_seq_parse_pattern(const char *pattern, roto_seq_pattern *p);

// Full path of one frame. INVALID_ARG if it does not fit `cap`.
roto_status roto_seq_format(const roto_seq_pattern *p, int frame, char *out, size_t cap);

// Replace every "{obj}" in `pattern` by `obj` (which must be non-empty and
// contain no '/'). A pattern without {obj} is copied unchanged.
roto_status roto_seq_expand_obj(const char *pattern, const char *obj, char *out, size_t cap);

// A parsed frame list.
typedef struct {
    int *frames;
    int n;
} roto_frame_list;

roto_status roto_frames_parse(const char *spec, roto_frame_list *out);
void roto_frames_free(roto_frame_list *l);

// What exists on disk for a pattern.
typedef struct {
    int *frames;      // existing frame numbers, ascending
    int n;
    int first, last;  // frames[0], frames[n-1]
    long n_missing;   // frames in [first, last] with no file
    int *gaps;        // missing ranges as pairs (start, end), n_gaps pairs
    int n_gaps;
} roto_seq_scan;

// Scan the pattern's directory for files matching it. NOT_FOUND (naming the
// pattern) when none match. A pattern without a frame field is an error.
roto_status roto_seq_discover(const roto_seq_pattern *p, roto_seq_scan *out);
void roto_seq_scan_free(roto_seq_scan *s);
// "1005-1007, 1010" (truncated with "..." to fit cap).
void roto_seq_gaps_string(const roto_seq_scan *s, char *out, size_t cap);

// ---- sequence reader -----------------------------------------------------

typedef struct {
    roto_seq_pattern pat;
    roto_frame_list list;  // the frames to read, in order
    roto_seq_scan scan;    // filled when the range was discovered (else zeroed)
    roto_read_opts read_opts;
    int hold_missing;      // 1: a missing frame repeats the previous one
    // Sequential state (roto_seq_accept):
    int have_size, width, height, size_frame;
    roto_frame last;       // copy of the last good frame (only with hold_missing)
    int have_last, last_frame;
} roto_seq_reader;

// Open a sequence. `range` NULL or "": discover the existing frames on disk
// and read every frame from the first to the last (so gaps are caught as
// missing frames: error, or held with hold_missing); the gaps are listed in
// r->scan. `ro` may be NULL. For a pattern without a frame field the list is
// the single frame 0 (unless a range is given, then every frame reads the
// same file).
roto_status roto_seq_open(roto_seq_reader *r, const char *pattern, const char *range, const roto_read_opts *ro,
                          int hold_missing);
void roto_seq_close(roto_seq_reader *r);

static inline int roto_seq_count(const roto_seq_reader *r) { return r->list.n; }
static inline int roto_seq_frame_number(const roto_seq_reader *r, int i) { return r->list.frames[i]; }
roto_status roto_seq_path(const roto_seq_reader *r, int i, char *out, size_t cap);

// Decode the file of list entry i. Thread-safe (no shared state is written):
// the pipeline's decode-ahead workers call it. *missing is set to 1 (and
// NOT_FOUND returned) when the file does not exist, else 0.
roto_status roto_seq_load(const roto_seq_reader *r, int i, roto_frame *out, int *missing);

// The sequential check, called in frame order with roto_seq_load's result:
// a missing frame becomes an error naming it, or (hold_missing) a copy of the
// previous frame with *held = 1; a frame whose size differs from the first
// frame's is an error naming both frames. Other load errors are returned
// as they are. On error `fr` is freed.
roto_status roto_seq_accept(roto_seq_reader *r, int i, roto_status load_status, int missing, roto_frame *fr,
                            int *held);

// roto_seq_load + roto_seq_accept for serial use. `held` may be NULL.
roto_status roto_seq_read(roto_seq_reader *r, int i, roto_frame *out, int *held);

// Convenience for outputs: expand {obj} (obj may be NULL when the pattern
// has none), parse, and format `frame`.
roto_status roto_seq_output_path(const char *pattern, const char *obj, int frame, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
