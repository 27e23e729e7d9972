// ops_attention.c: validation and dispatch for rt_attention and rt_rope, and the
// host helper rt_rope_axial_table (semantics in ops.h).
#include <math.h>

#include "ops_common.h"

// Float compute dtypes: f32 everywhere; f16/bf16 only on non-CPU backends.
static roto_status check_float_dtype(const rt_ctx *ctx, const rt_tensor *t, const char *what) {
    if (t->dtype == RT_F32) return ROTO_OK;
    if ((t->dtype == RT_F16 || t->dtype == RT_BF16) && ctx->be->device != RT_DEV_CPU)
        return ROTO_OK;
    return roto_fail(ROTO_ERR_UNSUPPORTED, "%s: dtype %s is not supported on the %s backend",
                     what, rt_dtype_name(t->dtype), ctx->be->name);
}

roto_status rt_attention(rt_ctx *ctx, rt_tensor *out, const rt_tensor *q, const rt_tensor *k,
                         const rt_tensor *v, const rt_tensor *key_bias, float scale) {
    ROTO_TRY(rt_check(ctx, q, "attention: q", 4, -1));
    ROTO_TRY(check_float_dtype(ctx, q, "attention: q"));
    ROTO_TRY(rt_check(ctx, k, "attention: k", 4, q->dtype));
    ROTO_TRY(rt_check(ctx, v, "attention: v", 4, q->dtype));
    ROTO_TRY(rt_check(ctx, out, "attention: out", 4, q->dtype));
    ROTO_TRY(rt_check_last_contiguous(q, "attention: q"));
    ROTO_TRY(rt_check_last_contiguous(k, "attention: k"));
    ROTO_TRY(rt_check_last_contiguous(v, "attention: v"));
    ROTO_TRY(rt_check_last_contiguous(out, "attention: out"));
    const int64_t B = q->shape[0], H = q->shape[1], Lq = q->shape[2], D = q->shape[3];
    const int64_t Lk = k->shape[2], Dv = v->shape[3];
    if (D < 1 || D > 256 || Dv < 1 || Dv > 256)
        return roto_fail(ROTO_ERR_UNSUPPORTED,
                         "attention: head dims must be in 1..256 (q/k have %lld, v has %lld)",
                         (long long)D, (long long)Dv);
    ROTO_TRY(rt_check_dim(k, 0, B, "attention: k [B, H, Lk, D] batch vs q"));
    ROTO_TRY(rt_check_dim(k, 1, H, "attention: k [B, H, Lk, D] heads vs q"));
    ROTO_TRY(rt_check_dim(k, 3, D, "attention: k [B, H, Lk, D] head dim vs q"));
    ROTO_TRY(rt_check_dim(v, 0, B, "attention: v [B, H, Lk, Dv] batch vs q"));
    ROTO_TRY(rt_check_dim(v, 1, H, "attention: v [B, H, Lk, Dv] heads vs q"));
    ROTO_TRY(rt_check_dim(v, 2, Lk, "attention: v [B, H, Lk, Dv] keys vs k"));
    ROTO_TRY(rt_check_dim(out, 0, B, "attention: out [B, H, Lq, Dv] batch vs q"));
    ROTO_TRY(rt_check_dim(out, 1, H, "attention: out [B, H, Lq, Dv] heads vs q"));
    ROTO_TRY(rt_check_dim(out, 2, Lq, "attention: out [B, H, Lq, Dv] queries vs q"));
    ROTO_TRY(rt_check_dim(out, 3, Dv, "attention: out [B, H, Lq, Dv] dim vs v"));
    if (key_bias) {
        ROTO_TRY(rt_check(ctx, key_bias, "attention: key_bias", 2, RT_F32));
        ROTO_TRY(rt_check_last_contiguous(key_bias, "attention: key_bias"));
        ROTO_TRY(rt_check_dim(key_bias, 0, B, "attention: key_bias [B, Lk] batch vs q"));
        ROTO_TRY(rt_check_dim(key_bias, 1, Lk, "attention: key_bias [B, Lk] keys vs k"));
        ROTO_TRY(rt_check_no_alias(out, key_bias, "attention: out vs key_bias"));
    }
    ROTO_TRY(rt_check_no_alias(out, q, "attention: out vs q"));
    ROTO_TRY(rt_check_no_alias(out, k, "attention: out vs k"));
    ROTO_TRY(rt_check_no_alias(out, v, "attention: out vs v"));
    RT_DISPATCH(ctx, attention, "attention", out, q, k, v, key_bias, scale);
}

roto_status rt_rope(rt_ctx *ctx, rt_tensor *x, const rt_tensor *cos_t, const rt_tensor *sin_t,
                    int64_t n_rot) {
    ROTO_TRY(rt_check(ctx, x, "rope: x", 4, -1));
    ROTO_TRY(check_float_dtype(ctx, x, "rope: x"));
    ROTO_TRY(rt_check_last_contiguous(x, "rope: x"));
    const int64_t L = x->shape[2], D = x->shape[3];
    if (D < 2 || D % 2 != 0)
        return roto_fail(ROTO_ERR_SHAPE, "rope: head dim must be even and >= 2, got %lld",
                         (long long)D);
    ROTO_TRY(rt_check(ctx, cos_t, "rope: cos_t", 2, RT_F32));
    ROTO_TRY(rt_check(ctx, sin_t, "rope: sin_t", 2, RT_F32));
    ROTO_TRY(rt_check_contiguous(cos_t, "rope: cos_t"));
    ROTO_TRY(rt_check_contiguous(sin_t, "rope: sin_t"));
    ROTO_TRY(rt_check_dim(cos_t, 1, D / 2, "rope: cos_t [P, D/2]"));
    ROTO_TRY(rt_check_same_shape(cos_t, sin_t, "rope: cos_t vs sin_t"));
    if (n_rot < 0 || n_rot > L)
        return roto_fail(ROTO_ERR_INVALID_ARG, "rope: n_rot %lld is outside 0..%lld (tokens)",
                         (long long)n_rot, (long long)L);
    if (n_rot > 0 && cos_t->shape[0] < 1)
        return roto_fail(ROTO_ERR_SHAPE, "rope: the table has no positions");
    ROTO_TRY(rt_check_no_alias(x, cos_t, "rope: x vs cos_t"));
    ROTO_TRY(rt_check_no_alias(x, sin_t, "rope: x vs sin_t"));
    RT_DISPATCH(ctx, rope, "rope", x, cos_t, sin_t, n_rot);
}

// SAM 2's compute_axial_cis (sam2/modeling/position_encoding.py) runs in fp32:
//   freqs = 1 / (theta ** (arange(0, dim, 4)[: dim//4].float() / dim))
//   t_x = t % end_x, t_y = t // end_x (as floats), angles = outer(t, freqs)
//   table = cat(polar(1, angles_x), polar(1, angles_y), -1)
// We repeat its fp32 roundings of the exponent, the frequency and the angle
// (each a single correctly rounded float op there too) and evaluate pow, cos
// and sin in double before rounding to float, so every entry is within about
// 1 ulp of PyTorch's. With dim % 4 == 2 the one pair left over is the identity.
void rt_rope_axial_table(float *cos_t, float *sin_t, int dim, int end_x, int end_y,
                         float theta, float scale) {
    if (!cos_t || !sin_t || dim < 2 || end_x < 1 || end_y < 1) return;
    const int half = dim / 2, nf = dim / 4;
    for (int64_t t = 0; t < (int64_t)end_x * end_y; t++) {
        const float px = (float)(t % end_x) * scale;
        const float py = (float)(t / end_x) * scale;
        float *c = cos_t + t * half, *s = sin_t + t * half;
        for (int f = 0; f < nf; f++) {
            const float expo = (float)(4 * f) / (float)dim;
            const float freq = 1.0f / (float)pow((double)theta, (double)expo);
            const float ax = px * freq, ay = py * freq;
            c[f] = (float)cos((double)ax);
            s[f] = (float)sin((double)ax);
            c[nf + f] = (float)cos((double)ay);
            s[nf + f] = (float)sin((double)ay);
        }
        for (int f = 2 * nf; f < half; f++) {
            c[f] = 1.0f;
            s[f] = 0.0f;
        }
    }
}
