// sam2_memattn.c: SAM 2.1 memory attention (modeling/memory_attention.py with the
// RoPEAttention of sam/transformer.py): the current frame's features attend to
// themselves and to the memory bank.
//   x = curr + 0.1 * curr_pos                      (pos_enc_at_input)
//   per layer (pre-norm):
//     t = norm1(x); x += SelfAttn(q = k = v = t)    (RoPE on q and k)
//     t = norm2(x); x += CrossAttn(q = t, k = memory + memory_pos, v = memory)
//                                                   (RoPE on q and on the spatial keys,
//                                                    the table tiled over the memory
//                                                    frames; pointer tokens unrotated)
//     t = norm3(x); x += linear2(relu(linear1(t)))
//   out = norm(x)
// One head of width d (scale 1/sqrt(d)); LayerNorm eps 1e-5; k/v of the cross
// attention project mem_dim -> d. Dropout is off (eval).
#include <math.h>

#include "sam2_video_internal.h"

// [1, L, C] contiguous as the [1, 1, L, C] one-head view rt_attention / rt_rope take.
static rt_tensor one_head(const rt_tensor *x) {
    return rt_tensor_make(x->data, x->dtype, x->device, 4,
                          (int64_t[]){1, 1, x->shape[1], x->shape[2]});
}

// q/k/v projections, RoPE (queries: all rotated; keys: the first n_rot), attention and
// out projection, written into out [1, Lq, d].
static roto_status rope_attn(sam2_model *m, const sam2_attn *a, rt_tensor *out,
                             const rt_tensor *q_in, const rt_tensor *k_in, const rt_tensor *v_in,
                             int64_t n_rot, const rt_tensor *cs, const rt_tensor *sn) {
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
    rt_tensor q4 = one_head(&q), k4 = one_head(&k), v4 = one_head(&v), o4 = one_head(&o);
    ROTO_TRY(rt_rope(ctx, &q4, cs, sn, Lq));
    if (n_rot > 0) ROTO_TRY(rt_rope(ctx, &k4, cs, sn, n_rot));
    ROTO_TRY(rt_attention(ctx, &o4, &q4, &k4, &v4, NULL, 1.0f / sqrtf((float)di)));
    ROTO_TRY(rt_linear(ctx, out, &o, &a->out.w, &a->out.b, RT_ACT_NONE));
    rt_arena_release(ctx, mark);
    return ROTO_OK;
}

roto_status sam2_memory_attention(sam2_model *m, const rt_tensor *curr, const rt_tensor *curr_pos,
                                  const rt_tensor *memory, const rt_tensor *memory_pos,
                                  int64_t n_ptr_tokens, const rt_tensor *rope_cos,
                                  const rt_tensor *rope_sin, rt_tensor *out) {
    rt_ctx *ctx = m->ctx;
    const sam2_video_weights *v = m->video;
    if (!v) return roto_fail(ROTO_ERR_UNSUPPORTED, "sam2: the checkpoint has no memory attention");
    int64_t HW = curr->shape[1], d = m->cfg.d_model, Nm = memory->shape[1];
    int64_t n_spatial = Nm - n_ptr_tokens;
    if (n_ptr_tokens < 0 || n_spatial < 0 || n_spatial % HW)
        return roto_fail(ROTO_ERR_INVALID_ARG,
                         "sam2: memory of %lld tokens with %lld pointer tokens is not a whole "
                         "number of %lld-token frames", (long long)Nm, (long long)n_ptr_tokens,
                         (long long)HW);
    size_t mark = rt_arena_mark(ctx);
    rt_tensor x, t, kmem, hid;
    ROTO_TRY(rt_arena_f32(ctx, &x, 3, 1, HW, d, 0));
    ROTO_TRY(rt_arena_f32(ctx, &t, 3, 1, HW, d, 0));
    ROTO_TRY(rt_arena_f32(ctx, &hid, 3, 1, HW, v->ffn, 0));
    ROTO_TRY(rt_arena_f32(ctx, &kmem, 3, 1, Nm, v->mem_dim, 0));
    // x = curr + 0.1 * curr_pos (the scaled PE in t as a temporary).
    ROTO_TRY(rt_scale(ctx, &t, curr_pos, 0.1f, 0.0f));
    ROTO_TRY(rt_binary(ctx, &x, curr, &t, RT_BIN_ADD));
    // The keys' input is the same for every layer.
    ROTO_TRY(rt_binary(ctx, &kmem, memory, memory_pos, RT_BIN_ADD));

    for (int i = 0; i < v->n_layers; i++) {
        const sam2_memattn_layer *ly = &v->layers[i];
        size_t lmark = rt_arena_mark(ctx);
        rt_tensor a;
        ROTO_TRY(rt_arena_f32(ctx, &a, 3, 1, HW, d, 0));
        ROTO_TRY(rt_layernorm(ctx, &t, &x, &ly->norm1.w, &ly->norm1.b, 1e-5f));
        ROTO_TRY(rope_attn(m, &ly->self_attn, &a, &t, &t, &t, HW, rope_cos, rope_sin));
        ROTO_TRY(rt_binary(ctx, &x, &x, &a, RT_BIN_ADD));
        ROTO_TRY(rt_layernorm(ctx, &t, &x, &ly->norm2.w, &ly->norm2.b, 1e-5f));
        ROTO_TRY(rope_attn(m, &ly->cross_attn, &a, &t, &kmem, memory, n_spatial, rope_cos,
                           rope_sin));
        ROTO_TRY(rt_binary(ctx, &x, &x, &a, RT_BIN_ADD));
        ROTO_TRY(rt_layernorm(ctx, &t, &x, &ly->norm3.w, &ly->norm3.b, 1e-5f));
        ROTO_TRY(rt_linear(ctx, &hid, &t, &ly->lin1.w, &ly->lin1.b, RT_ACT_RELU));
        ROTO_TRY(rt_linear(ctx, &a, &hid, &ly->lin2.w, &ly->lin2.b, RT_ACT_NONE));
        ROTO_TRY(rt_binary(ctx, &x, &x, &a, RT_BIN_ADD));
        rt_arena_release(ctx, lmark);
    }
    ROTO_TRY(rt_layernorm(ctx, out, &x, &v->norm.w, &v->norm.b, 1e-5f));
    rt_arena_release(ctx, mark);
    return ROTO_OK;
}
