#!/usr/bin/env bash
# Create tools/refgen/.venv (git-ignored) and install the pinned reference-generator packages from PyPI.
# Only the Python reference tools need this; the C build and the C tests never do (fixtures are committed).
# Usage: tools/refgen/setup_venv.sh            (idempotent: re-running only installs what is missing)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
py="${PYTHON:-python3.11}"
command -v "$py" >/dev/null 2>&1 || py=python3

if [ ! -x "$venv/bin/python" ]; then
    echo "creating $venv with $($py --version 2>&1)"
    "$py" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --upgrade --quiet pip setuptools wheel
# torch from PyPI brings its CUDA runtime wheels (a few GB): this step takes minutes the first time.
"$venv/bin/python" -m pip install -r "$here/requirements.txt"
# sam2's setup.py imports torch, so build it against the torch installed above.
SAM2_BUILD_CUDA=0 "$venv/bin/python" -m pip install --no-build-isolation -r "$here/requirements-sam2.txt"
"$venv/bin/python" -c "import torch, safetensors, sam2; print('refgen venv ok: torch', torch.__version__)"
