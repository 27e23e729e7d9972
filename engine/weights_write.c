// weights_write.c: the safetensors writer (see weights_write.h): header built
// with jansson, tensors streamed in chunks (converted between f32/f16/bf16 on
// the way) into a temp file that is fsync'ed and renamed over the target.
#include "weights_write.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/atomic.h"

#define DATA_ALIGN 64
#define CHUNK_ELEMS ((size_t)1 << 20)  // conversion chunk: 4 MB of f32

static _Thread_local long g_fail_after = -1;

void rt_safetensors_write_fail_after(long bytes) { g_fail_after = bytes; }

const char *rt_safetensors_dtype_name(rt_wdtype t) {
    static const char *names[RT_WDT_COUNT] = {
        [RT_WDT_F32] = "F32",         [RT_WDT_F16] = "F16",   [RT_WDT_BF16] = "BF16",
        [RT_WDT_F64] = "F64",         [RT_WDT_I64] = "I64",   [RT_WDT_I32] = "I32",
        [RT_WDT_I16] = "I16",         [RT_WDT_I8] = "I8",     [RT_WDT_U8] = "U8",
        [RT_WDT_U16] = "U16",         [RT_WDT_U32] = "U32",   [RT_WDT_U64] = "U64",
        [RT_WDT_BOOL] = "BOOL",       [RT_WDT_F8_E4M3] = "F8_E4M3",
        [RT_WDT_F8_E5M2] = "F8_E5M2", [RT_WDT_C64] = "C64",
    };
    return (unsigned)t < RT_WDT_COUNT && names[t] ? names[t] : NULL;
}

// A file being written, with the byte count the failure hook watches.
typedef struct {
    FILE *f;
    const char *path;  // the final path, for messages
    long written;
    long fail_after;
} out_file;

static roto_status out_write(out_file *o, const void *data, size_t n) {
    if (o->fail_after >= 0 && o->written + (long)n > o->fail_after) {
        size_t part = (size_t)(o->fail_after - o->written);
        if (part) fwrite(data, 1, part, o->f);
        return roto_fail(ROTO_ERR_IO, "%s: write failed: %s (test hook)", o->path, strerror(ENOSPC));
    }
    if (n && fwrite(data, 1, n, o->f) != n)
        return roto_fail(ROTO_ERR_IO, "%s: write failed: %s", o->path, strerror(errno));
    o->written += (long)n;
    return ROTO_OK;
}

static bool is_float_type(rt_wdtype t) {
    return t == RT_WDT_F32 || t == RT_WDT_F16 || t == RT_WDT_BF16;
}

// Convert src (n elements of `from`, possibly unaligned) into f32.
static void to_f32(float *dst, const uint8_t *src, rt_wdtype from, size_t n) {
    if (from == RT_WDT_F32) {
        memcpy(dst, src, n * 4);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, src + 2 * i, 2);
        dst[i] = from == RT_WDT_F16 ? rt_f16_to_f32(h) : rt_bf16_to_f32(h);
    }
}

static roto_status write_tensor(out_file *o, const rt_wout *t, int64_t numel, float *f32,
                                uint8_t *conv) {
    size_t in_size = rt_wdtype_size(t->src_dtype);
    if (t->src_dtype == t->dtype) return out_write(o, t->data, (size_t)numel * in_size);
    rt_dtype out_dt;
    rt_wdtype_to_dtype(t->dtype, &out_dt);
    const uint8_t *src = t->data;
    for (size_t i = 0; i < (size_t)numel; i += CHUNK_ELEMS) {
        size_t n = (size_t)numel - i < CHUNK_ELEMS ? (size_t)numel - i : CHUNK_ELEMS;
        to_f32(f32, src + i * in_size, t->src_dtype, n);
        rt_convert_from_f32(conv, out_dt, f32, n);
        ROTO_TRY(out_write(o, conv, n * rt_wdtype_size(t->dtype)));
    }
    return ROTO_OK;
}

// Check the tensors and build the JSON header; numel gets each tensor's count.
// The header lists the tensors in the caller's order; their bytes are laid out
// in `order` (larger elements first), so every tensor is aligned.
static roto_status build_header(const char *path, const rt_wout *t, int n, const int *order,
                                const rt_wmeta *meta, int n_meta, int64_t *numel, char **out) {
    json_t *root = json_object();
    if (!root) return roto_fail(ROTO_ERR_OOM, "%s: out of memory", path);
    roto_status st = ROTO_OK;
    if (n_meta > 0) {
        json_t *m = json_object();
        json_object_set_new(root, "__metadata__", m);
        for (int i = 0; i < n_meta; i++) {
            if (!meta[i].key || !meta[i].value) {
                st = roto_fail(ROTO_ERR_INVALID_ARG, "%s: metadata entry %d is NULL", path, i);
                goto done;
            }
            json_object_set_new(m, meta[i].key, json_string(meta[i].value));
        }
    }
    uint64_t offset = 0;
    json_t **entries = calloc((size_t)n + 1, sizeof *entries);
    if (!entries) st = roto_fail(ROTO_ERR_OOM, "%s: out of memory", path);
    for (int k = 0; k < n && st == ROTO_OK; k++) {
        int i = order[k];
        const rt_wout *w = &t[i];
        const char *dt = rt_safetensors_dtype_name(w->dtype);
        if (!w->name || !*w->name || !strcmp(w->name, "__metadata__")) {
            st = roto_fail(ROTO_ERR_INVALID_ARG, "%s: tensor %d has no usable name", path, i);
            break;
        }
        if (!dt || !rt_safetensors_dtype_name(w->src_dtype)) {
            st = roto_fail(ROTO_ERR_INVALID_ARG, "%s: tensor '%s' has a bad dtype", path, w->name);
            break;
        }
        if (w->src_dtype != w->dtype && !(is_float_type(w->src_dtype) && is_float_type(w->dtype))) {
            st = roto_fail(ROTO_ERR_UNSUPPORTED, "%s: tensor '%s': cannot convert %s to %s", path,
                           w->name, rt_wdtype_name(w->src_dtype), rt_wdtype_name(w->dtype));
            break;
        }
        if (w->ndim < 0 || w->ndim > RT_MAX_DIMS) {
            st = roto_fail(ROTO_ERR_INVALID_ARG, "%s: tensor '%s' has %d dims", path, w->name,
                           w->ndim);
            break;
        }
        for (int j = 0; j < i; j++)
            if (!strcmp(t[j].name, w->name)) {
                st = roto_fail(ROTO_ERR_INVALID_ARG, "%s: tensor name '%s' appears twice", path,
                               w->name);
                break;
            }
        if (st != ROTO_OK) break;
        int64_t cnt = 1;
        json_t *shape = json_array();
        for (int d = 0; d < w->ndim; d++) {
            if (w->shape[d] < 0 || (w->shape[d] && cnt > INT64_MAX / 16 / w->shape[d])) {
                st = roto_fail(ROTO_ERR_INVALID_ARG, "%s: tensor '%s' has a bad shape", path,
                               w->name);
                break;
            }
            cnt *= w->shape[d];
            json_array_append_new(shape, json_integer((json_int_t)w->shape[d]));
        }
        if (st != ROTO_OK) {
            json_decref(shape);
            break;
        }
        if (cnt && !w->data) {
            json_decref(shape);
            st = roto_fail(ROTO_ERR_INVALID_ARG, "%s: tensor '%s' has no data", path, w->name);
            break;
        }
        numel[i] = cnt;
        uint64_t bytes = (uint64_t)cnt * rt_wdtype_size(w->dtype);
        json_t *e = json_pack("{s:s, s:o, s:[I, I]}", "dtype", dt, "shape", shape,
                              "data_offsets", (json_int_t)offset, (json_int_t)(offset + bytes));
        if (!e) {
            st = roto_fail(ROTO_ERR_OOM, "%s: out of memory", path);
            break;
        }
        entries[i] = e;
        offset += bytes;
    }
    for (int i = 0; i < n && st == ROTO_OK; i++) {
        json_object_set_new(root, t[i].name, entries[i]);
        entries[i] = NULL;
    }
    for (int i = 0; entries && i < n; i++) json_decref(entries[i]);
    free(entries);
    if (st == ROTO_OK) {
        *out = json_dumps(root, JSON_COMPACT);
        if (!*out) st = roto_fail(ROTO_ERR_OOM, "%s: out of memory", path);
    }
done:
    json_decref(root);
    return st;
}

// fsync the directory holding `path` so the rename itself is durable.
static void sync_parent(const char *path) {
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    int fd = open(dirname(buf), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

roto_status rt_safetensors_write(const char *path, const rt_wout *t, int n, const rt_wmeta *meta,
                                 int n_meta) {
    long fail_after = g_fail_after;
    g_fail_after = -1;
    if (!path || !*path || n < 0 || (n && !t) || n_meta < 0 || (n_meta && !meta))
        return roto_fail(ROTO_ERR_INVALID_ARG, "rt_safetensors_write: bad arguments");
    int64_t *numel = calloc((size_t)n + 1, sizeof *numel);
    int *order = calloc((size_t)n + 1, sizeof *order);
    if (!numel || !order) {
        free(numel);
        free(order);
        return roto_fail(ROTO_ERR_OOM, "%s: out of memory", path);
    }
    // Data layout: 8-byte elements, then 4, 2, 1 (stable within a size).
    int k = 0;
    for (size_t size = 8; size >= 1; size /= 2)
        for (int i = 0; i < n; i++) {
            size_t es = rt_wdtype_size(t[i].dtype);
            if (es == size || (size == 8 && es > 8) || (size == 1 && es == 0)) order[k++] = i;
        }
    char *header = NULL;
    roto_status st = k == n ? build_header(path, t, n, order, meta, n_meta, numel, &header)
                            : roto_fail(ROTO_ERR_INVALID_ARG, "%s: a tensor has a bad dtype", path);
    if (st != ROTO_OK) {
        free(numel);
        free(order);
        return st;
    }
    // Pad the header with spaces so the data section starts 64-byte aligned.
    size_t hlen = strlen(header);
    size_t padded = ((8 + hlen + DATA_ALIGN - 1) / DATA_ALIGN) * DATA_ALIGN - 8;

    char tmp[PATH_MAX];
    float *f32 = NULL;
    uint8_t *conv = NULL;
    out_file o = {.path = path, .fail_after = fail_after};
    st = roto_atomic_temp_path(path, tmp, sizeof tmp);
    if (st == ROTO_OK) {
        o.f = fopen(tmp, "wb");
        if (!o.f)
            st = roto_fail(ROTO_ERR_IO, "%s: cannot create %s: %s", path, tmp, strerror(errno));
    }
    if (st == ROTO_OK) {
        f32 = malloc(CHUNK_ELEMS * sizeof(float));
        conv = malloc(CHUNK_ELEMS * sizeof(float));
        if (!f32 || !conv) st = roto_fail(ROTO_ERR_OOM, "%s: out of memory", path);
    }
    if (st == ROTO_OK) {
        uint8_t len[8];
        for (int i = 0; i < 8; i++) len[i] = (uint8_t)((uint64_t)padded >> (8 * i));
        st = out_write(&o, len, 8);
        if (st == ROTO_OK) st = out_write(&o, header, hlen);
        for (size_t i = hlen; i < padded && st == ROTO_OK; i++) st = out_write(&o, " ", 1);
    }
    for (int j = 0; j < n && st == ROTO_OK; j++)
        st = write_tensor(&o, &t[order[j]], numel[order[j]], f32, conv);
    if (st == ROTO_OK && (fflush(o.f) != 0 || fsync(fileno(o.f)) != 0))
        st = roto_fail(ROTO_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    if (o.f && fclose(o.f) != 0 && st == ROTO_OK)
        st = roto_fail(ROTO_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    if (st == ROTO_OK && rename(tmp, path) != 0)
        st = roto_fail(ROTO_ERR_IO, "%s: cannot rename %s into place: %s", path, tmp,
                       strerror(errno));
    if (st == ROTO_OK)
        sync_parent(path);
    else if (o.f)
        unlink(tmp);
    free(f32);
    free(conv);
    free(header);
    free(numel);
    free(order);
    return st;
}
