#!/usr/bin/env bash
# fetch_wheels.sh: the official sam2 package (1.1.0) and its pure-Python dependencies as
# wheels, so that the reference runners work OFFLINE on a GPU host that has PyTorch (and
# torchvision, numpy, pillow) but not sam2. Run it on a machine with network access; the
# wheels go to build/bench-cache/wheels (git-ignored: about 3 MB of binaries that do not
# belong in the repository). bench/run.sh installs them with pip --no-deps --target into
# build/bench-cache/pylib when `import sam2` fails.
#
# sam2 is published as a source distribution whose setup.py imports torch and may build a
# CUDA extension; it is built here into a pure-Python wheel with SAM2_BUILD_CUDA=0 (the
# extension only speeds up hole filling, which the official code skips without it), so
# the GPU host needs no compiler. PyYAML (needed by omegaconf) has C wheels: the manylinux
# x86_64 ones for CPython 3.9-3.13 are fetched; a host with PyYAML already uses its own.
#
# usage: bench/ref/fetch_wheels.sh [PYTHON]   (PYTHON: one with torch installed, default
#        tools/refgen/.venv/bin/python, else python3)
set -euo pipefail
cd "$(dirname "$0")/../.."
py=${1:-tools/refgen/.venv/bin/python}
[ -x "$py" ] || py=python3
out=build/bench-cache/wheels
mkdir -p "$out"
# Pure-Python packages (iopath and antlr4 are source-only on PyPI: built into wheels).
"$py" -m pip wheel --quiet --no-deps -w "$out" \
  hydra-core==1.3.2 omegaconf==2.3.0 antlr4-python3-runtime==4.9.3 iopath==0.1.10 \
  portalocker==2.10.1 tqdm==4.67.1 typing_extensions
for v in 39 310 311 312 313; do
  "$py" -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
    --python-version "$v" --implementation cp -d "$out" PyYAML==6.0.2 || true
done
# sam2 itself, against the torch of $py (its setup.py imports torch), no CUDA extension.
SAM2_BUILD_CUDA=0 "$py" -m pip wheel --quiet --no-deps --no-build-isolation -w "$out" sam2==1.1.0
ls -la "$out"
du -sh "$out"
