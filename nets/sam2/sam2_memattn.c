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
#include "sam2_video_internal.h"

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
    // RoPE: every current-frame token; in the memory the spatial tokens (the table
    // repeats over the memory frames), not the pointer tokens.
    sam2_rope self_rope = {rope_cos, rope_sin, HW}, cross_rope = {rope_cos, rope_sin, n_spatial};

    for (int i = 0; i < v->n_layers; i++) {
        const sam2_memattn_layer *ly = &v->layers[i];
        size_t lmark = rt_arena_mark(ctx);
        rt_tensor a;
        ROTO_TRY(rt_arena_f32(ctx, &a, 3, 1, HW, d, 0));
        ROTO_TRY(rt_layernorm(ctx, &t, &x, &ly->norm1.w, &ly->norm1.b, 1e-5f));
        ROTO_TRY(sam2_attention(m, &ly->self_attn, 1, &self_rope, &a, &t, &t, &t));
        ROTO_TRY(rt_binary(ctx, &x, &x, &a, RT_BIN_ADD));
        ROTO_TRY(rt_layernorm(ctx, &t, &x, &ly->norm2.w, &ly->norm2.b, 1e-5f));
        ROTO_TRY(sam2_attention(m, &ly->cross_attn, 1, &cross_rope, &a, &t, &kmem, memory));
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
