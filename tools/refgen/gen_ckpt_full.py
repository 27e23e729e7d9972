#!/usr/bin/env python3
"""Full-size SAM 2.1 checkpoints with random weights, for checking the C readers on
real layouts (not committed: hundreds of MB). Written to OUTDIR (default
build/ckpt-full/, git-ignored):

  sam2.1_hiera_tiny.pt, sam2.1_hiera_large.pt
      the official model built by sam2 1.1.0 from its sam2.1 yaml, random init, saved
      as the official files are: torch.save({"model": state_dict})
  sam2.1_hiera_tiny_hf/model.safetensors
      the SAME tiny weights in Hugging Face transformers layout: renamed with the
      converter's key table (tests/fixtures/ckpt/sam2.1_tiny_official_to_hf.tsv, plus
      its two special cases: point_embeddings.{0..3} concatenated into point_embed
      [4, 256], positional matrix duplicated), loaded strictly into
      transformers.Sam2VideoModel and written by its save_pretrained
  sam2.1_hiera_large_hf/model.safetensors
      a randomly initialised transformers Sam2VideoModel with the large config (names
      and shapes only)

Then run the C check:  ROTO_CKPT_FULL=build/ckpt-full build/tests/test_ckpt
Usage: tools/refgen/.venv/bin/python tools/refgen/gen_ckpt_full.py [OUTDIR]
"""
import os
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "ckpt-full")
TSV = os.path.join(ROOT, "tests", "fixtures", "ckpt", "sam2.1_tiny_official_to_hf.tsv")


def official(cfg, path):
    from sam2.build_sam import build_sam2
    torch.manual_seed(0)
    model = build_sam2(cfg, None, device="cpu", mode="eval")
    sd = model.state_dict()
    torch.save({"model": sd}, path)
    print(f"{path}: {len(sd)} tensors, {sum(t.numel() for t in sd.values())} parameters")
    return sd


def hf_config(large):
    from transformers import (Sam2HieraDetConfig, Sam2VideoConfig, Sam2VisionConfig)
    if not large:
        vision = Sam2VisionConfig(backbone_config=Sam2HieraDetConfig())
    else:  # the values of transformers' convert_sam2_video_to_hf.get_config
        det = Sam2HieraDetConfig(hidden_size=144, embed_dim_per_stage=[144, 288, 576, 1152],
                                 num_attention_heads_per_stage=[2, 4, 8, 16],
                                 blocks_per_stage=[2, 6, 36, 4], global_attention_blocks=[23, 33, 43],
                                 window_positional_embedding_background_size=(7, 7),
                                 window_size_per_stage=[8, 4, 16, 8])
        vision = Sam2VisionConfig(backbone_config=det, backbone_channel_list=[1152, 576, 288, 144])
    return Sam2VideoConfig(vision_config=vision,
                           enable_temporal_pos_encoding_for_object_pointers=True,
                           enable_occlusion_spatial_embedding=True)


def to_hf(sd):
    rename = {}
    for line in open(TSV):
        off, hf, _ = line.rstrip("\n").split("\t")
        rename[off] = hf
    out = {rename[k]: v for k, v in sd.items()}
    out["shared_image_embedding.positional_embedding"] = out[
        "prompt_encoder.shared_embedding.positional_embedding"]
    out["prompt_encoder.point_embed.weight"] = torch.cat(
        [out.pop(f"prompt_encoder.point_embed.{i}.weight") for i in range(4)], dim=0)
    return out


def main():
    from transformers import Sam2VideoModel
    os.makedirs(OUT, exist_ok=True)
    sd = official("configs/sam2.1/sam2.1_hiera_t.yaml", os.path.join(OUT, "sam2.1_hiera_tiny.pt"))
    official("configs/sam2.1/sam2.1_hiera_l.yaml", os.path.join(OUT, "sam2.1_hiera_large.pt"))

    model = Sam2VideoModel(hf_config(False)).eval()
    missing, unexpected = model.load_state_dict(to_hf(sd), strict=True)
    assert not missing and not unexpected
    model.save_pretrained(os.path.join(OUT, "sam2.1_hiera_tiny_hf"))
    torch.manual_seed(1)
    Sam2VideoModel(hf_config(True)).save_pretrained(os.path.join(OUT, "sam2.1_hiera_large_hf"))
    for d in ("sam2.1_hiera_tiny_hf", "sam2.1_hiera_large_hf"):
        p = os.path.join(OUT, d, "model.safetensors")
        print(f"{p}: {os.path.getsize(p)} bytes")


if __name__ == "__main__":
    main()
