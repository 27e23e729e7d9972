// tensor.h: the tensor value type and views.
// A tensor is a small struct passed by value or pointer: dtype, device, up to 4
// dims in PyTorch order, strides in elements, and a data pointer it does not own.
// Feature maps are NHWC, so transformer tokens and conv maps are the same
// [N, H*W, C] matrix. Views (reshape, slice, permute) only change shape/stride.
#ifndef ROTO_TENSOR_H
#define ROTO_TENSOR_H

#include <stdbool.h>
#include <stdint.h>

#include "dtype.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RT_MAX_DIMS 4

typedef enum { RT_DEV_CPU = 0, RT_DEV_CUDA = 1 } rt_device;

typedef struct {
    rt_dtype dtype;
    rt_device device;
    int ndim;                      // 0..4 (0 = scalar)
    int64_t shape[RT_MAX_DIMS];    // unused dims are 1
    int64_t stride[RT_MAX_DIMS];   // in elements; unused dims are 0
    void *data;                    // not owned
} rt_tensor;

// A contiguous tensor over `data` with the given shape (ndim values).
rt_tensor rt_tensor_make(void *data, rt_dtype dtype, rt_device dev, int ndim,
                         const int64_t *shape);
// Convenience constructors for contiguous f32 CPU tensors.
rt_tensor rt_f32_1d(float *data, int64_t d0);
rt_tensor rt_f32_2d(float *data, int64_t d0, int64_t d1);
rt_tensor rt_f32_3d(float *data, int64_t d0, int64_t d1, int64_t d2);
rt_tensor rt_f32_4d(float *data, int64_t d0, int64_t d1, int64_t d2, int64_t d3);

int64_t rt_numel(const rt_tensor *t);
size_t rt_nbytes(const rt_tensor *t);  // numel * element size (contiguous size)
bool rt_is_contiguous(const rt_tensor *t);
bool rt_same_shape(const rt_tensor *a, const rt_tensor *b);
// "[2, 64, 64, 256] f32" for error messages; returns buf.
const char *rt_shape_str(const rt_tensor *t, char *buf, size_t n);

// Views. They fail (status) rather than silently copy.
// Reshape a contiguous tensor; one dim may be -1.
roto_status rt_view_reshape(rt_tensor *out, const rt_tensor *t, int ndim,
                            const int64_t *shape);
// Take [start, start+len) along `dim`.
roto_status rt_view_slice(rt_tensor *out, const rt_tensor *t, int dim,
                          int64_t start, int64_t len);
// Permute dims: out dim i is t's dim perm[i].
roto_status rt_view_permute(rt_tensor *out, const rt_tensor *t, const int *perm);
// Pointer to element (i0, i1, i2, i3) (unused indices 0).
void *rt_elem_ptr(const rt_tensor *t, int64_t i0, int64_t i1, int64_t i2, int64_t i3);

#ifdef __cplusplus
}
#endif
#endif
