#!/usr/bin/env bash
# Installs everything harness needs on Debian 12 / Python 3.11: Debian codec tools, the CPU build of
# torch (before anything that depends on it, or pip pulls the CUDA build), then the package itself.
# Idempotent: a second run installs nothing new.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

# libjxl-devtools: the official butteraugli_main (metric butteraugli).
debian_packages=(libavif-bin libjxl-tools libjxl-devtools webp chromium
                 fonts-dejavu-core fonts-liberation fonts-freefont-ttf)
missing=()
for pkg in "${debian_packages[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

python3 -m pip install -q -c "$here/constraints.txt" torch torchvision
python3 -m pip install -q -c "$here/constraints.txt" -e "$here[test,compressai]"
# ColorVideoVDP (metric cvvdp): its wheel also declares PyEXR (a compiled OpenEXR binding) and the PyPI `ffmpeg` package, used only for EXR and
# video files; the image metric needs ffmpeg-python, einops and huggingface_hub (in pyproject.toml).
python3 -m pip install -q --no-deps "cvvdp==0.5.7"
# The compressai codec (harness/codecs/compressai_zoo): compressai 1.2.8 pins numpy<2, which would move the
# whole stack back to numpy 1.26 and pandas 3.0.6. Its Python code and its compiled rANS coder work with
# the numpy 2 kept here (tests/test_compressai.py), so it is installed without its pins; the packages it
# imports are the "compressai" extra in pyproject.toml. `pip check` reports the numpy pin; that is expected.
python3 -m pip install -q --no-deps "compressai==1.2.8"
# pyenv installs console scripts behind shims that exist only after a rehash.
if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
