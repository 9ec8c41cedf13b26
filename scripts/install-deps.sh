#!/usr/bin/env bash
# Installs the Debian 12 packages rekap needs to build and test, and only those missing.
# Idempotent: a second run installs nothing. Uses sudo when not root.
#
# REKAP_WITH_READER=1 (the default, what `make test` uses) adds the form reader's packages:
# OpenCV, dlib + OpenBLAS, cairo and libqrencode; clang with its sanitizer and libFuzzer runtimes
# (libclang-rt-dev, only recommended by clang, so named here) and llvm-symbolizer for readable
# reports, for the reader's fuzz target (scripts/fuzz-read.sh); Tesseract with its English data,
# the baseline of `rekap bench reader` (it runs the `tesseract` command).
# REKAP_WITH_READER=0 (what `make demo` uses) installs the core only.
set -euo pipefail
pkgs=(build-essential cmake ninja-build ccache pkg-config zlib1g-dev
      libsqlite3-dev libsodium-dev libssl-dev nlohmann-json3-dev libcli11-dev libtomlplusplus-dev
      libgtest-dev libgmock-dev libbenchmark-dev)
if [[ "${REKAP_WITH_READER:-1}" == 1 ]]; then
  pkgs+=(libopencv-dev libdlib-dev libopenblas-dev libcairo2-dev libqrencode-dev libheif-dev libjpeg-dev
         clang libclang-rt-dev llvm tesseract-ocr tesseract-ocr-eng)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0
echo "rekap: memasang paket / installing packages: ${missing[*]}" >&2
SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
