#!/usr/bin/env python3
"""ref_segment.py: the official SAM 2.1 image predictor (sam2 1.1.0,
SAM2ImagePredictor) timed under the rules of `roto bench --task segment`, writing the
same JSON record (bench/README.md).

A frame is set_image (the encoder, with the official preprocessing) + predict (one
click at the first default click, multimask, masks returned at the image size on the
host, as numpy). Frame 0 after the load is the "first frame" (cold: cuDNN autotuning,
compilation); then --warmup untimed frames, then --frames timed ones; median / p90.

Modes: eager (default), or --compile: the image encoder wrapped in torch.compile
(`++model.compile_image_encoder=True`, max-autotune, the setting vos_optimized uses).
--precision bf16 runs under bf16 autocast with TF32, as sam2/benchmark.py does.

usage: ref_segment.py --ckpt sam2.1_hiera_tiny.pt -i image.jpg [--device cuda]
       [--precision bf16] [--compile] [--frames 10] [--warmup 1] [--threads 2] [--json out.json]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_args(ap, "segment")
    ap.add_argument("--compile", action="store_true", help="torch.compile the image encoder")
    ap.add_argument("--no-stages", action="store_true",
                    help="no split of set_image into preprocessing and encoder (no syncs)")
    args = ap.parse_args()
    if args.warmup is None:
        args.warmup = 1

    import numpy as np
    import torch
    from PIL import Image

    common.setup_torch(args.device, args.threads, args.precision)
    variant = args.variant or common.variant_of(args.ckpt)
    mem = common.DeviceMemory(args.device)

    from sam2.build_sam import build_sam2
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    t0 = common.now()
    extra = ["++model.compile_image_encoder=True"] if args.compile else []
    model = build_sam2(common.CONFIGS[variant], args.ckpt, device=args.device,
                       hydra_overrides_extra=extra)
    predictor = SAM2ImagePredictor(model)
    common.sync(args.device)
    # set_image = preprocessing (the official transforms, on the host) + forward_image.
    timer = common.StageTimer(args.device, not args.no_stages)
    timer.wrap(model, "forward_image", "image_encoder")
    load_s = common.now() - t0
    rss_after_load = common.peak_rss_mb()
    mem.sample()

    t0 = common.now()
    image = np.array(Image.open(args.input).convert("RGB"))
    io_s = common.now() - t0
    H, W = image.shape[:2]
    point = np.array([common.click_for(0, W, H)], dtype=np.float32)
    label = np.array([1], dtype=np.int32)

    pre, enc, dec, frame = [], [], [], []
    first = None
    with torch.inference_mode():
        for it in range(1 + args.warmup + args.frames):
            timer.take()
            t1 = common.now()
            predictor.set_image(image)
            common.sync(args.device)
            t2 = common.now()
            masks, iou, low_res = predictor.predict(point_coords=point, point_labels=label,
                                                    multimask_output=True)
            common.sync(args.device)
            t3 = common.now()
            mem.sample()
            if it == 0:
                first = t3 - t1
            elif it >= 1 + args.warmup:
                e = timer.take().get("image_encoder", t2 - t1)
                pre.append(t2 - t1 - e), enc.append(e), dec.append(t3 - t2), frame.append(t3 - t1)

    mode = ("compile" if args.compile else "eager") + ("" if args.precision == "fp32" else "-" + args.precision)
    rec = common.record_base(args, "segment", mode, W, H, variant)
    rec["input"] = {"source": args.input, "width": W, "height": H, "frames": args.frames,
                    "warmup": args.warmup, "objects": 1, "runs": 1, "warmup_runs": 0}
    rec["context_s"] = None
    rec["load_s"] = load_s
    rec["first_frame_s"] = first
    rec["frame_ms"] = common.stats_ms(frame)
    rec["frame_with_io_ms"] = None
    rec["fps"] = 1e3 / rec["frame_ms"]["median"]
    rec["frames_ms"] = [1e3 * x for x in frame]
    stages = {"io": common.stage_ms([io_s]), "image_encoder": common.stage_ms(enc),
              "decoder": common.stage_ms(dec)}
    if not args.no_stages:
        stages["preprocess"] = common.stage_ms(pre)
    rec["stages_ms"] = stages
    rec["stage_sync"] = args.device == "cuda" and not args.no_stages
    rec["memory"] = mem.record(rss_after_load)
    rec["flops"] = None  # the same model as roto's record: summarize.py uses roto's count
    rec["notes"] = [
        "segment: a frame is SAM2ImagePredictor.set_image (the image encoder, preprocessing on "
        "the host as the official transforms do) + predict (one click, multimask, numpy masks at "
        "the image size)",
        "io: decoding the image once with PIL (not in frame_ms)",
    ]
    if not args.quiet:
        common.print_summary(rec, stages)
    common.write_record(rec, args.json, args.targets, args.quiet)


if __name__ == "__main__":
    main()
