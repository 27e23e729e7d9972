#!/usr/bin/env bash
# gen_io_fixtures.sh: regenerate tests/fixtures/io/ with tools other than roto
# (ImageMagick 6 `convert`, OpenEXR's exrmaketiled/exrstdattr/exrmultipart/
# exrmultiview), so tests/test_io_fixtures.c checks roto's readers against
# independent writers. The files are committed; run this only to rebuild them.
#
# Needs: apt-get install imagemagick libmagickcore-6.q16-6-extra openexr
# (the -extra package holds ImageMagick's EXR coder).
#
# Every image is the same ramp, W x H pixels (16x8 unless noted):
#   R = x/(W-1)   G = y/(H-1)   B = (x+y)/(W+H-2)   A = (x*H+y)/(W*H-1)
# so a reader can be checked against the formula (within one code of the
# file's depth, or half precision for EXR).
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
out="$here/tests/fixtures/io"
mkdir -p "$out"
cd "$out"

# Prefer the real ImageMagick binary over any wrapper earlier on PATH.
IM=/usr/bin/convert
[ -x "$IM" ] || IM=$(command -v convert || true)
formats=$([ -n "$IM" ] && "$IM" -list format 2>/dev/null || true)
if ! grep -qE '^\s*EXR' <<<"$formats"; then
  echo "gen_io_fixtures: needs ImageMagick with EXR support:" >&2
  echo "  apt-get install imagemagick libmagickcore-6.q16-6-extra" >&2
  exit 1
fi
for t in exrmaketiled exrstdattr exrmultipart exrmultiview exrheader; do
  command -v "$t" >/dev/null || { echo "gen_io_fixtures: needs $t (apt-get install openexr)" >&2; exit 1; }
done

# ramp W H [alpha]: the pattern above as an ImageMagick command prefix.
ramp() {
  local w=$1 h=$2 alpha=${3:-}
  local args=(-size "${w}x${h}" xc:black
    -channel R -fx "i/$((w - 1))"
    -channel G -fx "j/$((h - 1))"
    -channel B -fx "(i+j)/$((w + h - 2))" +channel)
  if [ -n "$alpha" ]; then
    args+=(-alpha set -channel A -fx "(i*$h+j)/$((w * h - 1))" +channel)
  else
    args+=(-alpha off)
  fi
  printf '%s\n' "${args[@]}"
}
mk() {  # mk W H alpha|"" output [extra convert args...]
  local w=$1 h=$2 a=$3 o=$4
  shift 4
  mapfile -t base < <(ramp "$w" "$h" "$a")
  "$IM" "${base[@]}" "$@" "$o"
}

# ---- PNG ------------------------------------------------------------------
mk 16 8 "" png_rgb8.png -depth 8 -define png:color-type=2
mk 16 8 a png_rgba16.png -depth 16 -define png:color-type=6
mk 16 8 "" png_gray8.png -channel R -separate -depth 8 -define png:color-type=0
# gray + alpha: G and B copied from R, so the gray value is the R ramp
mk 16 8 a png_graya16.png -channel G -fx r -channel B -fx r +channel -depth 16 -define png:bit-depth=16 -define png:color-type=4
# palette with a transparent entry: columns 0-3 red, 4-7 lime, 8-11 blue,
# 12-15 fully transparent
"$IM" -size 16x8 xc:red -fill lime -draw "rectangle 4,0 7,7" -fill blue -draw "rectangle 8,0 11,7" \
  -alpha set -channel A -fx "i<12?1:0" +channel png8:png_palette_trns.png
# 1-bit gray: a one-pixel checkerboard, white where x+y is odd
"$IM" -size 16x8 xc:black -fx "(i+j)%2" -depth 1 -define png:bit-depth=1 -define png:color-type=0 png_gray1.png

# ---- JPEG -----------------------------------------------------------------
mk 16 8 "" jpeg_rgb.jpg -quality 100 -sampling-factor 1x1
mk 16 8 "" jpeg_gray.jpg -channel R -separate -quality 100
mk 16 8 "" jpeg_cmyk.jpg -colorspace CMYK -quality 100

# ---- TIFF -----------------------------------------------------------------
mk 16 8 "" tiff_rgb8.tif -depth 8 -compress none
mk 16 8 a tiff_rgba16_lzw.tif -depth 16 -compress lzw
mk 16 8 "" tiff_gray8_zip.tif -channel R -separate -depth 8 -compress zip
mk 16 8 "" tiff_float32.tif -define quantum:format=floating-point -depth 32 -compress zip
mk 16 8 "" tiff_half.tif -define quantum:format=floating-point -depth 16 -compress lzw
mk 40 24 "" tiff_tiled16.tif -depth 16 -define tiff:tile-geometry=16x16 -compress zip
mk 16 8 "" tiff_planar.tif -depth 8 -interlace plane -compress none

# ---- DPX ------------------------------------------------------------------
mk 16 8 "" dpx_rgb10_be.dpx -depth 10 -endian MSB
mk 16 8 "" dpx_rgb10_le.dpx -depth 10 -endian LSB
mk 16 8 "" dpx_rgb8.dpx -depth 8
mk 16 8 "" dpx_rgb16.dpx -depth 16
# 12 pixels wide: ImageMagick 6.9.11 drops the last, partly filled 32-bit
# word of each RGBA 10-bit line, so use a width whose 4*W components fill
# whole words (4*12 = 48 = 16 words).
mk 12 8 a dpx_rgba10.dpx -depth 10

# ---- EXR ------------------------------------------------------------------
mk 16 8 "" exr_rgb_half_none.exr -compress none
mk 16 8 a exr_rgba_half_piz.exr -compress piz
mk 16 8 "" exr_rgb_zip.exr -compress zip
mk 16 8 "" exr_rgb_rle.exr -compress rle
mk 16 8 "" exr_rgb_pxr24.exr -compress pxr24
mk 16 8 "" exr_y_zip.exr -channel R -separate -define exr:color-type=Y -compress zip
mk 40 24 a exr_src40.exr -compress zip
exrmaketiled -t 16 16 -z zip exr_src40.exr exr_tiled.exr
exrmaketiled -m -t 16 16 -z piz exr_src40.exr exr_mipmap.exr
exrmaketiled -t 16 16 -z dwaa exr_src40.exr exr_dwaa_tiled.exr
rm -f exr_src40.exr
# 24000/1001 fps, timecode 01:02:03:04 (packed BCD 0x01020304), user bits 0x00000005
exrstdattr -framesPerSecond 24000 1001 -timeCode 01020304 00000005 \
  -chromaticities 0.64 0.33 0.30 0.60 0.15 0.06 0.3127 0.3290 exr_rgb_zip.exr exr_attrs.exr
# two views: default "left" = the ramp, "right" = the ramp inverted; the
# right view's channels are named right.R/right.G/right.B
mk 16 8 "" view_l.exr -compress zip
mk 16 8 "" view_r.exr -negate -compress zip
exrmultiview left view_l.exr right view_r.exr exr_multiview.exr
# two parts: part 0 "plate" RGB, part 1 "inv" the inverted ramp
exrmultipart -combine -i view_l.exr::plate view_r.exr::inv -o exr_multipart.exr >/dev/null
rm -f view_l.exr view_r.exr

ls -l "$out"

# ---- EXR written by OpenEXR's C++ library (tools/refgen/exr_ref.cpp) -------
# Needs: apt-get install libopenexr-dev g++ pkg-config (OpenEXR 3.1 here).
# No Debian command-line tool writes scanline files with a chosen compression
# (exrmaketiled makes tiles, ImageMagick ignores rle/dwa), so a small program
# linked with the library does it.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
g++ -O1 -std=c++14 $(pkg-config --cflags OpenEXR) "$here/tools/refgen/exr_ref.cpp" -o "$tmp/exr_ref" \
  $(pkg-config --libs OpenEXR)
ref="$tmp/exr_ref"

# RLE for real: ImageMagick wrote exr_rgb_rle.exr uncompressed; re-encode it.
"$ref" convert exr_rgb_rle.exr "$tmp/rle.exr" rle
mv "$tmp/rle.exr" exr_rgb_rle.exr

# DWA: a 13x33 pattern with every kind of channel DWA handles differently
# (RLE half/float alphas, an R,G,B half set, a float spec.R,G,B set, lone Y
# channels with and without pLinear, float depth and uint ids; see
# exr_ref.cpp), as DWAA (32-line chunks: 32 + 1 lines) and DWAB (one chunk of
# 33) scanlines and 16x16 tiles. OpenEXR codes AC coefficients with Huffman,
# except tiled DWAA (deflate); tiles too small to gain are stored raw. Each
# exr_dwa*_ref.exr is the library's decode of its file, stored losslessly
# (ZIP), which roto's decoder must match; exr_dwa_src.exr is the pattern
# itself (ZIP), from which roto's encoder must produce the library's blocks.
"$ref" synth "$tmp/dwa_src.exr" 13 33
"$ref" convert "$tmp/dwa_src.exr" exr_dwa_src.exr zip
for c in dwaa dwab; do
  "$ref" convert "$tmp/dwa_src.exr" "exr_${c}_scan.exr" "$c"
  "$ref" convert "$tmp/dwa_src.exr" "exr_${c}_tile.exr" "$c" tiled 16 16
  for l in scan tile; do "$ref" convert "exr_${c}_$l.exr" "exr_${c}_${l}_ref.exr" zip; done
done
exrheader exr_rgb_rle.exr | grep -q 'compression.*run-length' || { echo "gen_io_fixtures: exr_rgb_rle.exr is not RLE" >&2; exit 1; }
ls -l exr_rgb_rle.exr exr_dwa*
