#!/usr/bin/env bash
# install_deps.sh: install the Debian packages roto builds and tests against,
# only those missing. Safe to run repeatedly (a no-op once all are present).
set -euo pipefail

PKGS=(
  build-essential pkg-config
  check libsubunit-dev          # unit tests
  libpng-dev libjpeg62-turbo-dev libtiff-dev zlib1g-dev
  libopenexr-dev openexr        # EXR I/O (OpenEXRCore) and exrheader/exrinfo for tests
  libjansson-dev                # JSON (prompts, checkpoint headers)
  libopenblas-dev               # only for the GEMM benchmark's reference
  clang libclang-rt-14-dev      # libFuzzer targets
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install_deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "install_deps: missing packages (${missing[*]}) and not root; install them with apt-get" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
