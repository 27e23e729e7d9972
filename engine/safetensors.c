// safetensors.c: the safetensors reader.
// Layout: u64 little-endian N, then N bytes of JSON, then the data section.
// The JSON maps each tensor name to {"dtype", "shape", "data_offsets": [begin,
// end]} (offsets relative to the data section) plus an optional "__metadata__"
// object of string pairs. Validation follows the format's rules: every entry is
// complete, the byte range matches numel * dtype size, and the ranges tile the
// data section exactly (sorted by offset, no overlap, no gap, nothing after).
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "weights.h"

// The reference implementation refuses headers over 100 MB; so do we.
#define MAX_HEADER_BYTES (100u << 20)

typedef struct {
    uint64_t begin, end;
    int tensor;
} st_range;

static int cmp_range(const void *a, const void *b) {
    const st_range *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

// List tensors in data order (the header's key order is the writer's choice;
// the safetensors package sorts keys by name).
static int cmp_offset(const void *a, const void *b) {
    const rt_wtensor *x = a, *y = b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    return strcmp(x->name, y->name);
}

static const struct {
    const char *name;
    int dtype;  // rt_wdtype, or -1: known to the format but not representable here
} g_st_dtypes[] = {
    {"F32", RT_WDT_F32},   {"F16", RT_WDT_F16},         {"BF16", RT_WDT_BF16},
    {"F64", RT_WDT_F64},   {"I64", RT_WDT_I64},         {"I32", RT_WDT_I32},
    {"I16", RT_WDT_I16},   {"I8", RT_WDT_I8},           {"U8", RT_WDT_U8},
    {"U16", RT_WDT_U16},   {"U32", RT_WDT_U32},         {"U64", RT_WDT_U64},
    {"BOOL", RT_WDT_BOOL}, {"F8_E4M3", RT_WDT_F8_E4M3}, {"F8_E5M2", RT_WDT_F8_E5M2},
    {"C64", RT_WDT_C64},   {"F8_E8M0", -1},             {"F6_E2M3", -1},
    {"F6_E3M2", -1},       {"F4", -1},
};

static roto_status parse_entry(rt_weights *w, const char *name, json_t *v, uint64_t data_start,
                               uint64_t data_size, st_range *range) {
    if (!json_is_object(v))
        return RT_WFAIL(w, ROTO_ERR_FORMAT, "header entry '%s' is not an object", name);
    json_t *jdt = json_object_get(v, "dtype");
    json_t *jshape = json_object_get(v, "shape");
    json_t *joff = json_object_get(v, "data_offsets");
    if (!json_is_string(jdt))
        return RT_WFAIL(w, ROTO_ERR_FORMAT, "tensor '%s' has no string \"dtype\"", name);
    if (!json_is_array(jshape))
        return RT_WFAIL(w, ROTO_ERR_FORMAT, "tensor '%s' has no \"shape\" array", name);
    if (!json_is_array(joff) || json_array_size(joff) != 2)
        return RT_WFAIL(w, ROTO_ERR_FORMAT, "tensor '%s' has no \"data_offsets\" [begin, end]",
                        name);

    const char *dts = json_string_value(jdt);
    int dtype = -2;
    for (size_t i = 0; i < sizeof g_st_dtypes / sizeof *g_st_dtypes; i++)
        if (!strcmp(dts, g_st_dtypes[i].name)) dtype = g_st_dtypes[i].dtype;
    if (dtype == -2)
        return RT_WFAIL(w, ROTO_ERR_FORMAT, "tensor '%s' has unknown dtype \"%.32s\"", name, dts);
    if (dtype == -1)
        return RT_WFAIL(w, ROTO_ERR_UNSUPPORTED, "tensor '%s' has dtype %s, which is not supported",
                        name, dts);

    size_t ndim = json_array_size(jshape);
    if (ndim > RT_MAX_DIMS)
        return RT_WFAIL(w, ROTO_ERR_UNSUPPORTED,
                        "tensor '%s' has %zu dims; at most %d are supported", name, ndim,
                        RT_MAX_DIMS);
    int64_t shape[RT_MAX_DIMS];
    for (size_t d = 0; d < ndim; d++) {
        json_t *e = json_array_get(jshape, d);
        if (!json_is_integer(e) || json_integer_value(e) < 0)
            return RT_WFAIL(w, ROTO_ERR_FORMAT, "tensor '%s': shape[%zu] is not a size", name, d);
        shape[d] = (int64_t)json_integer_value(e);
    }

    json_t *jb = json_array_get(joff, 0), *je = json_array_get(joff, 1);
    if (!json_is_integer(jb) || !json_is_integer(je) || json_integer_value(jb) < 0 ||
        json_integer_value(je) < json_integer_value(jb))
        return RT_WFAIL(w, ROTO_ERR_FORMAT, "tensor '%s': data_offsets are not 0 <= begin <= end",
                        name);
    uint64_t begin = (uint64_t)json_integer_value(jb), end = (uint64_t)json_integer_value(je);
    if (end > data_size)
        return RT_WFAIL(w, ROTO_ERR_FORMAT,
                        "tensor '%s': data_offsets [%llu, %llu) beyond the data section "
                        "(%llu bytes)",
                        name, (unsigned long long)begin, (unsigned long long)end,
                        (unsigned long long)data_size);
    range->begin = begin;
    range->end = end;
    range->tensor = w->n_tensors;
    return rt_weights_add_tensor(w, name, strlen(name), (rt_wdtype)dtype, (int)ndim, shape,
                                 data_start + begin, end - begin);
}

static roto_status parse_metadata(rt_weights *w, json_t *m) {
    if (!json_is_object(m))
        return RT_WFAIL(w, ROTO_ERR_FORMAT, "\"__metadata__\" is not an object");
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v) {
        if (!json_is_string(v))
            return RT_WFAIL(w, ROTO_ERR_FORMAT, "metadata value for '%s' is not a string", k);
        ROTO_TRY(rt_weights_add_meta(w, k, json_string_value(v)));
    }
    return ROTO_OK;
}

// Sorted by offset, the ranges must start at 0, follow each other exactly and end
// at the end of the file: anything else is overlap, a hole or trailing bytes.
static roto_status check_tiling(rt_weights *w, st_range *r, int n, uint64_t data_size) {
    qsort(r, (size_t)n, sizeof *r, cmp_range);
    uint64_t at = 0;
    for (int i = 0; i < n; i++) {
        const char *name = w->tensors[r[i].tensor].name;
        if (r[i].begin < at)
            return RT_WFAIL(w, ROTO_ERR_FORMAT,
                            "tensor '%s': data [%llu, %llu) overlaps the previous tensor", name,
                            (unsigned long long)r[i].begin, (unsigned long long)r[i].end);
        if (r[i].begin > at)
            return RT_WFAIL(w, ROTO_ERR_FORMAT,
                            "tensor '%s': data starts at %llu, leaving a gap after %llu", name,
                            (unsigned long long)r[i].begin, (unsigned long long)at);
        at = r[i].end;
    }
    if (at != data_size)
        return RT_WFAIL(w, ROTO_ERR_FORMAT,
                        "the tensors cover %llu bytes but the data section has %llu",
                        (unsigned long long)at, (unsigned long long)data_size);
    return ROTO_OK;
}

roto_status rt_safetensors_parse(rt_weights *w) {
    if (w->size < 8)
        return RT_WFAIL(w, ROTO_ERR_FORMAT, "truncated: %zu bytes, shorter than the 8-byte "
                        "header length", w->size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | w->map[i];
    if (hlen < 2 || hlen > w->size - 8)
        return RT_WFAIL(w, ROTO_ERR_FORMAT,
                        "header length %llu does not fit the file (%zu bytes): truncated or "
                        "corrupt",
                        (unsigned long long)hlen, w->size);
    if (hlen > MAX_HEADER_BYTES)
        return RT_WFAIL(w, ROTO_ERR_FORMAT, "header length %llu exceeds the %u-byte limit",
                        (unsigned long long)hlen, MAX_HEADER_BYTES);
    if (w->map[8] != '{')
        return RT_WFAIL(w, ROTO_ERR_FORMAT, "header does not start with '{'");

    json_error_t jerr;
    json_t *root = json_loadb((const char *)w->map + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return RT_WFAIL(w, ROTO_ERR_FORMAT, "bad JSON header at byte %d: %s", jerr.position + 8,
                        jerr.text);
    roto_status st = ROTO_OK;
    st_range *ranges = NULL;
    if (!json_is_object(root)) {
        st = RT_WFAIL(w, ROTO_ERR_FORMAT, "JSON header is not an object");
        goto done;
    }
    uint64_t data_start = 8 + hlen, data_size = w->size - data_start;
    size_t n_entries = json_object_size(root);
    ranges = malloc((n_entries ? n_entries : 1) * sizeof *ranges);
    if (!ranges) {
        st = RT_WFAIL(w, ROTO_ERR_OOM, "cannot allocate %zu header entries", n_entries);
        goto done;
    }
    int n = 0;
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "__metadata__"))
            st = parse_metadata(w, v);
        else
            st = parse_entry(w, key, v, data_start, data_size, &ranges[n++]);
        if (st != ROTO_OK) goto done;
    }
    st = check_tiling(w, ranges, n, data_size);
    if (st == ROTO_OK) qsort(w->tensors, (size_t)w->n_tensors, sizeof *w->tensors, cmp_offset);
done:
    free(ranges);
    json_decref(root);
    return st;
}
