// track_io.c: decode-ahead of plates and write-behind of mattes for `roto track`
// (see track_io.h).
#include "tools/track_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomic.h"
#include "io/image.h"
#include "tools/matte_cleanup.h"

// ---- frames in -------------------------------------------------------------------------------

#define FEED_LOOKAHEAD 8  // how far ahead of the queue's head a request may skip

// A plate as the tracker wants it: sRGB, rounded to 8 bits as the C API quantises
// float pixels (round(v * 255)), with the file's metadata. Thread-safe.
static roto_status load_plate(const track_feeder *f, int index, roto_frame *out) {
    roto_frame fr = {0};
    int missing = 0, n = roto_seq_frame_number(f->seq, index);
    ROTO_TRY(roto_seq_load(f->seq, f->src[index], &fr, &missing));
    roto_status st = ROTO_OK;
    if (fr.width != f->W || fr.height != f->H)
        st = roto_fail(ROTO_ERR_FORMAT, "frame %d is %dx%d but the first frame is %dx%d", n, fr.width, fr.height,
                       f->W, f->H);
    roto_colorspace cs = f->cs;
    if (st == ROTO_OK) st = roto_colorspace_resolve(&fr, f->cs, &cs);
    float *rgbf = st == ROTO_OK ? malloc((size_t)f->W * f->H * 3 * sizeof(float)) : NULL;
    if (st == ROTO_OK && !rgbf) st = roto_fail(ROTO_ERR_OOM, "out of memory for frame %d", n);
    if (st == ROTO_OK) st = roto_frame_to_srgb(&fr, cs, 0, rgbf);
    if (st == ROTO_OK) st = roto_frame_alloc(out, f->W, f->H, 3, ROTO_PIX_U16, 8);
    if (st == ROTO_OK) {
        uint16_t *d = out->data;
        size_t m = (size_t)f->W * f->H * 3;
        for (size_t i = 0; i < m; i++) {
            float v = rgbf[i] * 255.0f;
            d[i] = (uint16_t)(v <= 0.0f ? 0 : v >= 255.0f ? 255 : (int)(v + 0.5f));
        }
        out->meta = fr.meta;
        if (f->src[index] != index) out->meta.has_timecode = 0;  // a held frame: not its time code
    }
    free(rgbf);
    roto_frame_free(&fr);
    return st;
}

static roto_status prefetch_load(void *user, int item, roto_frame *out, int *missing) {
    const track_feeder *f = user;
    *missing = 0;
    return load_plate(f, f->order[item], out);
}

roto_status track_feeder_start(track_feeder *f, int *order, int n_order, int queue, int threads) {
    f->order = order;
    f->n_order = n_order;
    f->taken = 0;
    f->n_direct = 0;
    return roto_prefetch_start(&f->pf, n_order, prefetch_load, f, queue, threads);
}

void track_feeder_stop(track_feeder *f) {
    roto_prefetch_stop(f->pf);
    f->pf = NULL;
    roto_frame_free(&f->cur);
    f->cur_index = -1;
    free(f->order);
    f->order = NULL;
}

roto_status track_feeder_get(track_feeder *f, int index, const roto_frame **out) {
    if (f->cur_index != index) {
        int found = -1;
        for (int p = f->taken; f->pf && p < f->n_order && p < f->taken + FEED_LOOKAHEAD && found < 0; p++)
            if (f->order[p] == index) found = p;
        roto_frame_free(&f->cur);
        f->cur_index = -1;
        if (found >= 0) {
            while (f->taken <= found) {
                roto_frame fr;
                roto_status st = roto_prefetch_next(f->pf, &fr, NULL, NULL);
                f->taken++;
                if (st != ROTO_OK) return st;
                if (f->taken - 1 == found) f->cur = fr;
                else roto_frame_free(&fr);
            }
        } else {
            ROTO_TRY(load_plate(f, index, &f->cur));
            f->n_direct++;
        }
        f->cur_index = index;
    }
    *out = &f->cur;
    return ROTO_OK;
}

roto_status track_feeder_read(void *user, int index, uint8_t *rgb) {
    const roto_frame *fr;
    ROTO_TRY(track_feeder_get(user, index, &fr));
    const uint16_t *d = fr->data;
    size_t n = (size_t)fr->width * fr->height * 3;
    for (size_t i = 0; i < n; i++) rgb[i] = (uint8_t)d[i];
    return ROTO_OK;
}

// ---- mattes out -------------------------------------------------------------------------------

roto_status track_out_path(const char *pattern, const char *obj, int number, char out[PATH_MAX]) {
    return roto_seq_output_path(pattern, obj, number, out, PATH_MAX);
}

static int keep(int skip_existing, const char *path) { return skip_existing && roto_output_exists(path); }

roto_status track_out_select(const track_out_plan *p, const roto_seq_reader *seq, int index, int skip_existing,
                             track_out_job *j, int *n_write, int *n_kept) {
    int number = roto_seq_frame_number(seq, index);
    char path[PATH_MAX];
    *n_write = *n_kept = 0;
    for (int k = 0; p->obj_pattern && k < p->objs->n; k++) {
        ROTO_TRY(track_out_path(p->obj_pattern, p->objs->obj[k].name, number, path));
        j->write_obj[k] = !keep(skip_existing, path);
        // With --core-edge the object's three files go together: any missing one
        // (a run killed between them) writes all three again.
        for (int t = 0; t < 2 && p->cleanup.core_edge > 0 && !j->write_obj[k]; t++) {
            char name[PATH_MAX];
            snprintf(name, sizeof name, "%s%s", p->objs->obj[k].name, t ? "_edge" : "_core");
            ROTO_TRY(track_out_path(p->obj_pattern, name, number, path));
            j->write_obj[k] = !keep(skip_existing, path);
        }
        *n_write += j->write_obj[k];
        *n_kept += !j->write_obj[k];
    }
    if (p->multi_pattern) {
        ROTO_TRY(track_out_path(p->multi_pattern, NULL, number, path));
        j->write_multi = !keep(skip_existing, path);
        *n_write += j->write_multi;
        *n_kept += !j->write_multi;
    }
    if (p->preview_pattern[0]) {
        ROTO_TRY(track_out_path(p->preview_pattern, NULL, number, path));
        j->write_preview = !keep(skip_existing, path);
        *n_write += j->write_preview;
        *n_kept += !j->write_preview;
    }
    j->contact_cell = -1;
    if (p->sheet.n_cells > 0 && index >= p->contact_lo && (index - p->contact_lo) % p->contact_every == 0)
        j->contact_cell = (index - p->contact_lo) / p->contact_every;
    return ROTO_OK;
}

void track_out_free(void *plan, void *job) {
    (void)plan;
    track_out_job *j = job;
    if (!j) return;
    free(j->masks);
    free(j->plate);
    free(j->write_obj);
    free(j);
}

// roto segment's order: holes, islands, grow, shrink, soften (tools/matte_cleanup.h).
// With --device cuda each writer worker runs it on its own CUDA context (made on
// its first frame, destroyed when the worker exits); the tracker's masks reach us
// on the host, so each matte is uploaded and downloaded.
static roto_status cleanup(const track_cleanup *c, float *m, float *core, float *edge, int W, int H) {
    matte_cleanup_opts o = {.fill_holes = c->fill_holes, .remove_islands = c->remove_islands, .dilate = c->dilate,
                            .erode = c->erode, .feather = c->feather, .core_edge = c->core_edge};
    rt_ctx *ctx = NULL;
    if (c->cuda && (matte_cleanup_wanted(&o) || o.core_edge > 0)) ROTO_TRY(matte_cleanup_thread_ctx(&ctx));
    return matte_cleanup_run(ctx, &o, m, core, edge, W, H);
}

static void exr_opts(const track_out_plan *p, const roto_frame_meta *meta, roto_exr_opts *o,
                     roto_exr_string_attr attrs[2]) {
    roto_exr_opts_init(o);
    o->compression = p->compression;
    o->meta = meta;
    // The mattes cover the plate's display window exactly (as roto segment's).
    o->has_data_window = 1;
    o->data_window = meta->display_window;
    attrs[0] = (roto_exr_string_attr){"roto/model", p->model_name};
    attrs[1] = (roto_exr_string_attr){"roto/command", "track"};
    o->attrs = attrs;
    o->n_attrs = 2;
}

static roto_status write_object_file(const track_out_plan *p, const char *path, const float *m,
                                     const roto_frame_meta *meta) {
    roto_image_format fmt = roto_format_from_extension(path);
    if (fmt == ROTO_FMT_EXR) {
        roto_exr_opts o;
        roto_exr_string_attr attrs[2];
        exr_opts(p, meta, &o, attrs);
        roto_exr_channel ch = {.name = "A", .data = m, .pixel_stride = 1,
                               .type = p->exr_float ? ROTO_EXR_FLOAT : ROTO_EXR_HALF};
        return roto_exr_write_channels(path, p->W, p->H, &ch, 1, &o);
    }
    roto_frame f = {0};
    ROTO_TRY(roto_frame_alloc(&f, p->W, p->H, 1, ROTO_PIX_F32, 32));
    memcpy(f.data, m, (size_t)p->W * p->H * sizeof(float));
    roto_write_opts o;
    roto_write_opts_init(&o);
    o.format = fmt;
    o.bit_depth = 8;
    roto_status st = roto_image_write(path, &f, &o);
    roto_frame_free(&f);
    return st;
}

static roto_status write_preview(const track_out_plan *p, const track_out_job *j) {
    char path[PATH_MAX];
    ROTO_TRY(track_out_path(p->preview_pattern, NULL, j->number, path));
    roto_frame f = {0};
    ROTO_TRY(roto_frame_alloc(&f, p->W, p->H, 3, ROTO_PIX_U16, 8));
    uint16_t *d = f.data;
    for (size_t i = 0; i < (size_t)p->W * p->H * 3; i++) d[i] = j->plate[i];
    roto_write_opts o;
    roto_write_opts_init(&o);
    o.format = ROTO_FMT_PNG;
    roto_status st = roto_image_write(path, &f, &o);
    roto_frame_free(&f);
    return st;
}

roto_status track_out_run(void *plan, void *job) {
    track_out_plan *p = plan;
    track_out_job *j = job;
    int n = p->objs->n, split = p->cleanup.core_edge > 0;
    int per = split ? 3 : 1;  // planes per object: matte[, core, edge]
    size_t npix = (size_t)p->W * p->H;
    float *mattes = malloc((size_t)n * per * npix * sizeof(float));
    const float **planes = malloc((size_t)n * per * sizeof *planes);  // the EXR layers, in layer_names' order
    const float **shown = malloc((size_t)n * sizeof *shown);          // the mattes (previews)
    roto_status st = mattes && planes && shown ? ROTO_OK
                                               : roto_fail(ROTO_ERR_OOM, "out of memory writing frame %d", j->number);
    for (int k = 0; k < n && st == ROTO_OK; k++) {
        float *m = mattes + (size_t)k * per * npix;
        float *core = split ? m + npix : NULL, *edge = split ? m + 2 * npix : NULL;
        const uint8_t *b = j->masks + (size_t)k * npix;
        for (size_t i = 0; i < npix; i++) m[i] = b[i] ? 1.0f : 0.0f;
        st = cleanup(&p->cleanup, m, core, edge, p->W, p->H);
        for (int t = 0; t < per; t++) planes[k * per + t] = m + (size_t)t * npix;
        shown[k] = m;
    }
    char path[PATH_MAX];
    for (int k = 0; k < n && st == ROTO_OK; k++) {
        if (!j->write_obj[k]) continue;
        for (int t = 0; t < per && st == ROTO_OK; t++) {
            char name[PATH_MAX];
            snprintf(name, sizeof name, "%s%s", p->objs->obj[k].name, t == 0 ? "" : t == 1 ? "_core" : "_edge");
            st = track_out_path(p->obj_pattern, name, j->number, path);
            if (st == ROTO_OK) st = write_object_file(p, path, planes[k * per + t], &j->meta);
        }
    }
    if (st == ROTO_OK && j->write_multi) {
        roto_exr_opts o;
        roto_exr_string_attr attrs[2];
        exr_opts(p, &j->meta, &o, attrs);
        roto_matte_layers L = {.width = p->W, .height = p->H, .n_objects = n * per, .object_names = p->layer_names,
                               .alphas = planes, .alpha_float = p->exr_float};
        st = track_out_path(p->multi_pattern, NULL, j->number, path);
        if (st == ROTO_OK) st = roto_exr_write_mattes(path, &L, &o);
    }
    if (st == ROTO_OK && j->plate && (j->write_preview || j->contact_cell >= 0)) {
        // The outline grows with the frame so that it stays visible in thumbnails.
        int t = p->H / 360 > 1 ? p->H / 360 : 1;
        st = roto_preview_overlay(j->plate, p->W, p->H, shown, n, 0.45f, t);
        if (st == ROTO_OK && j->write_preview) st = write_preview(p, j);
        if (st == ROTO_OK && j->contact_cell >= 0)
            st = roto_contact_set(&p->sheet, j->contact_cell, j->plate, p->W, p->H, j->number);
    }
    free(mattes);
    free(planes);
    free(shown);
    return st;
}
