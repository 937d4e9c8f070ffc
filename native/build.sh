#!/bin/sh
# Builds native/pocketsphinx-server against Debian's libpocketsphinx/libsphinxbase.
#
#   native/build.sh [OUT_DIR]      (default: ${XDG_CACHE_HOME:-$HOME/.cache}/june/bin)
#
# Needs: a C compiler, pkg-config, and apt packages libpocketsphinx-dev libsphinxbase-dev
# (runtime: pocketsphinx-en-us for the models). Idempotent: does nothing when the binary is newer
# than its source. Prints the binary's path on stdout; exits non-zero with a reason otherwise.
set -eu

here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
src="$here/pocketsphinx-server.c"
out_dir=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/june/bin}
bin="$out_dir/pocketsphinx-server"

if [ -x "$bin" ] && [ "$bin" -nt "$src" ] && [ "$bin" -nt "$0" ]; then
  echo "$bin"
  exit 0
fi

cc=${CC:-cc}
command -v "$cc" >/dev/null 2>&1 || { echo "build.sh: no C compiler ($cc) found" >&2; exit 3; }
command -v pkg-config >/dev/null 2>&1 || { echo "build.sh: pkg-config not found" >&2; exit 3; }
pkg-config --exists pocketsphinx sphinxbase || {
  echo "build.sh: pocketsphinx/sphinxbase headers missing: apt-get install -y libpocketsphinx-dev libsphinxbase-dev" >&2
  exit 3
}

mkdir -p "$out_dir"
# Build under a temporary name and rename, so concurrent builds never expose a half-written binary.
tmp="$bin.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# shellcheck disable=SC2046 # pkg-config output must be word-split into flags
"$cc" -O2 -Wall -Wextra -Wno-unused-parameter -o "$tmp" "$src" $(pkg-config --cflags --libs pocketsphinx sphinxbase)
mv -f "$tmp" "$bin"
echo "$bin"
