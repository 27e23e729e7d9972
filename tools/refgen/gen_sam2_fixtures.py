#!/usr/bin/env python3
"""gen_sam2_fixtures.py: reference dumps of the official SAM 2.1 image predictor.

Builds the official model (sam2 1.1.0: Hydra-composed sam2.1 yaml, instantiated with the
official classes, the same overrides build_sam2() applies) with RANDOM weights from a fixed
seed, saves the weights under their official names, runs the official SAM2ImagePredictor on
a small real image with several prompts and dumps every stage as raw little-endian float32
(NHWC / token-major, the layouts roto computes in) plus an index.json.

  --config small       tiny custom config (image 128, Hiera dim 4, d_model 16), committed to
                       tests/fixtures/sam2/small/ for the C test (weights stored as f16, the
                       reference run uses the same f16-rounded values in fp32)
  --config tiny | small_real | base_plus | large
                       the four official variants at 1024, random weights, written to
                       build/parity/sam2/<config>-<image>/ (git-ignored) for `make parity-sam2-image`

Random init. The official init leaves several parameters at constant values that would hide
bugs (pos_embed / pos_embed_window are zeros, every LayerNorm is weight 1 bias 0,
no_mem_embed is N(0, 0.02)). We therefore re-draw them: LayerNorm weights 1 + 0.2 N(0,1),
LayerNorm biases 0.2 N(0,1), pos embeds 0.5 N(0,1), no_mem_embed 0.5 N(0,1), token
embeddings stay N(0,1) and Linear/Conv weights keep PyTorch's default (Kaiming-uniform)
init, which keeps activations O(1) through the residual streams. The hypernetwork output
layers are scaled by 4 so the mask logits spread over roughly [-10, 10] instead of
clustering around 0 (binarised masks would otherwise be dominated by near-zero logits).
The committed config keeps only the tensors the image predictor uses, stored as f16.

Usage: tools/refgen/.venv/bin/python tools/refgen/gen_sam2_fixtures.py --config small
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_IMAGE = os.path.join(REPO, "..", "shared", "footage", "images", "truck.jpg")
# Output scale of the hypernetwork MLPs (see "Random init" above). Mask token 0 (the single
# mask) of the committed config gets its own scale, chosen so that the dynamic-multimask
# stability test (#(logit > 0.05) / #(logit > -0.05) >= 0.98) keeps the single mask for
# some prompts and falls back to the best multimask output for others, each with a margin
# of more than one pixel (the generator prints the margins).
HYPER_SCALE = 8.0
HYPER0_SMALL = 150.0

# The committed custom config: every code path of the real variants at a tiny size.
# - stages [1,2,2,2]: q-pool blocks 1, 3, 5 (window lags one block: 8, 4, 6)
# - window 6 on the 8x8 stage-3 grid and window 3 on the 4x4 stage-4 grid: padded windows
#   (the "padding is not masked" trap), the odd window 3 like the 7 of the real configs
# - global attention in block 4 (second block of stage 3)
# - pos_embed 4x4 bicubic-upsampled to the 32x32 trunk grid, window embed 8x8 tiled 4x4
SMALL_OVERRIDES = [
    "++model.image_size=128",
    "++model.image_encoder.trunk.embed_dim=4",
    "++model.image_encoder.trunk.num_heads=1",
    "++model.image_encoder.trunk.stages=[1,2,2,2]",
    "++model.image_encoder.trunk.global_att_blocks=[4]",
    "++model.image_encoder.trunk.window_spec=[8,4,6,3]",
    "++model.image_encoder.trunk.window_pos_embed_bkg_spatial_size=[4,4]",
    "++model.image_encoder.neck.d_model=16",
    "++model.image_encoder.neck.backbone_channel_list=[32,16,8,4]",
]

VARIANTS = {
    "small": ("configs/sam2.1/sam2.1_hiera_t.yaml", SMALL_OVERRIDES),
    "tiny": ("configs/sam2.1/sam2.1_hiera_t.yaml", []),
    "small_real": ("configs/sam2.1/sam2.1_hiera_s.yaml", []),
    "base_plus": ("configs/sam2.1/sam2.1_hiera_b+.yaml", []),
    "large": ("configs/sam2.1/sam2.1_hiera_l.yaml", []),
}

# build_sam2(apply_postprocessing=True) adds these: the single-mask stability fallback.
POSTPROC_OVERRIDES = [
    "++model.sam_mask_decoder_extra_args.dynamic_multimask_via_stability=true",
    "++model.sam_mask_decoder_extra_args.dynamic_multimask_stability_delta=0.05",
    "++model.sam_mask_decoder_extra_args.dynamic_multimask_stability_thresh=0.98",
]

# Parameters the image predictor uses (the committed fixture keeps only these).
IMAGE_PREFIXES = ("image_encoder.", "sam_prompt_encoder.", "sam_mask_decoder.", "no_mem_embed")


def build_model(config):
    import sam2  # noqa: F401  (initialises Hydra's config module)
    from hydra import compose
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    yaml, overrides = VARIANTS[config]
    cfg = compose(config_name=yaml, overrides=list(overrides) + POSTPROC_OVERRIDES)
    OmegaConf.resolve(cfg)
    model = instantiate(cfg.model, _recursive_=True)
    model.eval()
    return model, cfg


def randomize(model, seed, hyper0_scale):
    g = torch.Generator().manual_seed(seed + 1)

    def rn(t, s):
        return torch.randn(t.shape, generator=g) * s

    with torch.no_grad():
        for name, mod in model.named_modules():
            is_ln = isinstance(mod, torch.nn.LayerNorm) or type(mod).__name__ == "LayerNorm2d"
            if is_ln:
                mod.weight.copy_(1.0 + rn(mod.weight, 0.2))
                mod.bias.copy_(rn(mod.bias, 0.2))
        tr = model.image_encoder.trunk
        tr.pos_embed.copy_(rn(tr.pos_embed, 0.5))
        tr.pos_embed_window.copy_(rn(tr.pos_embed_window, 0.5))
        model.no_mem_embed.copy_(rn(model.no_mem_embed, 0.5))
        for i, mlp in enumerate(model.sam_mask_decoder.output_hypernetworks_mlps):
            s = hyper0_scale if i == 0 else HYPER_SCALE
            mlp.layers[-1].weight.mul_(s)
            mlp.layers[-1].bias.mul_(s)


def round_to_f16(model):
    """Round every parameter and buffer to f16-representable values (stored as f16)."""
    with torch.no_grad():
        for p in list(model.parameters()) + list(model.buffers()):
            if p.dtype == torch.float32:
                p.copy_(p.half().float())


def nhwc(t):
    """NCHW [1,C,H,W] -> NHWC numpy."""
    return t.detach().permute(0, 2, 3, 1).contiguous().float().numpy()


class Dumper:
    def __init__(self, out_dir):
        self.dir = out_dir
        self.index = {}

    def put(self, name, arr, dtype=np.float32):
        arr = np.ascontiguousarray(np.asarray(arr, dtype=dtype))
        ext = "f32" if dtype == np.float32 else "u8"
        fname = f"{name}.{ext}"
        arr.tofile(os.path.join(self.dir, fname))
        self.index[name] = {"file": fname, "shape": list(arr.shape),
                            "dtype": "f32" if dtype == np.float32 else "u8"}


def load_image(path, size):
    im = Image.open(path).convert("RGB")
    if size is not None:
        im = im.resize(size, Image.LANCZOS)
    return np.array(im, dtype=np.uint8)


def prompts_for(h, w, low_res_key):
    """Prompts in original-image pixels (x, y), chosen as fractions of the image."""
    def pt(fx, fy):
        return [round(fx * w, 2), round(fy * h, 2)]
    return [
        {"name": "point_multi", "points": [pt(0.52, 0.55)], "labels": [1], "box": None,
         "mask_input": None, "multimask": True},
        {"name": "point_single", "points": [pt(0.30, 0.40)], "labels": [1], "box": None,
         "mask_input": None, "multimask": False},
        {"name": "box", "points": [], "labels": [],
         "box": [0.18 * w, 0.22 * h, 0.81 * w, 0.86 * h], "mask_input": None, "multimask": False},
        {"name": "clicks", "points": [pt(0.45, 0.5), pt(0.6, 0.62), pt(0.1, 0.1)],
         "labels": [1, 1, 0], "box": None, "mask_input": None, "multimask": False},
        # box + clicks + the previous low-res logits as the mask prompt (a refinement step)
        {"name": "box_clicks_mask", "points": [pt(0.5, 0.5), pt(0.9, 0.2)], "labels": [1, 0],
         "box": [0.25 * w, 0.3 * h, 0.75 * w, 0.8 * h], "mask_input": low_res_key,
         "multimask": True},
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="small", choices=sorted(VARIANTS))
    ap.add_argument("--out", default=None, help="output dir (default: see above)")
    ap.add_argument("--image", default=DEFAULT_IMAGE)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    small = args.config == "small"
    out = args.out or (os.path.join(REPO, "tests/fixtures/sam2", args.config) if small
                       else os.path.join(REPO, "build/parity/sam2", args.config))
    os.makedirs(out, exist_ok=True)

    from sam2.sam2_image_predictor import SAM2ImagePredictor

    model, cfg = build_model(args.config)
    randomize(model, args.seed, HYPER0_SMALL if small else HYPER_SCALE)
    if small:
        round_to_f16(model)

    # ---- weights, official names ---------------------------------------------------------
    sd = model.state_dict()
    if small:
        from safetensors.torch import save_file
        keep = {k: v.half().contiguous() for k, v in sd.items() if k.startswith(IMAGE_PREFIXES)}
        wfile = "weights.safetensors"
        save_file(keep, os.path.join(out, wfile), metadata={"format": "pt"})
    else:
        # The official checkpoint layout: torch.save({"model": state_dict}), all fp32.
        wfile = "weights.pt"
        torch.save({"model": {k: v.contiguous() for k, v in sd.items()}}, os.path.join(out, wfile))

    # ---- image -----------------------------------------------------------------------------
    image = load_image(args.image, (150, 100) if small else (900, 600))
    H, W = image.shape[:2]
    d = Dumper(out)
    image.tofile(os.path.join(out, "image.rgb"))

    S = model.image_size
    pred = SAM2ImagePredictor(model)
    # The predictor hard-codes the 1024 feature sizes; make them follow image_size.
    pred._bb_feat_sizes = [(S // 4, S // 4), (S // 8, S // 8), (S // 16, S // 16)]

    # ---- taps on the official modules --------------------------------------------------------
    cap = {}
    tr = model.image_encoder.trunk
    hooks = [tr.patch_embed.register_forward_hook(lambda m, i, o: cap.__setitem__("patch_embed", o))]
    for si, bi in enumerate(tr.stage_ends):
        hooks.append(tr.blocks[bi].register_forward_hook(
            lambda m, i, o, si=si: cap.__setitem__(f"stage{si}", o)))
    hooks.append(model.image_encoder.neck.register_forward_hook(
        lambda m, i, o: cap.__setitem__("neck", o[0])))
    hooks.append(model.image_encoder.register_forward_pre_hook(
        lambda m, i: cap.__setitem__("input", i[0])))
    dec = model.sam_mask_decoder
    hooks.append(dec.transformer.register_forward_hook(
        lambda m, i, o: cap.__setitem__("transformer", o)))
    orig_predict_masks = dec.predict_masks

    def predict_masks_tap(*a, **k):
        r = orig_predict_masks(*a, **k)
        cap["predict_masks"] = r
        return r
    dec.predict_masks = predict_masks_tap
    orig_pe = model.sam_prompt_encoder.forward

    def pe_tap(*a, **k):
        r = orig_pe(*a, **k)
        cap["prompt"] = r
        return r
    model.sam_prompt_encoder.forward = pe_tap

    with torch.no_grad():
        pred.set_image(image)
        d.put("input", nhwc(cap["input"]))
        d.put("patch_embed", cap["patch_embed"].numpy())
        d.put("pos_embed", tr._get_pos_embed(cap["patch_embed"].shape[1:3]).numpy())
        for si in range(len(tr.stage_ends)):
            d.put(f"stage{si}", cap[f"stage{si}"].numpy())
        for li, lv in enumerate(cap["neck"]):
            d.put(f"neck{li}", nhwc(lv))
        feats = pred._features
        d.put("feat_s0", nhwc(feats["high_res_feats"][0]))
        d.put("feat_s1", nhwc(feats["high_res_feats"][1]))
        d.put("image_embed", nhwc(feats["image_embed"]))
        d.put("dense_pe", nhwc(model.sam_prompt_encoder.get_dense_pe()))

        prompt_meta = []
        low_res_prev = None
        for p in prompts_for(H, W, "point_multi.low_res_best"):
            cap.pop("prompt", None)
            mask_in = low_res_prev if p["mask_input"] else None
            masks, ious, low = pred.predict(
                point_coords=np.array(p["points"], np.float32) if p["points"] else None,
                point_labels=np.array(p["labels"], np.int32) if p["points"] else None,
                box=np.array(p["box"], np.float32) if p["box"] is not None else None,
                mask_input=mask_in, multimask_output=p["multimask"], return_logits=True)
            n = p["name"]
            sparse, dense = cap["prompt"]
            hs, src = cap["transformer"]
            all_masks, all_iou, _, obj = cap["predict_masks"]
            d.put(f"{n}.sparse", sparse.numpy())
            d.put(f"{n}.dense", nhwc(dense))
            d.put(f"{n}.tokens", hs.numpy())
            d.put(f"{n}.keys", src.numpy())
            d.put(f"{n}.low_res_all", all_masks.numpy()[0])
            d.put(f"{n}.iou_all", all_iou.numpy()[0])
            d.put(f"{n}.obj_score", obj.numpy()[0])
            d.put(f"{n}.low_res", low)           # selected, clamped to [-32, 32]
            d.put(f"{n}.iou", ious)
            if n == "box" or not small:  # (size: the committed fixture keeps one of these)
                d.put(f"{n}.mask_logits", masks)  # upsampled to H x W, before threshold
            d.put(f"{n}.masks", (masks > 0.0).astype(np.uint8), dtype=np.uint8)
            if mask_in is not None:
                d.put(f"{n}.mask_input", mask_in)
            meta = dict(p)
            meta["mask_input"] = f"{n}.mask_input" if mask_in is not None else None
            prompt_meta.append(meta)
            if n == "point_multi":
                low_res_prev = low[int(np.argmax(ious))][None]
            # Spread of the outputs (reported, so degenerate random weights are noticed).
            m0 = all_masks[0, 0].flatten()
            ai, au = float((m0 > 0.05).sum()), float((m0 > -0.05).sum())
            stab = ai / max(au, 1.0)
            print(f"{n}: stability margin {ai - 0.98 * au:.1f} px", file=sys.stderr)
            print(f"{n}: stability(mask0) {stab:.4f} logits [{all_masks.min():.2f}, {all_masks.max():.2f}] "
                  f"fg {float((masks > 0).mean()):.3f} iou {np.round(ious, 3).tolist()} "
                  f"obj {float(obj):.3f}", file=sys.stderr)
    for h in hooks:
        h.remove()

    trunk_cfg = cfg.model.image_encoder.trunk
    index = {
        "generator": "tools/refgen/gen_sam2_fixtures.py",
        "torch": torch.__version__,
        "config": {
            "name": args.config,
            "image_size": int(S),
            "embed_dim": int(trunk_cfg.embed_dim),
            "num_heads": int(trunk_cfg.num_heads),
            "stages": list(tr.stage_ends and [int(x) for x in np.diff([-1] + tr.stage_ends)]),
            "window_spec": [int(x) for x in tr.window_spec],
            "global_att_blocks": [int(x) for x in tr.global_att_blocks],
            "window_pos_embed_bkg_spatial_size": [int(x) for x in tr.window_pos_embed_bkg_spatial_size],
            "d_model": int(model.hidden_dim),
        },
        "weights": wfile,
        "weights_dtype": "f16" if small else "f32",
        "image": {"file": "image.rgb", "height": H, "width": W, "source": os.path.basename(args.image)},
        "tensors": d.index,
        "prompts": prompt_meta,
    }
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
    total = sum(os.path.getsize(os.path.join(out, x)) for x in os.listdir(out))
    print(f"wrote {out} ({total / 1e6:.2f} MB)", file=sys.stderr)


if __name__ == "__main__":
    main()
