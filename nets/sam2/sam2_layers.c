// sam2_layers.c: building blocks that several parts of SAM 2.1 share: the Attention /
// RoPEAttention of sam/transformer.py (mask decoder, memory attention), the 3-layer MLP
// of the decoder heads and of the object-pointer projection, and token-row views.
// Sequences are [1, L, C] contiguous; everything runs through the op API.
#include <math.h>

#include "sam2_internal.h"

rt_tensor sam2_rows(const rt_tensor *t, int64_t row, int64_t n) {
    int64_t C = t->shape[t->ndim - 1];
    return rt_tensor_make((float *)t->data + row * C, t->dtype, t->device, 3,
                          (int64_t[]){1, n, C});
}

// [1, L, heads * hd] contiguous seen as the [1, heads, L, hd] view rt_attention and
// rt_rope take (one head: the plain [1, 1, L, C] view).
static rt_tensor heads_view(const rt_tensor *x, int heads) {
    int64_t L = x->shape[1], C = x->shape[2], hd = C / heads;
    rt_tensor t = *x;
    t.ndim = 4;
    t.shape[0] = 1, t.shape[1] = heads, t.shape[2] = L, t.shape[3] = hd;
    t.stride[0] = L * C, t.stride[1] = hd, t.stride[2] = C, t.stride[3] = 1;
    return t;
}

roto_status sam2_attention(sam2_model *m, const sam2_attn *a, int heads, const sam2_rope *rope,
                           rt_tensor *out, const rt_tensor *q_in, const rt_tensor *k_in,
                           const rt_tensor *v_in) {
    rt_ctx *ctx = m->ctx;
    int64_t Lq = q_in->shape[1], Lk = k_in->shape[1], di = a->internal;
    size_t mark = rt_arena_mark(ctx);
    rt_tensor q, k, v, o;
    ROTO_TRY(rt_arena_f32(ctx, &q, 3, 1, Lq, di, 0));
    ROTO_TRY(rt_arena_f32(ctx, &k, 3, 1, Lk, di, 0));
    ROTO_TRY(rt_arena_f32(ctx, &v, 3, 1, Lk, di, 0));
    ROTO_TRY(rt_arena_f32(ctx, &o, 3, 1, Lq, di, 0));
    ROTO_TRY(rt_linear(ctx, &q, q_in, &a->q.w, &a->q.b, RT_ACT_NONE));
    ROTO_TRY(rt_linear(ctx, &k, k_in, &a->k.w, &a->k.b, RT_ACT_NONE));
    ROTO_TRY(rt_linear(ctx, &v, v_in, &a->v.w, &a->v.b, RT_ACT_NONE));
    rt_tensor q4 = heads_view(&q, heads), k4 = heads_view(&k, heads);
    rt_tensor v4 = heads_view(&v, heads), o4 = heads_view(&o, heads);
    if (rope) {  // every query rotated; keys past n_rot_k (object pointers) are not
        ROTO_TRY(rt_rope(ctx, &q4, rope->cos, rope->sin, Lq));
        if (rope->n_rot_k > 0) ROTO_TRY(rt_rope(ctx, &k4, rope->cos, rope->sin, rope->n_rot_k));
    }
    float scale = 1.0f / sqrtf((float)(di / heads));
    ROTO_TRY(rt_attention(ctx, &o4, &q4, &k4, &v4, NULL, scale));
    ROTO_TRY(rt_linear(ctx, out, &o, &a->out.w, &a->out.b, RT_ACT_NONE));
    rt_arena_release(ctx, mark);
    return ROTO_OK;
}

roto_status sam2_mlp3_forward(sam2_model *m, const sam2_mlp3 *p, rt_tensor *out,
                              const rt_tensor *in, rt_act last) {
    rt_ctx *ctx = m->ctx;
    size_t mark = rt_arena_mark(ctx);
    int64_t n = in->shape[1], h = p->l[0].w.shape[0];
    rt_tensor h1, h2;
    ROTO_TRY(rt_arena_f32(ctx, &h1, 3, 1, n, h, 0));
    ROTO_TRY(rt_arena_f32(ctx, &h2, 3, 1, n, h, 0));
    ROTO_TRY(rt_linear(ctx, &h1, in, &p->l[0].w, &p->l[0].b, RT_ACT_RELU));
    ROTO_TRY(rt_linear(ctx, &h2, &h1, &p->l[1].w, &p->l[1].b, RT_ACT_RELU));
    ROTO_TRY(rt_linear(ctx, out, &h2, &p->l[2].w, &p->l[2].b, last));
    rt_arena_release(ctx, mark);
    return ROTO_OK;
}
