// track_prompts.c: parsing and checking the objects file of `roto track` (see
// track_prompts.h).
#include "tools/track_prompts.h"

#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/frame.h"
#include "io/image.h"

void track_objects_free(track_objects *o) {
    if (!o) return;
    for (int i = 0; i < o->n; i++) {
        for (int k = 0; k < o->obj[i].n_kf; k++) {
            free(o->obj[i].kf[k].mask);
            free(o->obj[i].kf[k].mask_data);
        }
        free(o->obj[i].kf);
        free(o->obj[i].name);
    }
    free(o->obj);
    o->obj = NULL;
    o->n = 0;
}

static int finite_number(json_t *v, double *out) {
    if (!json_is_number(v)) return 0;
    *out = json_number_value(v);
    return isfinite(*out);
}

static int only_keys(json_t *o, const char *const *keys, const char **bad) {
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        int ok = 0;
        for (int i = 0; keys[i]; i++) ok |= !strcmp(key, keys[i]);
        if (!ok) {
            *bad = key;
            return 0;
        }
    }
    return 1;
}

// One keyframe. `what` is "FILE: object 'NAME' keyframe K" for messages.
static roto_status parse_keyframe(json_t *kf, const char *what, const char *base, track_keyframe *K) {
    static const char *const keys[] = {"frame", "points", "box", "mask", NULL};
    const char *bad = NULL;
    K->index = -1;
    if (!json_is_object(kf)) return roto_fail(ROTO_ERR_FORMAT, "%s: not a JSON object", what);
    if (!only_keys(kf, keys, &bad))
        return roto_fail(ROTO_ERR_FORMAT, "%s: unknown key \"%s\" (frame, points, box, mask)", what, bad);
    json_t *fr = json_object_get(kf, "frame");
    if (!json_is_integer(fr) || json_integer_value(fr) < -1000000000 || json_integer_value(fr) > 1000000000)
        return roto_fail(ROTO_ERR_FORMAT, "%s: needs an integer \"frame\"", what);
    K->frame = (int)json_integer_value(fr);
    json_t *pts = json_object_get(kf, "points");
    if (pts && (!json_is_array(pts) || json_array_size(pts) > SAM2_MAX_POINTS))
        return roto_fail(ROTO_ERR_FORMAT, "%s: \"points\" must be a list of at most %d [x, y] or [x, y, label]",
                         what, SAM2_MAX_POINTS);
    for (size_t p = 0; pts && p < json_array_size(pts); p++) {
        json_t *pt = json_array_get(pts, p);
        size_t np = json_array_size(pt);
        double x, y, l = 1;
        if (!json_is_array(pt) || np < 2 || np > 3 || !finite_number(json_array_get(pt, 0), &x) ||
            !finite_number(json_array_get(pt, 1), &y) ||
            (np == 3 && (!finite_number(json_array_get(pt, 2), &l) || (l != 0 && l != 1))))
            return roto_fail(ROTO_ERR_FORMAT, "%s: point %zu must be [x, y] or [x, y, 1|0]", what, p);
        K->points[2 * K->n_points] = (float)x;
        K->points[2 * K->n_points + 1] = (float)y;
        K->labels[K->n_points++] = (int)l;
    }
    json_t *box = json_object_get(kf, "box");
    if (box) {
        double b[4];
        int ok = json_is_array(box) && json_array_size(box) == 4;
        for (int c = 0; ok && c < 4; c++) ok = finite_number(json_array_get(box, (size_t)c), &b[c]);
        if (!ok || b[0] > b[2] || b[1] > b[3])
            return roto_fail(ROTO_ERR_FORMAT, "%s: \"box\" must be [x0, y0, x1, y1] with x0 <= x1, y0 <= y1",
                             what);
        K->has_box = 1;
        for (int c = 0; c < 4; c++) K->box[c] = (float)b[c];
    }
    json_t *mask = json_object_get(kf, "mask");
    if (mask) {
        const char *m = json_string_value(mask);
        if (!m || !*m) return roto_fail(ROTO_ERR_FORMAT, "%s: \"mask\" must be a file name", what);
        char full[PATH_MAX];
        int n = snprintf(full, sizeof full, "%s%s%s", m[0] == '/' ? "" : base, m[0] == '/' ? "" : "/", m);
        if (n < 0 || (size_t)n >= sizeof full) return roto_fail(ROTO_ERR_FORMAT, "%s: mask path too long", what);
        K->mask = strdup(full);
        if (!K->mask) return roto_fail(ROTO_ERR_OOM, "out of memory");
    }
    if (!K->n_points && !K->has_box && !K->mask)
        return roto_fail(ROTO_ERR_FORMAT, "%s (frame %d): give points, a box or a mask", what, K->frame);
    return ROTO_OK;
}

static roto_status parse_objects(json_t *root, const char *path, const char *base, track_objects *o) {
    json_t *objs = json_is_object(root) ? json_object_get(root, "objects") : NULL;
    const char *bad = NULL;
    static const char *const top_keys[] = {"objects", NULL}, *const obj_keys[] = {"name", "keyframes", NULL};
    if (!json_is_array(objs) || json_array_size(objs) == 0)
        return roto_fail(ROTO_ERR_FORMAT, "%s: expected {\"objects\": [...]} with at least one object", path);
    if (!only_keys(root, top_keys, &bad))
        return roto_fail(ROTO_ERR_FORMAT, "%s: unknown key \"%s\" at the top level (objects)", path, bad);
    if (json_array_size(objs) > 1024) return roto_fail(ROTO_ERR_FORMAT, "%s: more than 1024 objects", path);
    o->n = (int)json_array_size(objs);
    o->obj = calloc((size_t)o->n, sizeof *o->obj);
    if (!o->obj) return roto_fail(ROTO_ERR_OOM, "out of memory");
    for (int i = 0; i < o->n; i++) {
        json_t *ob = json_array_get(objs, (size_t)i);
        if (!json_is_object(ob)) return roto_fail(ROTO_ERR_FORMAT, "%s: object %d is not a JSON object", path, i);
        if (!only_keys(ob, obj_keys, &bad))
            return roto_fail(ROTO_ERR_FORMAT, "%s: object %d: unknown key \"%s\" (name, keyframes)", path, i, bad);
        const char *name = json_string_value(json_object_get(ob, "name"));
        if (!name || !*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") ||
            strlen(name) > 200)
            return roto_fail(ROTO_ERR_FORMAT, "%s: object %d needs a \"name\" that can be part of a file name "
                             "(non-empty, no '/', at most 200 characters)", path, i);
        for (int j = 0; j < i; j++)
            if (!strcmp(o->obj[j].name, name))
                return roto_fail(ROTO_ERR_FORMAT, "%s: two objects are named '%s'", path, name);
        track_object *T = &o->obj[i];
        T->name = strdup(name);
        if (!T->name) return roto_fail(ROTO_ERR_OOM, "out of memory");
        json_t *kfs = json_object_get(ob, "keyframes");
        if (!json_is_array(kfs) || json_array_size(kfs) == 0 || json_array_size(kfs) > 100000)
            return roto_fail(ROTO_ERR_FORMAT, "%s: object '%s' needs \"keyframes\" (a list, at least one)", path,
                             name);
        T->n_kf = (int)json_array_size(kfs);
        T->kf = calloc((size_t)T->n_kf, sizeof *T->kf);
        if (!T->kf) return roto_fail(ROTO_ERR_OOM, "out of memory");
        for (int k = 0; k < T->n_kf; k++) {
            char what[PATH_MAX + 300];
            snprintf(what, sizeof what, "%s: object '%s' keyframe %d", path, name, k);
            ROTO_TRY(parse_keyframe(json_array_get(kfs, (size_t)k), what, base, &T->kf[k]));
            for (int j = 0; j < k; j++)
                if (T->kf[j].frame == T->kf[k].frame)
                    return roto_fail(ROTO_ERR_FORMAT, "%s: object '%s' has two keyframes on frame %d", path, name,
                                     T->kf[k].frame);
        }
    }
    return ROTO_OK;
}

roto_status track_objects_load(const char *path, track_objects *out) {
    memset(out, 0, sizeof *out);
    json_error_t err;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        FILE *f = fopen(path, "rb");
        if (!f) return roto_fail(ROTO_ERR_IO, "%s: cannot read the prompts file", path);
        fclose(f);
        return roto_fail(ROTO_ERR_FORMAT, "%s: line %d: %s", path, err.line, err.text);
    }
    char dirbuf[PATH_MAX];
    snprintf(dirbuf, sizeof dirbuf, "%s", path);
    roto_status st = parse_objects(root, path, dirname(dirbuf), out);
    json_decref(root);
    if (st != ROTO_OK) track_objects_free(out);
    return st;
}

static roto_status load_mask(const char *path, const char *what, int W, int H, uint8_t **out) {
    roto_frame f = {0};
    if (roto_image_read(path, NULL, &f) != ROTO_OK)
        return roto_fail(ROTO_ERR_IO, "%s: mask: %s", what, roto_last_error());
    if (f.width != W || f.height != H) {
        int w = f.width, h = f.height;
        roto_frame_free(&f);
        return roto_fail(ROTO_ERR_FORMAT, "%s: the mask %s is %dx%d but the frames are %dx%d", what, path, w, h, W,
                         H);
    }
    size_t n = roto_frame_pixels(&f);
    uint8_t *m = malloc(n);
    if (!m) {
        roto_frame_free(&f);
        return roto_fail(ROTO_ERR_OOM, "out of memory");
    }
    // Its alpha when it has one (gray+alpha, RGBA), else its first channel.
    int c = (f.channels == 2 || f.channels == 4) ? f.channels - 1 : 0;
    for (size_t i = 0; i < n; i++) m[i] = roto_frame_value(&f, i * (size_t)f.channels + (size_t)c) >= 0.5f;
    roto_frame_free(&f);
    *out = m;
    return ROTO_OK;
}

roto_status track_objects_check_image(track_objects *o, int W, int H) {
    for (int i = 0; i < o->n; i++)
        for (int k = 0; k < o->obj[i].n_kf; k++) {
            track_keyframe *K = &o->obj[i].kf[k];
            char what[300];
            snprintf(what, sizeof what, "object '%s' frame %d", o->obj[i].name, K->frame);
            for (int p = 0; p < K->n_points; p++) {
                float x = K->points[2 * p], y = K->points[2 * p + 1];
                if (!(x >= 0 && x <= W && y >= 0 && y <= H))
                    return roto_fail(ROTO_ERR_INVALID_ARG, "%s: point %d (%g, %g) is outside the %dx%d frame "
                                     "(x 0..%d, y 0..%d)", what, p, (double)x, (double)y, W, H, W, H);
            }
            if (K->has_box)
                for (int c = 0; c < 4; c++) {
                    float v = K->box[c], lim = (float)((c & 1) ? H : W);
                    if (!(v >= 0 && v <= lim))
                        return roto_fail(ROTO_ERR_INVALID_ARG, "%s: box (%g, %g, %g, %g) is outside the %dx%d "
                                         "frame", what, (double)K->box[0], (double)K->box[1], (double)K->box[2],
                                         (double)K->box[3], W, H);
                }
            if (K->mask && !K->mask_data) ROTO_TRY(load_mask(K->mask, what, W, H, &K->mask_data));
        }
    return ROTO_OK;
}
