// image.cu: image normalisation on the device: an interleaved u8/u16/f16/f32
// image (as decoded, uploaded as is) -> the network's normalised NHWC tensor.
// defines: rt_cuda_normalize_image
//
// y[0, r, c, ch] = (src(r, c, ch) / max_value - mean[ch]) / std[ch] for the
// first 3 channels (alpha or extra channels are skipped). One thread per
// output value; rows of the source may be padded (row_bytes).
#include "cuda_device.cuh"

template <typename S> __device__ __forceinline__ float pix(const unsigned char *p);
template <> __device__ __forceinline__ float pix<uint8_t>(const unsigned char *p) {
    return (float)*p;
}
template <> __device__ __forceinline__ float pix<uint16_t>(const unsigned char *p) {
    return (float)*(const uint16_t *)p;
}
template <> __device__ __forceinline__ float pix<__half>(const unsigned char *p) {
    return __half2float(*(const __half *)p);
}
template <> __device__ __forceinline__ float pix<float>(const unsigned char *p) {
    return *(const float *)p;
}

struct norm3 {
    float mul[3], add[3];  // y = v * mul + add, folding max_value, mean and std
};

template <typename S, typename T>
__global__ void k_normalize(T *y, const unsigned char *src, int64_t W, int64_t H, int channels,
                            int64_t row_bytes, norm3 nm) {
    CU_GRID_STRIDE(i, H * W * 3) {
        int ch = (int)(i % 3);
        int64_t px = i / 3, c = px % W, r = px / W;
        const unsigned char *p = src + r * row_bytes + (c * channels + ch) * (int64_t)sizeof(S);
        cu_st(y + i, pix<S>(p) * nm.mul[ch] + nm.add[ch]);
    }
}

template <typename S, typename T>
static roto_status normalize_st(cu_state *st, rt_tensor *y, const void *src, int W, int H,
                                int channels, size_t row_bytes, const norm3 &nm) {
    int64_t n = (int64_t)H * W * 3;
    k_normalize<S, T><<<cu_blocks(n), CU_THREADS, 0, st->stream>>>(
        (T *)y->data, (const unsigned char *)src, W, H, channels, (int64_t)row_bytes, nm);
    CU_LAUNCH_CHECK("k_normalize");
    return ROTO_OK;
}

template <typename T>
static roto_status normalize_t(cu_state *st, rt_tensor *y, const void *src, rt_pixel_type type,
                               int W, int H, int channels, size_t row_bytes, const norm3 &nm) {
    switch (type) {
    case RT_PIX_U8: return normalize_st<uint8_t, T>(st, y, src, W, H, channels, row_bytes, nm);
    case RT_PIX_U16: return normalize_st<uint16_t, T>(st, y, src, W, H, channels, row_bytes, nm);
    case RT_PIX_F16: return normalize_st<__half, T>(st, y, src, W, H, channels, row_bytes, nm);
    default: return normalize_st<float, T>(st, y, src, W, H, channels, row_bytes, nm);
    }
}

extern "C" roto_status rt_cuda_normalize_image(rt_ctx *ctx, rt_tensor *y, const void *src,
                                               rt_pixel_type type, int width, int height,
                                               int channels, size_t row_bytes,
                                               const float mean[3], const float std[3]) {
    if (!ctx || !ctx->be || ctx->be->device != RT_DEV_CUDA || !ctx->backend_state)
        return roto_fail(ROTO_ERR_INVALID_ARG, "normalize_image: not a CUDA context");
    if (!y || !src || !mean || !std)
        return roto_fail(ROTO_ERR_INVALID_ARG, "normalize_image: NULL argument");
    if ((int)type < RT_PIX_U8 || (int)type > RT_PIX_F32)
        return roto_fail(ROTO_ERR_INVALID_ARG, "normalize_image: bad pixel type %d", (int)type);
    static const size_t sample_bytes[] = {1, 2, 2, 4};
    size_t sb = sample_bytes[type];
    if (width < 1 || height < 1 || channels < 3 || channels > 64)
        return roto_fail(ROTO_ERR_INVALID_ARG,
                         "normalize_image: bad image %dx%d with %d channels (need >= 3)", width,
                         height, channels);
    if (row_bytes < (size_t)width * channels * sb || row_bytes % sb)
        return roto_fail(ROTO_ERR_INVALID_ARG,
                         "normalize_image: row_bytes %zu too small for %d pixels of %d x %zu bytes",
                         row_bytes, width, channels, sb);
    if ((uintptr_t)src % sb)
        return roto_fail(ROTO_ERR_INVALID_ARG, "normalize_image: src is not %zu-byte aligned", sb);
    if (y->device != RT_DEV_CUDA || y->ndim != 4 || y->shape[0] != 1 || y->shape[1] != height ||
        y->shape[2] != width || y->shape[3] != 3 || !rt_is_contiguous(y) || !y->data) {
        char buf[96];
        return roto_fail(ROTO_ERR_SHAPE,
                         "normalize_image: y must be a contiguous cuda [1, %d, %d, 3], got %s",
                         height, width, rt_shape_str(y, buf, sizeof buf));
    }
    norm3 nm;
    const float maxv = type == RT_PIX_U8 ? 255.f : (type == RT_PIX_U16 ? 65535.f : 1.f);
    for (int c = 0; c < 3; c++) {
        if (!(std[c] != 0.f))
            return roto_fail(ROTO_ERR_INVALID_ARG, "normalize_image: std[%d] is 0", c);
        nm.mul[c] = 1.f / (maxv * std[c]);
        nm.add[c] = -mean[c] / std[c];
    }
    cu_state *st = cu_get(ctx);
    CU_DISPATCH_FLOAT(y->dtype, "normalize_image", normalize_t, st, y, src, type, width, height,
                      channels, row_bytes, nm);
}
