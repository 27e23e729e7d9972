"""common.py: what the reference runners (ref_segment.py, ref_track.py) and
summarize.py share: the JSON record of `roto bench` (schema roto-bench/1, see
bench/README.md), the statistics (the same percentile rule as the C harness),
host facts, memory readings, the default clicks, the checkpoint's variant and the
client's targets (bench/targets.json), evaluated exactly as tools/cmd_bench.c does.
"""
import datetime
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time

SCHEMA = "roto-bench/1"
ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# One click per object in the coordinates of a 960x540 frame (the first is the
# official benchmark's click on the bedroom clip); tools/cmd_bench.c has the same list.
CLICKS_960 = [(210, 350), (400, 150), (750, 300), (100, 100), (850, 100), (480, 450),
              (300, 250), (650, 480)]

CONFIGS = {
    "tiny": "configs/sam2.1/sam2.1_hiera_t.yaml",
    "small": "configs/sam2.1/sam2.1_hiera_s.yaml",
    "base_plus": "configs/sam2.1/sam2.1_hiera_b+.yaml",
    "large": "configs/sam2.1/sam2.1_hiera_l.yaml",
}


def click_for(k, width, height):
    x, y = CLICKS_960[k]
    return [x / 960.0 * width, y / 540.0 * height]


def now():
    return time.perf_counter()


def percentile(sorted_xs, p):
    """Linear interpolation between order statistics (numpy's default; cmd_bench.c too)."""
    if not sorted_xs:
        return float("nan")
    pos = p * (len(sorted_xs) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


def stats_ms(seconds):
    """{median, p90, mean, min, max, n} in milliseconds, or None for no samples."""
    if not seconds:
        return None
    xs = sorted(1e3 * s for s in seconds)
    return {"median": percentile(xs, 0.5), "p90": percentile(xs, 0.9),
            "mean": sum(xs) / len(xs), "min": xs[0], "max": xs[-1], "n": len(xs)}


def stage_ms(seconds):
    s = stats_ms(seconds)
    return None if s is None else {"median": s["median"], "p90": s["p90"], "mean": s["mean"]}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_commit():
    env = os.environ.get("ROTO_BENCH_COMMIT")
    if env:
        return env
    try:
        out = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short=12", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def variant_of(ckpt_path):
    """The released variant of an official-layout checkpoint, from its Hiera shapes."""
    import torch
    sd = torch.load(ckpt_path, map_location="cpu", weights_only=True, mmap=True)
    sd = sd.get("model", sd)
    blocks = {k.split(".")[3] for k in sd if k.startswith("image_encoder.trunk.blocks.")}
    embed = sd["image_encoder.trunk.patch_embed.proj.weight"].shape[0]
    table = {(12, 96): "tiny", (16, 96): "small", (24, 112): "base_plus", (48, 144): "large"}
    v = table.get((len(blocks), embed))
    if v is None:
        sys.exit(f"{ckpt_path}: not a released SAM 2.1 size ({len(blocks)} blocks, dim {embed})")
    return v


class DeviceMemory:
    """Peak device memory: torch's allocator peaks and the drop of cudaMemGetInfo's free
    memory since before the model (the CUDA context itself excluded, as in roto bench)."""

    def __init__(self, device):
        import torch
        self.torch = torch
        self.cuda = device == "cuda"
        self.free0 = self.used_peak = 0
        if self.cuda:
            torch.cuda.init()
            self.free0 = torch.cuda.mem_get_info()[0]
            torch.cuda.reset_peak_memory_stats()

    def sample(self):
        if self.cuda:
            free = self.torch.cuda.mem_get_info()[0]
            self.used_peak = max(self.used_peak, self.free0 - free)

    def record(self, rss_after_load_mb):
        mb = 1.0 / 1048576
        m = {"host_peak_rss_mb": peak_rss_mb(), "host_rss_after_load_mb": rss_after_load_mb,
             "device_persistent_peak_mb": None, "device_arena_capacity_mb": None,
             "device_arena_peak_mb": None, "device_peak_mb": None, "cuda_used_peak_mb": None}
        if self.cuda:
            t = self.torch.cuda
            m["device_peak_mb"] = t.max_memory_allocated() * mb
            m["torch_reserved_peak_mb"] = t.max_memory_reserved() * mb
            m["cuda_used_peak_mb"] = self.used_peak * mb
        return m

    def gb(self):
        if self.cuda:
            return self.used_peak / 1073741824.0 if self.used_peak else None
        return None


def setup_torch(device, threads, precision):
    """Threads, TF32 and autocast as the official benchmark (sam2/benchmark.py) sets them
    for bf16: autocast to bfloat16 and TF32 on; fp32 keeps every product in fp32."""
    import torch
    if threads:
        torch.set_num_threads(threads)
    if device == "cuda":
        tf32 = precision in ("tf32", "bf16")
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        if precision == "bf16":
            torch.autocast(device_type="cuda", dtype=torch.bfloat16).__enter__()
        elif precision == "fp16":
            torch.autocast(device_type="cuda", dtype=torch.float16).__enter__()
    elif precision != "fp32":
        sys.exit("precision other than fp32 needs --device cuda")


def sync(device):
    if device == "cuda":
        import torch
        torch.cuda.synchronize()


class StageTimer:
    """Per-stage times of the official code, taken at its method boundaries: each wrapped
    method's wall time (with a device sync before and after on CUDA, as roto bench syncs at
    its taps) is added to a stage. The wrapper only times: arguments and results pass
    through unchanged. take() returns the stages of the current frame and starts anew."""

    def __init__(self, device, enabled=True):
        self.device, self.enabled, self.acc = device, enabled, {}

    def wrap(self, obj, attr, stage):
        orig = getattr(obj, attr)
        timer = self

        def timed(*a, **k):
            if not timer.enabled:
                return orig(*a, **k)
            sync(timer.device)
            t = now()
            out = orig(*a, **k)
            sync(timer.device)
            timer.acc[stage] = timer.acc.get(stage, 0.0) + now() - t
            return out

        setattr(obj, attr, timed)

    def take(self):
        acc, self.acc = self.acc, {}
        return acc


LOAD_START = os.getloadavg()[0]  # how busy the machine was when the run began


def record_base(args, task, mode, width, height, variant, image_size=1024):
    import torch
    import sam2  # noqa: F401  (version facts)
    try:
        from importlib.metadata import version
        sam2_version = version("sam2")
    except Exception:  # noqa: BLE001  (a --target install has no metadata on some pythons)
        sam2_version = "1.1.0?"
    gpu = torch.cuda.get_device_name() if args.device == "cuda" else None
    threads = args.threads or torch.get_num_threads()
    return {
        "schema": SCHEMA,
        "impl": "sam2-official",
        "impl_version": f"sam2 {sam2_version}, torch {torch.__version__}",
        "mode": mode,
        "commit": git_commit(),
        "worktree_dirty": None,
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "host": {"cpu": cpu_model(), "threads": threads, "cores_online": os.cpu_count(),
                 "gpu": gpu, "loadavg_start": LOAD_START, "loadavg_end": os.getloadavg()[0]},
        "task": task,
        "model": {"path": args.ckpt, "variant": variant, "image_size": image_size},
        "device": args.device,
        "device_name": gpu if gpu else f"cpu {cpu_model()}, {threads} threads",
        "precision": args.precision,
    }


# ---- targets ----------------------------------------------------------------------------


def metric_value(rec, name):
    """(value or None, note or None) of a target metric for a record (cmd_bench.c's rules)."""
    task = rec.get("task")
    fm = rec.get("frame_ms") or {}
    if name == "load_s":
        return rec.get("load_s"), None
    if name == "first_frame_s":
        return rec.get("first_frame_s"), None
    if name == "next_frame_s":
        if task == "segment":
            d = (rec.get("stages_ms") or {}).get("decoder")
            return (d["median"] / 1e3 if d else None), "predict on the cached encoding"
        return (fm["median"] / 1e3 if fm else None), "steady-state propagation frame"
    if name == "frame_s":
        return (fm["median"] / 1e3 if fm else None), None
    if name == "fps":
        return rec.get("fps"), None
    if name in ("sequence_100_s", "sequence_1000_s"):
        key = name.split("_")[1]
        ex = (rec.get("sequence_extrapolated") or {}).get(key)
        return rec.get(name), ("extrapolated from the steady-state frame time" if ex else None)
    if name == "device_memory_gb":
        if rec.get("device") != "cuda":
            return None, None  # host memory is not what the GPU budget is about
        m = rec.get("memory") or {}
        if m.get("cuda_used_peak_mb"):
            return m["cuda_used_peak_mb"] / 1024.0, None
        if m.get("device_peak_mb") is not None:
            return m["device_peak_mb"] / 1024.0, None
        return None, None
    if name == "frame_cache_gb":
        if rec.get("impl") == "roto":
            return 0.0, "roto keeps no frame cache: frames are streamed"
        return None, "the official predictor keeps every frame (init_state)"
    return None, None


def load_targets(path=None):
    path = path or os.path.join(ROOT, "bench", "targets.json")
    with open(path) as f:
        return json.load(f)


def check_targets(rec, targets):
    rows = []
    for t in targets["targets"]:
        op, limit, unit = t.get("op", "<"), t["limit"], t.get("unit", "")
        row = {"id": t["id"], "what": t["what"], "op": op, "limit": limit, "unit": unit,
               "applies": False}
        status = note = None
        v = None
        tasks = t.get("tasks")
        if t.get("network", "segmentation") != "segmentation":
            status = "not implemented yet" if rec.get("impl") == "roto" else "not measured"
        elif tasks and rec.get("task") not in tasks:
            status = "other task"
        else:
            v, note = metric_value(rec, t.get("metric", ""))
            if v is None:
                status = "not measured by this run"
            else:
                row["applies"] = True
                w, h = rec["input"]["width"], rec["input"]["height"]
                if "size" in t and [w, h] != list(t["size"]):
                    row["applies"], note = False, "measured at another frame size than the target's"
                if "min_size" in t and (w < t["min_size"][0] or h < t["min_size"][1]):
                    row["applies"], note = False, "measured at a smaller frame size than the target's"
        if v is not None:
            row["measured"] = v
            ok = {"<": v < limit, "<=": v <= limit, ">": v > limit}.get(op, v >= limit)
        row["pass"] = ok if row["applies"] else None
        if note:
            row["note"] = note
        if status:
            row["status"] = status
        rows.append(row)
    return rows


def print_targets(rows, targets, device):
    print(f"\nClient targets (stated for {targets.get('gpu', 'an RTX 4090')}; this run: {device}"
          f"{', so not comparable' if device == 'cpu' else ''}):")
    for r in rows:
        target = f"{r['op']} {r['limit']:g} {r['unit']}"
        meas = f"{r['measured']:.3g} {r['unit']}" if "measured" in r else ""
        st = r.get("status") or (("meets" if r["pass"] else "MISSES") if r["applies"] else "n/a")
        note = f" ({r['note']})" if r.get("note") else ""
        print(f"  {r['what']:<46} {target:<11} {meas:<11} {st}{note}")


def write_record(rec, path, targets_path=None, quiet=False):
    try:
        targets = load_targets(targets_path)
        rec["targets"] = check_targets(rec, targets)
        if not quiet:
            print_targets(rec["targets"], targets, "cpu" if rec["device"] == "cpu" else rec["device_name"])
    except OSError:
        rec["targets"] = []
    if path:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "w") as f:
            json.dump(rec, f, indent=1)
        if not quiet:
            print(f"record: {path}")


def add_common_args(ap, task):
    ap.add_argument("--ckpt", "-m", required=True, help="official-layout SAM 2.1 checkpoint (.pt)")
    ap.add_argument("--variant", choices=sorted(CONFIGS), help="default: from the checkpoint")
    ap.add_argument("--input", "-i", required=True,
                    help="an image (segment) / a frame pattern like dir/%%05d.jpg (track)")
    ap.add_argument("--frames", type=int, default=10 if task == "segment" else 24)
    ap.add_argument("--warmup", type=int, default=None)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--precision", choices=["fp32", "tf32", "bf16", "fp16"], default="fp32",
                    help="bf16: autocast + TF32, the official benchmark's setting")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's)")
    ap.add_argument("--json", help="write the record here")
    ap.add_argument("--targets", help="targets file (default bench/targets.json)")
    ap.add_argument("-q", "--quiet", action="store_true")


def print_summary(rec, stages):
    fm = rec.get("frame_ms")
    print(f"{rec['impl']} ({rec['mode']}): {rec['task']}, {rec['model']['variant']} on "
          f"{rec['device_name']}, {rec['input']['width']}x{rec['input']['height']} {rec['input']['source']}")
    print(f"  load            {rec['load_s']:8.3f} s")
    print(f"  first frame     {rec['first_frame_s']:8.3f} s")
    if fm:
        print(f"  frame           {fm['median']:8.1f} ms  median, p90 {fm['p90']:.1f} ms, {fm['n']} timed;"
              f" {1e3 / fm['median']:.2f} fps")
    for k, v in stages.items():
        if v:
            print(f"    {k:<16} {v['median']:8.1f} ms  median, p90 {v['p90']:.1f}")
    m = rec["memory"]
    dev = f"; device {m['device_peak_mb']:.0f} MiB allocated" if m.get("device_peak_mb") else ""
    print(f"  memory          host peak RSS {m['host_peak_rss_mb']:.0f} MiB{dev}")
