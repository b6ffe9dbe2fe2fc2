#!/usr/bin/env bash
# Builds the Docker image with podman on this machine (Debian 12, root) and checks that it gives the same
# bits as the harness outside it:
#   1. a local base image from Debian's packages (mmdebstrap of bookworm + python3.11 and pip), imported as
#      the python:3.11-slim-bookworm the Dockerfile expects (Debian's EXTERNALLY-MANAGED marker is removed
#      in that local base only); the host's extra CA certificates are trusted inside it;
#   2. the image, with the reference-codec stages supplied as prebuilt or empty contexts, torch from a
#      local wheels folder and the metrics' weights from ../shared/weights/torch_home when present;
#   3. `harness codecs` inside (the codecs listed as available must include REQUIRED_AVAILABLE);
#   4. one small run on two 128x128 Kodak crops inside (results on a mounted folder) and the same run
#      outside in this machine's scripts/setup.sh environment; scripts/compare_runs.py then compares the
#      bitstreams (sha256) and metric values of every codec whose recorded version is the same on both sides.
# With VTM_SRC=DIR (a VTM source checkout) the vtm stage is built from it with --network=none, and vtm-420
# joins the run; its rows are compared with a VTM built outside the image from the same source, which
# HARNESS_VTM_DIR must name (a checkout built as VTM's README says).
#
#   scripts/container-check.sh                   # everything; the work folder is printed at the start
# Environment: JOBS (compile jobs, default 2), WORK (work folder, default a new /tmp/container-check.*),
# VTM_SRC, WHEELS (default /opt/wheels), IMAGE (default localhost/harness:check), NICE (default 5).
# Exit status 0 only if every check passed. Needs root (rootful podman), apt and network to Debian and PyPI.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
JOBS=${JOBS:-2}
NICE=${NICE:-5}
IMAGE=${IMAGE:-localhost/harness:check}
BASE=docker.io/library/python:3.11-slim-bookworm
WHEELS=${WHEELS:-/opt/wheels}
WORK=${WORK:-$(mktemp -d /tmp/container-check.XXXXXX)}
REQUIRED_AVAILABLE=(avif avif-avifenc avif-rav1e avif-svt h264 hevc jpeg jpeg-444 jpeg2000 jpegli jxl jxl-cjxl
                    jxl-imagecodecs pico-torch vvc vvenc-yuv webp)
REQUIRED_EQUAL=jpeg,webp,avif,jxl,hevc,vvc
# The quick profile's codecs plus every other in-process one, each at three points (fast to run, and enough
# to see a difference); metrics: four computed by programs and libraries, and one torch network (LPIPS).
CODECS=${CODECS:-jpeg,webp,avif:speed=6,jxl:effort=7,hevc,vvc:preset=fast,jpeg2000,jpegli,avif-svt,h264,jpeg-444,avif-avifenc,avif-rav1e,jxl-cjxl,jxl-imagecodecs,vvenc-yuv,pico-torch}
METRICS=${METRICS:-psnr,butteraugli,vmaf,ssimulacra2,lpips}  # ms_ssim has no value below 161 px
POINTS=${POINTS:-20,30,40}  # every knob here takes these (quality, q, QP, distance clamped to 25, PSNR target)
mkdir -p "$WORK"
say() { printf '\n== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }
elapsed() { echo "$(( $(date +%s) - $1 )) s"; }
echo "work folder: $WORK"

say "tools"
if ! command -v podman >/dev/null || ! command -v mmdebstrap >/dev/null || ! command -v runc >/dev/null; then
    [ "$(id -u)" -eq 0 ] || { echo "needs root to install podman, buildah, runc and mmdebstrap" >&2; exit 2; }
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        podman buildah runc mmdebstrap uidmap containers-storage >/dev/null
fi
# runc (crun fails on this kind of machine's cgroups); limits below the host's hard ones, which a process
# without CAP_SYS_RESOURCE cannot raise.
if [ -z "${CONTAINERS_CONF:-}" ]; then
    hard_nofile=$(ulimit -Hn); hard_nproc=$(ulimit -Hu)
    nofile=$(( hard_nofile < 16384 ? hard_nofile : 16384 ))
    nproc=$([ "$hard_nproc" = unlimited ] && echo 32768 || echo $(( hard_nproc < 32768 ? hard_nproc : 32768 )))
    printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n[engine]\nruntime = "runc"\n' \
        "$nofile" "$nofile" "$nproc" "$nproc" > "$WORK/containers.conf"
    export CONTAINERS_CONF=$WORK/containers.conf
fi
podman --version

say "base image $BASE"
if podman image exists "$BASE"; then
    echo "present: $(podman image inspect --format '{{.Id}}' "$BASE")"
else
    start=$(date +%s)
    mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
    mirror=${mirror:-http://deb.debian.org/debian}
    security=${mirror%/debian}/debian-security
    nice -n "$NICE" mmdebstrap --variant=apt --include=ca-certificates,python3,python3-pip,python3-venv,python-is-python3 \
        --customize-hook='mkdir -p "$1/usr/local/share/ca-certificates"' \
        --customize-hook='sync-in /usr/local/share/ca-certificates /usr/local/share/ca-certificates' \
        --customize-hook='chroot "$1" update-ca-certificates' \
        --customize-hook='rm -f "$1"/usr/lib/python3.11/EXTERNALLY-MANAGED' \
        bookworm "$WORK/base.tar" "deb $mirror bookworm main" "deb $mirror bookworm-updates main" \
        "deb $security bookworm-security main"
    podman import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' "$WORK/base.tar" "$BASE"
    rm -f "$WORK/base.tar"
    echo "base image built in $(elapsed "$start")"
fi

empty=$WORK/empty
mkdir -p "$empty"
vtm_context=$empty
if [ -n "${VTM_SRC:-}" ]; then
    say "VTM stage from $VTM_SRC, --network=none"
    [ -n "${HARNESS_VTM_DIR:-}" ] || { echo "VTM_SRC needs HARNESS_VTM_DIR: the same VTM built outside" >&2; exit 2; }
    start=$(date +%s)
    nice -n "$NICE" podman build --pull=never --target toolchain -t localhost/harness-toolchain "$here"
    nice -n "$NICE" podman build --pull=never --network=none --target vtm --build-arg JOBS="$JOBS" \
        --build-context vtm-src="$VTM_SRC" --output "type=local,dest=$WORK/vtm" "$here"
    ls "$WORK/vtm/bin"
    echo "VTM stage built in $(elapsed "$start")"
    vtm_context=$WORK/vtm
    CODECS=$CODECS,vtm-420
fi

say "image $IMAGE"
start=$(date +%s)
weights=()
[ -d "$here/../shared/weights/torch_home/hub" ] && weights=(--build-context "weights=$here/../shared/weights/torch_home")
nice -n "$NICE" podman build --pull=never --build-arg JOBS="$JOBS" --build-arg TORCH_INDEX= \
    --build-context wheels="$WHEELS" "${weights[@]}" \
    --build-context vtm="$vtm_context" --build-context ecm="$empty" --build-context avm="$empty" \
    --build-context jpeg-ai="$empty" -t "$IMAGE" "$here"
echo "image built in $(elapsed "$start"); size $(podman image inspect --format '{{.Size}}' "$IMAGE") bytes"
digest=sha256:$(podman image inspect --format '{{.Id}}' "$IMAGE")

say "harness codecs (inside)"
COLUMNS=200 podman run --rm -e COLUMNS=200 --entrypoint harness "$IMAGE" codecs > "$WORK/codecs-inside.txt" 2>&1
available=$(awk -F'│' 'NF > 3 { gsub(/ /, "", $2); gsub(/ /, "", $3); if ($3 == "yes") print $2 }' "$WORK/codecs-inside.txt" | sort)
echo "available inside: $(echo "$available" | tr '\n' ' ')"
missing=()
for codec in "${REQUIRED_AVAILABLE[@]}"; do
    grep -qx "$codec" <<< "$available" || missing+=("$codec")
done
((${#missing[@]} == 0)) || { echo "NOT available inside: ${missing[*]}" >&2; exit 1; }

say "two 128x128 Kodak crops"
mkdir -p "$WORK/crops"
python3 - "$here/../shared/datasets/kodak" "$WORK/crops" <<'EOF'
import sys
from pathlib import Path
from PIL import Image
src, dst = Path(sys.argv[1]), Path(sys.argv[2])
for name, (x, y) in {"kodim01": (256, 192), "kodim23": (320, 128)}.items():
    Image.open(src / f"{name}.png").convert("RGB").crop((x, y, x + 128, y + 128)).save(dst / f"{name}-crop.png")
    print(dst / f"{name}-crop.png")
EOF

say "run inside"
start=$(date +%s)
mkdir -p "$WORK/inside"
podman run --rm -e HARNESS_IMAGE_DIGEST="$digest" -v "$WORK/crops:/workspace/crops:ro" \
    -v "$WORK/inside:/workspace/results" "$IMAGE" --dataset /workspace/crops --codecs "$CODECS" --metrics "$METRICS" --points "$POINTS" \
    --run check -j 2
echo "inside: $(elapsed "$start")"
python3 -c "import json, sys; print(json.dumps(json.load(open(sys.argv[1]))['invocations'][-1]['image']))" \
    "$WORK/inside/check/run.json" \
    || { echo "run.json inside records no image" >&2; exit 1; }

say "run outside"
start=$(date +%s)
( cd "$WORK" && TORCH_HOME=${TORCH_HOME:-$here/../shared/weights/torch_home} PYTHONPATH=$here \
    python3 -c "from harness.cli import main; main()" run --results "$WORK/outside" --dataset "$WORK/crops" --codecs "$CODECS" \
    --metrics "$METRICS" --points "$POINTS" --run check -j 2 )
echo "outside: $(elapsed "$start")"

say "compare inside / outside"
required=$REQUIRED_EQUAL
[ -n "${VTM_SRC:-}" ] && required=$required,vtm-420
PYTHONPATH=$here python3 "$here/scripts/compare_runs.py" "$WORK/inside/check" "$WORK/outside/check" --require "$required"
