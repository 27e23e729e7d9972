// sam2_load.c: SAM 2.1 configs (the four released variants), the Hiera block
// schedule, and loading every image-path tensor by its official name from the
// weight store into persistent f32 device buffers (conv weights OIHW -> OHWI).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "engine/namemap.h"
#include "sam2_internal.h"

// ---- configs ------------------------------------------------------------------------

static void set_variant(sam2_config *c, const char *name, int E, int heads, const int *stages,
                        const int *glob, int n_glob, const int *win, int bkg) {
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->image_size = 1024;
    c->embed_dim = E;
    c->num_heads = heads;
    memcpy(c->stages, stages, sizeof c->stages);
    memcpy(c->window_spec, win, sizeof c->window_spec);
    memcpy(c->global_blocks, glob, (size_t)n_glob * sizeof(int));
    c->n_global = n_glob;
    c->pos_bkg[0] = c->pos_bkg[1] = bkg;
    c->d_model = 256;
}

// sam2/configs/sam2.1/sam2.1_hiera_{t,s,b+,l}.yaml (b+ takes the Hiera defaults).
roto_status sam2_config_variant(sam2_config *cfg, const char *name) {
    static const int win_tsb[4] = {8, 4, 14, 7}, win_l[4] = {8, 4, 16, 8};
    if (!cfg || !name) return roto_fail(ROTO_ERR_INVALID_ARG, "sam2: NULL config or name");
    if (!strcmp(name, "tiny")) {
        set_variant(cfg, "tiny", 96, 1, (const int[4]){1, 2, 7, 2}, (const int[]){5, 7, 9}, 3,
                    win_tsb, 7);
    } else if (!strcmp(name, "small")) {
        set_variant(cfg, "small", 96, 1, (const int[4]){1, 2, 11, 2}, (const int[]){7, 10, 13},
                    3, win_tsb, 7);
    } else if (!strcmp(name, "base_plus") || !strcmp(name, "b+")) {
        set_variant(cfg, "base_plus", 112, 2, (const int[4]){2, 3, 16, 3},
                    (const int[]){12, 16, 20}, 3, win_tsb, 14);
    } else if (!strcmp(name, "large")) {
        set_variant(cfg, "large", 144, 2, (const int[4]){2, 6, 36, 4}, (const int[]){23, 33, 43},
                    3, win_l, 7);
    } else {
        return roto_fail(ROTO_ERR_INVALID_ARG,
                         "sam2: unknown variant '%s' (tiny, small, base_plus, large)", name);
    }
    return ROTO_OK;
}

static roto_status check_config(const sam2_config *c) {
    int S = c->image_size;
    if (S < 32 || S % 32)
        return roto_fail(ROTO_ERR_INVALID_ARG, "sam2: image_size %d must be a multiple of 32", S);
    if (c->embed_dim < 1 || c->num_heads < 1 || c->embed_dim % c->num_heads)
        return roto_fail(ROTO_ERR_INVALID_ARG, "sam2: embed_dim %d and num_heads %d do not fit",
                         c->embed_dim, c->num_heads);
    int n = 0;
    for (int i = 0; i < 4; i++) {
        if (c->stages[i] < 1 || c->window_spec[i] < 0)
            return roto_fail(ROTO_ERR_INVALID_ARG, "sam2: stage %d: %d blocks, window %d", i,
                             c->stages[i], c->window_spec[i]);
        n += c->stages[i];
    }
    if (n > SAM2_MAX_BLOCKS)
        return roto_fail(ROTO_ERR_INVALID_ARG, "sam2: %d blocks (at most %d)", n, SAM2_MAX_BLOCKS);
    if (c->n_global < 0 || c->n_global > SAM2_MAX_GLOBAL)
        return roto_fail(ROTO_ERR_INVALID_ARG, "sam2: %d global blocks", c->n_global);
    int ws0 = c->window_spec[0];
    if (ws0 < 1 || (S / 4) % ws0)
        return roto_fail(ROTO_ERR_INVALID_ARG,
                         "sam2: the trunk grid %d is not a multiple of window_spec[0] = %d "
                         "(the window position embedding is tiled)", S / 4, ws0);
    if (c->d_model < 8 || c->d_model % 16)
        return roto_fail(ROTO_ERR_INVALID_ARG, "sam2: d_model %d must be a multiple of 16",
                         c->d_model);
    if (c->pos_bkg[0] < 1 || c->pos_bkg[1] < 1)
        return roto_fail(ROTO_ERR_INVALID_ARG, "sam2: bad pos_embed background size");
    return ROTO_OK;
}

// Hiera.__init__: the stage change happens at the first block of a stage, which
// still uses the previous stage's window ("lags by a block"); global blocks get 0.
static roto_status build_schedule(sam2_model *m) {
    const sam2_config *c = &m->cfg;
    int n = 0, dim = c->embed_dim, heads = c->num_heads, stage = 0;
    for (int s = 0; s < 4; s++) {
        n += c->stages[s];
        m->stage_end[s] = n - 1;
    }
    m->n_blocks = n;
    for (int i = 0; i < n; i++) {
        sam2_block *b = &m->blocks[i];
        int window = c->window_spec[stage];
        for (int g = 0; g < c->n_global; g++)
            if (c->global_blocks[g] == i) window = 0;
        int dim_out = dim;
        b->q_pool = 0;
        if (i > 0 && i - 1 == m->stage_end[stage]) {  // first block of the next stage
            dim_out = dim * 2;
            heads *= 2;
            stage++;
            b->q_pool = 1;
        }
        b->dim = dim;
        b->dim_out = dim_out;
        b->heads = heads;
        b->window = window;
        if (dim_out % heads)
            return roto_fail(ROTO_ERR_INVALID_ARG, "sam2: block %d: %d channels, %d heads", i,
                             dim_out, heads);
        // The pooled q of a window must tile the pooled map the way the windows
        // tiled the input (the official code needs an even window here too).
        if (b->q_pool && window % 2)
            return roto_fail(ROTO_ERR_INVALID_ARG,
                             "sam2: block %d pools q inside windows of odd size %d", i, window);
        dim = dim_out;
    }
    return ROTO_OK;
}

size_t sam2_arena_bytes(const sam2_config *c, int h, int w) {
    double G = c->image_size / 4.0, E = c->embed_dim, d = c->d_model;
    double map = G * G * E * 4.0;  // one stage-1 activation; later stages are half as big
    // Stage-1 window padding can grow a map by at most (1 + ws/G)^2.
    double pad = (1.0 + c->window_spec[0] / G) * (1.0 + c->window_spec[0] / G);
    double trunk = map * (2.0 + 12.0 * pad);                 // ping-pong + one block's temporaries
    double neck = G * G * d * 4.0 * (1.0 + 0.25 + 0.0625 + 0.016) * 1.5;
    double image = (double)h * w * 3.0 * 4.0 + 3.0 * c->image_size * c->image_size * 4.0 * 2.0;
    double emb = c->image_size / 16.0, L = 4.0 * emb;
    double dec = emb * emb * d * 4.0 * 24.0 + L * L * d * 4.0 * 2.0 + L * L * 4.0 * 8.0;
    double post = 3.0 * (double)h * w * 4.0 * 2.0;
    double enc = trunk + neck + image;
    double pred = dec + post;
    double total = (enc > pred ? enc : pred) * 1.1 + (16 << 20);
    return (size_t)total;
}

// ---- persistent tensors ----------------------------------------------------------------

roto_status sam2_alloc_tensor(sam2_model *m, rt_tensor *t, int ndim, const int64_t *shape) {
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)shape[i];
    size_t bytes = n * sizeof(float);
    if (m->n_allocs == m->cap_allocs) {
        int cap = m->cap_allocs ? 2 * m->cap_allocs : 256;
        sam2_alloc *a = realloc(m->allocs, (size_t)cap * sizeof *a);
        if (!a) return roto_fail(ROTO_ERR_OOM, "sam2: out of host memory");
        m->allocs = a;
        m->cap_allocs = cap;
    }
    void *p = NULL;
    ROTO_TRY(rt_ctx_alloc_persistent(m->ctx, &p, bytes ? bytes : 4));
    m->allocs[m->n_allocs++] = (sam2_alloc){p, bytes ? bytes : 4};
    *t = rt_tensor_make(p, RT_F32, m->ctx->be->device, ndim, shape);
    return ROTO_OK;
}

typedef struct {
    sam2_model *m;
    const rt_weights *w;
    float *tmp, *tmp2;
    int64_t cap;
} loader;

static roto_status grow(loader *L, int64_t n) {
    if (n <= L->cap) return ROTO_OK;
    free(L->tmp);
    free(L->tmp2);
    L->tmp = malloc((size_t)n * sizeof(float));
    L->tmp2 = malloc((size_t)n * sizeof(float));
    L->cap = n;
    if (!L->tmp || !L->tmp2) {
        L->cap = 0;
        return roto_fail(ROTO_ERR_OOM, "sam2: out of host memory (%lld floats)", (long long)n);
    }
    return ROTO_OK;
}

static int64_t numel(int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    return n;
}

// Read `name` (shape checked) into L->tmp as f32.
static roto_status read_host(loader *L, const char *name, int ndim, const int64_t *shape) {
    ROTO_TRY(grow(L, numel(ndim, shape)));
    return rt_weights_load_f32(L->w, name, ndim, shape, L->tmp);
}

// Load `name` with the given file shape; the device tensor gets `dev_ndim` /
// `dev_shape` (same element count, e.g. a [1, 1, d] parameter as [d]).
static roto_status load_as(loader *L, rt_tensor *t, const char *name, int ndim,
                          const int64_t *shape, int dev_ndim, const int64_t *dev_shape) {
    ROTO_TRY(read_host(L, name, ndim, shape));
    ROTO_TRY(sam2_alloc_tensor(L->m, t, dev_ndim, dev_shape));
    return rt_ctx_upload(L->m->ctx, t->data, L->tmp, (size_t)numel(ndim, shape) * sizeof(float));
}

static roto_status load(loader *L, rt_tensor *t, const char *name, int ndim, const int64_t *shape) {
    return load_as(L, t, name, ndim, shape, ndim, shape);
}

static roto_status load1(loader *L, rt_tensor *t, const char *name, int64_t n) {
    return load(L, t, name, 1, (int64_t[]){n});
}

// A conv weight [O, I, KH, KW] permuted to OHWI for rt_conv2d, and its bias.
static roto_status load_conv(loader *L, rt_tensor *w, rt_tensor *b, const char *prefix, int O,
                             int I, int K) {
    char name[160];
    snprintf(name, sizeof name, "%s.weight", prefix);
    int64_t shape[4] = {O, I, K, K};
    ROTO_TRY(read_host(L, name, 4, shape));
    rt_weight_oihw_to_ohwi(L->tmp2, L->tmp, O, I, K, K);
    ROTO_TRY(sam2_alloc_tensor(L->m, w, 4, (int64_t[]){O, K, K, I}));
    ROTO_TRY(rt_ctx_upload(L->m->ctx, w->data, L->tmp2, (size_t)O * I * K * K * sizeof(float)));
    snprintf(name, sizeof name, "%s.bias", prefix);
    return load1(L, b, name, O);
}

// Linear `prefix`.weight [out, in] + .bias [out]. A 1x1 conv (conv1x1 != 0) is
// stored [out, in, 1, 1] and used as the same Linear on NHWC maps.
static roto_status load_linear(loader *L, sam2_param *p, const char *prefix, int out, int in,
                               int conv1x1) {
    char name[160];
    snprintf(name, sizeof name, "%s.weight", prefix);
    if (conv1x1)
        ROTO_TRY(load_as(L, &p->w, name, 4, (int64_t[]){out, in, 1, 1}, 2, (int64_t[]){out, in}));
    else
        ROTO_TRY(load(L, &p->w, name, 2, (int64_t[]){out, in}));
    snprintf(name, sizeof name, "%s.bias", prefix);
    return load1(L, &p->b, name, out);
}

static roto_status load_norm(loader *L, sam2_param *p, const char *prefix, int c) {
    char name[160];
    snprintf(name, sizeof name, "%s.weight", prefix);
    ROTO_TRY(load1(L, &p->w, name, c));
    snprintf(name, sizeof name, "%s.bias", prefix);
    return load1(L, &p->b, name, c);
}

static roto_status load_host_copy(loader *L, float **dst, const char *name, int ndim,
                                  const int64_t *shape) {
    ROTO_TRY(read_host(L, name, ndim, shape));
    size_t n = (size_t)numel(ndim, shape);
    *dst = malloc(n * sizeof(float));
    if (!*dst) return roto_fail(ROTO_ERR_OOM, "sam2: out of host memory");
    memcpy(*dst, L->tmp, n * sizeof(float));
    return ROTO_OK;
}

static roto_status load_mlp3(loader *L, sam2_mlp3 *mlp, const char *prefix, int in, int hidden,
                             int out) {
    char name[160];
    const int dims[4] = {in, hidden, hidden, out};
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "%s.layers.%d", prefix, i);
        ROTO_TRY(load_linear(L, &mlp->l[i], name, dims[i + 1], dims[i], 0));
    }
    return ROTO_OK;
}

static roto_status load_attn(loader *L, sam2_attn *a, const char *prefix, int d, int rate) {
    char name[160];
    a->internal = d / rate;
    snprintf(name, sizeof name, "%s.q_proj", prefix);
    ROTO_TRY(load_linear(L, &a->q, name, a->internal, d, 0));
    snprintf(name, sizeof name, "%s.k_proj", prefix);
    ROTO_TRY(load_linear(L, &a->k, name, a->internal, d, 0));
    snprintf(name, sizeof name, "%s.v_proj", prefix);
    ROTO_TRY(load_linear(L, &a->v, name, a->internal, d, 0));
    snprintf(name, sizeof name, "%s.out_proj", prefix);
    return load_linear(L, &a->out, name, d, a->internal, 0);
}

// ---- the model -------------------------------------------------------------------------------

static roto_status load_encoder(loader *L) {
    sam2_model *m = L->m;
    const sam2_config *c = &m->cfg;
    int E = c->embed_dim, d = c->d_model;
    char p[160];
    ROTO_TRY(load_conv(L, &m->patch_w, &m->patch_b, "image_encoder.trunk.patch_embed.proj", E, 3,
                       7));
    for (int i = 0; i < m->n_blocks; i++) {
        sam2_block *b = &m->blocks[i];
        int di = b->dim, dout = b->dim_out;
#define BP(s) (snprintf(p, sizeof p, "image_encoder.trunk.blocks.%d.%s", i, s), p)
        ROTO_TRY(load_norm(L, &b->norm1, BP("norm1"), di));
        ROTO_TRY(load_linear(L, &b->qkv, BP("attn.qkv"), 3 * dout, di, 0));
        ROTO_TRY(load_linear(L, &b->proj, BP("attn.proj"), dout, dout, 0));
        ROTO_TRY(load_norm(L, &b->norm2, BP("norm2"), dout));
        ROTO_TRY(load_linear(L, &b->mlp0, BP("mlp.layers.0"), 4 * dout, dout, 0));
        ROTO_TRY(load_linear(L, &b->mlp1, BP("mlp.layers.1"), dout, 4 * dout, 0));
        if (di != dout) ROTO_TRY(load_linear(L, &b->shortcut, BP("proj"), dout, di, 0));
#undef BP
    }
    // FpnNeck: convs[k] takes trunk stage 3-k (backbone_channel_list is high to low).
    for (int k = 0; k < 4; k++) {
        snprintf(p, sizeof p, "image_encoder.neck.convs.%d.conv", k);
        ROTO_TRY(load_linear(L, &m->neck[k], p, d, E << (3 - k), 1));
    }
    ROTO_TRY(load_linear(L, &m->conv_s0, "sam_mask_decoder.conv_s0", d / 8, d, 1));
    ROTO_TRY(load_linear(L, &m->conv_s1, "sam_mask_decoder.conv_s1", d / 4, d, 1));
    ROTO_TRY(load_as(L, &m->no_mem_embed, "no_mem_embed", 3, (int64_t[]){1, 1, d}, 1,
                     (int64_t[]){d}));

    // The position embedding depends only on weights: computed once here.
    size_t mark = rt_arena_mark(m->ctx);
    rt_tensor bkg, win;
    int ws0 = c->window_spec[0];
    ROTO_TRY(load(L, &bkg, "image_encoder.trunk.pos_embed", 4,
                  (int64_t[]){1, E, c->pos_bkg[0], c->pos_bkg[1]}));
    ROTO_TRY(load(L, &win, "image_encoder.trunk.pos_embed_window", 4,
                  (int64_t[]){1, E, ws0, ws0}));
    roto_status st = sam2_compute_pos_embed(m, &bkg, &win);
    rt_arena_release(m->ctx, mark);
    if (st != ROTO_OK) return st;

    // torchvision Normalize(mean, std) of SAM2Transforms.
    const float mean[3] = {0.485f, 0.456f, 0.406f};
    const float inv_std[3] = {1.0f / 0.229f, 1.0f / 0.224f, 1.0f / 0.225f};
    ROTO_TRY(sam2_alloc_tensor(m, &m->pix_mean, 1, (int64_t[]){3}));
    ROTO_TRY(sam2_alloc_tensor(m, &m->pix_inv_std, 1, (int64_t[]){3}));
    ROTO_TRY(rt_ctx_upload(m->ctx, m->pix_mean.data, mean, sizeof mean));
    return rt_ctx_upload(m->ctx, m->pix_inv_std.data, inv_std, sizeof inv_std);
}

static roto_status load_prompt_encoder(loader *L) {
    sam2_model *m = L->m;
    int d = m->cfg.d_model;
    char p[160];
    const char *pe = "sam_prompt_encoder.";
    snprintf(p, sizeof p, "%spe_layer.positional_encoding_gaussian_matrix", pe);
    ROTO_TRY(load_host_copy(L, &m->pe_gauss_host, p, 2, (int64_t[]){2, d / 2}));
    m->point_embed_host = malloc((size_t)4 * d * sizeof(float));
    if (!m->point_embed_host) return roto_fail(ROTO_ERR_OOM, "sam2: out of host memory");
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%spoint_embeddings.%d.weight", pe, i);
        ROTO_TRY(read_host(L, p, 2, (int64_t[]){1, d}));
        memcpy(m->point_embed_host + (size_t)i * d, L->tmp, (size_t)d * sizeof(float));
    }
    snprintf(p, sizeof p, "%snot_a_point_embed.weight", pe);
    ROTO_TRY(load_host_copy(L, &m->not_a_point_host, p, 2, (int64_t[]){1, d}));
    snprintf(p, sizeof p, "%sno_mask_embed.weight", pe);
    ROTO_TRY(load_as(L, &m->no_mask_embed, p, 2, (int64_t[]){1, d}, 1, (int64_t[]){d}));
    snprintf(p, sizeof p, "%smask_downscaling.0", pe);
    ROTO_TRY(load_conv(L, &m->md_conv0_w, &m->md_conv0_b, p, 4, 1, 2));
    snprintf(p, sizeof p, "%smask_downscaling.1", pe);
    ROTO_TRY(load_norm(L, &m->md_norm0, p, 4));
    snprintf(p, sizeof p, "%smask_downscaling.3", pe);
    ROTO_TRY(load_conv(L, &m->md_conv1_w, &m->md_conv1_b, p, 16, 4, 2));
    snprintf(p, sizeof p, "%smask_downscaling.4", pe);
    ROTO_TRY(load_norm(L, &m->md_norm1, p, 16));
    snprintf(p, sizeof p, "%smask_downscaling.6", pe);
    ROTO_TRY(load_linear(L, &m->md_conv2, p, d, 16, 1));

    // get_dense_pe(): constant per model, uploaded once.
    int64_t n = (int64_t)m->emb * m->emb * d;
    ROTO_TRY(grow(L, n));
    sam2_compute_dense_pe(m, L->tmp);
    ROTO_TRY(sam2_alloc_tensor(m, &m->dense_pe, 4, (int64_t[]){1, m->emb, m->emb, d}));
    return rt_ctx_upload(m->ctx, m->dense_pe.data, L->tmp, (size_t)n * sizeof(float));
}

static roto_status load_decoder(loader *L) {
    sam2_model *m = L->m;
    int d = m->cfg.d_model;
    char p[160];
    const char *t = "sam_mask_decoder.transformer";
    for (int i = 0; i < 2; i++) {
        sam2_twoway_layer *ly = &m->layers[i];
#define LP(s) (snprintf(p, sizeof p, "%s.layers.%d.%s", t, i, s), p)
        ROTO_TRY(load_attn(L, &ly->self_attn, LP("self_attn"), d, 1));
        ROTO_TRY(load_attn(L, &ly->t2i, LP("cross_attn_token_to_image"), d, 2));
        ROTO_TRY(load_attn(L, &ly->i2t, LP("cross_attn_image_to_token"), d, 2));
        ROTO_TRY(load_norm(L, &ly->norm1, LP("norm1"), d));
        ROTO_TRY(load_norm(L, &ly->norm2, LP("norm2"), d));
        ROTO_TRY(load_norm(L, &ly->norm3, LP("norm3"), d));
        ROTO_TRY(load_norm(L, &ly->norm4, LP("norm4"), d));
        ROTO_TRY(load_linear(L, &ly->mlp0, LP("mlp.layers.0"), 2048, d, 0));
        ROTO_TRY(load_linear(L, &ly->mlp1, LP("mlp.layers.1"), d, 2048, 0));
#undef LP
    }
    snprintf(p, sizeof p, "%s.final_attn_token_to_image", t);
    ROTO_TRY(load_attn(L, &m->final_attn, p, d, 2));
    snprintf(p, sizeof p, "%s.norm_final_attn", t);
    ROTO_TRY(load_norm(L, &m->norm_final, p, d));

    // Output tokens in the decoder's order: obj_score, iou, mask tokens 0..3.
    m->out_tokens_host = malloc((size_t)6 * d * sizeof(float));
    if (!m->out_tokens_host) return roto_fail(ROTO_ERR_OOM, "sam2: out of host memory");
    ROTO_TRY(read_host(L, "sam_mask_decoder.obj_score_token.weight", 2, (int64_t[]){1, d}));
    memcpy(m->out_tokens_host, L->tmp, (size_t)d * sizeof(float));
    ROTO_TRY(read_host(L, "sam_mask_decoder.iou_token.weight", 2, (int64_t[]){1, d}));
    memcpy(m->out_tokens_host + d, L->tmp, (size_t)d * sizeof(float));
    ROTO_TRY(read_host(L, "sam_mask_decoder.mask_tokens.weight", 2, (int64_t[]){4, d}));
    memcpy(m->out_tokens_host + 2 * d, L->tmp, (size_t)4 * d * sizeof(float));

    ROTO_TRY(load(L, &m->up0_w, "sam_mask_decoder.output_upscaling.0.weight", 4,
                  (int64_t[]){d, d / 4, 2, 2}));
    ROTO_TRY(load1(L, &m->up0_b, "sam_mask_decoder.output_upscaling.0.bias", d / 4));
    ROTO_TRY(load_norm(L, &m->up_norm, "sam_mask_decoder.output_upscaling.1", d / 4));
    ROTO_TRY(load(L, &m->up1_w, "sam_mask_decoder.output_upscaling.3.weight", 4,
                  (int64_t[]){d / 4, d / 8, 2, 2}));
    ROTO_TRY(load1(L, &m->up1_b, "sam_mask_decoder.output_upscaling.3.bias", d / 8));
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "sam_mask_decoder.output_hypernetworks_mlps.%d", i);
        ROTO_TRY(load_mlp3(L, &m->hyper[i], p, d, d, d / 8));
    }
    ROTO_TRY(load_mlp3(L, &m->iou_head, "sam_mask_decoder.iou_prediction_head", d, 256, 4));
    return load_mlp3(L, &m->obj_head, "sam_mask_decoder.pred_obj_score_head", d, d, 1);
}

// ---- the video path -------------------------------------------------------------------------

static roto_status dim_of(const rt_weights *w, const char *name, int dim, int *out) {
    const rt_wtensor *t;
    ROTO_TRY(rt_weights_get(w, name, &t));
    if (dim >= t->ndim)
        return roto_fail(ROTO_ERR_FORMAT, "sam2: %s has %d dims", name, t->ndim);
    *out = (int)t->shape[dim];
    return ROTO_OK;
}

// SAM2Base's memory modules: sizes read from the tensors (mem_dim from out_proj, the
// number of memory slots from maskmem_tpos_enc, layers and fuser blocks by probing).
static roto_status load_video(loader *L) {
    sam2_model *m = L->m;
    const rt_weights *w = L->w;
    int d = m->cfg.d_model;
    char p[160];
    sam2_video_weights *v = calloc(1, sizeof *v);
    if (!v) return roto_fail(ROTO_ERR_OOM, "sam2: out of host memory");
    m->video = v;
    ROTO_TRY(dim_of(w, "memory_encoder.out_proj.weight", 0, &v->mem_dim));
    ROTO_TRY(dim_of(w, "maskmem_tpos_enc", 0, &v->num_maskmem));
    ROTO_TRY(dim_of(w, "memory_attention.layers.0.linear1.weight", 0, &v->ffn));
    while (v->n_layers < SAM2_MAX_MEMATTN) {
        snprintf(p, sizeof p, "memory_attention.layers.%d.norm1.weight", v->n_layers);
        if (!rt_weights_find(w, p)) break;
        v->n_layers++;
    }
    while (v->n_fuser < SAM2_MAX_FUSER) {
        snprintf(p, sizeof p, "memory_encoder.fuser.layers.%d.gamma", v->n_fuser);
        if (!rt_weights_find(w, p)) break;
        v->n_fuser++;
    }
    int md = v->mem_dim;
    if (md < 2 || d % md || v->num_maskmem < 1 || v->n_layers < 1 || v->n_fuser < 1)
        return roto_fail(ROTO_ERR_FORMAT,
                         "sam2: unsupported memory path (mem_dim %d with d_model %d, %d memory "
                         "slots, %d attention layers, %d fuser blocks)",
                         md, d, v->num_maskmem, v->n_layers, v->n_fuser);

    // Mask downsampler: Sequential indices 0/3/6/9 conv, 1/4/7/10 LayerNorm2d, 12 conv 1x1.
    int cin = 1;
    for (int i = 0; i < 4; i++) {
        int cout = cin * 4;
        snprintf(p, sizeof p, "memory_encoder.mask_downsampler.encoder.%d", 3 * i);
        ROTO_TRY(load_conv(L, &v->mds_w[i], &v->mds_b[i], p, cout, cin, 3));
        snprintf(p, sizeof p, "memory_encoder.mask_downsampler.encoder.%d", 3 * i + 1);
        ROTO_TRY(load_norm(L, &v->mds_norm[i], p, cout));
        cin = cout;
    }
    ROTO_TRY(load_linear(L, &v->mds_out, "memory_encoder.mask_downsampler.encoder.12", d, cin, 1));
    ROTO_TRY(load_linear(L, &v->pix_feat_proj, "memory_encoder.pix_feat_proj", d, d, 1));
    for (int i = 0; i < v->n_fuser; i++) {
        sam2_cxblock *b = &v->fuser[i];
#define FP(s) (snprintf(p, sizeof p, "memory_encoder.fuser.layers.%d.%s", i, s), p)
        ROTO_TRY(load_conv(L, &b->dw_w, &b->dw_b, FP("dwconv"), d, 1, 7));
        ROTO_TRY(load_norm(L, &b->norm, FP("norm"), d));
        ROTO_TRY(load_linear(L, &b->pw1, FP("pwconv1"), 4 * d, d, 0));
        ROTO_TRY(load_linear(L, &b->pw2, FP("pwconv2"), d, 4 * d, 0));
        ROTO_TRY(load1(L, &b->gamma, FP("gamma"), d));
#undef FP
    }
    ROTO_TRY(load_linear(L, &v->out_proj, "memory_encoder.out_proj", md, d, 1));

    for (int i = 0; i < v->n_layers; i++) {
        sam2_memattn_layer *ly = &v->layers[i];
#define MP(s) (snprintf(p, sizeof p, "memory_attention.layers.%d.%s", i, s), p)
        ROTO_TRY(load_attn(L, &ly->self_attn, MP("self_attn"), d, 1));
        sam2_attn *ca = &ly->cross_attn;
        ca->internal = d;
        ROTO_TRY(load_linear(L, &ca->q, MP("cross_attn_image.q_proj"), d, d, 0));
        ROTO_TRY(load_linear(L, &ca->k, MP("cross_attn_image.k_proj"), d, md, 0));
        ROTO_TRY(load_linear(L, &ca->v, MP("cross_attn_image.v_proj"), d, md, 0));
        ROTO_TRY(load_linear(L, &ca->out, MP("cross_attn_image.out_proj"), d, d, 0));
        ROTO_TRY(load_norm(L, &ly->norm1, MP("norm1"), d));
        ROTO_TRY(load_norm(L, &ly->norm2, MP("norm2"), d));
        ROTO_TRY(load_norm(L, &ly->norm3, MP("norm3"), d));
        ROTO_TRY(load_linear(L, &ly->lin1, MP("linear1"), v->ffn, d, 0));
        ROTO_TRY(load_linear(L, &ly->lin2, MP("linear2"), d, v->ffn, 0));
#undef MP
    }
    ROTO_TRY(load_norm(L, &v->norm, "memory_attention.norm", d));

    ROTO_TRY(load_mlp3(L, &v->obj_ptr_proj, "obj_ptr_proj", d, d, d));
    ROTO_TRY(load_linear(L, &v->obj_ptr_tpos_proj, "obj_ptr_tpos_proj", md, d, 0));
    ROTO_TRY(load_conv(L, &v->mask_downsample_w, &v->mask_downsample_b, "mask_downsample", 1, 1,
                       4));
    ROTO_TRY(load_host_copy(L, &v->maskmem_tpos_host, "maskmem_tpos_enc", 4,
                            (int64_t[]){v->num_maskmem, 1, 1, md}));
    ROTO_TRY(load_host_copy(L, &v->no_obj_ptr_host, "no_obj_ptr", 2, (int64_t[]){1, d}));
    ROTO_TRY(load_host_copy(L, &v->no_obj_embed_spatial_host, "no_obj_embed_spatial", 2,
                            (int64_t[]){1, md}));
    return load_host_copy(L, &v->no_mem_embed_host, "no_mem_embed", 3, (int64_t[]){1, 1, d});
}

roto_status sam2_load_video_weights(sam2_model *m, const rt_weights *w) {
    if (!m || !w) return roto_fail(ROTO_ERR_INVALID_ARG, "sam2_load_video_weights: NULL argument");
    if (m->video) return ROTO_OK;
    loader L = {.m = m, .w = w};
    roto_status st = load_video(&L);
    free(L.tmp);
    free(L.tmp2);
    return st;
}

// The released variants differ in embed_dim and block count.
static roto_status detect_variant(const rt_weights *w, sam2_config *cfg) {
    const rt_wtensor *t;
    ROTO_TRY(rt_weights_get(w, "image_encoder.trunk.patch_embed.proj.weight", &t));
    int E = (int)t->shape[0], n = 0;
    char name[96];
    for (;; n++) {
        snprintf(name, sizeof name, "image_encoder.trunk.blocks.%d.norm1.weight", n);
        if (!rt_weights_find(w, name)) break;
    }
    static const char *names[4] = {"tiny", "small", "base_plus", "large"};
    for (int i = 0; i < 4; i++) {
        sam2_config c;
        ROTO_TRY(sam2_config_variant(&c, names[i]));
        int nb = c.stages[0] + c.stages[1] + c.stages[2] + c.stages[3];
        if (c.embed_dim == E && nb == n) {
            *cfg = c;
            return ROTO_OK;
        }
    }
    return roto_fail(ROTO_ERR_UNSUPPORTED,
                     "sam2: %s is not a released SAM 2.1 variant (embed_dim %d, %d Hiera blocks); "
                     "pass a sam2_config", w->path, E, n);
}

roto_status sam2_load_weights(rt_ctx *ctx, const rt_weights *w, const sam2_config *cfg,
                              sam2_model **out) {
    if (!ctx || !w || !out) return roto_fail(ROTO_ERR_INVALID_ARG, "sam2_load: NULL argument");
    *out = NULL;
    sam2_model *m = calloc(1, sizeof *m);
    if (!m) return roto_fail(ROTO_ERR_OOM, "sam2: out of host memory");
    m->ctx = ctx;
    loader L = {.m = m, .w = w};
    roto_status st = ROTO_OK;
    if (cfg)
        m->cfg = *cfg;
    else
        st = detect_variant(w, &m->cfg);
    if (st == ROTO_OK) st = check_config(&m->cfg);
    if (st == ROTO_OK) st = build_schedule(m);
    if (st == ROTO_OK) {
        m->grid = m->cfg.image_size / 4;
        m->emb = m->cfg.image_size / 16;
        m->low_res = 4 * m->emb;
        st = load_encoder(&L);
    }
    if (st == ROTO_OK) st = load_prompt_encoder(&L);
    if (st == ROTO_OK) st = load_decoder(&L);
    // The memory path is optional: image-only files (e.g. the image test fixture) lack it.
    if (st == ROTO_OK && rt_weights_find(w, "memory_encoder.out_proj.weight"))
        st = load_video(&L);
    if (st == ROTO_OK) {
        int d = m->cfg.d_model, e = m->emb;
        st = sam2_alloc_tensor(m, &m->image_embed, 4, (int64_t[]){1, e, e, d});
        if (st == ROTO_OK)
            st = sam2_alloc_tensor(m, &m->feat_s0, 4, (int64_t[]){1, 4 * e, 4 * e, d / 8});
        if (st == ROTO_OK)
            st = sam2_alloc_tensor(m, &m->feat_s1, 4, (int64_t[]){1, 2 * e, 2 * e, d / 4});
    }
    free(L.tmp);
    free(L.tmp2);
    if (st != ROTO_OK) {
        sam2_free(m);
        return st;
    }
    *out = m;
    return ROTO_OK;
}

roto_status sam2_load(rt_ctx *ctx, const char *path, const sam2_config *cfg, sam2_model **out) {
    if (!path) return roto_fail(ROTO_ERR_INVALID_ARG, "sam2_load: NULL path");
    rt_weights w;
    ROTO_TRY(rt_weights_open(&w, path));
    // Hugging Face files answer the official names through aliases.
    roto_status st = rt_namemap_attach(&w, RT_NAMES_SAM2, NULL);
    if (st == ROTO_OK) st = sam2_load_weights(ctx, &w, cfg, out);
    rt_weights_close(&w);
    return st;
}

void sam2_free(sam2_model *m) {
    if (!m) return;
    for (int i = 0; i < m->n_allocs; i++)
        rt_ctx_free_persistent(m->ctx, m->allocs[i].ptr, m->allocs[i].bytes);
    free(m->allocs);
    free(m->pe_gauss_host);
    free(m->point_embed_host);
    free(m->not_a_point_host);
    free(m->out_tokens_host);
    if (m->video) {
        free(m->video->maskmem_tpos_host);
        free(m->video->no_obj_ptr_host);
        free(m->video->no_obj_embed_spatial_host);
        free(m->video->no_mem_embed_host);
        free(m->video);
    }
    free(m);
}

const sam2_config *sam2_model_config(const sam2_model *m) { return m ? &m->cfg : NULL; }

void sam2_set_tap(sam2_model *m, sam2_tap_fn fn, void *user) {
    if (!m) return;
    m->tap = fn;
    m->tap_user = user;
}
