// sam2_memory.c: the SAM 2.1 memory encoder (modeling/memory_encoder.py) as
// SAM2Base._encode_new_memory runs it, from the mask already mapped to [-10, 10]:
// - MaskDownSampler: 4 x [conv 3x3 s2 p1 -> LayerNorm2d(1e-6) -> GELU] (channels
//   1 -> 4 -> 16 -> 64 -> 256, size S -> S/16), then a 1x1 conv 256 -> d;
// - pix_feat_proj (1x1) of the raw stride-16 backbone map, plus the mask features;
// - Fuser: CXBlocks (depthwise 7x7 -> LayerNorm2d(1e-6) -> Linear d->4d -> GELU ->
//   Linear 4d->d -> * gamma, residual);
// - out_proj 1x1 d -> mem_dim, and no_obj_embed_spatial added when the object is absent.
// The memory's sine position encoding is a constant (sam2_sine_pe, computed once by
// the session). Maps are NHWC.
#include "sam2_video_internal.h"

roto_status sam2_memory_encode(sam2_model *m, const rt_tensor *pix_feat,
                               const rt_tensor *mask_for_mem, int obj_present, rt_tensor *out) {
    rt_ctx *ctx = m->ctx;
    const sam2_video_weights *v = m->video;
    if (!v) return roto_fail(ROTO_ERR_UNSUPPORTED, "sam2: the checkpoint has no memory encoder");
    int64_t S = m->cfg.image_size, e = m->emb, d = m->cfg.d_model;
    size_t mark = rt_arena_mark(ctx);

    // Mask downsampler.
    rt_conv_params cp = {.stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1, .dil_h = 1,
                         .dil_w = 1, .groups = 1};
    rt_tensor x = *mask_for_mem;
    int64_t size = S, c = 1;
    for (int i = 0; i < 4; i++) {
        rt_tensor y;
        size /= 2, c *= 4;
        ROTO_TRY(rt_arena_f32(ctx, &y, 4, 1, size, size, c));
        ROTO_TRY(rt_conv2d(ctx, &y, &x, &v->mds_w[i], &v->mds_b[i], &cp, RT_ACT_NONE));
        ROTO_TRY(rt_layernorm(ctx, &y, &y, &v->mds_norm[i].w, &v->mds_norm[i].b, 1e-6f));
        ROTO_TRY(rt_activation(ctx, &y, &y, RT_ACT_GELU));
        x = y;
    }
    if (size != e)
        return roto_fail(ROTO_ERR_INTERNAL, "sam2: mask downsampled to %lld, expected %lld",
                         (long long)size, (long long)e);
    rt_tensor mfeat, fused, t, hid;
    ROTO_TRY(rt_arena_f32(ctx, &mfeat, 4, 1, e, e, d));
    ROTO_TRY(rt_linear(ctx, &mfeat, &x, &v->mds_out.w, &v->mds_out.b, RT_ACT_NONE));

    // Fusion with the frame's features.
    ROTO_TRY(rt_arena_f32(ctx, &fused, 4, 1, e, e, d));
    ROTO_TRY(rt_linear(ctx, &fused, pix_feat, &v->pix_feat_proj.w, &v->pix_feat_proj.b,
                       RT_ACT_NONE));
    ROTO_TRY(rt_binary(ctx, &fused, &fused, &mfeat, RT_BIN_ADD));
    ROTO_TRY(rt_arena_f32(ctx, &t, 4, 1, e, e, d));
    ROTO_TRY(rt_arena_f32(ctx, &hid, 4, 1, e, e, 4 * d));
    rt_conv_params dw = {.stride_h = 1, .stride_w = 1, .pad_h = 3, .pad_w = 3, .dil_h = 1,
                         .dil_w = 1, .groups = (int)d};
    for (int i = 0; i < v->n_fuser; i++) {
        const sam2_cxblock *b = &v->fuser[i];
        ROTO_TRY(rt_conv2d(ctx, &t, &fused, &b->dw_w, &b->dw_b, &dw, RT_ACT_NONE));
        ROTO_TRY(rt_layernorm(ctx, &t, &t, &b->norm.w, &b->norm.b, 1e-6f));
        ROTO_TRY(rt_linear(ctx, &hid, &t, &b->pw1.w, &b->pw1.b, RT_ACT_GELU));
        ROTO_TRY(rt_linear(ctx, &t, &hid, &b->pw2.w, &b->pw2.b, RT_ACT_NONE));
        ROTO_TRY(rt_binary(ctx, &t, &t, &b->gamma, RT_BIN_MUL));
        ROTO_TRY(rt_binary(ctx, &fused, &fused, &t, RT_BIN_ADD));
    }
    ROTO_TRY(rt_linear(ctx, out, &fused, &v->out_proj.w, &v->out_proj.b, RT_ACT_NONE));
    sam2_tap(m, "memenc.features", out);
    rt_arena_release(ctx, mark);

    if (!obj_present) {  // (1 - is_obj_appearing) * no_obj_embed_spatial, broadcast
        rt_tensor emb;
        ROTO_TRY(rt_arena_f32(ctx, &emb, 1, v->mem_dim, 0, 0, 0));
        ROTO_TRY(rt_ctx_upload(ctx, emb.data, v->no_obj_embed_spatial_host,
                               (size_t)v->mem_dim * sizeof(float)));
        ROTO_TRY(rt_binary(ctx, out, out, &emb, RT_BIN_ADD));
        rt_arena_release(ctx, mark);
    }
    return ROTO_OK;
}
