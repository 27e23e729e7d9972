#!/usr/bin/env python3
"""make_ckpt.py: a random-weight SAM 2.1 checkpoint of a released size in the official
layout (torch.save({"model": state_dict}), fp32), for benchmarking on a host that has
no checkpoints and no network. Built with the official code (sam2 1.1.0, the Hydra
config of the variant), PyTorch's default initialisation from a fixed seed: the values
do not matter for timing, the shapes and the file layout are the real ones, and roto
and the reference read the same file.

usage: make_ckpt.py VARIANT OUT.pt      (VARIANT: tiny, small, base_plus, large)
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in common.CONFIGS:
        sys.exit(__doc__)
    variant, out = sys.argv[1], sys.argv[2]
    import torch
    from sam2.build_sam import build_sam2_video_predictor

    torch.manual_seed(0)
    model = build_sam2_video_predictor(common.CONFIGS[variant], None, device="cpu")
    sd = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp"
    torch.save({"model": sd}, tmp)
    os.replace(tmp, out)
    n = sum(v.numel() for v in sd.values())
    print(f"{out}: SAM 2.1 {variant}, {len(sd)} tensors, {n / 1e6:.3f}M parameters (random)")


if __name__ == "__main__":
    main()
