// namemap.c: rule tables mapping other naming schemes to canonical names, and
// the aliasing pass over a weight store.
//
// SAM 2 table: the inverse of the Hugging Face converter
// (transformers models/sam2_video/convert_sam2_video_to_hf.py, its
// KEYS_TO_MODIFY_MAPPING plus regexes; see docs in shared research notes,
// sam2_spec.md section 5). Rules are tried in order, first match wins, so
// specific rules come before the general prefix renames.
#include "namemap.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *from, *to;
    bool split_rows;  // `from` is a whole name; one alias per row, "#" = row index
} name_rule;

static const name_rule g_sam2_rules[] = {
    // Hiera trunk and FPN neck
    {"vision_encoder.backbone.patch_embed.projection", "image_encoder.trunk.patch_embed.proj", false},
    {"vision_encoder.backbone.blocks.#.layer_norm1", "image_encoder.trunk.blocks.#.norm1", false},
    {"vision_encoder.backbone.blocks.#.layer_norm2", "image_encoder.trunk.blocks.#.norm2", false},
    {"vision_encoder.backbone.blocks.#.mlp.proj_in", "image_encoder.trunk.blocks.#.mlp.layers.0", false},
    {"vision_encoder.backbone.blocks.#.mlp.proj_out", "image_encoder.trunk.blocks.#.mlp.layers.1", false},
    {"vision_encoder.backbone", "image_encoder.trunk", false},
    {"vision_encoder.neck.convs.#", "image_encoder.neck.convs.#.conv", false},
    // memory attention (the EdgeTAM converter names linear1/2 mlp.up_proj/down_proj)
    {"memory_attention.layers.#.*.o_proj", "memory_attention.layers.#.*.out_proj", false},
    {"memory_attention.layers.#.layer_norm1", "memory_attention.layers.#.norm1", false},
    {"memory_attention.layers.#.layer_norm2", "memory_attention.layers.#.norm2", false},
    {"memory_attention.layers.#.layer_norm3", "memory_attention.layers.#.norm3", false},
    {"memory_attention.layers.#.mlp.up_proj", "memory_attention.layers.#.linear1", false},
    {"memory_attention.layers.#.mlp.down_proj", "memory_attention.layers.#.linear2", false},
    {"memory_attention.layer_norm", "memory_attention.norm", false},
    // memory encoder: mask downsampler Sequential indices 3k (conv), 3k+1 (norm), 12
    {"memory_encoder.mask_downsampler.layers.0.conv", "memory_encoder.mask_downsampler.encoder.0", false},
    {"memory_encoder.mask_downsampler.layers.0.layer_norm", "memory_encoder.mask_downsampler.encoder.1", false},
    {"memory_encoder.mask_downsampler.layers.1.conv", "memory_encoder.mask_downsampler.encoder.3", false},
    {"memory_encoder.mask_downsampler.layers.1.layer_norm", "memory_encoder.mask_downsampler.encoder.4", false},
    {"memory_encoder.mask_downsampler.layers.2.conv", "memory_encoder.mask_downsampler.encoder.6", false},
    {"memory_encoder.mask_downsampler.layers.2.layer_norm", "memory_encoder.mask_downsampler.encoder.7", false},
    {"memory_encoder.mask_downsampler.layers.3.conv", "memory_encoder.mask_downsampler.encoder.9", false},
    {"memory_encoder.mask_downsampler.layers.3.layer_norm", "memory_encoder.mask_downsampler.encoder.10", false},
    {"memory_encoder.mask_downsampler.final_conv", "memory_encoder.mask_downsampler.encoder.12", false},
    {"memory_encoder.feature_projection", "memory_encoder.pix_feat_proj", false},
    {"memory_encoder.memory_fuser.layers.#.depthwise_conv", "memory_encoder.fuser.layers.#.dwconv", false},
    {"memory_encoder.memory_fuser.layers.#.layer_norm", "memory_encoder.fuser.layers.#.norm", false},
    {"memory_encoder.memory_fuser.layers.#.pointwise_conv1", "memory_encoder.fuser.layers.#.pwconv1", false},
    {"memory_encoder.memory_fuser.layers.#.pointwise_conv2", "memory_encoder.fuser.layers.#.pwconv2", false},
    {"memory_encoder.memory_fuser.layers.#.scale", "memory_encoder.fuser.layers.#.gamma", false},
    {"memory_encoder.projection", "memory_encoder.out_proj", false},
    // top-level parameters and object-pointer heads
    {"memory_temporal_positional_encoding", "maskmem_tpos_enc", false},
    {"no_memory_embedding", "no_mem_embed", false},
    {"no_memory_positional_encoding", "no_mem_pos_enc", false},
    {"no_object_pointer", "no_obj_ptr", false},
    {"occlusion_spatial_embedding_parameter", "no_obj_embed_spatial", false},
    {"object_pointer_proj.proj_in", "obj_ptr_proj.layers.0", false},
    {"object_pointer_proj.layers.0", "obj_ptr_proj.layers.1", false},
    {"object_pointer_proj.proj_out", "obj_ptr_proj.layers.2", false},
    {"temporal_positional_encoding_projection_layer", "obj_ptr_tpos_proj", false},
    // prompt encoder (the positional matrix is stored twice in HF files)
    {"prompt_encoder.shared_embedding.positional_embedding",
     "sam_prompt_encoder.pe_layer.positional_encoding_gaussian_matrix", false},
    {"shared_image_embedding.positional_embedding",
     "sam_prompt_encoder.pe_layer.positional_encoding_gaussian_matrix", false},
    {"prompt_encoder.point_embed.weight", "sam_prompt_encoder.point_embeddings.#.weight", true},
    {"prompt_encoder.point_embed.#", "sam_prompt_encoder.point_embeddings.#", false},
    {"prompt_encoder.mask_embed.conv1", "sam_prompt_encoder.mask_downscaling.0", false},
    {"prompt_encoder.mask_embed.layer_norm1", "sam_prompt_encoder.mask_downscaling.1", false},
    {"prompt_encoder.mask_embed.conv2", "sam_prompt_encoder.mask_downscaling.3", false},
    {"prompt_encoder.mask_embed.layer_norm2", "sam_prompt_encoder.mask_downscaling.4", false},
    {"prompt_encoder.mask_embed.conv3", "sam_prompt_encoder.mask_downscaling.6", false},
    {"prompt_encoder", "sam_prompt_encoder", false},
    // mask decoder
    {"mask_decoder.upscale_conv1", "sam_mask_decoder.output_upscaling.0", false},
    {"mask_decoder.upscale_layer_norm", "sam_mask_decoder.output_upscaling.1", false},
    {"mask_decoder.upscale_conv2", "sam_mask_decoder.output_upscaling.3", false},
    {"mask_decoder.transformer.layers.#.*.o_proj", "sam_mask_decoder.transformer.layers.#.*.out_proj", false},
    {"mask_decoder.transformer.layers.#.layer_norm1", "sam_mask_decoder.transformer.layers.#.norm1", false},
    {"mask_decoder.transformer.layers.#.layer_norm2", "sam_mask_decoder.transformer.layers.#.norm2", false},
    {"mask_decoder.transformer.layers.#.layer_norm3", "sam_mask_decoder.transformer.layers.#.norm3", false},
    {"mask_decoder.transformer.layers.#.layer_norm4", "sam_mask_decoder.transformer.layers.#.norm4", false},
    {"mask_decoder.transformer.layers.#.mlp.proj_in", "sam_mask_decoder.transformer.layers.#.mlp.layers.0", false},
    {"mask_decoder.transformer.layers.#.mlp.proj_out", "sam_mask_decoder.transformer.layers.#.mlp.layers.1", false},
    {"mask_decoder.transformer.final_attn_token_to_image.o_proj",
     "sam_mask_decoder.transformer.final_attn_token_to_image.out_proj", false},
    {"mask_decoder.transformer.layer_norm_final_attn", "sam_mask_decoder.transformer.norm_final_attn", false},
    // 3-layer MLP heads: proj_in / layers.0 / proj_out = layers.0 / 1 / 2
    {"mask_decoder.output_hypernetworks_mlps.#.proj_in", "sam_mask_decoder.output_hypernetworks_mlps.#.layers.0", false},
    {"mask_decoder.output_hypernetworks_mlps.#.layers.0", "sam_mask_decoder.output_hypernetworks_mlps.#.layers.1", false},
    {"mask_decoder.output_hypernetworks_mlps.#.proj_out", "sam_mask_decoder.output_hypernetworks_mlps.#.layers.2", false},
    {"mask_decoder.iou_prediction_head.proj_in", "sam_mask_decoder.iou_prediction_head.layers.0", false},
    {"mask_decoder.iou_prediction_head.layers.0", "sam_mask_decoder.iou_prediction_head.layers.1", false},
    {"mask_decoder.iou_prediction_head.proj_out", "sam_mask_decoder.iou_prediction_head.layers.2", false},
    {"mask_decoder.pred_obj_score_head.proj_in", "sam_mask_decoder.pred_obj_score_head.layers.0", false},
    {"mask_decoder.pred_obj_score_head.layers.0", "sam_mask_decoder.pred_obj_score_head.layers.1", false},
    {"mask_decoder.pred_obj_score_head.proj_out", "sam_mask_decoder.pred_obj_score_head.layers.2", false},
    {"mask_decoder", "sam_mask_decoder", false},
};

static const struct {
    const char *label;
    const name_rule *rules;
    size_t n_rules;
} g_tables[RT_NAMES_COUNT] = {
    [RT_NAMES_SAM2] = {"sam2", g_sam2_rules, sizeof g_sam2_rules / sizeof *g_sam2_rules},
};

const char *rt_names_label(rt_names fam) {
    return (unsigned)fam < RT_NAMES_COUNT ? g_tables[fam].label : "?";
}

#define MAX_CAPTURES 4

typedef struct {
    const char *s;
    size_t len;
} span;

// Match `pat` against a prefix of `name`, whole segments only. On success the
// captures are filled and *rest points after the matched prefix ("" or ".x").
static bool match(const char *pat, const char *name, span *caps, int *n_caps, const char **rest) {
    const char *p = pat, *s = name;
    *n_caps = 0;
    for (;;) {
        const char *pe = strchr(p, '.');
        size_t plen = pe ? (size_t)(pe - p) : strlen(p);
        const char *se = strchr(s, '.');
        size_t slen = se ? (size_t)(se - s) : strlen(s);
        if (plen == 1 && (*p == '#' || *p == '*')) {
            if (slen == 0 || *n_caps == MAX_CAPTURES) return false;
            if (*p == '#')
                for (size_t k = 0; k < slen; k++)
                    if (s[k] < '0' || s[k] > '9') return false;
            caps[(*n_caps)++] = (span){s, slen};
        } else if (plen != slen || memcmp(p, s, plen)) {
            return false;
        }
        s += slen;
        if (!pe) {
            *rest = s;  // at '\0' or '.'
            return true;
        }
        if (*s != '.') return false;  // name ended before the pattern
        p = pe + 1;
        s++;
    }
}

// Write `tmpl` with its marks replaced by the captures (or the row index for
// split rules), then `rest`. False if it does not fit.
static bool expand(const char *tmpl, const span *caps, int n_caps, bool split, int64_t row,
                   const char *rest, char *out, size_t n) {
    size_t k = 0;
    int c = 0;
    for (const char *t = tmpl; *t; t++) {
        bool mark = (*t == '#' || *t == '*') && (t == tmpl || t[-1] == '.') &&
                    (t[1] == '.' || t[1] == '\0');
        int m;
        if (mark && split)
            m = snprintf(out + k, n - k, "%lld", (long long)row);
        else if (mark && c < n_caps)
            m = snprintf(out + k, n - k, "%.*s", (int)caps[c].len, caps[c].s), c++;
        else
            m = snprintf(out + k, n - k, "%c", *t);
        if (m < 0 || (size_t)m >= n - k) return false;
        k += (size_t)m;
    }
    int m = snprintf(out + k, n - k, "%s", rest);
    return m >= 0 && (size_t)m < n - k;
}

bool rt_namemap_to_canonical(rt_names fam, const char *name, int64_t row, char *out, size_t n,
                             int *split_rows) {
    if (split_rows) *split_rows = 0;
    if ((unsigned)fam >= RT_NAMES_COUNT || !name) return false;
    for (size_t i = 0; i < g_tables[fam].n_rules; i++) {
        const name_rule *r = &g_tables[fam].rules[i];
        span caps[MAX_CAPTURES];
        int n_caps;
        const char *rest;
        if (!match(r->from, name, caps, &n_caps, &rest)) continue;
        if (r->split_rows && *rest) continue;  // split rules name a whole tensor
        if (split_rows) *split_rows = r->split_rows;
        return expand(r->to, caps, n_caps, r->split_rows, row, rest, out, n);
    }
    return false;
}

roto_status rt_namemap_attach(rt_weights *w, rt_names fam, int *n_added) {
    if (n_added) *n_added = 0;
    if ((unsigned)fam >= RT_NAMES_COUNT)
        return RT_WFAIL(w, ROTO_ERR_INVALID_ARG, "unknown name table %d", (int)fam);
    char canon[512];
    int n_files = w->n_tensors;
    for (int i = 0; i < n_files; i++) {
        const char *name = w->tensors[i].name;
        int split;
        if (!rt_namemap_to_canonical(fam, name, 0, canon, sizeof canon, &split)) continue;
        if (!split) {
            if (!strcmp(canon, name) || rt_weights_find(w, canon)) continue;
            ROTO_TRY(rt_weights_add_alias(w, canon, i, 0, -1));
            if (n_added) (*n_added)++;
            continue;
        }
        int64_t rows = w->tensors[i].ndim >= 1 ? w->tensors[i].shape[0] : 0;
        for (int64_t r = 0; r < rows; r++) {
            if (!rt_namemap_to_canonical(fam, name, r, canon, sizeof canon, NULL)) break;
            if (rt_weights_find(w, canon)) continue;
            ROTO_TRY(rt_weights_add_alias(w, canon, i, r, 1));
            if (n_added) (*n_added)++;
        }
    }
    return ROTO_OK;
}
