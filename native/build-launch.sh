#!/bin/sh
# Builds native/sandbox-launch (plain C, no library beyond libc).
#
#   native/build-launch.sh [OUT_DIR]      (default: ${XDG_CACHE_HOME:-$HOME/.cache}/june/bin)
#
# Idempotent: does nothing when the binary is newer than its source. Prints the binary's path on
# stdout; exits non-zero with a reason otherwise (June then uses the setpriv + GNU time chain).
set -eu
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
src="$here/sandbox-launch.c"
out_dir=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/june/bin}
bin="$out_dir/sandbox-launch"
if [ -x "$bin" ] && [ "$bin" -nt "$src" ] && [ "$bin" -nt "$0" ]; then
  echo "$bin"
  exit 0
fi
cc=${CC:-cc}
command -v "$cc" >/dev/null 2>&1 || { echo "build-launch.sh: no C compiler ($cc) found" >&2; exit 3; }
mkdir -p "$out_dir"
tmp="$bin.tmp.$$"
"$cc" -O2 -Wall -Wextra -o "$tmp" "$src"
mv -f "$tmp" "$bin"
echo "$bin"
