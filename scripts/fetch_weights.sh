#!/usr/bin/env bash
# fetch_weights.sh: get the official SAM 2.1 tiny checkpoint into weights/ (for
# `make demo`, docs/demo.md) and check that it is the right file.
#
#   scripts/fetch_weights.sh [--roto build/roto]
#
# - Already there: checked (size, SHA-256, and with --roto its structure), nothing
#   downloaded.
# - Missing: downloaded with curl (or wget) from Meta's server to a temp name, checked,
#   then renamed into place, so an interrupted download never looks like a checkpoint.
# - Offline / download failed: says which URL to fetch and where to put the file, and
#   exits 1.
#
# Checks:
# - size 156,008,466 bytes and SHA-256 7402e0d8...be69: the values Hugging Face lists
#   for Meta's own upload of this file (huggingface.co/facebook/sam2.1-hiera-tiny,
#   Git LFS pointer; two independent mirrors list the same). The official download
#   script (sam2's checkpoints/download_ckpts.sh) publishes no checksum, and this
#   project's build machine cannot reach dl.fbaipublicfiles.com, so the hash was not
#   recomputed from that server's copy here: if it ever differs, this script stops
#   and says so rather than accept an unverified file.
# - structure (with --roto): `roto info` must detect SAM 2.1 tiny with 471 tensors
#   and 38,962,754 parameters (the released architecture), whatever the bytes.
#
# Environment: SAM2_TINY_URL overrides the URL (a mirror, or file:///path for a
# copy made elsewhere); ROTO_WEIGHTS_DIR the directory (default: weights/ of the repo).
set -euo pipefail

URL_DEFAULT="https://dl.fbaipublicfiles.com/segment_anything_2/092824/sam2.1_hiera_tiny.pt"
URL="${SAM2_TINY_URL:-$URL_DEFAULT}"
NAME="sam2.1_hiera_tiny.pt"
SIZE=156008466
SHA256="7402e0d864fa82708a20fbd15bc84245c2f26dff0eb43a4b5b93452deb34be69"
TENSORS=471
PARAMS="38,962,754"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${ROTO_WEIGHTS_DIR:-$ROOT/weights}"
DEST="$DIR/$NAME"
ROTO=""

while [ $# -gt 0 ]; do
    case "$1" in
    --roto) ROTO="${2:?--roto needs the path of the roto binary}"; shift 2 ;;
    -h | --help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "fetch_weights.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done

say() { echo "fetch_weights: $*" >&2; }

file_size() { stat -c %s "$1" 2>/dev/null || stat -f %z "$1"; }

sha256_of() {
    if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1
    elif command -v shasum >/dev/null; then shasum -a 256 "$1" | cut -d' ' -f1
    else echo "none"; fi
}

# check FILE: size, hash, structure. Prints what is wrong and returns 1.
check() {
    local f="$1" size sum out
    size="$(file_size "$f")"
    if [ "$size" != "$SIZE" ]; then
        say "$f is $size bytes; the official $NAME is $SIZE bytes (an incomplete or different file)"
        return 1
    fi
    sum="$(sha256_of "$f")"
    if [ "$sum" = "none" ]; then
        say "no sha256sum or shasum on this machine: SHA-256 not checked"
    elif [ "$sum" != "$SHA256" ]; then
        say "$f has SHA-256 $sum"
        say "expected $SHA256 (Hugging Face's listing of Meta's upload of $NAME)"
        say "the file is not the official checkpoint, or the server's copy changed: check it, e.g. with"
        say "  roto info $f   (must say: SAM 2.1 tiny, $TENSORS tensors, $PARAMS parameters)"
        return 1
    fi
    if [ -n "$ROTO" ]; then
        if ! out="$("$ROTO" info "$f" 2>&1)"; then
            say "roto info $f failed:"
            echo "$out" >&2
            return 1
        fi
        if ! grep -q "^tensors: *$TENSORS\$" <<<"$out" || ! grep -q "^parameters: *$PARAMS " <<<"$out" ||
            ! grep -q "^model: *SAM 2.1 tiny" <<<"$out"; then
            say "roto info does not see the released SAM 2.1 tiny ($TENSORS tensors, $PARAMS parameters):"
            echo "$out" >&2
            return 1
        fi
    fi
    return 0
}

offline_help() {
    say "could not download $NAME ($1)."
    say "Download it on a machine with internet access:"
    say "  $URL_DEFAULT"
    say "and put it here:"
    say "  $DEST"
    say "(then run this again, or 'make demo'; it checks size $SIZE bytes and SHA-256 $SHA256)"
    exit 1
}

if [ -e "$DEST" ]; then
    if check "$DEST"; then
        say "$DEST: OK (size, SHA-256${ROTO:+, SAM 2.1 tiny structure})"
        exit 0
    fi
    say "$DEST is not the expected file; move it away and run this again to download it"
    exit 1
fi

mkdir -p "$DIR"
TMP="$DIR/.$NAME.part.$$"
trap 'rm -f "$TMP"' EXIT
say "downloading $URL"
if command -v curl >/dev/null; then
    if [ -t 2 ]; then progress=--progress-bar; else progress=-sS; fi
    curl -fL $progress --retry 2 --connect-timeout 20 -o "$TMP" "$URL" || offline_help "curl failed"
elif command -v wget >/dev/null; then
    wget -q -T 20 -O "$TMP" "$URL" || offline_help "wget failed"
else
    offline_help "neither curl nor wget is installed"
fi
check "$TMP" || { say "the download was not kept"; exit 1; }
mv "$TMP" "$DEST"
trap - EXIT
say "$DEST: downloaded and checked (size, SHA-256${ROTO:+, SAM 2.1 tiny structure})"
