// pipeline.h: overlap file I/O with compute using worker threads (pthreads)
// and bounded queues, so memory stays bounded however long the sequence is.
//
// Decode-ahead (roto_prefetch): workers decode frames 0..count-1 ahead of the
// consumer, at most `queue_len` frames beyond the one the consumer last took
// (decoded and in-progress frames together). The consumer receives frames
// strictly in order, each with its load status; a worker's error message is
// re-raised on the consumer's thread.
//
// Write-behind (roto_writer): the caller pushes jobs (e.g. "encode this frame
// to that path"); workers run them. push blocks while `queue_len` jobs are
// pending. The first failure is kept: later pushes and finish() return it,
// and jobs not yet started are dropped (freed) rather than run.
#ifndef ROTO_IO_PIPELINE_H
#define ROTO_IO_PIPELINE_H

#include "io/frame.h"
#include "io/image.h"
#include "io/sequence.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- decode-ahead ----------------------------------------------------------------

// Loads item `index` into `out` (called on worker threads, concurrently).
// `missing` reports a missing file (see roto_seq_load).
typedef roto_status (*roto_load_fn)(void *user, int index, roto_frame *out, int *missing);

typedef struct roto_prefetch roto_prefetch;

// queue_len >= 1, n_threads >= 1 (n_threads > queue_len is pointless).
roto_status roto_prefetch_start(roto_prefetch **out, int count, roto_load_fn load, void *user, int queue_len,
                                int n_threads);

// The next item in order: blocks until it is decoded. Returns the load's
// status (message re-raised here); *index (may be NULL) is the item index;
// *missing (may be NULL) as reported by the loader. The frame now belongs to
// the caller. INVALID_ARG once all `count` items were taken.
roto_status roto_prefetch_next(roto_prefetch *p, roto_frame *out, int *index, int *missing);

// Stop the workers (even mid-sequence), free frames not taken, free p.
void roto_prefetch_stop(roto_prefetch *p);

// Most frames ever held by the queue at once (decoded + being decoded); for
// tests of the memory bound.
int roto_prefetch_peak(const roto_prefetch *p);

// Sequence helpers: decode a roto_seq_reader's frames ahead, and take them
// in order with the sequential checks (missing/hold, mixed sizes) applied.
roto_status roto_seq_prefetch_start(roto_prefetch **out, roto_seq_reader *r, int queue_len, int n_threads);
roto_status roto_seq_prefetch_next(roto_prefetch *p, roto_seq_reader *r, roto_frame *out, int *index, int *held);

// ---- write-behind ------------------------------------------------------------------

typedef roto_status (*roto_job_fn)(void *user, void *job);
typedef void (*roto_job_free_fn)(void *user, void *job);

typedef struct roto_writer roto_writer;

// run(user, job) does the work; free_job(user, job) (may be NULL) releases a
// job after it ran or was dropped.
roto_status roto_writer_start(roto_writer **out, int queue_len, int n_threads, roto_job_fn run,
                              roto_job_free_fn free_job, void *user);

// Queue a job (ownership moves to the writer, also on error). Blocks while
// the queue is full. Returns the first failure of an earlier job, if any.
roto_status roto_writer_push(roto_writer *w, void *job);

// Encode + write a frame to `path` (roto_image_write) on a worker. The frame
// is moved: *f is left empty. opts may be NULL.
roto_status roto_writer_push_frame(roto_writer *w, const char *path, roto_frame *f, const roto_write_opts *opts);

// Wait for every job, stop the workers, free w. Returns the first failure.
roto_status roto_writer_finish(roto_writer *w);

// Frame-writing writer: roto_writer_start with a built-in job type for
// roto_writer_push_frame.
roto_status roto_frame_writer_start(roto_writer **out, int queue_len, int n_threads);

// Most jobs ever pending at once (queued + running); for tests.
int roto_writer_peak(const roto_writer *w);

#ifdef __cplusplus
}
#endif
#endif
