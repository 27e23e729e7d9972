// model_detect.h: which network a checkpoint holds, from its tensor names and
// shapes alone (no config file needed).
//   SAM 2 / 2.1      tiny / small / base_plus / large, official or Hugging Face
//                    names: Hiera embed dim (patch embed rows) and block count;
//                    2.1 adds no_obj_embed_spatial and obj_ptr_tpos_proj
//   Depth Anything   V2 small / base / large (giant): ViT width of the patch embed
//                    (official "pretrained."/"depth_head." or HF names)
//   MatAnyone        pixel/mask encoders + object transformer + matting head
#ifndef ROTO_MODEL_DETECT_H
#define ROTO_MODEL_DETECT_H

#include "namemap.h"
#include "weights.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    RT_FAMILY_UNKNOWN = 0,
    RT_FAMILY_SAM2,
    RT_FAMILY_DEPTH_ANYTHING_V2,
    RT_FAMILY_MATANYONE,
} rt_model_family;

typedef enum { RT_NAMING_OFFICIAL = 0, RT_NAMING_HF } rt_naming;

typedef struct {
    rt_model_family family;
    rt_naming naming;
    char version[16];      // SAM: "2.1", "2.0" or "2" (image-only file); else ""
    char variant[16];      // "tiny", "small", "base_plus", "large", "base", ...; "" if unknown
    int embed_dim;         // SAM: Hiera embed dim; Depth Anything: ViT width; else 0
    int n_blocks;          // SAM: Hiera blocks; Depth Anything: ViT blocks; else 0
    char description[192]; // one line for people, e.g. "SAM 2.1 tiny (official names, ...)"
} rt_model_info;

const char *rt_model_family_name(rt_model_family f);  // "sam2", "depth_anything_v2", ...

// Never fails on an unknown model (family RT_FAMILY_UNKNOWN); errors only on NULL.
roto_status rt_model_detect(const rt_weights *w, rt_model_info *info);

#ifdef __cplusplus
}
#endif
#endif
