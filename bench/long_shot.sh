#!/usr/bin/env bash
# long_shot.sh: does memory stay flat over a long shot? Tracks two objects through
# N frames (a short clip looped with symlinks) and prints the peak RSS for several
# lengths. Defaults use the committed small-config fixture so it runs in seconds on a
# CPU; pass a real checkpoint and clip for the full-size check (e.g. on a GPU host):
#   bench/long_shot.sh [-m CKPT] [--config JSON] [--clip DIR_WITH_FRAMES] [--device cuda]
#                      [--lengths "100 500 1000 2000"]
set -euo pipefail
cd "$(dirname "$0")/.."
ROTO=${ROTO:-build/roto}
CKPT=tests/fixtures/sam2_video/small/weights.safetensors
CONFIG=tests/fixtures/sam2_video/small/index.json
CLIP=tests/fixtures/sam2_video/small
LENGTHS="100 500 1000 2000"
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    -m) CKPT=$2; CONFIG=""; shift 2 ;;
    --config) CONFIG=$2; shift 2 ;;
    --clip) CLIP=$2; shift 2 ;;
    --lengths) LENGTHS=$2; shift 2 ;;
    *) EXTRA+=("$1"); shift ;;
  esac
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mapfile -t frames < <(ls "$CLIP"/*.png "$CLIP"/*.jpg 2>/dev/null | sort)
[ ${#frames[@]} -gt 0 ] || { echo "long_shot: no .png/.jpg frames in $CLIP" >&2; exit 1; }
ext=${frames[0]##*.}
max=0; for n in $LENGTHS; do [ "$n" -gt "$max" ] && max=$n; done
mkdir -p "$work/in"
for i in $(seq 0 $((max - 1))); do
  ln -s "$(realpath "${frames[$((i % ${#frames[@]}))]}")" "$work/in/f.$((1001 + i)).$ext"
done
# Two objects: a click at the frame centre and a box around it.
read -r W H < <("$ROTO" info --json "${frames[0]}" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["width"], d["height"])')
cat > "$work/p.json" <<JSON
{"objects":[{"name":"a","keyframes":[{"frame":1001,"points":[[$((W/2)),$((H/2)),1]]}]},
            {"name":"b","keyframes":[{"frame":1001,"box":[$((W/8)),$((H/8)),$((W*5/8)),$((H*7/8))]}]}]}
JSON
cfg=(); [ -n "$CONFIG" ] && cfg=(--config "$CONFIG")
for n in $LENGTHS; do
  rm -rf "$work/out"
  /usr/bin/time -f "frames=$n peak_rss_kb=%M seconds=%e" "$ROTO" track -m "$CKPT" "${cfg[@]}" \
    -i "$work/in/f.####.$ext" --frames 1001-$((1000 + n)) --prompts "$work/p.json" \
    --exr-out "$work/out/m.####.exr" -q "${EXTRA[@]}" 2>&1 | tail -n 1
done
