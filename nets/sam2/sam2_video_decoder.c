// sam2_video_decoder.c: the SAM heads as the video path runs them
// (SAM2Base._forward_sam_heads) on the shared decoder (sam2_decode), on any backbone map
// (memory-conditioned features, the raw features + no_mem_embed on a first prompted
// frame, or the raw features for a mask prompt's pointer):
// - prompt: points are passed with boxes=None, so the pad point is always appended, and
//   a frame without clicks gets one "not a point" before it;
// - selection: multimask -> best IoU of masks 1..3 and that mask token for the pointer;
//   single -> mask 0 unless unstable (then the best multimask output), token 0 always;
// - occlusion: score <= 0 -> every logit NO_OBJ_SCORE and the pointer is no_obj_ptr
//   (fixed_no_obj_ptr: ptr * is_obj + (1 - is_obj) * no_obj_ptr);
// - object pointer: obj_ptr_proj (3-layer MLP, ReLU) of the chosen token.
#include <stdlib.h>
#include <string.h>

#include "sam2_video_internal.h"

roto_status sam2_video_heads(sam2_model *m, const rt_tensor *backbone, const float *points_xy,
                             const int *labels, int n_points, const rt_tensor *mask,
                             int multimask, sam2_heads_out *out) {
    rt_ctx *ctx = m->ctx;
    const sam2_video_weights *vw = m->video;
    int d = m->cfg.d_model;
    int64_t L = m->low_res;
    if (!vw) return roto_fail(ROTO_ERR_UNSUPPORTED, "sam2: the checkpoint has no video tensors");
    if (n_points < 0 || n_points > SAM2_MAX_POINTS + 2)
        return roto_fail(ROTO_ERR_INVALID_ARG, "sam2: %d prompt points", n_points);
    static const float none_xy[2] = {0.0f, 0.0f};
    static const int none_label = -1;
    sam2_dec_in in = {.backbone = backbone, .points_xy = n_points ? points_xy : none_xy,
                      .labels = n_points ? labels : &none_label,
                      .n_points = n_points ? n_points : 1, .pad_point = 1, .mask = mask};
    float *all = malloc((size_t)4 * L * L * sizeof(float));
    if (!all) return roto_fail(ROTO_ERR_OOM, "sam2: out of host memory");
    size_t mark = rt_arena_mark(ctx);
    sam2_dec_out dec = {.masks_host = all};
    roto_status st = sam2_decode(m, &in, &dec);
    if (st == ROTO_OK) {
        sam2_pick pk = sam2_pick_masks(multimask ? SAM2_PICK_MULTI_BEST : SAM2_PICK_SINGLE, all,
                                       L * L, dec.iou);
        out->obj_score = dec.obj_score;
        out->iou = dec.iou[pk.first];
        int present = dec.obj_score > 0.0f;
        const float *src = all + (size_t)pk.first * L * L;
        for (int64_t i = 0; i < L * L; i++)
            out->low_res_host[i] = present ? src[i] : SAM2_NO_OBJ_SCORE;

        // Object pointer from the chosen mask token (query row 2 + token).
        rt_tensor ptr, tok = sam2_rows(&dec.tokens, 2 + pk.token, 1);
        st = rt_arena_f32(ctx, &ptr, 3, 1, 1, d, 0);
        if (st == ROTO_OK) st = sam2_mlp3_forward(m, &vw->obj_ptr_proj, &ptr, &tok, RT_ACT_NONE);
        if (st == ROTO_OK)
            st = rt_ctx_download(ctx, out->obj_ptr_host, ptr.data, (size_t)d * sizeof(float));
        if (st == ROTO_OK && !present)
            memcpy(out->obj_ptr_host, vw->no_obj_ptr_host, (size_t)d * sizeof(float));
    }
    free(all);
    rt_arena_release(ctx, mark);
    return st;
}
