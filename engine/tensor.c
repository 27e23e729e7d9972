// tensor.c: tensor construction, views and dtype conversion helpers.
#include "tensor.h"

#include <stdio.h>
#include <string.h>

const char *rt_dtype_name(rt_dtype t) {
    switch (t) {
    case RT_F32: return "f32";
    case RT_F16: return "f16";
    case RT_BF16: return "bf16";
    case RT_I32: return "i32";
    case RT_U8: return "u8";
    default: return "?";
    }
}

static void set_contiguous_strides(rt_tensor *t) {
    int64_t s = 1;
    for (int i = RT_MAX_DIMS - 1; i >= 0; i--) {
        if (i >= t->ndim) {
            t->shape[i] = 1;
            t->stride[i] = 0;
            continue;
        }
        t->stride[i] = s;
        s *= t->shape[i];
    }
}

rt_tensor rt_tensor_make(void *data, rt_dtype dtype, rt_device dev, int ndim,
                         const int64_t *shape) {
    rt_tensor t;
    memset(&t, 0, sizeof t);
    t.dtype = dtype;
    t.device = dev;
    t.ndim = ndim < 0 ? 0 : (ndim > RT_MAX_DIMS ? RT_MAX_DIMS : ndim);
    for (int i = 0; i < t.ndim; i++) t.shape[i] = shape[i];
    set_contiguous_strides(&t);
    t.data = data;
    return t;
}

rt_tensor rt_f32_1d(float *d, int64_t d0) {
    int64_t s[1] = {d0};
    return rt_tensor_make(d, RT_F32, RT_DEV_CPU, 1, s);
}
rt_tensor rt_f32_2d(float *d, int64_t d0, int64_t d1) {
    int64_t s[2] = {d0, d1};
    return rt_tensor_make(d, RT_F32, RT_DEV_CPU, 2, s);
}
rt_tensor rt_f32_3d(float *d, int64_t d0, int64_t d1, int64_t d2) {
    int64_t s[3] = {d0, d1, d2};
    return rt_tensor_make(d, RT_F32, RT_DEV_CPU, 3, s);
}
rt_tensor rt_f32_4d(float *d, int64_t d0, int64_t d1, int64_t d2, int64_t d3) {
    int64_t s[4] = {d0, d1, d2, d3};
    return rt_tensor_make(d, RT_F32, RT_DEV_CPU, 4, s);
}

int64_t rt_numel(const rt_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

size_t rt_nbytes(const rt_tensor *t) {
    return (size_t)rt_numel(t) * rt_dtype_size(t->dtype);
}

bool rt_is_contiguous(const rt_tensor *t) {
    int64_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] != 1 && t->stride[i] != s) return false;
        s *= t->shape[i];
    }
    return true;
}

bool rt_same_shape(const rt_tensor *a, const rt_tensor *b) {
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

const char *rt_shape_str(const rt_tensor *t, char *buf, size_t n) {
    size_t k = 0;
    int w = snprintf(buf, n, "[");
    if (w > 0) k = (size_t)w;
    for (int i = 0; i < t->ndim && k < n; i++) {
        w = snprintf(buf + k, n - k, i ? ", %lld" : "%lld", (long long)t->shape[i]);
        if (w > 0) k += (size_t)w;
    }
    if (k < n) snprintf(buf + k, n - k, "] %s", rt_dtype_name(t->dtype));
    return buf;
}

roto_status rt_view_reshape(rt_tensor *out, const rt_tensor *t, int ndim,
                            const int64_t *shape) {
    if (ndim < 0 || ndim > RT_MAX_DIMS)
        return roto_fail(ROTO_ERR_SHAPE, "reshape to %d dims (max %d)", ndim, RT_MAX_DIMS);
    if (!rt_is_contiguous(t))
        return roto_fail(ROTO_ERR_SHAPE, "reshape of a non-contiguous tensor");
    int64_t n = rt_numel(t), known = 1;
    int infer = -1;
    int64_t s[RT_MAX_DIMS];
    for (int i = 0; i < ndim; i++) {
        s[i] = shape[i];
        if (s[i] == -1) {
            if (infer >= 0) return roto_fail(ROTO_ERR_SHAPE, "reshape with two -1 dims");
            infer = i;
        } else if (s[i] < 0) {
            return roto_fail(ROTO_ERR_SHAPE, "reshape with negative dim %lld", (long long)s[i]);
        } else {
            known *= s[i];
        }
    }
    if (infer >= 0) {
        if (known == 0 || n % known)
            return roto_fail(ROTO_ERR_SHAPE, "reshape: %lld elements do not divide by %lld",
                             (long long)n, (long long)known);
        s[infer] = n / known;
        known *= s[infer];
    }
    if (known != n)
        return roto_fail(ROTO_ERR_SHAPE, "reshape: %lld elements into %lld", (long long)n,
                         (long long)known);
    *out = rt_tensor_make(t->data, t->dtype, t->device, ndim, s);
    return ROTO_OK;
}

roto_status rt_view_slice(rt_tensor *out, const rt_tensor *t, int dim, int64_t start,
                          int64_t len) {
    if (dim < 0 || dim >= t->ndim)
        return roto_fail(ROTO_ERR_SHAPE, "slice dim %d of a %d-d tensor", dim, t->ndim);
    if (start < 0 || len < 0 || start + len > t->shape[dim])
        return roto_fail(ROTO_ERR_SHAPE, "slice [%lld, %lld) out of dim %d size %lld",
                         (long long)start, (long long)(start + len), dim,
                         (long long)t->shape[dim]);
    rt_tensor v = *t;
    v.shape[dim] = len;
    v.data = (char *)t->data + (size_t)(start * t->stride[dim]) * rt_dtype_size(t->dtype);
    *out = v;
    return ROTO_OK;
}

roto_status rt_view_permute(rt_tensor *out, const rt_tensor *t, const int *perm) {
    int seen = 0;
    rt_tensor v = *t;
    for (int i = 0; i < t->ndim; i++) {
        int p = perm[i];
        if (p < 0 || p >= t->ndim || (seen & (1 << p)))
            return roto_fail(ROTO_ERR_SHAPE, "permute: bad permutation entry %d", p);
        seen |= 1 << p;
        v.shape[i] = t->shape[p];
        v.stride[i] = t->stride[p];
    }
    *out = v;
    return ROTO_OK;
}

void *rt_elem_ptr(const rt_tensor *t, int64_t i0, int64_t i1, int64_t i2, int64_t i3) {
    int64_t off = i0 * t->stride[0] + i1 * t->stride[1] + i2 * t->stride[2] +
                  i3 * t->stride[3];
    return (char *)t->data + (size_t)off * rt_dtype_size(t->dtype);
}

int rt_convert_to_f32(float *dst, const void *src, rt_dtype t, size_t n) {
    switch (t) {
    case RT_F32: memmove(dst, src, n * 4); return 0;
    // Sources may be misaligned (safetensors data offsets need not be), so
    // elements are read with memcpy, which compilers turn into plain loads.
    case RT_F16: {
        const char *s = (const char *)src;
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            dst[i] = rt_f16_to_f32(h);
        }
        return 0;
    }
    case RT_BF16: {
        const char *s = (const char *)src;
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            dst[i] = rt_bf16_to_f32(h);
        }
        return 0;
    }
    case RT_I32: {
        const char *s = (const char *)src;
        for (size_t i = 0; i < n; i++) {
            int32_t v;
            memcpy(&v, s + 4 * i, 4);
            dst[i] = (float)v;
        }
        return 0;
    }
    case RT_U8: {
        const uint8_t *s = (const uint8_t *)src;
        for (size_t i = 0; i < n; i++) dst[i] = (float)s[i];
        return 0;
    }
    default: return -1;
    }
}

int rt_convert_from_f32(void *dst, rt_dtype t, const float *src, size_t n) {
    switch (t) {
    case RT_F32: memmove(dst, src, n * 4); return 0;
    case RT_F16: {
        char *d = (char *)dst;
        for (size_t i = 0; i < n; i++) {
            uint16_t h = rt_f32_to_f16(src[i]);
            memcpy(d + 2 * i, &h, 2);
        }
        return 0;
    }
    case RT_BF16: {
        char *d = (char *)dst;
        for (size_t i = 0; i < n; i++) {
            uint16_t h = rt_f32_to_bf16(src[i]);
            memcpy(d + 2 * i, &h, 2);
        }
        return 0;
    }
    default: return -1;
    }
}
