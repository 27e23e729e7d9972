// sam2_track.c: the SAM 2.1 video tracking session (sam2_video_predictor.py and
// SAM2Base.track_step of sam2 1.1.0) on the op API.
//
// Per object the session keeps what the official inference state keeps per object:
// conditioning outputs (in insertion order), non-conditioning outputs by frame,
// temporary outputs of prompts not yet propagated, the accumulated clicks per frame and
// which frames were tracked in which direction. An output holds the stored low-res
// logits (after hole filling), the object pointer and score, and the memory features
// (bf16 on the device, as the official predictor stores them; NULL until encoded).
//
// Steps of one frame for one object (_run_single_frame_inference -> track_step):
//   first prompted frame:  backbone + no_mem_embed -> SAM heads
//   mask prompt:           mask * 20 - 10 as the output, pointer from the heads run on
//                          the raw backbone with mask_downsample(mask) as mask prompt
//   any other frame:       memory attention over the bank -> SAM heads
//   then (propagation only) the memory encoder on sigmoid(high-res logits) * 20 - 10,
//   and hole filling of the stored low-res logits.
// Prompted frames are memory-encoded at the start of the next propagation
// (propagate_in_video_preflight) from their hole-filled logits, binarised.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "sam2_track.h"
#include "sam2_video_internal.h"

typedef struct {
    int frame;
    float *low_res;  // [L*L] host
    float *obj_ptr;  // [d] host
    float score;
    void *mem;       // device bf16 [e*e*mem_dim], or NULL
    size_t mem_bytes;
} trk_out;

typedef struct {
    int frame, n;
    float xy[2 * (SAM2_MAX_POINTS + 2)];  // model-input coordinates
    int labels[SAM2_MAX_POINTS + 2];
} trk_points;

typedef struct {
    trk_out **cond;       // conditioning outputs in insertion order
    int n_cond;
    trk_out **noncond;    // [n_frames]
    trk_out **tmp_cond, **tmp_noncond;  // [n_frames] prompt outputs not yet propagated
    int *tmp_cond_order;  // frames of tmp_cond in insertion order
    int n_tmp_cond;
    signed char *tracked; // [n_frames] -1 not tracked, 0 forward, 1 reverse
    uint8_t *prompted;    // [n_frames] frames that received prompts
    trk_points *pts;      // clicks per prompted frame
    int n_pts;
} trk_obj;

struct sam2_track {
    sam2_model *m;
    rt_ctx *ctx;
    sam2_track_opts o;
    int S, L, e, d, mem, HW;
    trk_obj *objs;
    int n_objs;
    // frame features: m->image_embed / feat_s0 / feat_s1 plus the raw map kept here
    int cached_frame;
    rt_tensor raw;           // [1, e, e, d] stride-16 features before no_mem_embed
    uint8_t *rgb, *rgb_s;    // the frame, and resized to S x S
    // constants on the device
    rt_tensor curr_pos;      // [1, HW, d] sine PE of the stride-16 grid
    rt_tensor mem_pos;       // [HW, mem] sine PE of the memory
    rt_tensor rope_cos, rope_sin;  // [HW, d/2]
    rt_tensor tpos;          // [num_maskmem, mem]
    void *dev[8];
    size_t dev_bytes[8];
    int n_dev;
    // host work buffers
    float *hr_host;          // [S*S]
    float *vid_logits;       // [n_objs][H*W] (grown with the objects)
    uint8_t *vid_mask;
    sam2_track_object *res;
    int res_cap;
    // hole filling runs on the host through a CPU context
    rt_ctx cpu;
    int have_cpu;
    uint8_t *cc_mask;
    int32_t *cc_labels, *cc_areas;
};

// ---- small helpers ---------------------------------------------------------------------------

static roto_status dev_alloc(sam2_track *t, rt_tensor *x, rt_dtype dt, int ndim,
                             const int64_t *shape) {
    if (t->n_dev == 8) return roto_fail(ROTO_ERR_INTERNAL, "sam2_track: too many constants");
    size_t n = rt_dtype_size(dt);
    for (int i = 0; i < ndim; i++) n *= (size_t)shape[i];
    void *p = NULL;
    ROTO_TRY(rt_ctx_alloc_persistent(t->ctx, &p, n));
    t->dev[t->n_dev] = p;
    t->dev_bytes[t->n_dev++] = n;
    *x = rt_tensor_make(p, dt, t->ctx->be->device, ndim, shape);
    return ROTO_OK;
}

static void out_free(sam2_track *t, trk_out *o) {
    if (!o) return;
    free(o->low_res);
    free(o->obj_ptr);
    if (o->mem) rt_ctx_free_persistent(t->ctx, o->mem, o->mem_bytes);
    free(o);
}

static roto_status out_new(sam2_track *t, int frame, trk_out **out) {
    trk_out *o = calloc(1, sizeof *o);
    if (o) {
        o->frame = frame;
        o->low_res = malloc((size_t)t->L * t->L * sizeof(float));
        o->obj_ptr = malloc((size_t)t->d * sizeof(float));
    }
    if (!o || !o->low_res || !o->obj_ptr) {
        out_free(t, o);
        return roto_fail(ROTO_ERR_OOM, "sam2_track: out of host memory");
    }
    *out = o;
    return ROTO_OK;
}

static trk_out *cond_at(const trk_obj *ob, int frame) {
    for (int i = 0; i < ob->n_cond; i++)
        if (ob->cond[i]->frame == frame) return ob->cond[i];
    return NULL;
}

static trk_points *points_at(trk_obj *ob, int frame) {
    for (int i = 0; i < ob->n_pts; i++)
        if (ob->pts[i].frame == frame) return &ob->pts[i];
    return NULL;
}

// ---- frame features ---------------------------------------------------------------------------

// Backbone features of `frame` (cached for the last frame). Resets the arena.
static roto_status load_features(sam2_track *t, int frame) {
    if (t->cached_frame == frame) return ROTO_OK;
    t->cached_frame = -1;
    ROTO_TRY(t->o.read_frame(t->o.read_user, frame, t->rgb));
    // load_video_frames: PIL resize to S x S (bicubic on u8), then /255 and the
    // normalisation, which sam2_encode_image does (its resize of an S x S image to S x S
    // is the identity).
    ROTO_TRY(sam2_resize_pil_bicubic(t->rgb, t->o.width, t->o.height, t->rgb_s, t->S));
    ROTO_TRY(sam2_encode_image(t->m, t->rgb_s, t->S, t->S, &t->raw));
    t->cached_frame = frame;
    return ROTO_OK;
}

// ---- hole filling (fill_holes_in_mask_scores) ----------------------------------------------------

static roto_status fill_holes(sam2_track *t, float *logits) {
    int max_area = t->o.fill_hole_area;
    if (max_area <= 0) return ROTO_OK;
    int64_t n = (int64_t)t->L * t->L;
    for (int64_t i = 0; i < n; i++) t->cc_mask[i] = logits[i] <= 0.0f;
    rt_tensor mk = rt_tensor_make(t->cc_mask, RT_U8, RT_DEV_CPU, 2, (int64_t[]){t->L, t->L});
    rt_tensor lb = rt_tensor_make(t->cc_labels, RT_I32, RT_DEV_CPU, 2, (int64_t[]){t->L, t->L});
    rt_tensor ar = rt_tensor_make(t->cc_areas, RT_I32, RT_DEV_CPU, 2, (int64_t[]){t->L, t->L});
    int n_cc = 0;
    rt_ctx_reset(&t->cpu);
    ROTO_TRY(rt_connected_components(&t->cpu, &lb, &ar, &mk, &n_cc));
    for (int64_t i = 0; i < n; i++)
        if (t->cc_labels[i] > 0 && t->cc_areas[i] <= max_area) logits[i] = 0.1f;
    return ROTO_OK;
}

// ---- memory ------------------------------------------------------------------------------------

// A host map [n, n] uploaded into the arena as [1, n, n, 1].
static roto_status arena_map(sam2_track *t, const float *host, int n, rt_tensor *out) {
    ROTO_TRY(rt_arena_f32(t->ctx, out, 4, 1, n, n, 1));
    return rt_ctx_upload(t->ctx, out->data, host, (size_t)n * n * sizeof(float));
}

// Low-res logits [L, L] (host) upsampled bilinearly (align_corners False, no antialias)
// to out [1, h, w, 1] in the arena: to the model resolution for the memory encoder, to
// the video resolution for the results.
static roto_status upsample_low_res(sam2_track *t, const float *low, int h, int w,
                                    rt_tensor *out) {
    rt_tensor lo;
    ROTO_TRY(arena_map(t, low, t->L, &lo));
    ROTO_TRY(rt_arena_f32(t->ctx, out, 4, 1, h, w, 1));
    rt_interp_params ip = {.mode = RT_INTERP_BILINEAR};
    return rt_interpolate(t->ctx, out, &lo, &ip);
}

// _encode_new_memory of the current frame (features loaded): high-res logits ->
// mask_for_mem (binarised on prompted frames, else sigmoid) -> memory encoder -> o->mem.
static roto_status encode_memory(sam2_track *t, trk_out *o, rt_tensor *high, int binarize) {
    rt_ctx *ctx = t->ctx;
    size_t mark = rt_arena_mark(ctx);
    if (binarize) {  // (logits > 0) on the host: the op API has no comparison op
        size_t n = (size_t)t->S * t->S;
        ROTO_TRY(rt_ctx_download(ctx, t->hr_host, high->data, n * sizeof(float)));
        for (size_t i = 0; i < n; i++) t->hr_host[i] = t->hr_host[i] > 0.0f ? 1.0f : 0.0f;
        ROTO_TRY(rt_ctx_upload(ctx, high->data, t->hr_host, n * sizeof(float)));
    } else {
        ROTO_TRY(rt_activation(ctx, high, high, RT_ACT_SIGMOID));
    }
    ROTO_TRY(rt_scale(ctx, high, high, SAM2_MEM_SIGMOID_SCALE, SAM2_MEM_SIGMOID_BIAS));
    rt_tensor feat;
    ROTO_TRY(rt_arena_f32(ctx, &feat, 4, 1, t->e, t->e, t->mem));
    ROTO_TRY(sam2_memory_encode(t->m, &t->raw, high, o->score > 0.0f, &feat));
    // Stored as bf16 like the official predictor (maskmem_features.to(torch.bfloat16)).
    if (!o->mem) {
        o->mem_bytes = (size_t)t->HW * t->mem * 2;
        ROTO_TRY(rt_ctx_alloc_persistent(ctx, &o->mem, o->mem_bytes));
    }
    rt_tensor dst = rt_tensor_make(o->mem, RT_BF16, ctx->be->device, 4,
                                   (int64_t[]){1, t->e, t->e, t->mem});
    ROTO_TRY(rt_copy(ctx, &dst, &feat));
    rt_arena_release(ctx, mark);
    return ROTO_OK;
}

// _prepare_memory_conditioned_features for a frame that is not a first prompted frame:
// the memory bank of object `ob` as seen from `frame`, then the memory attention.
// pix [1, e, e, d] (arena).
static roto_status memory_conditioned(sam2_track *t, trk_obj *ob, int frame, int reverse,
                                      rt_tensor *pix) {
    rt_ctx *ctx = t->ctx;
    const sam2_video_weights *v = t->m->video;
    int nm = v->num_maskmem, HW = t->HW, mem = t->mem, d = t->d;
    // Spatial memories: every conditioning frame (t_pos 0), then the previous
    // num_maskmem - 1 frames, oldest first (t_pos 1 .. nm - 1).
    const trk_out **mo = malloc((size_t)(ob->n_cond + nm) * sizeof *mo);
    int *mi = malloc((size_t)(ob->n_cond + nm) * sizeof(int));
    // Pointers: conditioning frames not in the future, then up to max_ptrs - 1 previous.
    int max_ptrs = t->o.n_frames < SAM2_MAX_OBJ_PTRS ? t->o.n_frames : SAM2_MAX_OBJ_PTRS;
    const trk_out **po = malloc((size_t)(ob->n_cond + max_ptrs) * sizeof *po);
    int *pp = malloc((size_t)(ob->n_cond + max_ptrs) * sizeof(int));
    if (!mo || !mi || !po || !pp) {
        free(mo), free(mi), free(po), free(pp);
        return roto_fail(ROTO_ERR_OOM, "sam2_track: out of host memory");
    }
    int n_mem = 0, n_ptr = 0;
    for (int i = 0; i < ob->n_cond; i++) {
        mo[n_mem] = ob->cond[i];
        mi[n_mem++] = nm - 1;
    }
    for (int t_pos = 1; t_pos < nm; t_pos++) {
        int t_rel = nm - t_pos, f = reverse ? frame + t_rel : frame - t_rel;
        if (f < 0 || f >= t->o.n_frames || !ob->noncond[f]) continue;
        mo[n_mem] = ob->noncond[f];
        mi[n_mem++] = nm - t_pos - 1;
    }
    int sign = reverse ? -1 : 1;
    for (int i = 0; i < ob->n_cond; i++) {
        int f = ob->cond[i]->frame;
        if (reverse ? f >= frame : f <= frame) {
            po[n_ptr] = ob->cond[i];
            pp[n_ptr++] = (frame - f) * sign;
        }
    }
    for (int td = 1; td < max_ptrs; td++) {
        int f = reverse ? frame + td : frame - td;
        if (f < 0 || f >= t->o.n_frames) break;
        if (ob->noncond[f]) {
            po[n_ptr] = ob->noncond[f];
            pp[n_ptr++] = td;
        }
    }

    roto_status st = ROTO_OK;
    int split = d / mem;
    int64_t n_ptr_tok = (int64_t)n_ptr * split, Nm = (int64_t)n_mem * HW + n_ptr_tok;
    float *host = malloc((size_t)n_ptr * d * 2 * sizeof(float) + 1);
    rt_tensor memory, mpos, pe, pe_proj;
#define TRY(expr)                                \
    do {                                         \
        if ((st = (expr)) != ROTO_OK) goto done; \
    } while (0)
    if (!host) {
        st = roto_fail(ROTO_ERR_OOM, "sam2_track: out of host memory");
        goto done;
    }
    TRY(rt_arena_f32(ctx, &memory, 3, 1, Nm, mem, 0));
    TRY(rt_arena_f32(ctx, &mpos, 3, 1, Nm, mem, 0));
    for (int j = 0; j < n_mem; j++) {
        if (!mo[j]->mem) {
            st = roto_fail(ROTO_ERR_INTERNAL, "sam2_track: frame %d has no memory", mo[j]->frame);
            goto done;
        }
        float *rows = (float *)memory.data + (size_t)j * HW * mem;
        float *prow = (float *)mpos.data + (size_t)j * HW * mem;
        rt_tensor src = rt_tensor_make(mo[j]->mem, RT_BF16, memory.device, 2,
                                       (int64_t[]){HW, mem});
        rt_tensor dst = rt_tensor_make(rows, RT_F32, memory.device, 2, (int64_t[]){HW, mem});
        TRY(rt_copy(ctx, &dst, &src));  // bf16 -> f32 (torch.cat promotes the same way)
        rt_tensor pdst = rt_tensor_make(prow, RT_F32, memory.device, 2, (int64_t[]){HW, mem});
        rt_tensor trow = rt_tensor_make((float *)t->tpos.data + (size_t)mi[j] * mem, RT_F32,
                                        memory.device, 2, (int64_t[]){1, mem});
        TRY(rt_binary(ctx, &pdst, &t->mem_pos, &trow, RT_BIN_ADD));
    }
    if (n_ptr > 0) {
        // Pointers split into d/mem consecutive tokens; their temporal PE
        // obj_ptr_tpos_proj(get_1d_sine_pe(pos / (max_ptrs - 1), d)) repeated per token.
        float *ptrs = host, *pes = host + (size_t)n_ptr * d;
        float tdm = (float)(max_ptrs - 1);
        for (int i = 0; i < n_ptr; i++) {
            memcpy(ptrs + (size_t)i * d, po[i]->obj_ptr, (size_t)d * sizeof(float));
            sam2_sine_pe_1d(pes + (size_t)i * d, (float)pp[i] / tdm, d);
        }
        float *prow = (float *)memory.data + (size_t)n_mem * HW * mem;
        TRY(rt_ctx_upload(ctx, prow, ptrs, (size_t)n_ptr * d * sizeof(float)));
        TRY(rt_arena_f32(ctx, &pe, 2, n_ptr, d, 0, 0));
        TRY(rt_arena_f32(ctx, &pe_proj, 2, n_ptr, mem, 0, 0));
        TRY(rt_ctx_upload(ctx, pe.data, pes, (size_t)n_ptr * d * sizeof(float)));
        TRY(rt_linear(ctx, &pe_proj, &pe, &v->obj_ptr_tpos_proj.w, &v->obj_ptr_tpos_proj.b,
                      RT_ACT_NONE));
        rt_tensor rep = pe_proj;  // [n_ptr, split (stride 0), mem]
        rep.ndim = 3;
        rep.shape[0] = n_ptr, rep.shape[1] = split, rep.shape[2] = mem;
        rep.stride[0] = mem, rep.stride[1] = 0, rep.stride[2] = 1;
        rt_tensor pdst = rt_tensor_make((float *)mpos.data + (size_t)n_mem * HW * mem, RT_F32,
                                        mpos.device, 3, (int64_t[]){n_ptr, split, mem});
        TRY(rt_copy(ctx, &pdst, &rep));
    }
    {
        rt_tensor curr = rt_tensor_make(t->raw.data, RT_F32, t->raw.device, 3,
                                        (int64_t[]){1, HW, d});
        rt_tensor o3 = rt_tensor_make(pix->data, RT_F32, pix->device, 3, (int64_t[]){1, HW, d});
        TRY(sam2_memory_attention(t->m, &curr, &t->curr_pos, &memory, &mpos, n_ptr_tok,
                                  &t->rope_cos, &t->rope_sin, &o3));
        sam2_tap(t->m, "memattn.out", &o3);
    }
#undef TRY
done:
    free(mo), free(mi), free(po), free(pp), free(host);
    return st;
}

// ---- one frame of one object ------------------------------------------------------------------------

typedef struct {
    int is_init;          // first prompted frame (no memory)
    const trk_points *pts;
    const float *mask_s;  // host [S*S] 0/1 mask prompt, or NULL
    int reverse;
    int run_mem;
    const float *prev;    // host [L*L] previous logits (clamped) fed with the clicks, or NULL
} frame_args;

static roto_status run_frame(sam2_track *t, trk_obj *ob, int frame, const frame_args *a,
                             trk_out *o) {
    rt_ctx *ctx = t->ctx;
    sam2_model *m = t->m;
    const sam2_video_weights *v = m->video;
    ROTO_TRY(load_features(t, frame));
    size_t mark = rt_arena_mark(ctx);
    sam2_heads_out h = {.low_res_host = o->low_res, .obj_ptr_host = o->obj_ptr};
    rt_tensor high;
    int have_high = 0;
    if (a->mask_s) {
        // _use_mask_as_output: the mask itself (x20 - 10) is the output.
        int64_t S = t->S, L = t->L;
        rt_tensor mk, lo, md;
        ROTO_TRY(arena_map(t, a->mask_s, t->S, &mk));
        ROTO_TRY(rt_arena_f32(ctx, &high, 4, 1, S, S, 1));
        ROTO_TRY(rt_scale(ctx, &high, &mk, 20.0f, -10.0f));
        have_high = 1;
        ROTO_TRY(rt_arena_f32(ctx, &lo, 4, 1, L, L, 1));
        rt_interp_params ip = {.mode = RT_INTERP_BILINEAR, .antialias = 1};
        ROTO_TRY(rt_interpolate(ctx, &lo, &high, &ip));
        // The pointer: the heads on the raw features with mask_downsample(mask); their
        // logits are then replaced by the mask's.
        ROTO_TRY(rt_arena_f32(ctx, &md, 4, 1, L, L, 1));
        rt_conv_params cp = {.stride_h = 4, .stride_w = 4, .dil_h = 1, .dil_w = 1, .groups = 1};
        ROTO_TRY(rt_conv2d(ctx, &md, &mk, &v->mask_downsample_w, &v->mask_downsample_b, &cp,
                           RT_ACT_NONE));
        ROTO_TRY(sam2_video_heads(m, &t->raw, NULL, NULL, 0, &md, 0, &h));
        ROTO_TRY(rt_ctx_download(ctx, o->low_res, lo.data, (size_t)L * L * sizeof(float)));
        int any = 0;
        for (int64_t i = 0; i < S * S && !any; i++) any = a->mask_s[i] > 0.0f;
        o->score = any ? 10.0f : -10.0f;  // 20 * is_obj - 10
        if (!any) memcpy(o->obj_ptr, v->no_obj_ptr_host, (size_t)t->d * sizeof(float));
    } else {
        rt_tensor pix, pm;
        const rt_tensor *backbone = &m->image_embed;  // directly_add_no_mem_embed
        if (!a->is_init) {
            ROTO_TRY(rt_arena_f32(ctx, &pix, 4, 1, t->e, t->e, t->d));
            ROTO_TRY(memory_conditioned(t, ob, frame, a->reverse, &pix));
            backbone = &pix;
        }
        const rt_tensor *mask_in = NULL;
        if (a->prev) {
            ROTO_TRY(arena_map(t, a->prev, t->L, &pm));
            mask_in = &pm;
        }
        int n = a->pts ? a->pts->n : 0;
        int multimask = n <= 1;  // _use_multimask: 0 <= num_pts <= 1 (box counts 2)
        ROTO_TRY(sam2_video_heads(m, backbone, a->pts ? a->pts->xy : NULL,
                                  a->pts ? a->pts->labels : NULL, n, mask_in, multimask, &h));
        o->score = h.obj_score;
    }
    if (a->run_mem) {
        if (!have_high) ROTO_TRY(upsample_low_res(t, o->low_res, t->S, t->S, &high));
        ROTO_TRY(encode_memory(t, o, &high, a->pts != NULL));
    }
    rt_arena_release(ctx, mark);
    // The stored (and returned) logits are hole-filled; the memory used the raw ones.
    return fill_holes(t, o->low_res);
}

// ---- results -------------------------------------------------------------------------------------

static roto_status grow_results(sam2_track *t, int n) {
    if (n <= t->res_cap) return ROTO_OK;
    size_t px = (size_t)t->o.width * t->o.height;
    float *lg = realloc(t->vid_logits, (size_t)n * px * sizeof(float));
    if (lg) t->vid_logits = lg;
    uint8_t *mk = realloc(t->vid_mask, (size_t)n * px);
    if (mk) t->vid_mask = mk;
    sam2_track_object *r = realloc(t->res, (size_t)n * sizeof *r);
    if (r) t->res = r;
    if (!lg || !mk || !r) return roto_fail(ROTO_ERR_OOM, "sam2_track: out of host memory");
    t->res_cap = n;
    return ROTO_OK;
}

// Upsample each output's low-res logits to the video (bilinear, align_corners False),
// threshold, and call cb.
static roto_status emit(sam2_track *t, int frame, trk_out **outs, const int *ids, int n,
                        sam2_track_cb cb, void *user) {
    if (!cb) return ROTO_OK;
    ROTO_TRY(grow_results(t, n));
    rt_ctx *ctx = t->ctx;
    int H = t->o.height, W = t->o.width;
    size_t px = (size_t)H * W;
    for (int i = 0; i < n; i++) {
        size_t mark = rt_arena_mark(ctx);
        rt_tensor hi;
        ROTO_TRY(upsample_low_res(t, outs[i]->low_res, H, W, &hi));
        float *lg = t->vid_logits + (size_t)i * px;
        uint8_t *mk = t->vid_mask + (size_t)i * px;
        ROTO_TRY(rt_ctx_download(ctx, lg, hi.data, px * sizeof(float)));
        rt_arena_release(ctx, mark);
        for (size_t k = 0; k < px; k++) mk[k] = lg[k] > 0.0f;
        t->res[i] = (sam2_track_object){.obj = ids[i], .obj_score = outs[i]->score,
                                        .low_res = t->L, .low_res_logits = outs[i]->low_res,
                                        .obj_ptr = outs[i]->obj_ptr, .logits = lg, .mask = mk};
    }
    sam2_track_result r = {.frame = frame, .width = W, .height = H, .n_objects = n,
                           .objects = t->res};
    return cb(user, &r);
}

// ---- session ----------------------------------------------------------------------------------------

void sam2_track_opts_init(sam2_track_opts *o) {
    memset(o, 0, sizeof *o);
    o->fill_hole_area = 8;
}

size_t sam2_track_arena_bytes(const sam2_config *cfg, int mem_dim, int max_cond) {
    double S = cfg->image_size, e = S / 16.0, d = cfg->d_model, HW = e * e, L = S / 4.0;
    if (max_cond < 1) max_cond = 1;
    double Nm = (max_cond + 6.0) * HW + SAM2_MAX_OBJ_PTRS * 4.0;
    double attn = Nm * mem_dim * 4.0 * 3.0 + Nm * d * 4.0 * 2.0 + HW * (6.0 * d + 2048.0) * 4.0;
    double menc = S * S * 4.0 * 3.0 + (S / 2) * (S / 2) * 4.0 * 4.0 + HW * d * 4.0 * 8.0;
    double video = attn + menc + L * L * 4.0 * 8.0;
    size_t enc = sam2_arena_bytes(cfg, (int)S, (int)S);
    return enc + (size_t)(video * 1.2);
}

roto_status sam2_track_create(sam2_model *m, const sam2_track_opts *o, sam2_track **out) {
    if (!m || !o || !out) return roto_fail(ROTO_ERR_INVALID_ARG, "sam2_track_create: NULL argument");
    *out = NULL;
    if (!m->video)
        return roto_fail(ROTO_ERR_UNSUPPORTED,
                         "sam2_track: the checkpoint has no video tensors (memory encoder, "
                         "memory attention); an image-only file cannot track");
    if (o->n_frames < 1 || o->width < 1 || o->height < 1 || o->width > 32768 ||
        o->height > 32768 || !o->read_frame)
        return roto_fail(ROTO_ERR_INVALID_ARG,
                         "sam2_track_create: need n_frames >= 1, a frame size and read_frame "
                         "(got %d frames of %dx%d)", o->n_frames, o->width, o->height);
    sam2_track *t = calloc(1, sizeof *t);
    if (!t) return roto_fail(ROTO_ERR_OOM, "sam2_track: out of host memory");
    t->m = m;
    t->ctx = m->ctx;
    t->o = *o;
    t->S = m->cfg.image_size;
    t->L = m->low_res;
    t->e = m->emb;
    t->d = m->cfg.d_model;
    t->mem = m->video->mem_dim;
    t->HW = t->e * t->e;
    t->cached_frame = -1;
    roto_status st = ROTO_OK;
    size_t S2 = (size_t)t->S * t->S, L2 = (size_t)t->L * t->L;
    t->rgb = malloc((size_t)o->width * o->height * 3);
    t->rgb_s = malloc(S2 * 3);
    t->hr_host = malloc(S2 * sizeof(float));
    t->cc_mask = malloc(L2);
    t->cc_labels = malloc(L2 * sizeof(int32_t));
    t->cc_areas = malloc(L2 * sizeof(int32_t));
    float *tmp = malloc((size_t)t->HW * (t->d > t->mem ? t->d : t->mem) * sizeof(float));
    float *cs = malloc((size_t)t->HW * t->d / 2 * sizeof(float));
    float *sn = malloc((size_t)t->HW * t->d / 2 * sizeof(float));
    if (!t->rgb || !t->rgb_s || !t->hr_host || !t->cc_mask || !t->cc_labels || !t->cc_areas ||
        !tmp || !cs || !sn)
        st = roto_fail(ROTO_ERR_OOM, "sam2_track: out of host memory");
    if (st == ROTO_OK) st = rt_ctx_create(&t->cpu, rt_cpu_backend(), L2 * 16 + (1 << 20));
    if (st == ROTO_OK) t->have_cpu = 1;
    int HW = t->HW, d = t->d, mem = t->mem, nm = m->video->num_maskmem;
    if (st == ROTO_OK) st = dev_alloc(t, &t->raw, RT_F32, 4, (int64_t[]){1, t->e, t->e, d});
    if (st == ROTO_OK) st = dev_alloc(t, &t->curr_pos, RT_F32, 3, (int64_t[]){1, HW, d});
    if (st == ROTO_OK) {
        sam2_sine_pe(tmp, t->e, d);
        st = rt_ctx_upload(t->ctx, t->curr_pos.data, tmp, (size_t)HW * d * sizeof(float));
    }
    if (st == ROTO_OK) st = dev_alloc(t, &t->mem_pos, RT_F32, 2, (int64_t[]){HW, mem});
    if (st == ROTO_OK) {
        sam2_sine_pe(tmp, t->e, mem);
        st = rt_ctx_upload(t->ctx, t->mem_pos.data, tmp, (size_t)HW * mem * sizeof(float));
    }
    if (st == ROTO_OK) st = dev_alloc(t, &t->rope_cos, RT_F32, 2, (int64_t[]){HW, d / 2});
    if (st == ROTO_OK) st = dev_alloc(t, &t->rope_sin, RT_F32, 2, (int64_t[]){HW, d / 2});
    if (st == ROTO_OK) {
        rt_rope_axial_table(cs, sn, d, t->e, t->e, 10000.0f, 1.0f);
        st = rt_ctx_upload(t->ctx, t->rope_cos.data, cs, (size_t)HW * d / 2 * sizeof(float));
        if (st == ROTO_OK)
            st = rt_ctx_upload(t->ctx, t->rope_sin.data, sn, (size_t)HW * d / 2 * sizeof(float));
    }
    if (st == ROTO_OK) st = dev_alloc(t, &t->tpos, RT_F32, 2, (int64_t[]){nm, mem});
    if (st == ROTO_OK)
        st = rt_ctx_upload(t->ctx, t->tpos.data, m->video->maskmem_tpos_host,
                           (size_t)nm * mem * sizeof(float));
    free(tmp), free(cs), free(sn);
    if (st != ROTO_OK) {
        sam2_track_free(t);
        return st;
    }
    *out = t;
    return ROTO_OK;
}

static void obj_free(sam2_track *t, trk_obj *ob) {
    int n = t->o.n_frames;
    for (int i = 0; i < ob->n_cond; i++) out_free(t, ob->cond[i]);
    for (int f = 0; f < n; f++) {
        if (ob->noncond) out_free(t, ob->noncond[f]);
        if (ob->tmp_cond) out_free(t, ob->tmp_cond[f]);
        if (ob->tmp_noncond) out_free(t, ob->tmp_noncond[f]);
    }
    free(ob->cond), free(ob->noncond), free(ob->tmp_cond), free(ob->tmp_noncond);
    free(ob->tmp_cond_order), free(ob->tracked), free(ob->prompted), free(ob->pts);
}

void sam2_track_free(sam2_track *t) {
    if (!t) return;
    for (int i = 0; i < t->n_objs; i++) obj_free(t, &t->objs[i]);
    free(t->objs);
    for (int i = 0; i < t->n_dev; i++) rt_ctx_free_persistent(t->ctx, t->dev[i], t->dev_bytes[i]);
    if (t->have_cpu) rt_ctx_destroy(&t->cpu);
    free(t->rgb), free(t->rgb_s), free(t->hr_host), free(t->cc_mask), free(t->cc_labels);
    free(t->cc_areas), free(t->vid_logits), free(t->vid_mask), free(t->res);
    free(t);
}

roto_status sam2_track_add_object(sam2_track *t, int *obj) {
    if (!t || !obj) return roto_fail(ROTO_ERR_INVALID_ARG, "sam2_track_add_object: NULL argument");
    trk_obj *objs = realloc(t->objs, (size_t)(t->n_objs + 1) * sizeof *objs);
    if (!objs) return roto_fail(ROTO_ERR_OOM, "sam2_track: out of host memory");
    t->objs = objs;
    trk_obj *ob = &objs[t->n_objs];
    memset(ob, 0, sizeof *ob);
    size_t n = (size_t)t->o.n_frames;
    ob->cond = calloc(n, sizeof *ob->cond);
    ob->noncond = calloc(n, sizeof *ob->noncond);
    ob->tmp_cond = calloc(n, sizeof *ob->tmp_cond);
    ob->tmp_noncond = calloc(n, sizeof *ob->tmp_noncond);
    ob->tmp_cond_order = calloc(n, sizeof(int));
    ob->tracked = malloc(n);
    ob->prompted = calloc(n, 1);
    ob->pts = calloc(n, sizeof *ob->pts);
    if (!ob->cond || !ob->noncond || !ob->tmp_cond || !ob->tmp_noncond || !ob->tmp_cond_order ||
        !ob->tracked || !ob->prompted || !ob->pts) {
        obj_free(t, ob);
        return roto_fail(ROTO_ERR_OOM, "sam2_track: out of host memory");
    }
    memset(ob->tracked, -1, n);
    *obj = t->n_objs++;
    return ROTO_OK;
}

// ---- prompts ----------------------------------------------------------------------------------------

static roto_status check_prompt(const sam2_track *t, int obj, int frame, const sam2_track_prompt *p) {
    int W = t->o.width, H = t->o.height;
    if (obj < 0 || obj >= t->n_objs)
        return roto_fail(ROTO_ERR_INVALID_ARG, "sam2_track: no object %d (%d added)", obj,
                         t->n_objs);
    if (frame < 0 || frame >= t->o.n_frames)
        return roto_fail(ROTO_ERR_INVALID_ARG, "sam2_track: frame %d outside 0..%d", frame,
                         t->o.n_frames - 1);
    if (p->mask && (p->n_points > 0 || p->box))
        return roto_fail(ROTO_ERR_INVALID_ARG,
                         "sam2_track: a mask prompt goes alone (add clicks in a second call)");
    if (!p->mask && p->n_points <= 0 && !p->box)
        return roto_fail(ROTO_ERR_INVALID_ARG, "sam2_track: the prompt has no points, box or mask");
    ROTO_TRY(sam2_check_clicks("sam2_track", "frame", W, H, p->points, p->labels, p->n_points,
                               p->box));
    if (p->box && p->keep_old)
        return roto_fail(ROTO_ERR_INVALID_ARG,
                         "sam2_track: a box must come first: it cannot be added to earlier "
                         "clicks (keep_old = 0)");
    return ROTO_OK;
}

// add_new_mask: the mask at the model resolution, bilinear antialiased then >= 0.5.
static roto_status mask_to_model(sam2_track *t, const uint8_t *mask, float *dst) {
    int W = t->o.width, H = t->o.height, S = t->S;
    size_t n = (size_t)W * H;
    if (W == S && H == S) {
        for (size_t i = 0; i < n; i++) dst[i] = mask[i] ? 1.0f : 0.0f;
        return ROTO_OK;
    }
    rt_ctx *ctx = t->ctx;
    size_t mark = rt_arena_mark(ctx);
    float *host = malloc(n * sizeof(float));
    if (!host) return roto_fail(ROTO_ERR_OOM, "sam2_track: out of host memory");
    for (size_t i = 0; i < n; i++) host[i] = mask[i] ? 1.0f : 0.0f;
    rt_tensor a, b;
    roto_status st = rt_arena_f32(ctx, &a, 4, 1, H, W, 1);
    if (st == ROTO_OK) st = rt_ctx_upload(ctx, a.data, host, n * sizeof(float));
    free(host);
    ROTO_TRY(st);
    ROTO_TRY(rt_arena_f32(ctx, &b, 4, 1, S, S, 1));
    rt_interp_params ip = {.mode = RT_INTERP_BILINEAR, .antialias = 1};
    ROTO_TRY(rt_interpolate(ctx, &b, &a, &ip));
    ROTO_TRY(rt_ctx_download(ctx, dst, b.data, (size_t)S * S * sizeof(float)));
    rt_arena_release(ctx, mark);
    for (size_t i = 0; i < (size_t)S * S; i++) dst[i] = dst[i] >= 0.5f ? 1.0f : 0.0f;
    return ROTO_OK;
}

roto_status sam2_track_add_prompt(sam2_track *t, int obj, int frame, const sam2_track_prompt *p,
                                  sam2_track_cb cb, void *user) {
    if (!t || !p) return roto_fail(ROTO_ERR_INVALID_ARG, "sam2_track_add_prompt: NULL argument");
    ROTO_TRY(check_prompt(t, obj, frame, p));
    trk_obj *ob = &t->objs[obj];
    int is_init = ob->tracked[frame] < 0;
    int reverse = is_init ? 0 : ob->tracked[frame];
    int is_cond = is_init || t->o.corrections_as_cond;
    trk_out **slot = is_cond ? &ob->tmp_cond[frame] : &ob->tmp_noncond[frame];
    frame_args a = {.is_init = is_init, .reverse = reverse};

    float *mask_s = NULL, *prev = NULL;
    trk_points *tp = points_at(ob, frame);
    roto_status st = ROTO_OK;
    if (p->mask) {
        mask_s = malloc((size_t)t->S * t->S * sizeof(float));
        if (!mask_s) return roto_fail(ROTO_ERR_OOM, "sam2_track: out of host memory");
        st = mask_to_model(t, p->mask, mask_s);
        if (tp) tp->n = 0;  // point_inputs_per_frame.pop(frame)
        a.mask_s = mask_s;
    } else {
        // Points in model coordinates: box corners (labels 2, 3) first, then the clicks.
        if (!tp) {
            tp = &ob->pts[ob->n_pts++];
            tp->frame = frame;
            tp->n = 0;
        }
        if (!p->keep_old) tp->n = 0;
        int add = p->n_points + (p->box ? 2 : 0);
        if (tp->n + add > SAM2_MAX_POINTS + 2)
            return roto_fail(ROTO_ERR_INVALID_ARG, "sam2_track: more than %d clicks on frame %d",
                             SAM2_MAX_POINTS, frame);
        tp->n += sam2_points_to_model(t->m, t->o.width, t->o.height, p->box, p->points,
                                      p->labels, p->n_points, tp->xy + 2 * tp->n,
                                      tp->labels + tp->n);
        a.pts = tp;
        // The frame's latest logits (temporary, then conditioning, then not) with the clicks.
        trk_out *po = *slot ? *slot : cond_at(ob, frame);
        if (!po) po = ob->noncond[frame];
        if (po) {
            size_t L2 = (size_t)t->L * t->L;
            prev = malloc(L2 * sizeof(float));
            if (!prev) return roto_fail(ROTO_ERR_OOM, "sam2_track: out of host memory");
            for (size_t i = 0; i < L2; i++) prev[i] = fminf(fmaxf(po->low_res[i], -32.0f), 32.0f);
            a.prev = prev;
        }
    }
    trk_out *o = NULL;
    if (st == ROTO_OK) st = out_new(t, frame, &o);
    if (st == ROTO_OK) st = run_frame(t, ob, frame, &a, o);
    free(mask_s);
    free(prev);
    if (st != ROTO_OK) {
        out_free(t, o);
        return st;
    }
    if (is_cond && !*slot) ob->tmp_cond_order[ob->n_tmp_cond++] = frame;
    out_free(t, *slot);
    *slot = o;
    ob->prompted[frame] = 1;
    return emit(t, frame, &o, &obj, 1, cb, user);
}

// ---- propagation ------------------------------------------------------------------------------------

// propagate_in_video_preflight: memory-encode the prompt outputs (from their
// hole-filled logits, binarised) and move them into the object's outputs.
static roto_status preflight(sam2_track *t) {
    if (t->n_objs == 0)
        return roto_fail(ROTO_ERR_INVALID_ARG, "sam2_track: no objects; add prompts first");
    for (int k = 0; k < t->n_objs; k++) {
        trk_obj *ob = &t->objs[k];
        for (int is_cond = 0; is_cond < 2; is_cond++) {
            int n = is_cond ? ob->n_tmp_cond : t->o.n_frames;
            for (int i = 0; i < n; i++) {
                int f = is_cond ? ob->tmp_cond_order[i] : i;
                trk_out **slot = is_cond ? &ob->tmp_cond[f] : &ob->tmp_noncond[f];
                trk_out *o = *slot;
                if (!o) continue;
                if (!o->mem) {
                    ROTO_TRY(load_features(t, f));
                    size_t mark = rt_arena_mark(t->ctx);
                    rt_tensor high;
                    ROTO_TRY(upsample_low_res(t, o->low_res, t->S, t->S, &high));
                    ROTO_TRY(encode_memory(t, o, &high, 1));
                    rt_arena_release(t->ctx, mark);
                }
                *slot = NULL;
                if (is_cond) {
                    int j = 0;
                    while (j < ob->n_cond && ob->cond[j]->frame != f) j++;
                    if (j < ob->n_cond) out_free(t, ob->cond[j]);
                    else ob->n_cond++;
                    ob->cond[j] = o;
                } else {
                    out_free(t, ob->noncond[f]);
                    ob->noncond[f] = o;
                }
            }
            if (is_cond) ob->n_tmp_cond = 0;
        }
        if (ob->n_cond == 0)
            return roto_fail(ROTO_ERR_INVALID_ARG,
                             "sam2_track: object %d has no prompt on a frame it was not tracked "
                             "on; add a prompt first", k);
        for (int i = 0; i < ob->n_cond; i++) {
            int f = ob->cond[i]->frame;
            out_free(t, ob->noncond[f]);
            ob->noncond[f] = NULL;
        }
    }
    return ROTO_OK;
}

// Drop non-conditioning outputs no later step can select: further than the memory /
// pointer reach K from the current frame and from every prompted frame. only >= 0
// checks that one frame (the one leaving the window as a pass advances), else all.
static int reach(const sam2_track *t) {
    int nf = t->o.n_frames;
    int max_ptrs = nf < SAM2_MAX_OBJ_PTRS ? nf : SAM2_MAX_OBJ_PTRS;
    int K = t->m->video->num_maskmem - 1;
    return max_ptrs - 1 > K ? max_ptrs - 1 : K;
}

static void evict(sam2_track *t, trk_obj *ob, int frame, int only) {
    if (t->o.keep_all) return;
    int nf = t->o.n_frames, K = reach(t);
    int f0 = only >= 0 ? only : 0, f1 = only >= 0 ? only + 1 : nf;
    for (int f = f0; f < f1 && f < nf; f++) {
        if (!ob->noncond[f] || abs(f - frame) <= K) continue;
        int pinned = 0;
        for (int g = f - K; g <= f + K && !pinned; g++) pinned = g >= 0 && g < nf && ob->prompted[g];
        if (pinned) continue;
        out_free(t, ob->noncond[f]);
        ob->noncond[f] = NULL;
    }
}

roto_status sam2_track_propagate(sam2_track *t, int start, int max_frames, int reverse,
                                 sam2_track_cb cb, void *user) {
    if (!t) return roto_fail(ROTO_ERR_INVALID_ARG, "sam2_track_propagate: NULL session");
    ROTO_TRY(preflight(t));
    int nf = t->o.n_frames;
    if (start < 0) {
        start = nf;
        for (int k = 0; k < t->n_objs; k++)
            for (int i = 0; i < t->objs[k].n_cond; i++)
                if (t->objs[k].cond[i]->frame < start) start = t->objs[k].cond[i]->frame;
    }
    if (start >= nf)
        return roto_fail(ROTO_ERR_INVALID_ARG, "sam2_track: start frame %d outside 0..%d", start,
                         nf - 1);
    if (max_frames < 0) max_frames = nf;
    int end, step = reverse ? -1 : 1;
    if (reverse) {
        end = start - max_frames > 0 ? start - max_frames : 0;
        if (start == 0) return ROTO_OK;  // the official code skips reverse from frame 0
    } else {
        end = start + max_frames < nf - 1 ? start + max_frames : nf - 1;
    }
    int *ids = malloc((size_t)t->n_objs * sizeof(int));
    trk_out **outs = malloc((size_t)t->n_objs * sizeof *outs);
    if (!ids || !outs) {
        free(ids), free(outs);
        return roto_fail(ROTO_ERR_OOM, "sam2_track: out of host memory");
    }
    roto_status st = ROTO_OK;
    int K = reach(t);
    for (int k = 0; k < t->n_objs; k++) evict(t, &t->objs[k], start, -1);
    for (int f = start; st == ROTO_OK && (reverse ? f >= end : f <= end); f += step) {
        for (int k = 0; k < t->n_objs && st == ROTO_OK; k++) {
            trk_obj *ob = &t->objs[k];
            ids[k] = k;
            trk_out *o = cond_at(ob, f);
            if (!o) {
                frame_args a = {.is_init = 0, .reverse = reverse, .run_mem = 1};
                st = out_new(t, f, &o);
                if (st == ROTO_OK) st = run_frame(t, ob, f, &a, o);
                if (st != ROTO_OK) {
                    out_free(t, o);
                    break;
                }
                out_free(t, ob->noncond[f]);
                ob->noncond[f] = o;
            }
            ob->tracked[f] = (signed char)reverse;
            outs[k] = o;
        }
        if (st == ROTO_OK) st = emit(t, f, outs, ids, t->n_objs, cb, user);
        int leaving = f - step * (K + 1);  // (a frame beyond the window is harmless)
        for (int k = 0; k < t->n_objs && st == ROTO_OK && leaving >= 0; k++)
            evict(t, &t->objs[k], f, leaving);
    }
    free(ids), free(outs);
    return st;
}

int sam2_track_stored_frames(const sam2_track *t, int obj) {
    if (!t || obj < 0 || obj >= t->n_objs) return -1;
    const trk_obj *ob = &t->objs[obj];
    int n = ob->n_cond;
    for (int f = 0; f < t->o.n_frames; f++)
        n += (ob->noncond[f] != NULL) + (ob->tmp_cond[f] != NULL) + (ob->tmp_noncond[f] != NULL);
    return n;
}
