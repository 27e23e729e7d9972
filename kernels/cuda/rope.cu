// rope.cu: 2-D axial rotary position embedding, in place.
// defines: cu_rope
//
// x [B, H, L, D] (strided, last dim contiguous); the complex pair
// (x[2i], x[2i+1]) of token t < n_rot is multiplied by (cos + i sin) of table
// row t % P; tokens t >= n_rot (object pointers) are left as they are.
#include "cuda_device.cuh"

template <typename T>
__global__ void k_rope(T *x, cu_t4 xd, const float *cos_t, const float *sin_t, int64_t tab_stride,
                       int64_t P, int64_t n_rot, int64_t pairs, int64_t n) {
    CU_GRID_STRIDE(i, n) {
        // i walks (b, h, t < n_rot, pair).
        int64_t pr = i % pairs, r = i / pairs;
        int64_t t = r % n_rot;
        r /= n_rot;
        int64_t h = r % xd.n[1], b = r / xd.n[1];
        T *p = x + b * xd.s[0] + h * xd.s[1] + t * xd.s[2] + 2 * pr;
        int64_t row = (t % P) * tab_stride;
        float c = cos_t[row + pr], s = sin_t[row + pr];
        float x0 = cu_ld(p), x1 = cu_ld(p + 1);
        cu_st(p, x0 * c - x1 * s);
        cu_st(p + 1, x0 * s + x1 * c);
    }
}

template <typename T>
static roto_status rope_t(cu_state *st, rt_tensor *x, const rt_tensor *cos_t,
                          const rt_tensor *sin_t, int64_t n_rot) {
    cu_t4 xd = cu_t4_of(x);
    int64_t L = xd.n[2], D = xd.n[3];
    if (n_rot > L) n_rot = L;
    int64_t pairs = D / 2;
    int64_t n = xd.n[0] * xd.n[1] * n_rot * pairs;
    if (n <= 0) return ROTO_OK;
    int64_t P = cos_t->shape[0];
    int64_t tab_stride = cos_t->ndim >= 2 ? cos_t->stride[0] : pairs;
    if (sin_t->ndim >= 2 && sin_t->stride[0] != tab_stride)
        return roto_fail(ROTO_ERR_UNSUPPORTED, "rope: cos and sin tables need the same layout");
    k_rope<T><<<cu_blocks(n), CU_THREADS, 0, st->stream>>>(
        (T *)x->data, xd, (const float *)cos_t->data, (const float *)sin_t->data, tab_stride, P,
        n_rot, pairs, n);
    CU_LAUNCH_CHECK("k_rope");
    return ROTO_OK;
}

extern "C" roto_status cu_rope(rt_ctx *ctx, rt_tensor *x, const rt_tensor *cos_t,
                               const rt_tensor *sin_t, int64_t n_rot) {
    cu_state *st = cu_get(ctx);
    if (cos_t->dtype != RT_F32 || sin_t->dtype != RT_F32)
        return roto_fail(ROTO_ERR_UNSUPPORTED, "rope: tables must be f32 on cuda");
    if (x->ndim != 4) return roto_fail(ROTO_ERR_UNSUPPORTED, "rope: x must be 4-d on cuda");
    CU_DISPATCH_FLOAT(x->dtype, "rope", rope_t, st, x, cos_t, sin_t, n_rot);
}
