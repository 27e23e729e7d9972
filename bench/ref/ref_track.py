#!/usr/bin/env python3
"""ref_track.py: the official SAM 2.1 video predictor (sam2 1.1.0,
SAM2VideoPredictor) timed under the rules of `roto bench --task track`, writing the
same JSON record (bench/README.md).

As sam2/benchmark.py does: init_state on a JPEG folder (every frame decoded, resized
to 1024 and normalised up front: reported as video_load_s, not in the frame times),
one click per object on frame 0 (add_new_points_or_box: the "first frame"), then
propagate_in_video passes over the whole video. Each frame's time is the interval
between two yields; the masks are brought to the host as roto returns them
((logits > 0).cpu(); --no-download skips that, exactly like benchmark.py). Frames
>= --warmup of the timed passes (after --warmup-runs untimed ones) give median / p90.

Modes: eager (default), or --vos-optimized: SAM2VideoPredictorVOS, which
torch.compiles the image encoder, memory encoder, memory attention, prompt encoder and
mask decoder (max-autotune; the first passes compile: use --warmup-runs). --precision
bf16 runs under bf16 autocast with TF32, as sam2/benchmark.py does.

usage: ref_track.py --ckpt sam2.1_hiera_tiny.pt -i bedroom/%05d.jpg --frames 24 [--objects 1]
       [--device cuda] [--precision bf16] [--vos-optimized] [--warmup 8] [--runs 1]
       [--warmup-runs 0] [--threads 2] [--json out.json]
"""
import argparse
import glob
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def frame_files(pattern, n):
    """The first n files of a frame pattern (dir/%05d.jpg, dir/name.####.png or a directory),
    in frame order; a shorter sequence wraps around (as roto bench does)."""
    if os.path.isdir(pattern):
        files = [f for f in glob.glob(os.path.join(pattern, "*"))
                 if re.fullmatch(r"\d+\.(jpe?g|JPE?G)", os.path.basename(f))]
        files.sort(key=lambda f: int(os.path.basename(f).split(".")[0]))
    else:
        d, base = os.path.split(pattern)
        m = re.search(r"%0?(\d*)d|#+", base)
        if not m:
            files = [pattern]
        else:
            rx = re.escape(base[:m.start()]) + r"(-?\d+)" + re.escape(base[m.end():])
            found = []
            for f in os.listdir(d or "."):
                mm = re.fullmatch(rx, f)
                if mm:
                    found.append((int(mm.group(1)), os.path.join(d, f)))
            files = [f for _, f in sorted(found)]
    if not files:
        sys.exit(f"{pattern}: no frames found")
    return [os.path.abspath(files[i % len(files)]) for i in range(n)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_args(ap, "track")
    ap.add_argument("--objects", type=int, default=1, choices=range(1, 9))
    ap.add_argument("--runs", type=int, default=1, help="timed propagation passes")
    ap.add_argument("--warmup-runs", type=int, default=0, help="untimed passes before them")
    ap.add_argument("--vos-optimized", action="store_true",
                    help="SAM2VideoPredictorVOS (torch.compile of every component; CUDA only)")
    ap.add_argument("--no-stages", action="store_true",
                    help="no per-stage times (no syncs at the stage boundaries on CUDA)")
    ap.add_argument("--no-download", action="store_true",
                    help="leave the masks on the device (sam2/benchmark.py does)")
    args = ap.parse_args()
    if args.warmup is None:
        args.warmup = min(8, args.frames // 2)
    if args.frames < 2 or args.warmup >= args.frames:
        sys.exit("need --frames >= 2 and --warmup < --frames")

    import torch
    from PIL import Image

    common.setup_torch(args.device, args.threads, args.precision)
    variant = args.variant or common.variant_of(args.ckpt)
    mem = common.DeviceMemory(args.device)

    from sam2.build_sam import build_sam2_video_predictor

    # The official loader reads "<index>.jpg" files of one folder: links to the frames
    # (PIL reads them by content, so PNG frames work too).
    files = frame_files(args.input, args.frames)
    tmp = tempfile.TemporaryDirectory(prefix="ref_track_")
    for i, f in enumerate(files):
        os.symlink(f, os.path.join(tmp.name, f"{i:05d}.jpg"))
    with Image.open(files[0]) as im:
        W, H = im.size

    t0 = common.now()
    predictor = build_sam2_video_predictor(common.CONFIGS[variant], args.ckpt, device=args.device,
                                           vos_optimized=args.vos_optimized)
    common.sync(args.device)
    load_s = common.now() - t0
    rss_after_load = common.peak_rss_mb()
    mem.sample()
    # Stages at the official method boundaries (the names of roto bench's stages).
    timer = common.StageTimer(args.device, not args.no_stages)
    timer.wrap(predictor, "_get_image_feature", "image_encoder")
    timer.wrap(predictor, "_prepare_memory_conditioned_features", "memory_attention")
    timer.wrap(predictor, "_forward_sam_heads", "decoder")
    timer.wrap(predictor, "_encode_new_memory", "memory_encoder")
    stage_names = ["image_encoder", "memory_attention", "decoder", "memory_encoder", "postprocess"]

    frame, pass_s = [], []
    stages = {k: [] for k in stage_names}
    with torch.inference_mode():
        t0 = common.now()
        state = predictor.init_state(video_path=tmp.name)
        common.sync(args.device)
        # init_state also encodes frame 0 ("warm up the visual backbone"): that belongs to
        # the first frame, as in roto, not to loading the video.
        frame0_encode_s = timer.take().get("image_encoder", 0.0)
        video_load_s = common.now() - t0 - frame0_encode_s
        mem.sample()

        t0 = common.now()
        for k in range(args.objects):
            predictor.add_new_points_or_box(
                inference_state=state, frame_idx=0, obj_id=k + 1,
                points=[common.click_for(k, W, H)], labels=[1])
        common.sync(args.device)
        first_frame_s = common.now() - t0 + frame0_encode_s
        timer.take()
        mem.sample()

        seq_s = first_frame_s
        seq_at = {}
        for p in range(args.warmup_runs + args.runs):
            timed = p >= args.warmup_runs
            start = prev = common.now()
            for f, obj_ids, logits in predictor.propagate_in_video(state):
                if not args.no_download:
                    (logits > 0.0).cpu()
                common.sync(args.device)
                t = common.now()
                mem.sample()
                if p == 0:
                    seq_s += t - prev
                    if f + 1 in (100, 1000):
                        seq_at[f + 1] = seq_s
                st = timer.take()
                if timed and f >= args.warmup:
                    frame.append(t - prev)
                    if not args.no_stages:
                        st["postprocess"] = max(0.0, (t - prev) - sum(st.values()))
                        for k in stage_names:
                            stages[k].append(st.get(k, 0.0))
                prev = t
            if timed:
                pass_s.append(prev - start)
    tmp.cleanup()

    fm = common.stats_ms(frame)
    mean_s = fm["mean"] / 1e3
    n = args.frames
    mode = ("vos_optimized" if args.vos_optimized else "eager") + \
        ("" if args.precision == "fp32" else "-" + args.precision)
    rec = common.record_base(args, "track", mode, W, H, variant)
    rec["input"] = {"source": args.input, "width": W, "height": H, "frames": n,
                    "warmup": args.warmup, "objects": args.objects, "runs": args.runs,
                    "warmup_runs": args.warmup_runs}
    rec["context_s"] = None
    rec["load_s"] = load_s
    rec["first_frame_s"] = first_frame_s
    rec["video_load_s"] = video_load_s
    rec["frame_ms"] = fm
    rec["frame_with_io_ms"] = None
    rec["fps"] = 1e3 / fm["median"]
    rec["frames_ms"] = [1e3 * x for x in frame]
    rec["stages_ms"] = {k: common.stage_ms(v) for k, v in stages.items() if v}
    rec["stage_sync"] = args.device == "cuda" and not args.no_stages
    rec["memory"] = mem.record(rss_after_load)
    rec["flops"] = None
    # Sequence times as roto bench reports them, plus the frame decoding done up front.
    rec["sequence_s"] = seq_s + video_load_s
    def sequence(target):  # measured up to `target` frames when the video is that long
        base = seq_at[target] if n >= target else seq_s + (target - n) * mean_s
        return base + video_load_s * target / n

    rec["sequence_100_s"] = sequence(100)
    rec["sequence_1000_s"] = sequence(1000)
    rec["sequence_extrapolated"] = {"100": n < 100, "1000": n < 1000}
    ps = sorted(pass_s)
    rec["pass_fps"] = n / common.percentile(ps, 0.5) if ps else None
    rec["notes"] = [
        "track: init_state decodes, resizes and normalises every frame up front (video_load_s, "
        "not in frame_ms or first_frame_s); one click per object on frame 0 "
        "(add_new_points_or_box: first_frame_s); frame_ms: the intervals between the yields of "
        "propagate_in_video, frames >= warmup of the timed passes"
        + ("" if args.no_download else ", each frame's masks brought to the host"),
        "sequence_*_s add video_load_s per frame to the propagation (the official code needs "
        "every frame decoded before it starts)",
        "stages at the official method boundaries: image_encoder = _get_image_feature, "
        "memory_attention = _prepare_memory_conditioned_features (bank assembly included), "
        "decoder = _forward_sam_heads, memory_encoder = _encode_new_memory, postprocess = the "
        "rest of the frame (upsampling to the video size, download, Python)",
        "no hole filling unless sam2's optional CUDA extension (sam2._C) is built: the official "
        "code then warns and skips it",
    ]
    if not args.quiet:
        common.print_summary(rec, rec["stages_ms"])
        print(f"  video load      {video_load_s:8.3f} s   (init_state: every frame decoded and resized)")
    common.write_record(rec, args.json, args.targets, args.quiet)


if __name__ == "__main__":
    main()
