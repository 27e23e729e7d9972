#!/usr/bin/env python3
"""gen_sam2_video_fixtures.py: reference runs of the official SAM 2.1 video predictor.

Builds the official SAM2VideoPredictor (sam2 1.1.0, the Hydra-composed sam2.1 yaml plus the
overrides build_sam2_video_predictor() applies) with RANDOM weights from a fixed seed, runs
a fixed interaction script on the first frames of /work/shared/footage/bedroom and dumps,
for every result the predictor produces (each interactive call and each propagated frame,
per object): the stored low-res mask logits (after hole filling), the object score, the
object pointer and the binarised mask at the video resolution. Also dumped: the
preprocessed first frame, one frame's memory features and memory-attention output.

  --config small       custom config (image 128, d_model 16, mem_dim 8) on 8 frames of
                       144x81 (committed as PNG), written to tests/fixtures/sam2_video/small/
                       for tests/test_sam2_video.c (weights stored as f16, the reference runs
                       on the same f16-rounded values in fp32)
  --config tiny | small_real | base_plus | large
                       the released architectures at 1024 on the first --frames bedroom
                       frames at 960x540, written to build/parity/sam2_video/<config>/ for
                       `make parity-sam2-video` (frames re-saved as PNG so both sides read
                       the pixels PIL decoded)

The script (frame indices from 0; objects 1, 2, 3):
  1. object 1: one positive click on frame 0 (multimask), then a negative click added on
     frame 0 (clear_old_points=False: 2 points, single mask, previous logits as mask input)
  2. object 2: a box on frame 2 (single mask with the stability fallback)
  3. object 3: a mask (an ellipse at video resolution) on frame 1 (mask used as output,
     the object pointer from the decoder run on mask_downsample(mask))
  4. propagate forward from frame 0 over all frames
  5. object 1: a correction click on frame 3 (already tracked: a non-conditioning frame,
     the previous low-res logits fed back with the click)
  6. propagate forward from frame 3 over 4 more frames
  7. propagate in reverse from frame 3

Hole filling: fill_holes_in_mask_scores needs sam2's optional CUDA extension for its
connected components; without it the official code silently skips the step. The
generator supplies an exact 8-connected labelling in Python in its place, so the dumps show
what the official predictor does with the extension built (fill_hole_area = 8).

Random init: the image path as gen_sam2_fixtures.py (LayerNorms re-drawn, hypernetwork
outputs scaled). In addition the parameters the official init leaves near zero or constant
are re-drawn: maskmem_tpos_enc, no_obj_ptr, no_obj_embed_spatial (0.5 N), the CXBlock
layer scales gamma (init 1e-6, which would make the fuser an identity: 0.5 N).

Usage: tools/refgen/.venv/bin/python tools/refgen/gen_sam2_video_fixtures.py --config small
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
from collections import deque

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_sam2_fixtures as base  # noqa: E402

REPO = base.REPO
FOOTAGE = os.path.join(REPO, "..", "shared", "footage", "bedroom")

# build_sam2_video_predictor(apply_postprocessing=True) adds these to the yaml.
VIDEO_OVERRIDES = [
    "++model._target_=sam2.sam2_video_predictor.SAM2VideoPredictor",
    "++model.binarize_mask_from_pts_for_mem_enc=true",
    "++model.fill_hole_area=8",
]

# The committed config: the image part of gen_sam2_fixtures.py's "small" plus a memory path
# of the same shape as the released one at d_model 16, mem_dim 8 (pointers split in 2 tokens).
SMALL_VIDEO_OVERRIDES = base.SMALL_OVERRIDES + [
    "++model.image_encoder.neck.position_encoding.num_pos_feats=16",
    "++model.memory_attention.d_model=16",
    "++model.memory_attention.layer.d_model=16",
    "++model.memory_attention.layer.dim_feedforward=32",
    "++model.memory_attention.layer.self_attention.embedding_dim=16",
    "++model.memory_attention.layer.self_attention.feat_sizes=[8,8]",
    "++model.memory_attention.layer.cross_attention.embedding_dim=16",
    "++model.memory_attention.layer.cross_attention.feat_sizes=[8,8]",
    "++model.memory_attention.layer.cross_attention.kv_in_dim=8",
    "++model.memory_encoder.out_dim=8",
    "++model.memory_encoder.in_dim=16",
    "++model.memory_encoder.position_encoding.num_pos_feats=8",
    "++model.memory_encoder.mask_downsampler.embed_dim=16",
    "++model.memory_encoder.fuser.layer.dim=16",
]

# The released sizes as the image generator builds them; only the small config differs.
VARIANTS = dict(base.VARIANTS, small=(base.VARIANTS["small"][0], SMALL_VIDEO_OVERRIDES))


# Object-score head: last layer scaled and shifted so that the score spreads around 0 and
# some tracked frames lose the object (chosen from the printed scores, with margins).
OBJ_SCALE = {"small": 20.0, "tiny": 1.0, "small_real": 1.0, "base_plus": 1.0, "large": 1.0}
OBJ_BIAS = {"small": 2.075, "tiny": 1.0, "small_real": 1.0, "base_plus": 1.0, "large": 1.0}


def build_model(config):
    import sam2  # noqa: F401
    from hydra import compose
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    yaml, overrides = VARIANTS[config]
    cfg = compose(config_name=yaml,
                  overrides=list(overrides) + VIDEO_OVERRIDES + base.POSTPROC_OVERRIDES)
    OmegaConf.resolve(cfg)
    model = instantiate(cfg.model, _recursive_=True)
    model.eval()
    return model, cfg


def randomize_video(model, seed, obj_scale, obj_bias):
    g = torch.Generator().manual_seed(seed + 2)

    def rn(t, s):
        return torch.randn(t.shape, generator=g) * s

    with torch.no_grad():
        model.maskmem_tpos_enc.copy_(rn(model.maskmem_tpos_enc, 0.5))
        model.no_obj_ptr.copy_(rn(model.no_obj_ptr, 0.5))
        model.no_obj_embed_spatial.copy_(rn(model.no_obj_embed_spatial, 0.5))
        for layer in model.memory_encoder.fuser.layers:
            layer.gamma.copy_(rn(layer.gamma, 0.5))
        # Object-score head bias: moves the score so that frames with and without the
        # object both occur (the generator prints the scores).
        head = model.sam_mask_decoder.pred_obj_score_head.layers[-1]
        head.weight.mul_(obj_scale)
        head.bias.mul_(obj_scale).add_(obj_bias)


# ---- hole filling: 8-connected components in Python (sam2._C stand-in) --------------------

def connected_components(mask):
    """mask (N, 1, H, W) -> labels, areas (int32), 8-connectivity, like sam2._C."""
    m = mask.to(torch.uint8).cpu().numpy()
    N, _, H, W = m.shape
    labels = np.zeros(m.shape, np.int32)
    areas = np.zeros(m.shape, np.int32)
    for n in range(N):
        img = m[n, 0]
        lab = labels[n, 0]
        ar = areas[n, 0]
        nxt = 0
        for y0 in range(H):
            for x0 in range(W):
                if not img[y0, x0] or lab[y0, x0]:
                    continue
                nxt += 1
                lab[y0, x0] = nxt
                comp = [(y0, x0)]
                q = deque(comp)
                while q:
                    y, x = q.popleft()
                    for dy in (-1, 0, 1):
                        for dx in (-1, 0, 1):
                            yy, xx = y + dy, x + dx
                            if 0 <= yy < H and 0 <= xx < W and img[yy, xx] and not lab[yy, xx]:
                                lab[yy, xx] = nxt
                                comp.append((yy, xx))
                                q.append((yy, xx))
                for (y, x) in comp:
                    ar[y, x] = len(comp)
    return torch.from_numpy(labels).to(mask.device), torch.from_numpy(areas).to(mask.device)


class Dumper(base.Dumper):
    def put_bits(self, name, mask):
        """A binary mask [H, W] packed 8 pixels a byte, MSB first (np.packbits)."""
        bits = np.packbits(np.asarray(mask, dtype=bool).reshape(-1))
        fname = f"{name}.bits"
        bits.tofile(os.path.join(self.dir, fname))
        self.index[name] = {"file": fname, "shape": list(np.asarray(mask).shape), "dtype": "bits"}


def ellipse_mask(h, w, cx, cy, rx, ry):
    yy, xx = np.mgrid[0:h, 0:w]
    return ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1.0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="small", choices=sorted(VARIANTS))
    ap.add_argument("--out", default=None)
    ap.add_argument("--frames", type=int, default=None,
                    help="number of frames (small: 8, tiny: 40, others: 12)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--corr", default="0.3,0.3", help="correction click (fractions x,y)")
    ap.add_argument("--corr-frame", type=int, default=3)
    ap.add_argument("--obj-scale", type=float, default=None)
    ap.add_argument("--obj-bias", type=float, default=None)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    small = args.config == "small"
    nfr = args.frames or (8 if small else 40 if args.config == "tiny" else 12)
    out = args.out or (os.path.join(REPO, "tests/fixtures/sam2_video", args.config) if small
                       else os.path.join(REPO, "build/parity/sam2_video", args.config))
    os.makedirs(out, exist_ok=True)

    import sam2.utils.misc as misc
    misc.get_connected_components = connected_components  # see "Hole filling" above

    model, cfg = build_model(args.config)
    base.randomize(model, args.seed, base.HYPER0_SMALL if small else base.HYPER_SCALE)
    obj_scale = args.obj_scale if args.obj_scale is not None else OBJ_SCALE[args.config]
    obj_bias = args.obj_bias if args.obj_bias is not None else OBJ_BIAS[args.config]
    randomize_video(model, args.seed, obj_scale, obj_bias)
    if small:
        base.round_to_f16(model)

    sd = model.state_dict()
    if small:
        from safetensors.torch import save_file
        wfile = "weights.safetensors"
        keep = {k: v.half().contiguous() for k, v in sd.items()}
        save_file(keep, os.path.join(out, wfile), metadata={"format": "pt"})
    else:
        wfile = "weights.pt"
        torch.save({"model": {k: v.contiguous() for k, v in sd.items()}}, os.path.join(out, wfile))

    # ---- frames: PNG files both sides read --------------------------------------------------
    src = sorted(p for p in os.listdir(FOOTAGE) if p.endswith(".jpg"))[:nfr]
    frame_files = []
    tmp = tempfile.mkdtemp(prefix="sam2v_")
    for i, p in enumerate(src):
        im = Image.open(os.path.join(FOOTAGE, p)).convert("RGB")
        if small:
            im = im.resize((144, 81), Image.LANCZOS)
        fname = f"frame_{i:05d}.png"
        im.save(os.path.join(out, fname))
        frame_files.append(fname)
        # The official loader wants "<index>.jpg" names; PIL reads the PNG by its content.
        shutil.copy(os.path.join(out, fname), os.path.join(tmp, f"{i:05d}.jpg"))
    W, H = Image.open(os.path.join(out, frame_files[0])).size

    d = Dumper(out)
    S = model.image_size
    L = S // 4

    # ---- taps: the current (obj, frame) and the memory path of one chosen frame -------------
    cur = {}
    cap = {}
    tap_at = ("propagate_fwd", 3, 0)  # (step, frame, object index)
    orig_run = model._run_single_frame_inference

    def run_tap(inference_state, output_dict, frame_idx, *a, **k):
        obj_idx = [i for i, od in inference_state["output_dict_per_obj"].items()
                   if od is output_dict][0]
        cur["key"] = (cur.get("step"), frame_idx, obj_idx)
        return orig_run(inference_state, output_dict, frame_idx, *a, **k)
    model._run_single_frame_inference = run_tap

    # The stored memory features are bf16 (_run_single_frame_inference). When a frame has
    # object pointers (f32) torch.cat promotes the memory to f32; with none (an object
    # tracked before its first prompted frame) the bf16 memory reaches the f32 Linear and
    # the official code fails on CPU in fp32 (on CUDA it runs under bf16 autocast). The
    # memory is therefore promoted to f32 here in every case, which is what happens
    # whenever pointers are present.
    orig_ma = model.memory_attention.forward

    def ma_f32(curr, memory, curr_pos=None, memory_pos=None, num_obj_ptr_tokens=0):
        return orig_ma(curr=curr, memory=memory.float(), curr_pos=curr_pos,
                       memory_pos=memory_pos.float(), num_obj_ptr_tokens=num_obj_ptr_tokens)
    model.memory_attention.forward = ma_f32

    def ma_hook(m, i, o):
        if cur.get("key") == tap_at:
            cap["memattn"] = o
    h1 = model.memory_attention.register_forward_hook(ma_hook)

    def me_hook(m, i, o):
        if cur.get("key") == tap_at:
            # cloned: _encode_new_memory adds no_obj_embed_spatial in place afterwards
            cap["memenc"] = {"vision_features": o["vision_features"].clone(),
                             "vision_pos_enc": [o["vision_pos_enc"][0].clone()]}
    h2 = model.memory_encoder.register_forward_hook(me_hook)

    events = []
    scores = []

    def record(step, frame, obj_idx, video_mask):
        """Store what the predictor now holds for (obj, frame) and its video-res mask."""
        st = state
        od = st["output_dict_per_obj"][obj_idx]
        td = st["temp_output_dict_per_obj"][obj_idx]
        o = (td["cond_frame_outputs"].get(frame) or td["non_cond_frame_outputs"].get(frame)
             or od["cond_frame_outputs"].get(frame) or od["non_cond_frame_outputs"].get(frame))
        name = f"{step}.f{frame}.o{obj_idx + 1}"
        d.put(name + ".low_res", o["pred_masks"][0, 0].float().numpy())
        d.put(name + ".obj_ptr", o["obj_ptr"][0].float().numpy())
        d.put_bits(name + ".mask", video_mask > 0.0)
        score = float(o["object_score_logits"].reshape(-1)[0])
        scores.append(score)
        events.append({"step": step, "frame": frame, "obj": obj_idx + 1, "name": name,
                       "obj_score": score,
                       "fg": float((video_mask > 0).mean())})

    from sam2.sam2_video_predictor import SAM2VideoPredictor  # noqa: F401
    pred = model
    actions = []
    with torch.inference_mode():
        state = pred.init_state(video_path=tmp)
        d.put("input.f0", base.nhwc(state["images"][0:1]))

        def pts(*xy):
            return [[round(fx * W, 2), round(fy * H, 2)] for fx, fy in xy]

        # 1. object 1: a click, then a negative click added on the same frame
        a1 = {"op": "points", "obj": 1, "frame": 0, "points": pts((0.45, 0.55)), "labels": [1],
              "clear_old": True}
        a2 = {"op": "points", "obj": 1, "frame": 0, "points": pts((0.85, 0.2)), "labels": [0],
              "clear_old": False}
        # 2. object 2: a box on frame 2
        a3 = {"op": "box", "obj": 2, "frame": 2,
              "box": [round(0.1 * W, 2), round(0.5 * H, 2), round(0.5 * W, 2), round(0.95 * H, 2)]}
        # 3. object 3: a mask on frame 1
        mask3 = ellipse_mask(H, W, 0.7 * W, 0.45 * H, 0.12 * W, 0.2 * H)
        d.put_bits("prompt.mask_o3", mask3)
        a4 = {"op": "mask", "obj": 3, "frame": 1, "mask": "prompt.mask_o3"}
        for i, a in enumerate([a1, a2, a3, a4]):
            step = f"add{i}"
            cur["step"] = step
            if a["op"] == "mask":
                fi, ids, vm = pred.add_new_mask(state, a["frame"], a["obj"], mask3)
            else:
                fi, ids, vm = pred.add_new_points_or_box(
                    state, a["frame"], a["obj"],
                    points=np.array(a["points"], np.float32) if "points" in a else None,
                    labels=np.array(a["labels"], np.int32) if "labels" in a else None,
                    box=np.array(a["box"], np.float32) if "box" in a else None,
                    clear_old_points=a.get("clear_old", True))
            oi = ids.index(a["obj"])
            record(step, a["frame"], oi, vm[oi, 0].numpy())
            actions.append(dict(a, step=step))

        def propagate(step, **kw):
            cur["step"] = step
            for fi, ids, vm in pred.propagate_in_video(state, **kw):
                for oi in range(len(ids)):
                    record(step, fi, oi, vm[oi, 0].numpy())
            actions.append(dict({"op": "propagate", "step": step}, **kw))

        propagate("propagate_fwd")
        # the memory path of the tapped frame
        if "memattn" in cap:
            d.put("memattn.out", cap["memattn"][:, 0, :].numpy()[None])  # [1, HW, d]
        if "memenc" in cap:
            me = cap["memenc"]
            d.put("memenc.features", base.nhwc(me["vision_features"]))
            d.put("memenc.pos", base.nhwc(me["vision_pos_enc"][0]))
        od = state["output_dict_per_obj"][tap_at[2]]["non_cond_frame_outputs"][tap_at[1]]
        d.put("memenc.stored", base.nhwc(od["maskmem_features"].float()))  # bf16 storage

        # 5. correction click on an already tracked frame, 6. propagate from there
        cur["step"] = "add4"
        a5 = {"op": "points", "obj": 1, "frame": min(args.corr_frame, nfr - 1), "points": pts(tuple(float(v) for v in args.corr.split(","))),
              "labels": [1], "clear_old": True}
        fi, ids, vm = pred.add_new_points_or_box(
            state, a5["frame"], 1, points=np.array(a5["points"], np.float32),
            labels=np.array([1], np.int32), clear_old_points=True)
        record("add4", a5["frame"], ids.index(1), vm[ids.index(1), 0].numpy())
        actions.append(dict(a5, step="add4"))
        propagate("propagate_corr", start_frame_idx=a5["frame"], max_frame_num_to_track=4)
        # 7. reverse from frame 3
        propagate("propagate_rev", start_frame_idx=min(3, nfr - 1), reverse=True)
    h1.remove()
    h2.remove()

    sc = np.array(scores)
    print(f"object scores: min {sc.min():.2f} max {sc.max():.2f} min|s| {np.abs(sc).min():.4f}, "
          f"{int((sc <= 0).sum())} of {len(sc)} <= 0", file=sys.stderr)
    for e in events:
        print(f"  {e['name']}: score {e['obj_score']:.4f} fg {e['fg']:.3f}", file=sys.stderr)

    shutil.rmtree(tmp)
    trunk_cfg = cfg.model.image_encoder.trunk
    tr = model.image_encoder.trunk
    index = {
        "generator": "tools/refgen/gen_sam2_video_fixtures.py",
        "torch": torch.__version__,
        "config": {
            "name": args.config,
            "image_size": int(S),
            "embed_dim": int(trunk_cfg.embed_dim),
            "num_heads": int(trunk_cfg.num_heads),
            "stages": [int(x) for x in np.diff([-1] + tr.stage_ends)],
            "window_spec": [int(x) for x in tr.window_spec],
            "global_att_blocks": [int(x) for x in tr.global_att_blocks],
            "window_pos_embed_bkg_spatial_size": [int(x) for x in tr.window_pos_embed_bkg_spatial_size],
            "d_model": int(model.hidden_dim),
            "mem_dim": int(model.mem_dim),
            "num_maskmem": int(model.num_maskmem),
            "fill_hole_area": int(model.fill_hole_area),
        },
        "weights": wfile,
        "weights_dtype": "f16" if small else "f32",
        "video": {"frames": frame_files, "height": H, "width": W, "low_res": L,
                  "source": FOOTAGE},
        "tap": {"step": tap_at[0], "frame": tap_at[1], "obj": tap_at[2] + 1},
        "actions": actions,
        "events": events,
        "tensors": d.index,
    }
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
    total = sum(os.path.getsize(os.path.join(out, x)) for x in os.listdir(out))
    print(f"wrote {out} ({total / 1e6:.2f} MB)", file=sys.stderr)


if __name__ == "__main__":
    main()
