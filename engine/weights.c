// weights.c: the weight store shared by the format readers: mapping the file,
// detecting the format from its first bytes, the tensor list with its checks,
// the name index, aliases and f32 conversion on load.
#include "weights.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

// More tensors than this is not a model we know of; the cap keeps hostile files
// from making us allocate without bound.
#define MAX_TENSORS (1 << 20)

static const struct {
    const char *name;
    size_t size;
} g_wdtypes[RT_WDT_COUNT] = {
    [RT_WDT_F32] = {"f32", 4},         [RT_WDT_F16] = {"f16", 2},
    [RT_WDT_BF16] = {"bf16", 2},       [RT_WDT_F64] = {"f64", 8},
    [RT_WDT_I64] = {"i64", 8},         [RT_WDT_I32] = {"i32", 4},
    [RT_WDT_I16] = {"i16", 2},         [RT_WDT_I8] = {"i8", 1},
    [RT_WDT_U8] = {"u8", 1},           [RT_WDT_U16] = {"u16", 2},
    [RT_WDT_U32] = {"u32", 4},         [RT_WDT_U64] = {"u64", 8},
    [RT_WDT_BOOL] = {"bool", 1},       [RT_WDT_F8_E4M3] = {"f8_e4m3", 1},
    [RT_WDT_F8_E5M2] = {"f8_e5m2", 1}, [RT_WDT_C64] = {"c64", 8},
    [RT_WDT_C128] = {"c128", 16},
};

const char *rt_wdtype_name(rt_wdtype t) {
    return (unsigned)t < RT_WDT_COUNT ? g_wdtypes[t].name : "?";
}

size_t rt_wdtype_size(rt_wdtype t) { return (unsigned)t < RT_WDT_COUNT ? g_wdtypes[t].size : 0; }

bool rt_wdtype_supported(rt_wdtype t) {
    return t == RT_WDT_F32 || t == RT_WDT_F16 || t == RT_WDT_BF16;
}

bool rt_wdtype_to_dtype(rt_wdtype t, rt_dtype *out) {
    switch (t) {
    case RT_WDT_F32: *out = RT_F32; return true;
    case RT_WDT_F16: *out = RT_F16; return true;
    case RT_WDT_BF16: *out = RT_BF16; return true;
    default: return false;
    }
}

const char *rt_wformat_name(rt_wformat f) {
    return f == RT_WFMT_SAFETENSORS ? "safetensors" : "pytorch-zip";
}

roto_status rt_weights_fail(const rt_weights *w, roto_status code, const char *src, int line,
                            const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return roto_set_error(code, src, line, "%s: %s", w && w->path ? w->path : "(weights)", msg);
}

// ---- name index ------------------------------------------------------------

static uint64_t hash_name(const char *s) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static int total_entries(const rt_weights *w) { return w->n_tensors + w->n_aliases; }

// Insert entry i; returns the index of an existing entry with the same name, or -1.
static int index_insert(rt_weights *w, int i) {
    size_t mask = w->index_cap - 1;
    size_t h = (size_t)hash_name(w->tensors[i].name) & mask;
    while (w->index[h] >= 0) {
        int j = w->index[h];
        if (!strcmp(w->tensors[j].name, w->tensors[i].name)) return j;
        h = (h + 1) & mask;
    }
    w->index[h] = i;
    return -1;
}

// (Re)build the index over every entry at a load factor of at most 1/2.
static roto_status index_build(rt_weights *w) {
    size_t need = 16;
    while (need < 2 * (size_t)total_entries(w) + 2) need *= 2;
    if (need != w->index_cap) {
        int32_t *idx = malloc(need * sizeof *idx);
        if (!idx) return RT_WFAIL(w, ROTO_ERR_OOM, "cannot allocate the name index");
        free(w->index);
        w->index = idx;
        w->index_cap = need;
    }
    for (size_t k = 0; k < w->index_cap; k++) w->index[k] = -1;
    for (int i = 0; i < total_entries(w); i++) {
        int dup = index_insert(w, i);
        if (dup >= 0)
            return RT_WFAIL(w, ROTO_ERR_FORMAT, "duplicate tensor name '%s'", w->tensors[i].name);
    }
    return ROTO_OK;
}

const rt_wtensor *rt_weights_find(const rt_weights *w, const char *name) {
    if (!w || !w->index || !name) return NULL;
    size_t mask = w->index_cap - 1;
    size_t h = (size_t)hash_name(name) & mask;
    while (w->index[h] >= 0) {
        const rt_wtensor *t = &w->tensors[w->index[h]];
        if (!strcmp(t->name, name)) return t;
        h = (h + 1) & mask;
    }
    return NULL;
}

// ---- building the list -----------------------------------------------------

static roto_status grow_tensors(rt_weights *w) {
    if (total_entries(w) < w->cap_tensors) return ROTO_OK;
    if (total_entries(w) >= MAX_TENSORS)
        return RT_WFAIL(w, ROTO_ERR_FORMAT, "more than %d tensors", MAX_TENSORS);
    int cap = w->cap_tensors ? w->cap_tensors * 2 : 64;
    rt_wtensor *t = realloc(w->tensors, (size_t)cap * sizeof *t);
    if (!t) return RT_WFAIL(w, ROTO_ERR_OOM, "cannot grow the tensor list to %d", cap);
    w->tensors = t;
    w->cap_tensors = cap;
    return ROTO_OK;
}

// numel = prod(shape), false on overflow (anything over 2^62 elements is absurd).
static bool checked_numel(int ndim, const int64_t *shape, int64_t *numel) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) return false;
        if (__builtin_mul_overflow(n, shape[d], &n) || n > ((int64_t)1 << 62)) return false;
    }
    *numel = n;
    return true;
}

static void shape_str(int ndim, const int64_t *shape, char *buf, size_t n) {
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < ndim && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", d ? ", " : "", (long long)shape[d]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

const char *rt_wtensor_shape_str(const rt_wtensor *t, char *buf, size_t n) {
    shape_str(t->ndim, t->shape, buf, n);
    return buf;
}

roto_status rt_weights_add_tensor(rt_weights *w, const char *name, size_t name_len,
                                  rt_wdtype dtype, int ndim, const int64_t *shape,
                                  uint64_t offset, uint64_t nbytes) {
    if (memchr(name, '\0', name_len))
        return RT_WFAIL(w, ROTO_ERR_FORMAT, "a tensor name contains a NUL byte");
    // Names are printed in every later message; cut them for this one only.
    int shown = name_len > 200 ? 200 : (int)name_len;
    if ((unsigned)dtype >= RT_WDT_COUNT)
        return RT_WFAIL(w, ROTO_ERR_INTERNAL, "tensor '%.*s': bad dtype %d", shown, name, dtype);
    if (ndim < 0)
        return RT_WFAIL(w, ROTO_ERR_FORMAT, "tensor '%.*s': negative rank", shown, name);
    if (ndim > RT_MAX_DIMS)
        return RT_WFAIL(w, ROTO_ERR_UNSUPPORTED,
                        "tensor '%.*s' has %d dims; at most %d are supported", shown, name, ndim,
                        RT_MAX_DIMS);
    char sbuf[128];
    shape_str(ndim, shape, sbuf, sizeof sbuf);
    int64_t numel;
    uint64_t need;
    if (!checked_numel(ndim, shape, &numel) ||
        __builtin_mul_overflow((uint64_t)numel, (uint64_t)rt_wdtype_size(dtype), &need))
        return RT_WFAIL(w, ROTO_ERR_FORMAT,
                        "tensor '%.*s' has an absurd shape %s (negative or byte size overflows)",
                        shown, name, sbuf);
    if (need != nbytes)
        return RT_WFAIL(w, ROTO_ERR_FORMAT,
                        "tensor '%.*s': %s %s needs %llu bytes but its data is %llu bytes", shown,
                        name, rt_wdtype_name(dtype), sbuf, (unsigned long long)need,
                        (unsigned long long)nbytes);
    if (offset > w->size || nbytes > w->size - offset)
        return RT_WFAIL(w, ROTO_ERR_FORMAT,
                        "tensor '%.*s': data [%llu, %llu) lies beyond the end of the file "
                        "(%zu bytes)",
                        shown, name, (unsigned long long)offset,
                        (unsigned long long)(offset + nbytes), w->size);
    ROTO_TRY(grow_tensors(w));
    rt_wtensor *t = &w->tensors[w->n_tensors];
    memset(t, 0, sizeof *t);
    t->name = malloc(name_len + 1);
    if (!t->name) return RT_WFAIL(w, ROTO_ERR_OOM, "cannot allocate a tensor name");
    memcpy(t->name, name, name_len);
    t->name[name_len] = '\0';
    t->dtype = dtype;
    t->ndim = ndim;
    for (int d = 0; d < RT_MAX_DIMS; d++) t->shape[d] = d < ndim ? shape[d] : 1;
    t->numel = numel;
    t->offset = offset;
    t->nbytes = nbytes;
    t->data = w->map + offset;
    t->alias_of = -1;
    w->n_tensors++;
    return ROTO_OK;
}

roto_status rt_weights_add_meta(rt_weights *w, const char *key, const char *value) {
    if (w->n_meta == w->cap_meta) {
        int cap = w->cap_meta ? w->cap_meta * 2 : 8;
        if (cap > (1 << 20)) return RT_WFAIL(w, ROTO_ERR_FORMAT, "too many metadata entries");
        rt_wmeta *m = realloc(w->meta, (size_t)cap * sizeof *m);
        if (!m) return RT_WFAIL(w, ROTO_ERR_OOM, "cannot grow the metadata list");
        w->meta = m;
        w->cap_meta = cap;
    }
    rt_wmeta *m = &w->meta[w->n_meta];
    m->key = strdup(key);
    m->value = strdup(value);
    if (!m->key || !m->value) {
        free(m->key);
        free(m->value);
        return RT_WFAIL(w, ROTO_ERR_OOM, "cannot copy a metadata entry");
    }
    w->n_meta++;
    return ROTO_OK;
}

roto_status rt_weights_add_alias(rt_weights *w, const char *name, int target, int64_t row0,
                                 int64_t rows) {
    if (target < 0 || target >= w->n_tensors)
        return RT_WFAIL(w, ROTO_ERR_INTERNAL, "alias '%s' of a bad tensor index %d", name, target);
    if (rt_weights_find(w, name))
        return RT_WFAIL(w, ROTO_ERR_FORMAT, "alias '%s' clashes with an existing tensor", name);
    const rt_wtensor src = w->tensors[target];
    rt_wtensor a = src;
    if (rows >= 0) {
        if (src.ndim < 1 || row0 < 0 || row0 > src.shape[0] || rows > src.shape[0] - row0)
            return RT_WFAIL(w, ROTO_ERR_SHAPE, "alias '%s': rows [%lld, %lld) outside '%s'", name,
                            (long long)row0, (long long)(row0 + rows), src.name);
        int64_t row_elems = src.shape[0] ? src.numel / src.shape[0] : 0;
        uint64_t esize = rt_wdtype_size(src.dtype);
        a.shape[0] = rows;
        a.numel = rows * row_elems;
        a.offset = src.offset + (uint64_t)(row0 * row_elems) * esize;
        a.nbytes = (uint64_t)a.numel * esize;
        a.data = w->map + a.offset;
    }
    a.alias_of = target;
    a.name = strdup(name);
    if (!a.name) return RT_WFAIL(w, ROTO_ERR_OOM, "cannot allocate alias '%s'", name);
    roto_status st = grow_tensors(w);
    if (st != ROTO_OK) {
        free(a.name);
        return st;
    }
    w->tensors[total_entries(w)] = a;
    w->n_aliases++;
    if (w->index && 2 * (size_t)total_entries(w) + 2 <= w->index_cap) {
        index_insert(w, total_entries(w) - 1);  // no clash: checked above
        return ROTO_OK;
    }
    return index_build(w);
}

// ---- open / close ------------------------------------------------------------

static const char *detect_problem(const uint8_t *p, size_t n, rt_wformat *fmt,
                                  roto_status *code) {
    *code = ROTO_ERR_FORMAT;
    if (n < 8) return "file too small to be a checkpoint";
    if (p[0] == 'P' && p[1] == 'K' && ((p[2] == 3 && p[3] == 4) || (p[2] == 5 && p[3] == 6))) {
        *fmt = RT_WFMT_PYTORCH_ZIP;
        return NULL;
    }
    if (n > 8 && p[8] == '{') {
        *fmt = RT_WFMT_SAFETENSORS;
        return NULL;
    }
    *code = ROTO_ERR_UNSUPPORTED;
    if (p[0] == 0x80 && p[1] <= 5)
        return "legacy torch.save format (pre-1.6 pickle stream) is not supported; re-save it "
               "with a current torch.save (zip format) or convert it to safetensors";
    if (n > 262 && !memcmp(p + 257, "ustar", 5))
        return "legacy torch.save tar format is not supported; re-save it with a current "
               "torch.save";
    *code = ROTO_ERR_FORMAT;
    return "unrecognised format: neither safetensors (no JSON header) nor a PyTorch zip "
           "(no PK signature)";
}

static roto_status parse(rt_weights *w, bool detect, rt_wformat format) {
    if (detect) {
        roto_status code;
        const char *why = detect_problem(w->map, w->size, &format, &code);
        if (why) return RT_WFAIL(w, code, "%s", why);
    }
    w->format = format;
    roto_status st = format == RT_WFMT_SAFETENSORS ? rt_safetensors_parse(w) : rt_ptzip_parse(w);
    if (st != ROTO_OK) return st;
    return index_build(w);
}

static roto_status init_buffer(rt_weights *w, const char *name, const void *data, size_t size) {
    memset(w, 0, sizeof *w);
    w->path = strdup(name ? name : "(buffer)");
    if (!w->path) return roto_fail(ROTO_ERR_OOM, "cannot copy a file name");
    w->map = data;
    w->size = size;
    return ROTO_OK;
}

roto_status rt_weights_open_buffer_as(rt_weights *w, const char *name, const void *data,
                                      size_t size, rt_wformat format) {
    ROTO_TRY(init_buffer(w, name, data, size));
    roto_status st = parse(w, false, format);
    if (st != ROTO_OK) rt_weights_close(w);
    return st;
}

roto_status rt_weights_open_buffer(rt_weights *w, const char *name, const void *data,
                                   size_t size) {
    ROTO_TRY(init_buffer(w, name, data, size));
    roto_status st = parse(w, true, RT_WFMT_SAFETENSORS);
    if (st != ROTO_OK) rt_weights_close(w);
    return st;
}

roto_status rt_weights_open(rt_weights *w, const char *path) {
    if (!w || !path) return roto_fail(ROTO_ERR_INVALID_ARG, "rt_weights_open: NULL argument");
    ROTO_TRY(init_buffer(w, path, NULL, 0));
    roto_status st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        st = RT_WFAIL(w, ROTO_ERR_IO, "cannot open: %s", strerror(errno));
        goto fail;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = RT_WFAIL(w, ROTO_ERR_IO, "not a regular file");
        close(fd);
        goto fail;
    }
    if (sb.st_size == 0) {
        st = RT_WFAIL(w, ROTO_ERR_FORMAT, "empty file");
        close(fd);
        goto fail;
    }
    void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);  // the mapping keeps the file alive
    if (m == MAP_FAILED) {
        st = RT_WFAIL(w, ROTO_ERR_IO, "mmap of %lld bytes failed: %s", (long long)sb.st_size,
                      strerror(errno));
        goto fail;
    }
    w->map = m;
    w->size = (size_t)sb.st_size;
    w->owns_map = true;
    st = parse(w, true, RT_WFMT_SAFETENSORS);
    if (st == ROTO_OK) return ROTO_OK;
fail:
    rt_weights_close(w);
    return st;
}

void rt_weights_close(rt_weights *w) {
    if (!w) return;
    for (int i = 0; i < total_entries(w); i++) free(w->tensors[i].name);
    for (int i = 0; i < w->n_meta; i++) {
        free(w->meta[i].key);
        free(w->meta[i].value);
    }
    if (w->owns_map && w->map) munmap((void *)w->map, w->size);
    free(w->tensors);
    free(w->meta);
    free(w->index);
    free(w->path);
    memset(w, 0, sizeof *w);
}

// ---- queries and loads --------------------------------------------------------

roto_status rt_weights_get(const rt_weights *w, const char *name, const rt_wtensor **out) {
    const rt_wtensor *t = rt_weights_find(w, name);
    if (!t) return RT_WFAIL(w, ROTO_ERR_NOT_FOUND, "no tensor named '%s'", name ? name : "(null)");
    *out = t;
    return ROTO_OK;
}

roto_status rt_weights_expect(const rt_weights *w, const char *name, int ndim,
                              const int64_t *shape, const rt_wtensor **out) {
    const rt_wtensor *t = NULL;
    ROTO_TRY(rt_weights_get(w, name, &t));
    bool same = t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = t->shape[d] == shape[d];
    if (!same) {
        char got[128], want[128];
        rt_wtensor_shape_str(t, got, sizeof got);
        shape_str(ndim, shape, want, sizeof want);
        return RT_WFAIL(w, ROTO_ERR_SHAPE, "tensor '%s' has shape %s but %s was expected", name,
                        got, want);
    }
    *out = t;
    return ROTO_OK;
}

roto_status rt_weights_read_f32(const rt_weights *w, const rt_wtensor *t, float *dst,
                                int64_t dst_numel) {
    if (!t || (!dst && t->numel))
        return RT_WFAIL(w, ROTO_ERR_INVALID_ARG, "rt_weights_read_f32: NULL argument");
    if (!rt_wdtype_supported(t->dtype))
        return RT_WFAIL(w, ROTO_ERR_UNSUPPORTED,
                        "tensor '%s' is %s; only f32, f16 and bf16 can be loaded", t->name,
                        rt_wdtype_name(t->dtype));
    if (dst_numel != t->numel)
        return RT_WFAIL(w, ROTO_ERR_SHAPE, "tensor '%s' has %lld elements, buffer holds %lld",
                        t->name, (long long)t->numel, (long long)dst_numel);
    // The data need not be aligned (safetensors offsets are arbitrary): copy
    // element bytes with memcpy rather than casting the pointer.
    const uint8_t *src = t->data;
    if (t->dtype == RT_WDT_F32) {
        memcpy(dst, src, (size_t)t->numel * 4);
        return ROTO_OK;
    }
    for (int64_t i = 0; i < t->numel; i++) {
        uint16_t h;
        memcpy(&h, src + 2 * i, 2);
        dst[i] = t->dtype == RT_WDT_F16 ? rt_f16_to_f32(h) : rt_bf16_to_f32(h);
    }
    return ROTO_OK;
}

roto_status rt_weights_load_f32(const rt_weights *w, const char *name, int ndim,
                                const int64_t *shape, float *dst) {
    const rt_wtensor *t = NULL;
    ROTO_TRY(rt_weights_expect(w, name, ndim, shape, &t));
    return rt_weights_read_f32(w, t, dst, t->numel);
}

roto_status rt_weights_view(const rt_weights *w, const rt_wtensor *t, rt_tensor *out) {
    rt_dtype dt;
    if (!rt_wdtype_to_dtype(t->dtype, &dt))
        return RT_WFAIL(w, ROTO_ERR_UNSUPPORTED, "tensor '%s' is %s; no engine dtype", t->name,
                        rt_wdtype_name(t->dtype));
    if ((uintptr_t)t->data % rt_wdtype_size(t->dtype))
        return RT_WFAIL(w, ROTO_ERR_UNSUPPORTED,
                        "tensor '%s' is not aligned to its element size in the file; use "
                        "rt_weights_read_f32",
                        t->name);
    *out = rt_tensor_make((void *)t->data, dt, RT_DEV_CPU, t->ndim, t->shape);
    return ROTO_OK;
}

const char *rt_weights_meta(const rt_weights *w, const char *key) {
    for (int i = 0; i < w->n_meta; i++)
        if (!strcmp(w->meta[i].key, key)) return w->meta[i].value;
    return NULL;
}

int64_t rt_weights_param_count(const rt_weights *w) {
    int64_t n = 0;
    for (int i = 0; i < w->n_tensors; i++) n += w->tensors[i].numel;
    return n;
}
