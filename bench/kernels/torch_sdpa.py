#!/usr/bin/env python3
"""torch_sdpa.py: PyTorch's scaled_dot_product_attention timed at the attention
shapes of gpu_bench.c (bf16, no mask), once per SDPA backend (cuDNN, flash,
memory-efficient), as the outside reference for roto's flash kernel (the cuDNN
fused SDPA is not called from C here). Needs a CUDA build of PyTorch (the GPU
machines have one).

usage: python3 bench/kernels/torch_sdpa.py [--out DIR]
writes DIR/<date>-<gpu>-torch-sdpa.json (DIR defaults to bench/results)
"""
import argparse
import datetime
import json
import re
import statistics
import subprocess

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

# name, B, H, Lq, Lk, D: the same list as gpu_bench.c
SHAPES = [
    ("memory_attn_cross", 1, 1, 4096, 28736, 256),
    ("memory_attn_self", 1, 1, 4096, 4096, 256),
    ("hiera_ts_global_hd96", 1, 4, 4096, 4096, 96),
    ("hiera_bplus_global_hd56", 1, 8, 4096, 4096, 56),
    ("hiera_l_global_hd72", 1, 8, 4096, 4096, 72),
    ("hiera_t_s1_window64_hd96", 1024, 1, 64, 64, 96),
    ("hiera_ts_s3_window196_hd96", 25, 4, 196, 196, 96),
    ("decoder_token_to_image_hd32", 1, 8, 8, 4096, 32),
]
BACKENDS = {
    "cudnn": SDPBackend.CUDNN_ATTENTION,
    "flash": SDPBackend.FLASH_ATTENTION,
    "efficient": SDPBackend.EFFICIENT_ATTENTION,
}


def time_ms(fn, iters=20, reps=5):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        for _ in range(iters):
            fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) / iters)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="bench/results")
    args = ap.parse_args()
    gpu = torch.cuda.get_device_name()
    rows = []
    for name, B, H, Lq, Lk, D in SHAPES:
        q = (torch.rand(B, H, Lq, D, device="cuda") * 4 - 2).bfloat16()
        k = (torch.rand(B, H, Lk, D, device="cuda") * 2 - 1).bfloat16()
        v = (torch.rand(B, H, Lk, D, device="cuda") * 2 - 1).bfloat16()
        flop = 4.0 * B * H * Lq * Lk * D
        row = {"name": name, "B": B, "H": H, "Lq": Lq, "Lk": Lk, "D": D}
        for bname, backend in BACKENDS.items():
            try:
                with sdpa_kernel(backend):
                    ms = time_ms(lambda: F.scaled_dot_product_attention(q, k, v))
                row[bname + "_ms"] = round(ms, 4)
                row[bname + "_tflops"] = round(flop / (ms * 1e-3) / 1e12, 2)
            except RuntimeError as e:  # backend does not support this shape/dim
                row[bname + "_error"] = str(e).splitlines()[0][:200]
        print(row, flush=True)
        rows.append(row)
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip() or "unknown"
    except OSError:
        commit = "unknown"
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
    slug = re.sub(r"[^a-z0-9]", "-", gpu.lower())
    path = f"{args.out}/{date}-{slug}-torch-sdpa.json"
    with open(path, "w") as f:
        json.dump({"date": date, "gpu": gpu, "torch": torch.__version__,
                   "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
                   "git_commit": commit, "dtype": "bf16", "attention": rows}, f, indent=2)
    print("wrote", path)


if __name__ == "__main__":
    main()
