// model_detect.c: family / variant detection from tensor names and shapes.
#include "model_detect.h"

#include <stdio.h>
#include <string.h>

const char *rt_model_family_name(rt_model_family f) {
    switch (f) {
    case RT_FAMILY_SAM2: return "sam2";
    case RT_FAMILY_DEPTH_ANYTHING_V2: return "depth_anything_v2";
    case RT_FAMILY_MATANYONE: return "matanyone";
    default: return "unknown";
    }
}

static bool has_prefix(const rt_weights *w, const char *prefix) {
    size_t n = strlen(prefix);
    for (int i = 0; i < w->n_tensors; i++)
        if (!strncmp(w->tensors[i].name, prefix, n)) return true;
    return false;
}

// Number of file tensors named <pre><digits><suf>: one per block.
static int count_blocks(const rt_weights *w, const char *pre, const char *suf) {
    size_t np = strlen(pre);
    int count = 0;
    for (int i = 0; i < w->n_tensors; i++) {
        const char *s = w->tensors[i].name;
        if (strncmp(s, pre, np)) continue;
        s += np;
        if (*s < '0' || *s > '9') continue;
        while (*s >= '0' && *s <= '9') s++;
        if (!strcmp(s, suf)) count++;
    }
    return count;
}

// Output channels of a 4-d conv weight, or 0 if absent / not 4-d.
static int conv_out(const rt_weights *w, const char *name, int kernel) {
    const rt_wtensor *t = rt_weights_find(w, name);
    if (!t || t->ndim != 4 || (kernel && (t->shape[2] != kernel || t->shape[3] != kernel))) return 0;
    return (int)t->shape[0];
}

static const char *naming_label(rt_naming n) {
    return n == RT_NAMING_HF ? "Hugging Face names" : "official names";
}

static bool detect_sam2(const rt_weights *w, rt_model_info *info) {
    int e = conv_out(w, "image_encoder.trunk.patch_embed.proj.weight", 0);
    bool hf = false;
    if (!e) {
        e = conv_out(w, "vision_encoder.backbone.patch_embed.projection.weight", 0);
        hf = e != 0;
    }
    if (!e) return false;
    info->family = RT_FAMILY_SAM2;
    info->naming = hf ? RT_NAMING_HF : RT_NAMING_OFFICIAL;
    info->embed_dim = e;
    info->n_blocks = hf ? count_blocks(w, "vision_encoder.backbone.blocks.", ".layer_norm1.weight")
                        : count_blocks(w, "image_encoder.trunk.blocks.", ".norm1.weight");
    static const struct {
        int dim, blocks;
        const char *name;
    } variants[] = {{96, 12, "tiny"}, {96, 16, "small"}, {112, 24, "base_plus"}, {144, 48, "large"}};
    for (size_t i = 0; i < sizeof variants / sizeof *variants; i++)
        if (variants[i].dim == e && variants[i].blocks == info->n_blocks)
            snprintf(info->variant, sizeof info->variant, "%s", variants[i].name);
    // 2.1 added the occlusion embedding and the object-pointer temporal projection.
    bool v21 = hf ? rt_weights_find(w, "occlusion_spatial_embedding_parameter") ||
                        rt_weights_find(w, "temporal_positional_encoding_projection_layer.weight")
                  : rt_weights_find(w, "no_obj_embed_spatial") ||
                        rt_weights_find(w, "obj_ptr_tpos_proj.weight");
    bool video = has_prefix(w, "memory_attention.");
    snprintf(info->version, sizeof info->version, "%s", v21 ? "2.1" : video ? "2.0" : "2");
    char what[32];
    if (info->variant[0])
        snprintf(what, sizeof what, "%s", info->variant);
    else
        snprintf(what, sizeof what, "unknown size");
    snprintf(info->description, sizeof info->description,
             "SAM %s %s (%s; Hiera embed dim %d, %d blocks%s)", info->version, what,
             naming_label(info->naming), e, info->n_blocks, video ? "" : ", image model only");
    return true;
}

static bool detect_depth_anything(const rt_weights *w, rt_model_info *info) {
    int d = 0, blocks = 0;
    bool hf = false;
    if (has_prefix(w, "depth_head.")) {
        d = conv_out(w, "pretrained.patch_embed.proj.weight", 14);
        blocks = count_blocks(w, "pretrained.blocks.", ".norm1.weight");
    } else if (has_prefix(w, "head.conv1.") && has_prefix(w, "neck.")) {
        d = conv_out(w, "backbone.embeddings.patch_embeddings.projection.weight", 14);
        blocks = count_blocks(w, "backbone.encoder.layer.", ".norm1.weight");
        hf = true;
    }
    if (!d) return false;
    info->family = RT_FAMILY_DEPTH_ANYTHING_V2;
    info->naming = hf ? RT_NAMING_HF : RT_NAMING_OFFICIAL;
    info->embed_dim = d;
    info->n_blocks = blocks;
    static const struct {
        int dim, blocks;
        const char *name;
    } variants[] = {{384, 12, "small"}, {768, 12, "base"}, {1024, 24, "large"}, {1536, 40, "giant"}};
    for (size_t i = 0; i < sizeof variants / sizeof *variants; i++)
        if (variants[i].dim == d && variants[i].blocks == blocks)
            snprintf(info->variant, sizeof info->variant, "%s", variants[i].name);
    snprintf(info->description, sizeof info->description,
             "Depth Anything V2 %s (%s; ViT width %d, %d blocks)",
             info->variant[0] ? info->variant : "unknown size", naming_label(info->naming), d,
             blocks);
    return true;
}

static bool detect_matanyone(const rt_weights *w, rt_model_info *info) {
    if (!has_prefix(w, "pixel_encoder.") || !has_prefix(w, "object_transformer.") ||
        !(has_prefix(w, "mask_decoder.pred_mat.") || has_prefix(w, "temp_sparity.")))
        return false;
    info->family = RT_FAMILY_MATANYONE;
    snprintf(info->description, sizeof info->description,
             "MatAnyone (v1 and v2 share this layout)");
    return true;
}

roto_status rt_model_detect(const rt_weights *w, rt_model_info *info) {
    if (!w || !info) return roto_fail(ROTO_ERR_INVALID_ARG, "rt_model_detect: NULL argument");
    memset(info, 0, sizeof *info);
    if (detect_sam2(w, info) || detect_depth_anything(w, info) || detect_matanyone(w, info))
        return ROTO_OK;
    memset(info, 0, sizeof *info);
    snprintf(info->description, sizeof info->description, "unknown");
    return ROTO_OK;
}
