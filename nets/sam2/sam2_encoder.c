// sam2_encoder.c: the SAM 2.1 image encoder as SAM2ImagePredictor.set_image runs
// it: preprocessing (u8 -> /255 -> squash-resize bilinear antialias -> normalise),
// Hiera trunk (patch embed, position embedding, windowed / global attention blocks
// with q-pooling at stage changes), FpnNeck (1x1 laterals, nearest top-down on
// levels 2 and 3, scalp 1), conv_s0 / conv_s1, and no_mem_embed on the embedding.
// The raw stride-16 level (before no_mem_embed) is an optional output for the video
// path (memory encoder, memory attention).
// Maps are NHWC [1, H, W, C], so a map and its token sequence are the same matrix.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "sam2_internal.h"

static roto_status arena4(rt_ctx *ctx, rt_tensor *t, int64_t a, int64_t b, int64_t c, int64_t d) {
    return rt_arena_f32(ctx, t, 4, a, b, c, d);
}

// A view of a contiguous tensor with another shape (same element count).
static rt_tensor reshape(const rt_tensor *t, int ndim, const int64_t *shape) {
    return rt_tensor_make(t->data, t->dtype, t->device, ndim, shape);
}

// Hiera._get_pos_embed: bicubic (A = -0.75, align_corners False) resize of the
// background embedding to the trunk grid, plus the window embedding tiled over it.
roto_status sam2_compute_pos_embed(sam2_model *m, const rt_tensor *bkg, const rt_tensor *win) {
    rt_ctx *ctx = m->ctx;
    int E = m->cfg.embed_dim, G = m->grid, ws = m->cfg.window_spec[0];
    int bh = m->cfg.pos_bkg[0], bw = m->cfg.pos_bkg[1];
    // NCHW parameters -> NHWC.
    rt_tensor bkg_nhwc, win_nhwc, v;
    ROTO_TRY(arena4(ctx, &bkg_nhwc, 1, bh, bw, E));
    ROTO_TRY(arena4(ctx, &win_nhwc, 1, ws, ws, E));
    static const int to_nhwc[4] = {0, 2, 3, 1};
    ROTO_TRY(rt_view_permute(&v, bkg, to_nhwc));
    ROTO_TRY(rt_copy(ctx, &bkg_nhwc, &v));
    ROTO_TRY(rt_view_permute(&v, win, to_nhwc));
    ROTO_TRY(rt_copy(ctx, &win_nhwc, &v));

    ROTO_TRY(sam2_alloc_tensor(m, &m->pos_embed, 4, (int64_t[]){1, G, G, E}));
    rt_interp_params ip = {.mode = RT_INTERP_BICUBIC, .align_corners = 0, .antialias = 0,
                           .cubic_a = -0.75f};
    ROTO_TRY(rt_interpolate(ctx, &m->pos_embed, &bkg_nhwc, &ip));
    // [G, G, E] seen as [G/ws, ws, G/ws, ws*E]; the window [ws, ws, E] as
    // [1, ws, 1, ws*E] broadcasts over the tiles.
    rt_tensor tiles = reshape(&m->pos_embed, 4, (int64_t[]){G / ws, ws, G / ws, (int64_t)ws * E});
    rt_tensor w4 = reshape(&win_nhwc, 4, (int64_t[]){1, ws, 1, (int64_t)ws * E});
    return rt_binary(ctx, &tiles, &tiles, &w4, RT_BIN_ADD);
}

// q, k or v (part = 0, 1, 2) of a packed qkv buffer [B, L, 3, heads, hd] as the
// strided [B, heads, L, hd] view rt_attention takes.
static rt_tensor qkv_part(const rt_tensor *qkv, int64_t B, int64_t L, int heads, int64_t hd,
                          int part) {
    int64_t C = heads * hd;
    rt_tensor t = *qkv;
    t.ndim = 4;
    t.shape[0] = B, t.shape[1] = heads, t.shape[2] = L, t.shape[3] = hd;
    t.stride[0] = L * 3 * C, t.stride[1] = hd, t.stride[2] = 3 * C, t.stride[3] = 1;
    t.data = (float *)qkv->data + part * C;
    return t;
}

// [B, L, heads*hd] contiguous seen as [B, heads, L, hd].
static rt_tensor heads_view(const rt_tensor *x, int64_t B, int64_t L, int heads, int64_t hd) {
    rt_tensor t = *x;
    t.ndim = 4;
    t.shape[0] = B, t.shape[1] = heads, t.shape[2] = L, t.shape[3] = hd;
    t.stride[0] = L * heads * hd, t.stride[1] = hd, t.stride[2] = heads * hd, t.stride[3] = 1;
    return t;
}

// One MultiScaleBlock: x [1, H, W, dim] -> y [1, H', W', dim_out] (H' = H/2 when
// q-pooled). y is preallocated and must not overlap x.
static roto_status hiera_block(sam2_model *m, const sam2_block *b, const rt_tensor *x,
                               rt_tensor *y) {
    rt_ctx *ctx = m->ctx;
    int64_t H = x->shape[1], W = x->shape[2], C = b->dim, Co = b->dim_out;
    int64_t hd = Co / b->heads;
    size_t mark = rt_arena_mark(ctx);

    rt_tensor xn;
    ROTO_TRY(arena4(ctx, &xn, 1, H, W, C));
    ROTO_TRY(rt_layernorm(ctx, &xn, x, &b->norm1.w, &b->norm1.b, 1e-6f));

    // Shortcut: the block's proj is applied to the NORMED input, then pooled.
    rt_tensor sc = *x;
    if (C != Co) {
        rt_tensor full;
        ROTO_TRY(arena4(ctx, &full, 1, H, W, Co));
        ROTO_TRY(rt_linear(ctx, &full, &xn, &b->shortcut.w, &b->shortcut.b, RT_ACT_NONE));
        ROTO_TRY(arena4(ctx, &sc, 1, H / 2, W / 2, Co));
        ROTO_TRY(rt_maxpool2x2(ctx, &sc, &full));
    }

    // Windows (zero-padded AFTER norm1; the padding is not masked in attention).
    int ws = b->window;
    rt_tensor win = xn;
    int64_t nB = 1, h = H, w = W;
    if (ws > 0) {
        nB = ((H + ws - 1) / ws) * ((W + ws - 1) / ws);
        h = w = ws;
        ROTO_TRY(arena4(ctx, &win, nB, ws, ws, C));
        ROTO_TRY(rt_window_partition(ctx, &win, &xn, ws));
    }
    rt_tensor qkv;
    ROTO_TRY(arena4(ctx, &qkv, nB, h, w, 3 * Co));
    ROTO_TRY(rt_linear(ctx, &qkv, &win, &b->qkv.w, &b->qkv.b, RT_ACT_NONE));

    int64_t L = h * w, hq = h, wq = w;
    rt_tensor q = qkv_part(&qkv, nB, L, b->heads, hd, 0);
    rt_tensor k = qkv_part(&qkv, nB, L, b->heads, hd, 1);
    rt_tensor v = qkv_part(&qkv, nB, L, b->heads, hd, 2);
    rt_tensor qpool;
    if (b->q_pool) {  // q (per window) max-pooled 2x2 over its spatial grid
        rt_tensor qmap = qkv, qc;
        qmap.ndim = 4;
        qmap.shape[0] = nB, qmap.shape[1] = h, qmap.shape[2] = w, qmap.shape[3] = Co;
        qmap.stride[0] = L * 3 * Co, qmap.stride[1] = w * 3 * Co, qmap.stride[2] = 3 * Co;
        qmap.stride[3] = 1;
        ROTO_TRY(arena4(ctx, &qc, nB, h, w, Co));
        ROTO_TRY(rt_copy(ctx, &qc, &qmap));
        hq = h / 2, wq = w / 2;
        ROTO_TRY(arena4(ctx, &qpool, nB, hq, wq, Co));
        ROTO_TRY(rt_maxpool2x2(ctx, &qpool, &qc));
        q = heads_view(&qpool, nB, hq * wq, b->heads, hd);
    }
    rt_tensor att, att4;
    ROTO_TRY(arena4(ctx, &att, nB, hq, wq, Co));
    att4 = heads_view(&att, nB, hq * wq, b->heads, hd);
    ROTO_TRY(rt_attention(ctx, &att4, &q, &k, &v, NULL, 1.0f / sqrtf((float)hd)));
    rt_tensor proj;
    ROTO_TRY(arena4(ctx, &proj, nB, hq, wq, Co));
    ROTO_TRY(rt_linear(ctx, &proj, &att, &b->proj.w, &b->proj.b, RT_ACT_NONE));

    // Back to the map (window size halves with q-pooling), padding cropped.
    rt_tensor a = proj;
    int64_t Ho = sc.shape[1], Wo = sc.shape[2];
    if (ws > 0) {
        int wso = b->q_pool ? ws / 2 : ws;
        ROTO_TRY(arena4(ctx, &a, 1, Ho, Wo, Co));
        ROTO_TRY(rt_window_unpartition(ctx, &a, &proj, wso));
    } else {
        a = reshape(&proj, 4, (int64_t[]){1, Ho, Wo, Co});
    }
    ROTO_TRY(rt_binary(ctx, y, &sc, &a, RT_BIN_ADD));
    rt_arena_release(ctx, mark);

    // MLP: y += fc2(GELU(fc1(LayerNorm(y)))).
    rt_tensor yn, hid, mo;
    ROTO_TRY(arena4(ctx, &yn, 1, Ho, Wo, Co));
    ROTO_TRY(rt_layernorm(ctx, &yn, y, &b->norm2.w, &b->norm2.b, 1e-6f));
    ROTO_TRY(arena4(ctx, &hid, 1, Ho, Wo, 4 * Co));
    ROTO_TRY(rt_linear(ctx, &hid, &yn, &b->mlp0.w, &b->mlp0.b, RT_ACT_GELU));
    ROTO_TRY(arena4(ctx, &mo, 1, Ho, Wo, Co));
    ROTO_TRY(rt_linear(ctx, &mo, &hid, &b->mlp1.w, &b->mlp1.b, RT_ACT_NONE));
    ROTO_TRY(rt_binary(ctx, y, y, &mo, RT_BIN_ADD));
    rt_arena_release(ctx, mark);
    return ROTO_OK;
}

// SAM2Transforms: ToTensor (/255), Resize((S, S)) bilinear antialias, Normalize.
static roto_status preprocess(sam2_model *m, const uint8_t *rgb, int h, int w, rt_tensor *out) {
    rt_ctx *ctx = m->ctx;
    int S = m->cfg.image_size;
    size_t n = (size_t)h * w * 3;
    // u8 -> f32 on the host: the op API converts between float types only, and the
    // division is exactly ToTensor's (float)v / 255.
    float *host = malloc(n * sizeof(float));
    if (!host) return roto_fail(ROTO_ERR_OOM, "sam2: out of host memory (image %dx%d)", w, h);
    for (size_t i = 0; i < n; i++) host[i] = (float)rgb[i] / 255.0f;
    rt_tensor img;
    roto_status st = arena4(ctx, &img, 1, h, w, 3);
    if (st == ROTO_OK) st = rt_ctx_upload(ctx, img.data, host, n * sizeof(float));
    free(host);
    ROTO_TRY(st);
    ROTO_TRY(arena4(ctx, out, 1, S, S, 3));
    rt_interp_params ip = {.mode = RT_INTERP_BILINEAR, .align_corners = 0, .antialias = 1};
    ROTO_TRY(rt_interpolate(ctx, out, &img, &ip));
    ROTO_TRY(rt_binary(ctx, out, out, &m->pix_mean, RT_BIN_SUB));
    return rt_binary(ctx, out, out, &m->pix_inv_std, RT_BIN_MUL);
}

roto_status sam2_encode_image(sam2_model *m, const uint8_t *rgb, int h, int w, rt_tensor *raw) {
    rt_ctx *ctx = m->ctx;
    const sam2_config *c = &m->cfg;
    int G = m->grid, E = c->embed_dim, d = c->d_model;
    if (raw && (raw->dtype != RT_F32 || !rt_is_contiguous(raw) || raw->ndim != 4 ||
                raw->shape[0] != 1 || raw->shape[1] != G / 4 || raw->shape[2] != G / 4 ||
                raw->shape[3] != d))
        return roto_fail(ROTO_ERR_SHAPE,
                         "sam2_encode_image: the raw map must be f32 [1, %d, %d, %d]", G / 4,
                         G / 4, d);
    rt_ctx_reset(ctx);

    rt_tensor input;
    ROTO_TRY(preprocess(m, rgb, h, w, &input));
    sam2_tap(m, "input", &input);

    // Ping-pong buffers for the block outputs, each the size of the stage-1 map
    // (later stages are half as big); the neck's laterals are kept as they come.
    // Level 2 (stride 16) is written straight into the caller's raw map when given.
    size_t map = (size_t)G * G * E;
    rt_tensor buf[2], lateral[4];
    ROTO_TRY(rt_arena_f32(ctx, &buf[0], 1, (int64_t)map, 0, 0, 0));
    ROTO_TRY(rt_arena_f32(ctx, &buf[1], 1, (int64_t)map, 0, 0, 0));
    for (int lv = 0; lv < 4; lv++) {
        int64_t s = G >> lv;
        if (lv == 2 && raw)
            lateral[lv] = *raw;
        else
            ROTO_TRY(arena4(ctx, &lateral[lv], 1, s, s, d));
    }

    // Patch embed (conv 7x7 s4 p3) + position embedding.
    rt_tensor x = reshape(&buf[0], 4, (int64_t[]){1, G, G, E});
    rt_conv_params cp = {.stride_h = 4, .stride_w = 4, .pad_h = 3, .pad_w = 3, .dil_h = 1,
                         .dil_w = 1, .groups = 1};
    ROTO_TRY(rt_conv2d(ctx, &x, &input, &m->patch_w, &m->patch_b, &cp, RT_ACT_NONE));
    sam2_tap(m, "patch_embed", &x);
    sam2_tap(m, "pos_embed", &m->pos_embed);
    ROTO_TRY(rt_binary(ctx, &x, &x, &m->pos_embed, RT_BIN_ADD));

    int cur = 0, stage = 0;
    for (int i = 0; i < m->n_blocks; i++) {
        const sam2_block *b = &m->blocks[i];
        int64_t H = x.shape[1], W = x.shape[2];
        int64_t Ho = b->q_pool ? H / 2 : H, Wo = b->q_pool ? W / 2 : W;
        rt_tensor y = reshape(&buf[1 - cur], 4, (int64_t[]){1, Ho, Wo, b->dim_out});
        ROTO_TRY(hiera_block(m, b, &x, &y));
        x = y;
        cur = 1 - cur;
        if (i == m->stage_end[stage]) {
            char name[16] = "stage0";
            name[5] = (char)('0' + stage);
            sam2_tap(m, name, &x);
            // FpnNeck lateral: convs[3 - stage] (1x1) on this stage's output.
            ROTO_TRY(rt_linear(ctx, &lateral[stage], &x, &m->neck[3 - stage].w,
                               &m->neck[3 - stage].b, RT_ACT_NONE));
            stage++;
        }
    }

    // Top-down on levels 2 and 3 only: level 2 += nearest 2x of level 3.
    size_t mark = rt_arena_mark(ctx);
    rt_tensor up;
    int64_t s2 = G >> 2;
    ROTO_TRY(arena4(ctx, &up, 1, s2, s2, d));
    rt_interp_params nearest = {.mode = RT_INTERP_NEAREST};
    ROTO_TRY(rt_interpolate(ctx, &up, &lateral[3], &nearest));
    ROTO_TRY(rt_binary(ctx, &lateral[2], &lateral[2], &up, RT_BIN_ADD));
    rt_arena_release(ctx, mark);
    static const char *neck_names[4] = {"neck0", "neck1", "neck2", "neck3"};
    for (int lv = 0; lv < 4; lv++) sam2_tap(m, neck_names[lv], &lateral[lv]);

    // scalp 1 drops level 3. The decoder's high-res projections are precomputed
    // (SAM2Base.forward_image) and the embedding gets no_mem_embed (set_image).
    ROTO_TRY(rt_linear(ctx, &m->feat_s0, &lateral[0], &m->conv_s0.w, &m->conv_s0.b, RT_ACT_NONE));
    ROTO_TRY(rt_linear(ctx, &m->feat_s1, &lateral[1], &m->conv_s1.w, &m->conv_s1.b, RT_ACT_NONE));
    ROTO_TRY(rt_binary(ctx, &m->image_embed, &lateral[2], &m->no_mem_embed, RT_BIN_ADD));
    sam2_tap(m, "feat_s0", &m->feat_s0);
    sam2_tap(m, "feat_s1", &m->feat_s1);
    sam2_tap(m, "image_embed", &m->image_embed);
    sam2_tap(m, "dense_pe", &m->dense_pe);
    return rt_ctx_synchronize(ctx);
}

roto_status sam2_set_image(sam2_model *m, const uint8_t *rgb, int h, int w) {
    if (!m || !rgb) return roto_fail(ROTO_ERR_INVALID_ARG, "sam2_set_image: NULL argument");
    if (h < 1 || w < 1 || h > 32768 || w > 32768)
        return roto_fail(ROTO_ERR_INVALID_ARG, "sam2_set_image: bad image size %dx%d", w, h);
    m->have_image = 0;
    ROTO_TRY(sam2_encode_image(m, rgb, h, w, NULL));
    m->img_h = h;
    m->img_w = w;
    m->have_image = 1;
    return ROTO_OK;
}
