#!/usr/bin/env python3
"""summarize.py: the records of one bench/run.sh session (roto bench and the reference
runners, schema roto-bench/1) -> one results JSON (every record, plus per configuration
the median over repeated runs and the ratios roto / official) and a markdown table.

Runs are grouped by configuration (task, variant, objects, input, frame count, device,
precision); inside a group each implementation+mode may have run several times (the
machine may be shared): every number is the median over those repeats of the run's own
value, and the spread (max - min) / median of the per-run frame medians says how noisy
it was. Ratios are roto / official time (below 1: roto is faster) and memory.

usage: summarize.py RAW_DIR... --out OUT_BASE [--title TEXT]
       writes OUT_BASE.json and OUT_BASE.md (several RAW_DIRs: sessions pooled)
"""
import argparse
import glob
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

# (label, getter, unit, digits); times are per-run values, medians over repeats.
METRICS = [
    ("load", lambda r: r.get("load_s"), "s", 3),
    ("first frame", lambda r: r.get("first_frame_s"), "s", 3),
    ("frame median", lambda r: (r.get("frame_ms") or {}).get("median"), "ms", 1),
    ("frame p90", lambda r: (r.get("frame_ms") or {}).get("p90"), "ms", 1),
    ("fps", lambda r: r.get("fps"), "", 3),
    ("  preprocess", lambda r: stage(r, "preprocess"), "ms", 1),
    ("  image encoder", lambda r: stage(r, "image_encoder"), "ms", 1),
    ("  memory attention", lambda r: stage(r, "memory_attention"), "ms", 1),
    ("  decoder", lambda r: stage(r, "decoder"), "ms", 1),
    ("  memory encoder", lambda r: stage(r, "memory_encoder"), "ms", 1),
    ("  postprocess", lambda r: stage(r, "postprocess"), "ms", 1),
    ("frame decoding (not in frame)", lambda r: stage(r, "io"), "ms", 1),
    ("video load (official init_state)", lambda r: r.get("video_load_s"), "s", 3),
    ("peak host RSS", lambda r: (r.get("memory") or {}).get("host_peak_rss_mb"), "MiB", 0),
    ("device memory peak", lambda r: (r.get("memory") or {}).get("device_peak_mb"), "MiB", 0),
    ("cudaMemGetInfo drop", lambda r: (r.get("memory") or {}).get("cuda_used_peak_mb"), "MiB", 0),
]


def stage(r, name):
    s = (r.get("stages_ms") or {}).get(name)
    return s["median"] if s else None


def impl_key(r):
    return "roto" if r["impl"] == "roto" else f"official {r['mode']}"


def group_key(r):
    i = r["input"]
    cpu = r["device"] == "cpu"
    prec = "fp32" if cpu else r["precision"]
    threads = r["host"]["threads"] if cpu else None  # host threads matter on the CPU only
    return (r["task"], r["model"]["variant"], i.get("objects", 1), i["width"], i["height"],
            os.path.basename(str(i["source"])), i["frames"], r["device"], threads, prec)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(v, digits):
    if v is None:
        return "-"
    return f"{v:.{digits}f}" if digits else f"{v:.0f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw_dirs", nargs="+")
    ap.add_argument("--out", dest="out_base", required=True)
    ap.add_argument("--title", default="roto vs the official SAM 2.1 code")
    args = ap.parse_args()
    recs = []
    for d in args.raw_dirs:
        for p in sorted(glob.glob(os.path.join(d, "*.json"))):
            with open(p) as f:
                r = json.load(f)
            if r.get("schema") == common.SCHEMA and "task" in r:
                r["_file"] = os.path.join(os.path.basename(os.path.normpath(d)), os.path.basename(p))
                recs.append(r)
    if not recs:
        sys.exit(f"{' '.join(args.raw_dirs)}: no records")
    try:
        targets = common.load_targets()
    except OSError:
        targets = None

    groups = {}
    for r in recs:
        groups.setdefault(group_key(r), {}).setdefault(impl_key(r), []).append(r)

    summary = []
    lines = [f"# {args.title}", ""]
    any_rec = recs[0]
    lines += [f"- date: {any_rec['date'][:10]}; commit: {any_rec.get('commit')}",
              f"- host: {any_rec['host']['cpu']}, {any_rec['host']['cores_online']} cores"
              + (f", GPU {any_rec['host']['gpu']}" if any_rec['host'].get('gpu') else ""),
              "- every number: the median over the repeated runs of each run's own value "
              "(frame: the run's median frame); ratio = roto / official (time: below 1 means "
              "roto is faster)", ""]
    for key, impls in sorted(groups.items(), key=lambda kv: [str(x) for x in kv[0]]):
        task, variant, objects, W, H, src, frames, device, threads, prec = key
        order = sorted(impls, key=lambda k: (k != "roto", k))
        g = {"task": task, "variant": variant, "objects": objects, "width": W, "height": H,
             "input": src, "frames": frames, "device": device, "threads": threads,
             "precision": prec, "impls": {}}
        for k in order:
            runs = impls[k]
            fr = [(x.get("frame_ms") or {}).get("median") for x in runs]
            fr = [x for x in fr if x is not None]
            spread = (max(fr) - min(fr)) / statistics.median(fr) if len(fr) > 1 else None
            loads = [x["host"].get("loadavg_start") for x in runs if x["host"].get("loadavg_start") is not None]
            g["impls"][k] = {"repeats": len(runs), "frame_median_spread": spread,
                             "frame_medians_ms": fr, "files": [x["_file"] for x in runs],
                             "loadavg_start": loads}
            for label, get, unit, _ in METRICS:
                g["impls"][k][label.strip()] = med([get(x) for x in runs])
            if k == "roto":
                fl = [(x.get("flops") or {}).get("per_frame") for x in runs]
                g["gflop_per_frame"] = med(fl)
        roto = g["impls"].get("roto")
        refs = [k for k in order if k != "roto"]
        g["ratios"] = {}
        for k in refs:
            g["ratios"][k] = {}
            for label, _, _, _ in METRICS:
                if label == "fps":  # a rate: its ratio would read the other way round
                    continue
                a, b = (roto or {}).get(label.strip()), g["impls"][k].get(label.strip())
                if a is not None and b:
                    g["ratios"][k][label.strip()] = a / b
        summary.append(g)

        where = f"{device}" + (f", {threads} threads" if device == "cpu" else f", {prec}")
        what = f"{objects} object{'s' if objects > 1 else ''}, " if task == "track" else ""
        lines += [f"## {task}: {variant}, {what}{W}x{H} {src}, {frames} frames, {where}", ""]
        head = "| | " + " | ".join(order) + "".join(f" | roto / {k}" for k in refs) + " |"
        lines += [head, "|" + "---|" * (1 + len(order) + len(refs))]
        for label, get, unit, digits in METRICS:
            vals = [g["impls"][k].get(label.strip()) for k in order]
            if all(v is None for v in vals):
                continue
            row = f"| {label}{' (' + unit + ')' if unit else ''} | " + " | ".join(fmt(v, digits) for v in vals)
            for k in refs:
                ratio = g["ratios"][k].get(label.strip())
                row += f" | {ratio:.2f}" if ratio is not None else " | -"
            lines.append(row + " |")
        if g.get("gflop_per_frame"):
            row = "| achieved TFLOP/s (roto's FLOP count) | "
            row += " | ".join(fmt(g["gflop_per_frame"] / g["impls"][k]["frame median"]
                                  if g["impls"][k].get("frame median") else None, 3) for k in order)
            lines.append(row + " |" + " |" * len(refs))
        rep = ", ".join(f"{k}: {g['impls'][k]['repeats']} run{'s' if g['impls'][k]['repeats'] > 1 else ''}"
                        + (f" (frame medians {', '.join(f'{x:.0f}' for x in g['impls'][k]['frame_medians_ms'])} ms,"
                           f" spread {100 * g['impls'][k]['frame_median_spread']:.0f} %)"
                           if g['impls'][k]['frame_median_spread'] is not None else "")
                        for k in order)
        loads = [x for k in order for x in g["impls"][k]["loadavg_start"]]
        lines += ["", f"Repeats: {rep}."]
        if loads:
            lines.append(f"Load average (1 min) when the runs began: {min(loads):.1f} to {max(loads):.1f} "
                         f"on {any_rec['host']['cores_online']} cores.")
        lines.append("")
        # The client's targets against roto's numbers (median run).
        if targets and roto:
            runs = impls["roto"]
            mid = sorted(runs, key=lambda x: (x.get("frame_ms") or {}).get("median") or 0)[len(runs) // 2]
            rows = [t for t in common.check_targets(mid, targets) if "measured" in t]
            if rows:
                lines += [f"Client targets (for {targets.get('gpu')}; "
                          f"{'this is a CPU run: not comparable' if device == 'cpu' else 'measured on ' + (mid['host'].get('gpu') or device)}):", "",
                          "| target | limit | roto | |", "|---|---|---|---|"]
                for t in rows:
                    st = t.get("status") or (("meets" if t["pass"] else "misses") if t["applies"] else "n/a")
                    note = f" ({t['note']})" if t.get("note") else ""
                    lines.append(f"| {t['what']} | {t['op']} {t['limit']:g} {t['unit']} | "
                                 f"{t['measured']:.3g} {t['unit']} | {st}{note} |")
                lines.append("")

    for r in recs:
        r.pop("_file", None)
    out = {"schema": "roto-bench-summary/1", "title": args.title, "date": any_rec["date"],
           "commit": any_rec.get("commit"), "host": any_rec["host"], "groups": summary,
           "records": recs}
    with open(args.out_base + ".json", "w") as f:
        json.dump(out, f, indent=1)
    with open(args.out_base + ".md", "w") as f:
        f.write("\n".join(lines))
    print(f"{args.out_base}.json, {args.out_base}.md")


if __name__ == "__main__":
    main()
