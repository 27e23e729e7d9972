// prompts_json.c: parsing of prompt files (see prompts_json.h) with jansson,
// path templates, and the command-line point/box forms.
#include "tools/prompts_json.h"

#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void prompt_file_free(prompt_file *f) {
    if (!f) return;
    for (int i = 0; i < f->n; i++) {
        free(f->items[i].name);
        free(f->items[i].mask);
        free(f->items[i].output);
        free(f->items[i].logits);
    }
    free(f->items);
    f->items = NULL;
    f->n = 0;
}

static char *join_path(const char *base_dir, const char *path) {
    size_t n = strlen(path) + (base_dir ? strlen(base_dir) : 0) + 2;
    char *s = malloc(n);
    if (!s) return NULL;
    if (base_dir && *base_dir && path[0] != '/' && strcmp(base_dir, "."))
        snprintf(s, n, "%s/%s", base_dir, path);
    else
        snprintf(s, n, "%s", path);
    return s;
}

// A JSON number as a finite float.
static int get_float(json_t *v, float *out) {
    if (!json_is_number(v)) return 0;
    double d = json_number_value(v);
    if (!isfinite(d) || fabs(d) > 1e30) return 0;
    *out = (float)d;
    return 1;
}

#define FAIL(...) roto_fail(ROTO_ERR_FORMAT, __VA_ARGS__)

static roto_status parse_points(json_t *v, const char *name, int idx, prompt_entry *e) {
    if (!json_is_array(v))
        return FAIL("%s: prompt %d: \"points\" must be a list of [x, y] or [x, y, label]", name, idx);
    if (json_array_size(v) > PROMPT_MAX_POINTS)
        return FAIL("%s: prompt %d: %zu points (at most %d)", name, idx, json_array_size(v),
                    PROMPT_MAX_POINTS);
    for (size_t k = 0; k < json_array_size(v); k++) {
        json_t *p = json_array_get(v, k);
        size_t n = json_array_size(p);
        float x, y;
        if (!json_is_array(p) || (n != 2 && n != 3) || !get_float(json_array_get(p, 0), &x) ||
            !get_float(json_array_get(p, 1), &y))
            return FAIL("%s: prompt %d: point %zu must be [x, y] or [x, y, label] with numbers",
                        name, idx, k);
        int label = 1;
        if (n == 3) {
            json_t *l = json_array_get(p, 2);
            if (!json_is_integer(l) || (json_integer_value(l) != 0 && json_integer_value(l) != 1))
                return FAIL("%s: prompt %d: point %zu: the label must be 1 (foreground) or 0 "
                            "(background)", name, idx, k);
            label = (int)json_integer_value(l);
        }
        e->points[2 * e->n_points] = x;
        e->points[2 * e->n_points + 1] = y;
        e->labels[e->n_points++] = label;
    }
    return ROTO_OK;
}

static roto_status parse_string(json_t *v, const char *key, const char *name, int idx,
                                const char *base_dir, char **out) {
    if (!json_is_string(v) || !*json_string_value(v))
        return FAIL("%s: prompt %d: \"%s\" must be a non-empty string", name, idx, key);
    *out = base_dir ? join_path(base_dir, json_string_value(v)) : strdup(json_string_value(v));
    if (!*out) return roto_fail(ROTO_ERR_OOM, "out of memory");
    return ROTO_OK;
}

static roto_status parse_entry(json_t *o, const char *name, const char *base_dir, int idx,
                               prompt_entry *e) {
    if (!json_is_object(o)) return FAIL("%s: prompt %d is not an object", name, idx);
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v) {
        if (!strcmp(key, "points")) {
            ROTO_TRY(parse_points(v, name, idx, e));
        } else if (!strcmp(key, "box")) {
            if (!json_is_array(v) || json_array_size(v) != 4)
                return FAIL("%s: prompt %d: \"box\" must be [x0, y0, x1, y1]", name, idx);
            for (int k = 0; k < 4; k++)
                if (!get_float(json_array_get(v, (size_t)k), &e->box[k]))
                    return FAIL("%s: prompt %d: \"box\" must hold 4 numbers", name, idx);
            if (e->box[2] < e->box[0] || e->box[3] < e->box[1])
                return FAIL("%s: prompt %d: box [%g, %g, %g, %g] has x1 < x0 or y1 < y0", name,
                            idx, (double)e->box[0], (double)e->box[1], (double)e->box[2],
                            (double)e->box[3]);
            e->has_box = 1;
        } else if (!strcmp(key, "mask")) {
            ROTO_TRY(parse_string(v, key, name, idx, base_dir, &e->mask));
        } else if (!strcmp(key, "mask_from")) {
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= idx)
                return FAIL("%s: prompt %d: \"mask_from\" must be the index of an earlier prompt "
                            "(0 to %d)", name, idx, idx - 1);
            e->mask_from = (int)json_integer_value(v);
        } else if (!strcmp(key, "multimask")) {
            if (!json_is_boolean(v))
                return FAIL("%s: prompt %d: \"multimask\" must be true or false", name, idx);
            e->multimask = json_is_true(v);
        } else if (!strcmp(key, "output")) {
            ROTO_TRY(parse_string(v, key, name, idx, base_dir, &e->output));
        } else if (!strcmp(key, "logits")) {
            ROTO_TRY(parse_string(v, key, name, idx, base_dir, &e->logits));
        } else if (!strcmp(key, "name")) {
            ROTO_TRY(parse_string(v, key, name, idx, NULL, &e->name));
        } else if (!strcmp(key, "frame")) {
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT_MAX)
                return FAIL("%s: prompt %d: \"frame\" must be a frame number >= 0", name, idx);
            e->frame = (int)json_integer_value(v);
        } else {
            return FAIL("%s: prompt %d: unknown key \"%s\" (points, box, mask, mask_from, "
                        "multimask, output, logits, name, frame)", name, idx, key);
        }
    }
    if (e->mask && e->mask_from >= 0)
        return FAIL("%s: prompt %d: give \"mask\" or \"mask_from\", not both", name, idx);
    return ROTO_OK;
}

roto_status prompt_file_parse(const char *text, size_t len, const char *name, const char *base_dir,
                              prompt_file *out) {
    memset(out, 0, sizeof *out);
    json_error_t err;
    json_t *root = json_loadb(text, len, 0, &err);
    if (!root) return FAIL("%s:%d:%d: %s", name, err.line, err.column, err.text);
    roto_status st = ROTO_OK;
    json_t *list = root;
    if (json_is_object(root)) {  // {"prompts": [...]}; a bare list is fine too
        const char *key;
        json_t *v;
        json_object_foreach(root, key, v) {
            if (strcmp(key, "prompts")) {
                st = FAIL("%s: unknown top-level key \"%s\" (expected \"prompts\")", name, key);
                break;
            }
        }
        list = json_object_get(root, "prompts");
    }
    if (st == ROTO_OK && (!json_is_array(list) || json_array_size(list) == 0))
        st = FAIL("%s: expected {\"prompts\": [ ... ]} with at least one prompt", name);
    if (st == ROTO_OK) {
        size_t n = json_array_size(list);
        out->items = calloc(n, sizeof *out->items);
        if (!out->items) st = roto_fail(ROTO_ERR_OOM, "out of memory");
        for (size_t i = 0; st == ROTO_OK && i < n; i++) {
            prompt_entry *e = &out->items[i];
            e->index = (int)i;
            e->frame = e->mask_from = e->multimask = -1;
            out->n = (int)i + 1;
            st = parse_entry(json_array_get(list, i), name, base_dir, (int)i, e);
        }
    }
    json_decref(root);
    if (st != ROTO_OK) prompt_file_free(out);
    return st;
}

roto_status prompt_file_load(const char *path, prompt_file *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return roto_fail(ROTO_ERR_IO, "%s: cannot open the prompt file", path);
    char *text = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 > cap) {
            cap = cap ? 2 * cap : 65536;
            char *t = realloc(text, cap);
            if (!t) {
                free(text);
                fclose(f);
                return roto_fail(ROTO_ERR_OOM, "out of memory");
            }
            text = t;
        }
        size_t k = fread(text + len, 1, cap - len, f);
        len += k;
        if (k == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(text);
        return roto_fail(ROTO_ERR_IO, "%s: read error", path);
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    roto_status st = prompt_file_parse(text, len, path, dirname(dir), out);
    free(text);
    return st;
}

roto_status prompt_expand(const char *tmpl, int index, const char *name, char *out, size_t cap) {
    size_t k = 0;
    for (const char *t = tmpl; *t;) {
        char piece[256];
        size_t plen;
        if (*t == '{') {
            const char *end = strchr(t, '}');
            size_t n = end ? (size_t)(end - t - 1) : 0;
            if (end && n == 1 && t[1] == 'i') {
                plen = (size_t)snprintf(piece, sizeof piece, "%d", index);
            } else if (end && n == 4 && !strncmp(t + 1, "name", 4)) {
                if (!name)
                    return roto_fail(ROTO_ERR_INVALID_ARG,
                                     "%s: prompt %d has no \"name\" for {name}", tmpl, index);
                plen = (size_t)snprintf(piece, sizeof piece, "%s", name);
                if (plen >= sizeof piece)
                    return roto_fail(ROTO_ERR_INVALID_ARG, "prompt %d: name too long", index);
            } else {
                return roto_fail(ROTO_ERR_INVALID_ARG,
                                 "%s: unknown template field (use {i} or {name})", tmpl);
            }
            t = end + 1;
        } else {
            piece[0] = *t++;
            plen = 1;
        }
        if (k + plen >= cap) return roto_fail(ROTO_ERR_INVALID_ARG, "%s: path too long", tmpl);
        memcpy(out + k, piece, plen);
        k += plen;
    }
    out[k] = '\0';
    return ROTO_OK;
}

// Comma-separated finite floats; exactly n of them. Returns the count parsed or -1.
static int parse_floats(const char *s, float *v, int max) {
    int n = 0;
    const char *p = s;
    for (;;) {
        char *end;
        if (n == max) return -1;
        double d = strtod(p, &end);
        if (end == p || !isfinite(d) || fabs(d) > 1e30) return -1;
        v[n++] = (float)d;
        while (*end == ' ') end++;
        if (*end == '\0') return n;
        if (*end != ',') return -1;
        p = end + 1;
    }
}

int prompt_parse_point(const char *s, float *x, float *y, int *label) {
    float v[3];
    int n = parse_floats(s, v, 3);
    if (n != 2 && n != 3) return 0;
    *x = v[0];
    *y = v[1];
    *label = 1;
    if (n == 3) {
        if (v[2] != 0.0f && v[2] != 1.0f) return 0;
        *label = (int)v[2];
    }
    return 1;
}

int prompt_parse_box(const char *s, float box[4]) { return parse_floats(s, box, 4) == 4; }
