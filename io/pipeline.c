// pipeline.c: decode-ahead and write-behind worker pools with bounded queues
// (see pipeline.h). One mutex and two condition variables per pool keep the
// logic easy to check; frames are large, so lock traffic is negligible.
#include "io/pipeline.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Messages recorded on a worker thread are carried to the consumer.
typedef struct {
    roto_status st;
    char msg[1024];
} carried_error;

static void carry(carried_error *e, roto_status st) {
    e->st = st;
    snprintf(e->msg, sizeof e->msg, "%s", st == ROTO_OK ? "" : roto_last_error());
}

// Re-raise on this thread. The stored text starts with the status name
// ("format error: ..."), which roto_fail adds again, so drop it.
static roto_status reraise(const carried_error *e) {
    if (e->st == ROTO_OK) return ROTO_OK;
    const char *m = e->msg;
    const char *prefix = roto_status_name(e->st);
    size_t pl = strlen(prefix);
    if (!strncmp(m, prefix, pl) && m[pl] == ':' && m[pl + 1] == ' ') m += pl + 2;
    return roto_fail(e->st, "%s", m);
}

// ---- decode-ahead --------------------------------------------------------------------

typedef struct {
    int ready;
    int index;
    int missing;
    roto_frame frame;
    carried_error err;
} slot;

struct roto_prefetch {
    pthread_mutex_t mu;
    pthread_cond_t space, ready;
    roto_load_fn load;
    void *user;
    int count, queue_len, n_threads;
    int next_claim;  // next index a worker will take
    int consumed;    // items handed to the consumer
    int in_flight, peak;
    int stop;
    slot *slots;     // queue_len slots, item i in slot i % queue_len
    pthread_t *threads;
    int started;
};

static void *prefetch_worker(void *arg) {
    roto_prefetch *p = (roto_prefetch *)arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->next_claim < p->count && p->next_claim >= p->consumed + p->queue_len)
            pthread_cond_wait(&p->space, &p->mu);
        if (p->stop || p->next_claim >= p->count) break;
        int idx = p->next_claim++;
        p->in_flight++;
        if (p->in_flight > p->peak) p->peak = p->in_flight;
        pthread_mutex_unlock(&p->mu);

        roto_frame f;
        int missing = 0;
        memset(&f, 0, sizeof f);
        roto_status st = p->load(p->user, idx, &f, &missing);
        carried_error err;
        carry(&err, st);

        pthread_mutex_lock(&p->mu);
        slot *s = &p->slots[idx % p->queue_len];
        s->frame = f;
        s->index = idx;
        s->missing = missing;
        s->err = err;
        s->ready = 1;
        pthread_cond_broadcast(&p->ready);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

roto_status roto_prefetch_start(roto_prefetch **out, int count, roto_load_fn load, void *user, int queue_len,
                                int n_threads) {
    *out = NULL;
    if (count < 0 || !load || queue_len < 1 || n_threads < 1 || n_threads > 256)
        return roto_fail(ROTO_ERR_INVALID_ARG, "prefetch: bad arguments (count %d, queue %d, threads %d)", count,
                         queue_len, n_threads);
    roto_prefetch *p = calloc(1, sizeof *p);
    if (!p) return roto_fail(ROTO_ERR_OOM, "prefetch: out of memory");
    p->slots = calloc((size_t)queue_len, sizeof *p->slots);
    p->threads = calloc((size_t)n_threads, sizeof *p->threads);
    if (!p->slots || !p->threads) {
        free(p->slots);
        free(p->threads);
        free(p);
        return roto_fail(ROTO_ERR_OOM, "prefetch: out of memory");
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->space, NULL);
    pthread_cond_init(&p->ready, NULL);
    p->load = load;
    p->user = user;
    p->count = count;
    p->queue_len = queue_len;
    p->n_threads = n_threads;
    for (int t = 0; t < n_threads; t++) {
        if (pthread_create(&p->threads[t], NULL, prefetch_worker, p) != 0) {
            roto_prefetch_stop(p);
            return roto_fail(ROTO_ERR_INTERNAL, "prefetch: cannot start worker thread %d", t);
        }
        p->started++;
    }
    *out = p;
    return ROTO_OK;
}

roto_status roto_prefetch_next(roto_prefetch *p, roto_frame *out, int *index, int *missing) {
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&p->mu);
    if (p->consumed >= p->count) {
        pthread_mutex_unlock(&p->mu);
        return roto_fail(ROTO_ERR_INVALID_ARG, "prefetch: all %d items were already taken", p->count);
    }
    int idx = p->consumed;
    slot *s = &p->slots[idx % p->queue_len];
    while (!(s->ready && s->index == idx)) pthread_cond_wait(&p->ready, &p->mu);
    *out = s->frame;
    carried_error err = s->err;
    if (index) *index = idx;
    if (missing) *missing = s->missing;
    memset(s, 0, sizeof *s);
    p->consumed++;
    p->in_flight--;
    pthread_cond_broadcast(&p->space);
    pthread_mutex_unlock(&p->mu);
    return reraise(&err);
}

void roto_prefetch_stop(roto_prefetch *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->space);
    pthread_mutex_unlock(&p->mu);
    for (int t = 0; t < p->started; t++) pthread_join(p->threads[t], NULL);
    for (int i = 0; i < p->queue_len; i++) roto_frame_free(&p->slots[i].frame);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->space);
    pthread_cond_destroy(&p->ready);
    free(p->slots);
    free(p->threads);
    free(p);
}

int roto_prefetch_peak(const roto_prefetch *p) { return p->peak; }

static roto_status seq_load_cb(void *user, int index, roto_frame *out, int *missing) {
    return roto_seq_load((const roto_seq_reader *)user, index, out, missing);
}

roto_status roto_seq_prefetch_start(roto_prefetch **out, roto_seq_reader *r, int queue_len, int n_threads) {
    return roto_prefetch_start(out, roto_seq_count(r), seq_load_cb, r, queue_len, n_threads);
}

roto_status roto_seq_prefetch_next(roto_prefetch *p, roto_seq_reader *r, roto_frame *out, int *index, int *held) {
    int idx = 0, missing = 0;
    roto_status st = roto_prefetch_next(p, out, &idx, &missing);
    if (index) *index = idx;
    if (st == ROTO_ERR_INVALID_ARG && p->consumed >= p->count && !out->data) {
        if (held) *held = 0;
        return st;
    }
    return roto_seq_accept(r, idx, st, missing, out, held);
}

// ---- write-behind --------------------------------------------------------------------

struct roto_writer {
    pthread_mutex_t mu;
    pthread_cond_t space, work, idle;
    roto_job_fn run;
    roto_job_free_fn free_job;
    void *user;
    int queue_len, n_threads;
    void **ring;       // queued jobs (FIFO), capacity queue_len
    int head, queued;  // ring start, jobs waiting
    int running;       // jobs being run
    int peak;
    int closing;
    carried_error first_err;
    pthread_t *threads;
    int started;
};

static void *writer_worker(void *arg) {
    roto_writer *w = (roto_writer *)arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->closing && w->queued == 0) pthread_cond_wait(&w->work, &w->mu);
        if (w->queued == 0 && w->closing) break;
        void *job = w->ring[w->head];
        w->head = (w->head + 1) % w->queue_len;
        w->queued--;
        w->running++;
        int failed = w->first_err.st != ROTO_OK;
        pthread_mutex_unlock(&w->mu);

        roto_status st = ROTO_OK;
        carried_error err = {ROTO_OK, ""};
        if (!failed) {  // after a failure, drop the remaining jobs
            st = w->run(w->user, job);
            if (st != ROTO_OK) carry(&err, st);
        }
        if (w->free_job) w->free_job(w->user, job);

        pthread_mutex_lock(&w->mu);
        if (st != ROTO_OK && w->first_err.st == ROTO_OK) w->first_err = err;
        w->running--;
        pthread_cond_broadcast(&w->space);
        if (w->queued == 0 && w->running == 0) pthread_cond_broadcast(&w->idle);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

roto_status roto_writer_start(roto_writer **out, int queue_len, int n_threads, roto_job_fn run,
                              roto_job_free_fn free_job, void *user) {
    *out = NULL;
    if (queue_len < 1 || n_threads < 1 || n_threads > 256 || !run)
        return roto_fail(ROTO_ERR_INVALID_ARG, "writer: bad arguments (queue %d, threads %d)", queue_len, n_threads);
    roto_writer *w = calloc(1, sizeof *w);
    if (!w) return roto_fail(ROTO_ERR_OOM, "writer: out of memory");
    w->ring = calloc((size_t)queue_len, sizeof *w->ring);
    w->threads = calloc((size_t)n_threads, sizeof *w->threads);
    if (!w->ring || !w->threads) {
        free(w->ring);
        free(w->threads);
        free(w);
        return roto_fail(ROTO_ERR_OOM, "writer: out of memory");
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->space, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->idle, NULL);
    w->run = run;
    w->free_job = free_job;
    w->user = user;
    w->queue_len = queue_len;
    w->n_threads = n_threads;
    for (int t = 0; t < n_threads; t++) {
        if (pthread_create(&w->threads[t], NULL, writer_worker, w) != 0) {
            roto_writer_finish(w);
            return roto_fail(ROTO_ERR_INTERNAL, "writer: cannot start worker thread %d", t);
        }
        w->started++;
    }
    *out = w;
    return ROTO_OK;
}

roto_status roto_writer_push(roto_writer *w, void *job) {
    pthread_mutex_lock(&w->mu);
    // Pending = queued + running; wait until below the bound.
    while (w->first_err.st == ROTO_OK && w->queued + w->running >= w->queue_len)
        pthread_cond_wait(&w->space, &w->mu);
    if (w->first_err.st != ROTO_OK) {
        carried_error err = w->first_err;
        pthread_mutex_unlock(&w->mu);
        if (w->free_job) w->free_job(w->user, job);
        return reraise(&err);
    }
    w->ring[(w->head + w->queued) % w->queue_len] = job;
    w->queued++;
    if (w->queued + w->running > w->peak) w->peak = w->queued + w->running;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
    return ROTO_OK;
}

roto_status roto_writer_finish(roto_writer *w) {
    if (!w) return ROTO_OK;
    pthread_mutex_lock(&w->mu);
    while (w->queued > 0 || w->running > 0) pthread_cond_wait(&w->idle, &w->mu);
    w->closing = 1;
    pthread_cond_broadcast(&w->work);
    pthread_mutex_unlock(&w->mu);
    for (int t = 0; t < w->started; t++) pthread_join(w->threads[t], NULL);
    carried_error err = w->first_err;
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->space);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->idle);
    free(w->ring);
    free(w->threads);
    free(w);
    return reraise(&err);
}

int roto_writer_peak(const roto_writer *w) { return w->peak; }

// Built-in frame jobs.
typedef struct {
    char path[PATH_MAX];
    roto_frame frame;
    roto_write_opts opts;
} frame_job;

static roto_status run_frame_job(void *user, void *job) {
    (void)user;
    frame_job *j = (frame_job *)job;
    return roto_image_write(j->path, &j->frame, &j->opts);
}

static void free_frame_job(void *user, void *job) {
    (void)user;
    frame_job *j = (frame_job *)job;
    roto_frame_free(&j->frame);
    free(j);
}

roto_status roto_frame_writer_start(roto_writer **out, int queue_len, int n_threads) {
    return roto_writer_start(out, queue_len, n_threads, run_frame_job, free_frame_job, NULL);
}

roto_status roto_writer_push_frame(roto_writer *w, const char *path, roto_frame *f, const roto_write_opts *opts) {
    if (w->run != run_frame_job) {
        roto_frame_free(f);
        return roto_fail(ROTO_ERR_INVALID_ARG, "writer: push_frame needs a writer from roto_frame_writer_start");
    }
    frame_job *j = calloc(1, sizeof *j);
    if (!j) {
        roto_frame_free(f);
        return roto_fail(ROTO_ERR_OOM, "writer: out of memory");
    }
    int n = snprintf(j->path, sizeof j->path, "%s", path ? path : "");
    if (!path || !*path || n < 0 || (size_t)n >= sizeof j->path) {
        roto_frame_free(f);
        free(j);
        return roto_fail(ROTO_ERR_INVALID_ARG, "writer: bad output path");
    }
    j->frame = *f;
    memset(f, 0, sizeof *f);
    if (opts) j->opts = *opts;
    else roto_write_opts_init(&j->opts);
    return roto_writer_push(w, j);
}
