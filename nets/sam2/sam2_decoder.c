// sam2_decoder.c: SAM 2.1 prompt encoder and mask decoder, and the image predictor's
// use of them (SAM2ImagePredictor.predict on the cached image features).
// - prompt encoder: random-Fourier PE of the points (+0.5, normalised by the input
//   size) plus the label embeddings, "not a point" for label -1, an optional pad point;
//   dense prompt = mask_downscaling(mask logits) or no_mask_embed;
// - mask decoder (sam2_decode, shared with the video heads of sam2_video_decoder.c):
//   TwoWayTransformer (2 layers, 8 heads, self-attn width d, cross-attn width d/2, first
//   layer without PE and residual on self-attn), upscaling with the high-res features,
//   hypernetwork MLPs, IoU head (sigmoid), object-score head;
// - output selection (sam2_pick_masks): the image predictor's multimask (masks 1..3),
//   the video path's multimask (best IoU), single (mask 0 unless unstable, then the
//   best-IoU multimask output);
// - image postprocessing: bilinear to the image size, threshold > 0; returned low-res
//   logits clamped to [-32, 32].
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sam2_internal.h"

#define DEC_HEADS 8
#define STABILITY_DELTA 0.05f
#define STABILITY_THRESH 0.98f
#define PI_F 3.14159265358979323846f

// ---- prompt encoder ----------------------------------------------------------------------

// PositionEmbeddingRandom._pe_encoding of a point already normalised to [0, 1]:
// [sin(2 pi (2c - 1) G), cos(...)], written into out[d].
static void fourier_pe(const float *gauss, int d, float cx, float cy, float *out) {
    int half = d / 2;
    cx = 2.0f * cx - 1.0f;
    cy = 2.0f * cy - 1.0f;
    for (int k = 0; k < half; k++) {
        float v = cx * gauss[k] + cy * gauss[half + k];
        v = (2.0f * PI_F) * v;
        out[k] = sinf(v);
        out[half + k] = cosf(v);
    }
}

// get_dense_pe(): the PE at the centre of every embedding cell, NHWC [emb, emb, d].
void sam2_compute_dense_pe(const sam2_model *m, float *out) {
    int e = m->emb, d = m->cfg.d_model;
    for (int i = 0; i < e; i++)
        for (int j = 0; j < e; j++)
            fourier_pe(m->pe_gauss_host, d, ((float)j + 0.5f) / (float)e,
                       ((float)i + 0.5f) / (float)e, out + ((size_t)i * e + j) * d);
}

// Sparse embeddings [n, d] for `n` points (x, y in model-input pixels) with labels
// -1 (not a point), 0, 1, 2, 3.
static void embed_points(const sam2_model *m, const float *xy, const int *labels, int n,
                         float *out) {
    int d = m->cfg.d_model;
    float S = (float)m->cfg.image_size;
    for (int i = 0; i < n; i++) {
        float *o = out + (size_t)i * d;
        if (labels[i] == -1) {  // replaced, not added
            memcpy(o, m->not_a_point_host, (size_t)d * sizeof(float));
            continue;
        }
        // +0.5: the centre of the pixel; then normalised by the input size.
        fourier_pe(m->pe_gauss_host, d, (xy[2 * i] + 0.5f) / S, (xy[2 * i + 1] + 0.5f) / S, o);
        const float *pe = m->point_embed_host + (size_t)labels[i] * d;
        for (int k = 0; k < d; k++) o[k] += pe[k];
    }
}

// Dense prompt from low-res mask logits [1, L, L, 1] (mask_downscaling), or
// no_mask_embed broadcast; written into dense [1, emb, emb, d].
static roto_status dense_prompt(sam2_model *m, const rt_tensor *mask, rt_tensor *dense) {
    rt_ctx *ctx = m->ctx;
    int64_t L = m->low_res, d = m->cfg.d_model;
    if (!mask) {
        rt_tensor b = m->no_mask_embed;  // [d] seen as [1, emb, emb, d] with zero strides
        b.ndim = 4;
        b.shape[0] = 1, b.shape[1] = m->emb, b.shape[2] = m->emb, b.shape[3] = d;
        b.stride[0] = b.stride[1] = b.stride[2] = 0, b.stride[3] = 1;
        return rt_copy(ctx, dense, &b);
    }
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

// ---- mask decoder -------------------------------------------------------------------------

static rt_tensor view3(const rt_tensor *t, int64_t a, int64_t b, int64_t c) {
    return rt_tensor_make(t->data, t->dtype, t->device, 3, (int64_t[]){a, b, c});
}

// x = LayerNorm(x + r) in place (post-norm residual, eps 1e-5).
static roto_status add_norm(sam2_model *m, rt_tensor *x, const rt_tensor *r, const sam2_param *n) {
    ROTO_TRY(rt_binary(m->ctx, x, x, r, RT_BIN_ADD));
    return rt_layernorm(m->ctx, x, x, &n->w, &n->b, 1e-5f);
}

// One TwoWayAttentionBlock; queries [1, T, d] and keys [1, HW, d] updated in place.
static roto_status twoway_layer(sam2_model *m, const sam2_twoway_layer *ly, int skip_pe,
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

    // Self-attention. The first layer has no PE and no residual.
    if (skip_pe) {
        ROTO_TRY(sam2_attention(m, &ly->self_attn, DEC_HEADS, NULL, &t, queries, queries,
                                queries));
        ROTO_TRY(rt_copy(ctx, queries, &t));
        ROTO_TRY(rt_layernorm(ctx, queries, queries, &ly->norm1.w, &ly->norm1.b, 1e-5f));
    } else {
        ROTO_TRY(rt_binary(ctx, &q, queries, qpe, RT_BIN_ADD));
        ROTO_TRY(sam2_attention(m, &ly->self_attn, DEC_HEADS, NULL, &t, &q, &q, queries));
        ROTO_TRY(add_norm(m, queries, &t, &ly->norm1));
    }
    // Tokens attend to the image.
    ROTO_TRY(rt_binary(ctx, &q, queries, qpe, RT_BIN_ADD));
    ROTO_TRY(rt_binary(ctx, &k, keys, kpe, RT_BIN_ADD));
    ROTO_TRY(sam2_attention(m, &ly->t2i, DEC_HEADS, NULL, &t, &q, &k, keys));
    ROTO_TRY(add_norm(m, queries, &t, &ly->norm2));
    // MLP (ReLU).
    ROTO_TRY(rt_linear(ctx, &hid, queries, &ly->mlp0.w, &ly->mlp0.b, RT_ACT_RELU));
    ROTO_TRY(rt_linear(ctx, &t, &hid, &ly->mlp1.w, &ly->mlp1.b, RT_ACT_NONE));
    ROTO_TRY(add_norm(m, queries, &t, &ly->norm3));
    // The image attends to the tokens (k = keys + kpe is unchanged since above).
    ROTO_TRY(rt_binary(ctx, &q, queries, qpe, RT_BIN_ADD));
    ROTO_TRY(sam2_attention(m, &ly->i2t, DEC_HEADS, NULL, &tk, &k, &q, queries));
    ROTO_TRY(add_norm(m, keys, &tk, &ly->norm4));
    rt_arena_release(ctx, mark);
    return ROTO_OK;
}

// Sparse tokens [1, 6 + n (+ pad), d] on the device: the 6 output tokens (object
// score, IoU, 4 masks) then the prompt points.
static roto_status prompt_tokens(sam2_model *m, const sam2_dec_in *in, rt_tensor *tokens) {
    int d = m->cfg.d_model, n = in->n_points + (in->pad_point ? 1 : 0), T = 6 + n;
    float *host = malloc((size_t)T * d * sizeof(float));
    if (!host) return roto_fail(ROTO_ERR_OOM, "sam2: out of host memory");
    memcpy(host, m->out_tokens_host, (size_t)6 * d * sizeof(float));
    embed_points(m, in->points_xy, in->labels, in->n_points, host + (size_t)6 * d);
    if (in->pad_point)  // the pad point (0, 0) has label -1: only not_a_point_embed
        memcpy(host + (size_t)(T - 1) * d, m->not_a_point_host, (size_t)d * sizeof(float));
    roto_status st = rt_arena_f32(m->ctx, tokens, 3, 1, T, d, 0);
    if (st == ROTO_OK)
        st = rt_ctx_upload(m->ctx, tokens->data, host, (size_t)T * d * sizeof(float));
    free(host);
    return st;
}

roto_status sam2_decode(sam2_model *m, const sam2_dec_in *in, sam2_dec_out *out) {
    rt_ctx *ctx = m->ctx;
    int d = m->cfg.d_model, e = m->emb;
    int64_t L = m->low_res, HW = (int64_t)e * e;
    if (in->n_points < 0 || (in->n_points > 0 && (!in->points_xy || !in->labels)))
        return roto_fail(ROTO_ERR_INVALID_ARG,
                         "sam2_decode: %d points (coordinates and labels needed for each)",
                         in->n_points);
    for (int i = 0; i < in->n_points; i++)
        if (in->labels[i] < -1 || in->labels[i] > 3)
            return roto_fail(ROTO_ERR_INVALID_ARG, "sam2_decode: point %d has label %d (-1..3)",
                             i, in->labels[i]);

    rt_tensor tokens, dense, keys, queries;
    ROTO_TRY(prompt_tokens(m, in, &tokens));
    rt_tensor sparse = sam2_rows(&tokens, 6, tokens.shape[1] - 6);
    sam2_tap(m, "sparse", &sparse);
    ROTO_TRY(rt_arena_f32(ctx, &dense, 4, 1, e, e, d));
    ROTO_TRY(dense_prompt(m, in->mask, &dense));
    sam2_tap(m, "dense", &dense);

    // src = backbone features + dense prompt, as tokens [1, HW, d].
    ROTO_TRY(rt_arena_f32(ctx, &keys, 3, 1, HW, d, 0));
    rt_tensor keys4 = rt_tensor_make(keys.data, RT_F32, keys.device, 4, (int64_t[]){1, e, e, d});
    ROTO_TRY(rt_binary(ctx, &keys4, in->backbone, &dense, RT_BIN_ADD));
    int64_t T = tokens.shape[1];
    ROTO_TRY(rt_arena_f32(ctx, &queries, 3, 1, T, d, 0));
    ROTO_TRY(rt_copy(ctx, &queries, &tokens));
    rt_tensor kpe = view3(&m->dense_pe, 1, HW, d);

    for (int i = 0; i < 2; i++)
        ROTO_TRY(twoway_layer(m, &m->layers[i], i == 0, &queries, &keys, &tokens, &kpe));
    {  // final attention tokens -> image, residual, norm
        size_t mark = rt_arena_mark(ctx);
        rt_tensor q, k, t;
        ROTO_TRY(rt_arena_f32(ctx, &q, 3, 1, T, d, 0));
        ROTO_TRY(rt_arena_f32(ctx, &k, 3, 1, HW, d, 0));
        ROTO_TRY(rt_arena_f32(ctx, &t, 3, 1, T, d, 0));
        ROTO_TRY(rt_binary(ctx, &q, &queries, &tokens, RT_BIN_ADD));
        ROTO_TRY(rt_binary(ctx, &k, &keys, &kpe, RT_BIN_ADD));
        ROTO_TRY(sam2_attention(m, &m->final_attn, DEC_HEADS, NULL, &t, &q, &k, &keys));
        ROTO_TRY(add_norm(m, &queries, &t, &m->norm_final));
        rt_arena_release(ctx, mark);
    }
    sam2_tap(m, "tokens", &queries);
    sam2_tap(m, "keys", &keys);

    // Upscaling with the high-res features.
    rt_tensor u0, u1;
    ROTO_TRY(rt_arena_f32(ctx, &u0, 4, 1, 2 * e, 2 * e, d / 4));
    ROTO_TRY(rt_conv_transpose(ctx, &u0, &keys4, &m->up0_w, &m->up0_b, 2));
    ROTO_TRY(rt_binary(ctx, &u0, &u0, &m->feat_s1, RT_BIN_ADD));
    ROTO_TRY(rt_layernorm(ctx, &u0, &u0, &m->up_norm.w, &m->up_norm.b, 1e-6f));
    ROTO_TRY(rt_activation(ctx, &u0, &u0, RT_ACT_GELU));
    ROTO_TRY(rt_arena_f32(ctx, &u1, 4, 1, L, L, d / 8));
    ROTO_TRY(rt_conv_transpose(ctx, &u1, &u0, &m->up1_w, &m->up1_b, 2));
    ROTO_TRY(rt_binary(ctx, &u1, &u1, &m->feat_s0, RT_BIN_ADD));
    ROTO_TRY(rt_activation(ctx, &u1, &u1, RT_ACT_GELU));

    // Hypernetworks on the 4 mask tokens (rows 2..5), then masks = hyper @ up^T.
    rt_tensor hyper, masks, iou, obj;
    ROTO_TRY(rt_arena_f32(ctx, &hyper, 3, 1, 4, d / 8, 0));
    for (int i = 0; i < 4; i++) {
        rt_tensor tok = sam2_rows(&queries, 2 + i, 1), h = sam2_rows(&hyper, i, 1);
        ROTO_TRY(sam2_mlp3_forward(m, &m->hyper[i], &h, &tok, RT_ACT_NONE));
    }
    ROTO_TRY(rt_arena_f32(ctx, &masks, 3, 1, 4, L * L, 0));
    rt_tensor up3 = view3(&u1, 1, L * L, d / 8);
    ROTO_TRY(rt_matmul(ctx, &masks, &hyper, &up3, 1, 1.0f, 0.0f));
    ROTO_TRY(rt_arena_f32(ctx, &iou, 3, 1, 1, 4, 0));
    ROTO_TRY(rt_arena_f32(ctx, &obj, 3, 1, 1, 1, 0));
    rt_tensor iou_tok = sam2_rows(&queries, 1, 1), obj_tok = sam2_rows(&queries, 0, 1);
    ROTO_TRY(sam2_mlp3_forward(m, &m->iou_head, &iou, &iou_tok, RT_ACT_SIGMOID));
    ROTO_TRY(sam2_mlp3_forward(m, &m->obj_head, &obj, &obj_tok, RT_ACT_NONE));
    sam2_tap(m, "low_res_all", &masks);
    sam2_tap(m, "iou_all", &iou);
    sam2_tap(m, "obj_score", &obj);

    // The selection is a data-dependent choice: logits and scores go to the host.
    out->tokens = queries;
    out->masks = masks;
    ROTO_TRY(rt_ctx_download(ctx, out->masks_host, masks.data, (size_t)4 * L * L * sizeof(float)));
    ROTO_TRY(rt_ctx_download(ctx, out->iou, iou.data, sizeof out->iou));
    return rt_ctx_download(ctx, &out->obj_score, obj.data, sizeof(float));
}

// ---- output selection --------------------------------------------------------------------

// argmax of the IoU over the multimask outputs 1..3, first on ties.
static int best_multimask(const float *iou) {
    int best = 1;
    for (int i = 2; i < 4; i++)
        if (iou[i] > iou[best]) best = i;
    return best;
}

int sam2_select_single_mask(const float *masks, int64_t n, const float *iou) {
    int64_t ai = 0, au = 0;
    for (int64_t i = 0; i < n; i++) {
        ai += masks[i] > STABILITY_DELTA;
        au += masks[i] > -STABILITY_DELTA;
    }
    float stability = au > 0 ? (float)ai / (float)au : 1.0f;
    return stability >= STABILITY_THRESH ? 0 : best_multimask(iou);
}

sam2_pick sam2_pick_masks(sam2_pick_rule rule, const float *masks, int64_t n, const float *iou) {
    sam2_pick p = {.first = 0, .count = 1, .token = 0};
    if (rule == SAM2_PICK_MULTI_ALL) {
        p.first = 1, p.count = 3, p.token = 1;
    } else if (rule == SAM2_PICK_MULTI_BEST) {
        p.first = p.token = best_multimask(iou);
    } else {  // the token stays 0 even when the fallback picks another mask
        p.first = sam2_select_single_mask(masks, n, iou);
    }
    return p;
}

// ---- prompts in pixels (the image predictor and the tracking session) --------------------

roto_status sam2_check_clicks(const char *who, const char *what, int W, int H,
                              const float *points, const int *labels, int n_points,
                              const float *box) {
    if (n_points < 0 || n_points > SAM2_MAX_POINTS)
        return roto_fail(ROTO_ERR_INVALID_ARG, "%s: %d points (0..%d)", who, n_points,
                         SAM2_MAX_POINTS);
    if (n_points > 0 && (!points || !labels))
        return roto_fail(ROTO_ERR_INVALID_ARG, "%s: %d points but no %s", who, n_points,
                         points ? "labels" : "coordinates");
    for (int i = 0; i < n_points; i++) {
        float x = points[2 * i], y = points[2 * i + 1];
        if (!(x >= 0.0f && x <= (float)W && y >= 0.0f && y <= (float)H))
            return roto_fail(ROTO_ERR_INVALID_ARG,
                             "%s: point %d (%g, %g) is outside the %dx%d %s", who, i, (double)x,
                             (double)y, W, H, what);
        if (labels[i] != 0 && labels[i] != 1)
            return roto_fail(ROTO_ERR_INVALID_ARG,
                             "%s: point %d has label %d (1 foreground, 0 background)", who, i,
                             labels[i]);
    }
    if (box) {
        for (int i = 0; i < 4; i++) {
            float lim = (i % 2) ? (float)H : (float)W;
            if (!(box[i] >= 0.0f && box[i] <= lim))
                return roto_fail(ROTO_ERR_INVALID_ARG,
                                 "%s: box (%g, %g, %g, %g) is outside the %dx%d %s", who,
                                 (double)box[0], (double)box[1], (double)box[2], (double)box[3],
                                 W, H, what);
        }
        if (box[2] < box[0] || box[3] < box[1])
            return roto_fail(ROTO_ERR_INVALID_ARG,
                             "%s: box (%g, %g, %g, %g) has x1 < x0 or y1 < y0", who,
                             (double)box[0], (double)box[1], (double)box[2], (double)box[3]);
    }
    return ROTO_OK;
}

int sam2_points_to_model(const sam2_model *m, int W, int H, const float *box, const float *points,
                         const int *labels, int n_points, float *xy, int *out_labels) {
    // SAM2Transforms.transform_coords: coords / (w, h) * resolution, in f32.
    float S = (float)m->cfg.image_size, Wf = (float)W, Hf = (float)H;
    int n = 0;
    for (int c = 0; box && c < 2; c++, n++) {
        xy[2 * n] = box[2 * c] / Wf * S;
        xy[2 * n + 1] = box[2 * c + 1] / Hf * S;
        out_labels[n] = 2 + c;
    }
    for (int i = 0; i < n_points; i++, n++) {
        xy[2 * n] = points[2 * i] / Wf * S;
        xy[2 * n + 1] = points[2 * i + 1] / Hf * S;
        out_labels[n] = labels[i];
    }
    return n;
}

// ---- image predictor ---------------------------------------------------------------------

void sam2_result_free(sam2_result *r) {
    if (!r) return;
    free(r->masks);
    free(r->mask_logits);
    free(r->low_res_logits);
    memset(r, 0, sizeof *r);
}

static roto_status predict(sam2_model *m, const sam2_prompt *p, sam2_result *r, float *all_host) {
    rt_ctx *ctx = m->ctx;
    int64_t L = m->low_res;
    rt_ctx_reset(ctx);

    // Boxes travel as points (boxes=None), so the pad point follows whenever there is
    // any point; with none the prompt encoder gets points=None: no sparse tokens.
    float xy[2 * (SAM2_MAX_POINTS + 2)];
    int labels[SAM2_MAX_POINTS + 2];
    int n = sam2_points_to_model(m, m->img_w, m->img_h, p->box, p->points, p->labels,
                                 p->n_points, xy, labels);
    sam2_dec_in in = {.backbone = &m->image_embed, .points_xy = xy, .labels = labels,
                      .n_points = n, .pad_point = n > 0};
    rt_tensor mask;
    if (p->mask_input) {
        ROTO_TRY(rt_arena_f32(ctx, &mask, 4, 1, L, L, 1));
        ROTO_TRY(rt_ctx_upload(ctx, mask.data, p->mask_input, (size_t)L * L * sizeof(float)));
        in.mask = &mask;
    }
    sam2_dec_out dec = {.masks_host = all_host};
    ROTO_TRY(sam2_decode(m, &in, &dec));
    r->obj_score = dec.obj_score;
    sam2_pick pk = sam2_pick_masks(p->multimask ? SAM2_PICK_MULTI_ALL : SAM2_PICK_SINGLE,
                                   all_host, L * L, dec.iou);
    int first = pk.first, nm = pk.count;

    // Postprocessing: bilinear (align_corners False, no antialias) straight to the image.
    int H = m->img_h, W = m->img_w;
    size_t npix = (size_t)H * W;
    r->n_masks = nm;
    r->height = H, r->width = W, r->low_res = (int)L;
    r->masks = malloc((size_t)nm * npix);
    r->mask_logits = malloc((size_t)nm * npix * sizeof(float));
    r->low_res_logits = malloc((size_t)nm * L * L * sizeof(float));
    if (!r->masks || !r->mask_logits || !r->low_res_logits)
        return roto_fail(ROTO_ERR_OOM, "sam2: out of host memory (%d masks of %dx%d)", nm, W, H);
    rt_tensor sel = rt_tensor_make((float *)dec.masks.data + (int64_t)first * L * L, RT_F32,
                                   dec.masks.device, 4, (int64_t[]){nm, L, L, 1});
    rt_tensor full;
    ROTO_TRY(rt_arena_f32(ctx, &full, 4, nm, H, W, 1));
    rt_interp_params ip = {.mode = RT_INTERP_BILINEAR, .align_corners = 0, .antialias = 0};
    ROTO_TRY(rt_interpolate(ctx, &full, &sel, &ip));
    sam2_tap(m, "mask_logits", &full);
    ROTO_TRY(rt_ctx_download(ctx, r->mask_logits, full.data, (size_t)nm * npix * sizeof(float)));
    for (size_t i = 0; i < (size_t)nm * npix; i++) r->masks[i] = r->mask_logits[i] > 0.0f;
    for (int k = 0; k < nm; k++) {
        r->iou[k] = dec.iou[first + k];
        const float *src = all_host + (size_t)(first + k) * L * L;
        float *dst = r->low_res_logits + (size_t)k * L * L;
        for (int64_t i = 0; i < L * L; i++) dst[i] = fminf(fmaxf(src[i], -32.0f), 32.0f);
    }
    return ROTO_OK;
}

roto_status sam2_predict(sam2_model *m, const sam2_prompt *p, sam2_result *r) {
    if (!m || !p || !r) return roto_fail(ROTO_ERR_INVALID_ARG, "sam2_predict: NULL argument");
    memset(r, 0, sizeof *r);
    if (!m->have_image)
        return roto_fail(ROTO_ERR_INVALID_ARG,
                         "sam2_predict: no image is set (call sam2_set_image first)");
    ROTO_TRY(sam2_check_clicks("sam2_predict", "image", m->img_w, m->img_h, p->points,
                               p->labels, p->n_points, p->box));
    float *all_host = malloc((size_t)4 * m->low_res * m->low_res * sizeof(float));
    if (!all_host) return roto_fail(ROTO_ERR_OOM, "sam2: out of host memory");
    roto_status st = predict(m, p, r, all_host);
    free(all_host);
    if (st != ROTO_OK) sam2_result_free(r);
    return st;
}
