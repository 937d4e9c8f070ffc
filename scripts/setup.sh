#!/usr/bin/env bash
# June's setup: system packages (when root or with passwordless sudo), npm dependencies, native helpers.
# Idempotent: run it again any time; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Engines June runs: ffmpeg (audio codecs), espeak-ng (speech), pocketsphinx (offline STT),
# redis-server (scale-out queue and its tests), bubblewrap (sandbox), and a C toolchain for the
# pocketsphinx helper that keeps the model loaded between requests, and Chromium for the browser tests;
# docker-compose and prometheus (promtool) validate deploy/ in the tests, without a Docker engine;
# GNU time reports the CPU time and peak memory of each sandboxed command;
# stress-ng loads the CPUs for `npm run test:loaded`.
APT_PACKAGES=(ffmpeg espeak-ng pocketsphinx pocketsphinx-en-us libpocketsphinx-dev libsphinxbase-dev
  redis-server bubblewrap build-essential pkg-config python3 sox chromium docker-compose prometheus
  stress-ng time)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  if command -v apt-get >/dev/null; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
      if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
        echo "setup: missing system packages: ${missing[*]}" >&2
        echo "setup: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
        exit 1
      fi
    fi
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: not a Debian/Ubuntu system; install these yourself: ${missing[*]}" >&2
    exit 1
  fi
fi

# onnxruntime-node (pulled in transitively by some audio packages) must not download CUDA builds.
export ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  echo "setup: node_modules is up to date"
  npm run --silent build
fi

if [ -x native/build.sh ]; then bash native/build.sh; fi
echo "setup: done"
