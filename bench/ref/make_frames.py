#!/usr/bin/env python3
"""make_frames.py: synthetic JPEG frames for a host without the footage: a smooth
gradient with a fine texture and a disc under each default click that drifts a little
per frame (the pattern of roto bench's synthetic frames), written as DIR/00000.jpg ...
Both roto and the reference then read the same files.

usage: make_frames.py DIR N WxH
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    out, n = sys.argv[1], int(sys.argv[2])
    W, H = (int(v) for v in sys.argv[3].split("x"))
    import numpy as np
    from PIL import Image

    os.makedirs(out, exist_ok=True)
    y, x = np.mgrid[0:H, 0:W]
    r = 0.08 * min(W, H)
    for i in range(n):
        tex = ((x * 7 + y * 13 + i * 5) & 31) - 16
        R = 40 + 120 * x // W + tex
        G = 60 + 100 * y // H + tex // 2
        B = 110 - tex
        for k in range(3):
            cx, cy = common.click_for(k, W, H)
            inside = (x - cx - 0.002 * W * i) ** 2 + (y - cy - 0.001 * H * i) ** 2 < r * r
            R = np.where(inside, 230 - 60 * k, R)
            G = np.where(inside, 80 + 70 * k, G)
            B = np.where(inside, 40 + 90 * k, B)
        img = np.stack([R, G, B], -1).clip(0, 255).astype(np.uint8)
        Image.fromarray(img).save(os.path.join(out, f"{i:05d}.jpg"), quality=95)
    print(f"{out}: {n} frames of {W}x{H}")


if __name__ == "__main__":
    main()
