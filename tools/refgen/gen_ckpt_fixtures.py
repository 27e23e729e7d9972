#!/usr/bin/env python3
"""Write the small checkpoint fixtures in tests/fixtures/ckpt/ with the real writers
(torch.save and the safetensors package), plus expected.json with every tensor's name,
dtype, shape and values, so tests/test_ckpt.c can compare what the C readers return
exactly. The C build never runs this: the outputs are committed.

Usage: tools/refgen/.venv/bin/python tools/refgen/gen_ckpt_fixtures.py [OUTDIR]
"""
import collections
import json
import math
import os
import struct
import sys
import zipfile

import torch
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "fixtures", "ckpt")

DTYPE_NAMES = {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16",
               torch.int64: "i64", torch.float64: "f64"}


def make_state_dict():
    """A small state dict covering what the readers must handle: three float dtypes,
    0-d/1-d/2-d/4-d tensors, two views sharing one storage at different offsets,
    an nn.Parameter, an int64 buffer, a nested dict and non-tensor values."""
    g = torch.Generator().manual_seed(1234)
    sd = collections.OrderedDict()
    sd["enc.weight"] = torch.randn(3, 5, generator=g)
    sd["enc.bias_f16"] = torch.randn(7, generator=g).to(torch.float16)
    sd["enc.proj_bf16"] = torch.randn(2, 3, generator=g).to(torch.bfloat16)
    sd["scale"] = torch.tensor(0.75)                                  # 0-d
    sd["conv.weight"] = torch.randn(4, 3, 2, 2, generator=g)          # 4-d
    base = torch.randn(20, generator=g)                               # one storage ...
    sd["shared.a"] = base[2:8]                                        # ... offset 2
    sd["shared.b"] = base[10:20].view(2, 5)                           # ... offset 10
    sd["param"] = torch.nn.Parameter(torch.randn(6, generator=g), requires_grad=False)
    sd["bn.num_batches_tracked"] = torch.tensor(42, dtype=torch.int64)  # i64: listed, not loadable
    sd["sub"] = {"x": torch.arange(4, dtype=torch.float32).reshape(2, 2)}  # nested dict -> "sub.x"
    sd["epoch_count"] = 5        # non-tensor values are skipped
    sd["tag"] = "roto"
    sd["lr"] = 0.5
    sd["half_big"] = torch.tensor([65504.0, -0.0, 6.1035e-05, 5.96e-08], dtype=torch.float16)
    sd["bf_special"] = torch.tensor([1e30, -3.0, float("inf"), 1.0 / 3.0], dtype=torch.bfloat16)
    return sd


def flatten(d, prefix=""):
    out = collections.OrderedDict()
    for k, v in d.items():
        if isinstance(v, torch.Tensor):
            out[prefix + k] = v.detach()
        elif isinstance(v, dict):
            out.update(flatten(v, prefix + k + "."))
    return out


def describe(tensors):
    rows = []
    for name, t in tensors.items():
        row = {"name": name, "dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape)}
        if t.is_floating_point():
            # JSON has no inf/nan: those become the strings "inf", "-inf", "nan".
            row["values"] = [x if math.isfinite(x) else repr(x)
                             for x in (float(v) for v in t.float().flatten().tolist())]
        else:
            row["values"] = [int(x) for x in t.flatten().tolist()]
        rows.append(row)
    return rows


def rezip64(src, dst):
    """Copy a torch zip into a ZIP64 archive (central-directory zip64 extras with
    saturated 32-bit fields, a zip64 end record and locator), as torch writes for
    files over 4 GB. The member data stays STORED and 64-byte aligned."""
    with zipfile.ZipFile(src) as z:
        members = [(i.filename, z.read(i.filename)) for i in z.infolist()]
    out = bytearray()
    central = bytearray()
    for name, data in members:
        nb = name.encode()
        crc = zipfile.crc32(data) & 0xFFFFFFFF
        # Local header: zip64 extra with both sizes; padding extra so data is aligned.
        z64 = struct.pack("<HHQQ", 0x0001, 16, len(data), len(data))
        hdr_len = 30 + len(nb) + len(z64)
        pad = (-(len(out) + hdr_len + 4)) % 64
        extra = z64 + struct.pack("<HH", 0x4246, pad) + b"Z" * pad
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0, crc,
                           0xFFFFFFFF, 0xFFFFFFFF, len(nb), len(extra))
        out += nb + extra + data
        cext = struct.pack("<HHQQQ", 0x0001, 24, len(data), len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0, crc,
                               0xFFFFFFFF, 0xFFFFFFFF, len(nb), len(cext), 0, 0, 0, 0,
                               0xFFFFFFFF)
        central += nb + cext
    cd_off = len(out)
    out += central
    eocd64_off = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(members),
                       len(members), len(central), cd_off)
    out += struct.pack("<IIQI", 0x07064B50, 0, eocd64_off, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF,
                       0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(dst, "wb") as f:
        f.write(out)


def main():
    os.makedirs(OUT, exist_ok=True)
    sd = make_state_dict()
    flat = flatten(sd)
    expected = {"generator": "tools/refgen/gen_ckpt_fixtures.py",
                "torch": torch.__version__, "files": {}, "errors": {}}

    def path(name):
        return os.path.join(OUT, name)

    # 1. The official SAM 2 layout: {"model": state_dict} plus a non-dict sibling.
    torch.save({"model": sd, "epoch": 3}, path("nested_model.pt"))
    expected["files"]["nested_model.pt"] = {"format": "pytorch-zip", "tensors": describe(flat)}

    # 2. A module's own state_dict(): a top-level OrderedDict with _metadata (BUILD),
    #    nn.Parameters and BatchNorm buffers (int64 num_batches_tracked).
    torch.manual_seed(7)
    mod = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3),
                              torch.nn.Linear(4, 2))
    mod.eval()
    msd = mod.state_dict()
    torch.save(msd, path("module_state.pt"))
    expected["files"]["module_state.pt"] = {"format": "pytorch-zip", "tensors": describe(msd)}

    # 3. The same tensors as (1) in safetensors (views cloned: safetensors refuses
    #    shared storage), with string metadata.
    st = collections.OrderedDict((k, v.contiguous().clone()) for k, v in flat.items())
    meta = {"format": "pt", "note": "roto test fixture"}
    save_file(st, path("tensors.safetensors"), metadata=meta)
    expected["files"]["tensors.safetensors"] = {"format": "safetensors", "tensors": describe(st),
                                                "metadata": meta}

    # 4. (1) rewritten as ZIP64.
    rezip64(path("nested_model.pt"), path("zip64.pt"))
    expected["files"]["zip64.pt"] = {"format": "pytorch-zip", "tensors": describe(flat)}

    # 5. (1) pickled with protocol 4 (FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL).
    torch.save({"model": sd}, path("proto4.pt"), pickle_protocol=4)
    expected["files"]["proto4.pt"] = {"format": "pytorch-zip", "tensors": describe(flat)}

    # 6. Files the readers must refuse with a clear message.
    torch.save({"t": torch.randn(3, 4).t()}, path("noncontig.pt"))   # stride (1, 3)
    expected["errors"]["noncontig.pt"] = "not contiguous"
    torch.save(sd, path("legacy.pt"), _use_new_zipfile_serialization=False)
    expected["errors"]["legacy.pt"] = "legacy"
    torch.save({"t": torch.randn(2, 1, 1, 2, 2)}, path("five_dims.pt"))
    expected["errors"]["five_dims.pt"] = "5 dims"

    with open(path("expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    for name in sorted(os.listdir(OUT)):
        print(f"{os.path.getsize(path(name)):8d}  {name}")


if __name__ == "__main__":
    main()
