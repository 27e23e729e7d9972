// sam2_video_decoder.c: the SAM heads as the video path runs them
// (SAM2Base._forward_sam_heads), on any backbone map (memory-conditioned features, or
// the raw features + no_mem_embed on a first prompted frame):
// - prompt encoder: points are passed with boxes=None, so a pad point (label -1) is
//   always appended, and a frame without clicks gets one "not a point" plus the pad;
//   the dense prompt is mask_downscaling(mask logits) or no_mask_embed;
// - mask decoder: the TwoWayTransformer, upscaling with the frame's high-res features,
//   hypernetworks, IoU and object-score heads (the same network as sam2_decoder.c, which
//   keeps its helpers private to the image predictor);
// - selection: multimask -> best IoU of masks 1..3 and that mask token for the pointer;
//   single -> mask 0 unless unstable (then the best multimask output), token 0 always;
// - occlusion: score <= 0 -> every logit NO_OBJ_SCORE and the pointer is no_obj_ptr
//   (fixed_no_obj_ptr: ptr * is_obj + (1 - is_obj) * no_obj_ptr);
// - object pointer: obj_ptr_proj (3-layer MLP, ReLU) of the chosen token.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sam2_video_internal.h"

#define DEC_HEADS 8
#define PI_F 3.14159265358979323846f

// PositionEmbeddingRandom._pe_encoding of a point normalised to [0, 1].
static void fourier_pe(const float *gauss, int d, float cx, float cy, float *out) {
    int half = d / 2;
    cx = 2.0f * cx - 1.0f;
    cy = 2.0f * cy - 1.0f;
    for (int k = 0; k < half; k++) {
        float v = (2.0f * PI_F) * (cx * gauss[k] + cy * gauss[half + k]);
        out[k] = sinf(v);
        out[half + k] = cosf(v);
    }
}

static roto_status add_norm(sam2_model *m, rt_tensor *x, const rt_tensor *r, const sam2_param *n) {
    ROTO_TRY(rt_binary(m->ctx, x, x, r, RT_BIN_ADD));
    return rt_layernorm(m->ctx, x, x, &n->w, &n->b, 1e-5f);
}

// TwoWayAttentionBlock, queries [1, T, d] and keys [1, HW, d] updated in place.
static roto_status twoway(sam2_model *m, const sam2_twoway_layer *ly, int first,
                          rt_tensor *queries, rt_tensor *keys, const rt_tensor *qpe,
                          const rt_tensor *kpe) {
    rt_ctx *ctx = m->ctx;
    int64_t T = queries->shape[1], HW = keys->shape[1], d = queries->shape[2];
    size_t mark = rt_arena_mark(ctx);
    rt_tensor q, k, t, tk, hid;
    ROTO_TRY(rt_arena_f32(ctx, &q, 3, 1, T, d, 0));
    ROTO_TRY(rt_arena_f32(ctx, &t, 3, 1, T, d, 0));
    ROTO_TRY(rt_arena_f32(ctx, &k, 3, 1, HW, d, 0));
    ROTO_TRY(rt_arena_f32(ctx, &tk, 3, 1, HW, d, 0));
    ROTO_TRY(rt_arena_f32(ctx, &hid, 3, 1, T, ly->mlp0.w.shape[0], 0));
    if (first) {  // skip_first_layer_pe: no PE, no residual
        ROTO_TRY(sam2_attention(m, &ly->self_attn, DEC_HEADS, NULL, &t, queries, queries,
                                queries));
        ROTO_TRY(rt_copy(ctx, queries, &t));
        ROTO_TRY(rt_layernorm(ctx, queries, queries, &ly->norm1.w, &ly->norm1.b, 1e-5f));
    } else {
        ROTO_TRY(rt_binary(ctx, &q, queries, qpe, RT_BIN_ADD));
        ROTO_TRY(sam2_attention(m, &ly->self_attn, DEC_HEADS, NULL, &t, &q, &q, queries));
        ROTO_TRY(add_norm(m, queries, &t, &ly->norm1));
    }
    ROTO_TRY(rt_binary(ctx, &q, queries, qpe, RT_BIN_ADD));
    ROTO_TRY(rt_binary(ctx, &k, keys, kpe, RT_BIN_ADD));
    ROTO_TRY(sam2_attention(m, &ly->t2i, DEC_HEADS, NULL, &t, &q, &k, keys));
    ROTO_TRY(add_norm(m, queries, &t, &ly->norm2));
    ROTO_TRY(rt_linear(ctx, &hid, queries, &ly->mlp0.w, &ly->mlp0.b, RT_ACT_RELU));
    ROTO_TRY(rt_linear(ctx, &t, &hid, &ly->mlp1.w, &ly->mlp1.b, RT_ACT_NONE));
    ROTO_TRY(add_norm(m, queries, &t, &ly->norm3));
    ROTO_TRY(rt_binary(ctx, &q, queries, qpe, RT_BIN_ADD));
    ROTO_TRY(sam2_attention(m, &ly->i2t, DEC_HEADS, NULL, &tk, &k, &q, queries));
    ROTO_TRY(add_norm(m, keys, &tk, &ly->norm4));
    rt_arena_release(ctx, mark);
    return ROTO_OK;
}

// mask_downscaling of low-res logits [1, L, L, 1] into dense [1, e, e, d].
static roto_status dense_from_mask(sam2_model *m, const rt_tensor *mask, rt_tensor *dense) {
    rt_ctx *ctx = m->ctx;
    int64_t L = m->low_res;
    size_t mark = rt_arena_mark(ctx);
    rt_tensor a, c;
    rt_conv_params cp = {.stride_h = 2, .stride_w = 2, .dil_h = 1, .dil_w = 1, .groups = 1};
    ROTO_TRY(rt_arena_f32(ctx, &a, 4, 1, L / 2, L / 2, 4));
    ROTO_TRY(rt_conv2d(ctx, &a, mask, &m->md_conv0_w, &m->md_conv0_b, &cp, RT_ACT_NONE));
    ROTO_TRY(rt_layernorm(ctx, &a, &a, &m->md_norm0.w, &m->md_norm0.b, 1e-6f));
    ROTO_TRY(rt_activation(ctx, &a, &a, RT_ACT_GELU));
    ROTO_TRY(rt_arena_f32(ctx, &c, 4, 1, L / 4, L / 4, 16));
    ROTO_TRY(rt_conv2d(ctx, &c, &a, &m->md_conv1_w, &m->md_conv1_b, &cp, RT_ACT_NONE));
    ROTO_TRY(rt_layernorm(ctx, &c, &c, &m->md_norm1.w, &m->md_norm1.b, 1e-6f));
    ROTO_TRY(rt_activation(ctx, &c, &c, RT_ACT_GELU));
    ROTO_TRY(rt_linear(ctx, dense, &c, &m->md_conv2.w, &m->md_conv2.b, RT_ACT_NONE));
    rt_arena_release(ctx, mark);
    return ROTO_OK;
}

roto_status sam2_video_heads(sam2_model *m, const rt_tensor *backbone, const float *points_xy,
                             const int *labels, int n_points, const rt_tensor *mask,
                             int multimask, sam2_heads_out *out) {
    rt_ctx *ctx = m->ctx;
    const sam2_video_weights *vw = m->video;
    int d = m->cfg.d_model, e = m->emb;
    int64_t L = m->low_res, HW = (int64_t)e * e;
    float S = (float)m->cfg.image_size;
    if (!vw) return roto_fail(ROTO_ERR_UNSUPPORTED, "sam2: the checkpoint has no video tensors");
    if (n_points < 0 || n_points > SAM2_MAX_POINTS + 2)
        return roto_fail(ROTO_ERR_INVALID_ARG, "sam2: %d prompt points", n_points);
    size_t mark = rt_arena_mark(ctx);

    // Tokens: 6 output tokens, the points (or one "not a point"), the pad point.
    int n_sparse = (n_points > 0 ? n_points : 1) + 1, T = 6 + n_sparse;
    float *tok = malloc((size_t)T * d * sizeof(float));
    float *all = malloc((size_t)4 * L * L * sizeof(float));
    if (!tok || !all) {
        free(tok), free(all);
        return roto_fail(ROTO_ERR_OOM, "sam2: out of host memory");
    }
    memcpy(tok, m->out_tokens_host, (size_t)6 * d * sizeof(float));
    for (int i = 0; i < n_sparse; i++) {
        float *o = tok + (size_t)(6 + i) * d;
        int lab = i < n_points ? labels[i] : -1;
        if (lab < 0) {
            memcpy(o, m->not_a_point_host, (size_t)d * sizeof(float));
            continue;
        }
        fourier_pe(m->pe_gauss_host, d, (points_xy[2 * i] + 0.5f) / S,
                   (points_xy[2 * i + 1] + 0.5f) / S, o);
        const float *pe = m->point_embed_host + (size_t)lab * d;
        for (int k = 0; k < d; k++) o[k] += pe[k];
    }
    rt_tensor tokens, dense, keys, queries;
    roto_status st = rt_arena_f32(ctx, &tokens, 3, 1, T, d, 0);
    if (st == ROTO_OK) st = rt_ctx_upload(ctx, tokens.data, tok, (size_t)T * d * sizeof(float));
    free(tok);
    if (st != ROTO_OK) {
        free(all);
        return st;
    }

#define TRY(expr)                                   \
    do {                                            \
        if ((st = (expr)) != ROTO_OK) goto done;    \
    } while (0)
    TRY(rt_arena_f32(ctx, &dense, 4, 1, e, e, d));
    if (mask) {
        TRY(dense_from_mask(m, mask, &dense));
    } else {
        rt_tensor b = m->no_mask_embed;
        b.ndim = 4;
        b.shape[0] = 1, b.shape[1] = e, b.shape[2] = e, b.shape[3] = d;
        b.stride[0] = b.stride[1] = b.stride[2] = 0, b.stride[3] = 1;
        TRY(rt_copy(ctx, &dense, &b));
    }
    TRY(rt_arena_f32(ctx, &keys, 3, 1, HW, d, 0));
    rt_tensor keys4 = rt_tensor_make(keys.data, RT_F32, keys.device, 4, (int64_t[]){1, e, e, d});
    TRY(rt_binary(ctx, &keys4, backbone, &dense, RT_BIN_ADD));
    TRY(rt_arena_f32(ctx, &queries, 3, 1, T, d, 0));
    TRY(rt_copy(ctx, &queries, &tokens));
    rt_tensor kpe = rt_tensor_make(m->dense_pe.data, RT_F32, m->dense_pe.device, 3,
                                   (int64_t[]){1, HW, d});
    for (int i = 0; i < 2; i++) TRY(twoway(m, &m->layers[i], i == 0, &queries, &keys, &tokens, &kpe));
    {
        size_t fm = rt_arena_mark(ctx);
        rt_tensor q, k, t;
        TRY(rt_arena_f32(ctx, &q, 3, 1, T, d, 0));
        TRY(rt_arena_f32(ctx, &k, 3, 1, HW, d, 0));
        TRY(rt_arena_f32(ctx, &t, 3, 1, T, d, 0));
        TRY(rt_binary(ctx, &q, &queries, &tokens, RT_BIN_ADD));
        TRY(rt_binary(ctx, &k, &keys, &kpe, RT_BIN_ADD));
        TRY(sam2_attention(m, &m->final_attn, DEC_HEADS, NULL, &t, &q, &k, &keys));
        TRY(add_norm(m, &queries, &t, &m->norm_final));
        rt_arena_release(ctx, fm);
    }

    rt_tensor u0, u1, hyper, masks, iou, obj;
    TRY(rt_arena_f32(ctx, &u0, 4, 1, 2 * e, 2 * e, d / 4));
    TRY(rt_conv_transpose(ctx, &u0, &keys4, &m->up0_w, &m->up0_b, 2));
    TRY(rt_binary(ctx, &u0, &u0, &m->feat_s1, RT_BIN_ADD));
    TRY(rt_layernorm(ctx, &u0, &u0, &m->up_norm.w, &m->up_norm.b, 1e-6f));
    TRY(rt_activation(ctx, &u0, &u0, RT_ACT_GELU));
    TRY(rt_arena_f32(ctx, &u1, 4, 1, L, L, d / 8));
    TRY(rt_conv_transpose(ctx, &u1, &u0, &m->up1_w, &m->up1_b, 2));
    TRY(rt_binary(ctx, &u1, &u1, &m->feat_s0, RT_BIN_ADD));
    TRY(rt_activation(ctx, &u1, &u1, RT_ACT_GELU));
    TRY(rt_arena_f32(ctx, &hyper, 3, 1, 4, d / 8, 0));
    for (int i = 0; i < 4; i++) {
        rt_tensor in = sam2_rows(&queries, 2 + i, 1), o = sam2_rows(&hyper, i, 1);
        TRY(sam2_mlp3_forward(m, &m->hyper[i], &o, &in, RT_ACT_NONE));
    }
    TRY(rt_arena_f32(ctx, &masks, 3, 1, 4, L * L, 0));
    rt_tensor up3 = rt_tensor_make(u1.data, RT_F32, u1.device, 3, (int64_t[]){1, L * L, d / 8});
    TRY(rt_matmul(ctx, &masks, &hyper, &up3, 1, 1.0f, 0.0f));
    TRY(rt_arena_f32(ctx, &iou, 3, 1, 1, 4, 0));
    TRY(rt_arena_f32(ctx, &obj, 3, 1, 1, 1, 0));
    rt_tensor iou_tok = sam2_rows(&queries, 1, 1), obj_tok = sam2_rows(&queries, 0, 1);
    TRY(sam2_mlp3_forward(m, &m->iou_head, &iou, &iou_tok, RT_ACT_SIGMOID));
    TRY(sam2_mlp3_forward(m, &m->obj_head, &obj, &obj_tok, RT_ACT_NONE));
    sam2_tap(m, "video.low_res_all", &masks);
    sam2_tap(m, "video.tokens", &queries);

    float iou_h[4];
    TRY(rt_ctx_download(ctx, all, masks.data, (size_t)4 * L * L * sizeof(float)));
    TRY(rt_ctx_download(ctx, iou_h, iou.data, sizeof iou_h));
    TRY(rt_ctx_download(ctx, &out->obj_score, obj.data, sizeof(float)));
    int sel, tok_idx;
    if (multimask) {  // argmax over masks 1..3, first on ties
        sel = 1;
        for (int i = 2; i < 4; i++)
            if (iou_h[i] > iou_h[sel]) sel = i;
        tok_idx = sel;
    } else {
        sel = sam2_select_single_mask(all, L * L, iou_h);
        tok_idx = 0;
    }
    out->iou = iou_h[sel];
    int present = out->obj_score > 0.0f;
    const float *src = all + (size_t)sel * L * L;
    for (int64_t i = 0; i < L * L; i++) out->low_res_host[i] = present ? src[i] : SAM2_NO_OBJ_SCORE;

    // Object pointer from the chosen mask token (query row 2 + tok_idx).
    rt_tensor ptr;
    TRY(rt_arena_f32(ctx, &ptr, 3, 1, 1, d, 0));
    rt_tensor tok_row = sam2_rows(&queries, 2 + tok_idx, 1);
    TRY(sam2_mlp3_forward(m, &vw->obj_ptr_proj, &ptr, &tok_row, RT_ACT_NONE));
    TRY(rt_ctx_download(ctx, out->obj_ptr_host, ptr.data, (size_t)d * sizeof(float)));
    if (!present) memcpy(out->obj_ptr_host, vw->no_obj_ptr_host, (size_t)d * sizeof(float));
#undef TRY
done:
    free(all);
    rt_arena_release(ctx, mark);
    return st;
}
