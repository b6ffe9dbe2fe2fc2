#
# The harness with the reference codecs built from source: VTM (VVC), ECM (JVET's model beyond VVC),
# AVM (AV2) and the JPEG AI reference software, at the pinned versions below.
#
#   docker build -t harness .                       (or: podman build -t harness .)
#   docker run --rm -v "$PWD/results:/workspace/results" harness --codecs vtm,avm --dataset kodak
#
# Plain Dockerfile syntax that BuildKit and buildah/podman both read: no `# syntax=` line (no frontend
# image to pull), named build contexts, `RUN --mount`; RUN lines are POSIX sh (buildah's default OCI format
# ignores SHELL). README.md ("Docker") says what was tested where.
#
# Every input can come from a local folder instead of the network (named build contexts):
#   --build-context vtm-src=DIR      a VTM source checkout replaces the clone (likewise ecm-src, avm-src,
#                                    jpeg-ai-src: the JPEG AI checkout with its Git LFS models)
#   --build-context vtm=DIR          a prebuilt tree (bin/EncoderApp, bin/DecoderApp, cfg/) replaces the whole
#                                    build (likewise ecm, avm; jpeg-ai=DIR holds conda/ and jpeg-ai/); an
#                                    empty folder leaves that codec out of the image
#   --build-context wheels=DIR       wheels pip may install from (e.g. the CPU torch wheel)
#   --build-context weights=DIR      a ready $TORCH_HOME (hub/checkpoints, hub/pyiqa) for the metrics
# Build arguments: JOBS (parallel compile jobs of every C/C++ build, default 2), PREFETCH_WEIGHTS (auto: try
# to download the metrics' weights and only note a failure; 1: a failure fails the build; 0: skip),
# TORCH_INDEX (the CPU torch index; empty: none), *_REPO and *_REF (a tag, branch or commit of each codec).
# Each build is its own stage; BuildKit builds them in parallel and skips the stages a context replaces.
# Debian packages are not version-pinned (hadolint DL3008): the base image pins the Debian release, and
# bookworm's security updates replace exact versions. Python packages are pinned in docker/requirements.lock.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG JOBS=2

# --- toolchain for the C/C++ codecs ------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS toolchain
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build git ca-certificates perl nasm yasm patch \
 && rm -rf /var/lib/apt/lists/*
COPY scripts/fetch-source.sh /usr/local/bin/fetch-source

# --- VTM: VVC reference software, as its README builds it (cmake Release, make); the binaries land in
# bin/umake/<gcc>/<arch>/release/ (checked with VTM-23.13 and Debian 12's GCC 12.2) --------------------
FROM toolchain AS vtm-fetch
ARG VTM_REPO=https://vcgit.hhi.fraunhofer.de/jvet/VVCSoftware_VTM.git
ARG VTM_REF=VTM-23.13
RUN fetch-source "$VTM_REPO" "$VTM_REF" /src

FROM scratch AS vtm-src
COPY --from=vtm-fetch /src /

FROM toolchain AS vtm-build
ARG JOBS
COPY --from=vtm-src / /src
RUN cmake -S /src -B /build -DCMAKE_BUILD_TYPE=Release \
 && cmake --build /build -j "$JOBS" --target EncoderApp DecoderApp \
 && mkdir -p /opt/vtm/bin \
 && find /src/bin -type f \( -name EncoderApp -o -name DecoderApp \) -path '*release*' -exec cp {} /opt/vtm/bin/ \; \
 && cp -r /src/cfg /opt/vtm/cfg \
 && { /opt/vtm/bin/EncoderApp --help > /tmp/help.txt || true; } \
 && grep -m 1 "VTM Encoder Version" /tmp/help.txt

FROM scratch AS vtm
COPY --from=vtm-build /opt/vtm /

# --- ECM: JVET enhanced compression model (same build system as VTM) --------------------------------
FROM toolchain AS ecm-fetch
ARG ECM_REPO=https://vcgit.hhi.fraunhofer.de/ecm/ECM.git
# ECM-20.0 (the commit that sets ECM_VERSION "20.0").
ARG ECM_REF=3391a5f0e7d89e594d2ca61e9fae570982c03d49
RUN fetch-source "$ECM_REPO" "$ECM_REF" /src

FROM scratch AS ecm-src
COPY --from=ecm-fetch /src /

FROM toolchain AS ecm-build
ARG JOBS
COPY --from=ecm-src / /src
RUN cmake -S /src -B /build -DCMAKE_BUILD_TYPE=Release \
 && cmake --build /build -j "$JOBS" --target EncoderApp DecoderApp \
 && mkdir -p /opt/ecm/bin \
 && find /src/bin -type f \( -name EncoderApp -o -name DecoderApp \) -path '*release*' -exec cp {} /opt/ecm/bin/ \; \
 && cp -r /src/cfg /opt/ecm/cfg \
 && { /opt/ecm/bin/EncoderApp --help > /tmp/help.txt || true; } \
 && grep -m 1 "ECM Encoder Version" /tmp/help.txt

FROM scratch AS ecm
COPY --from=ecm-build /opt/ecm /

# --- AVM: AV2 research anchor, configured as its CI does (cmake -GNinja Release); TFLite, needed by the
# ML partition pruning of the default config, builds from the archives in third_party/ -------------
FROM toolchain AS avm-fetch
ARG AVM_REPO=https://github.com/AOMediaCodec/avm.git
ARG AVM_REF=research-v15.0.0
RUN fetch-source "$AVM_REPO" "$AVM_REF" /src

FROM scratch AS avm-src
COPY --from=avm-fetch /src /

FROM toolchain AS avm-build
ARG JOBS
COPY --from=avm-src / /src
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DENABLE_TESTS=0 -DENABLE_DOCS=0 \
 && cmake --build /build -j "$JOBS" --target avmenc avmdec \
 && mkdir -p /opt/avm/bin \
 && cp /build/avmenc /build/avmdec /opt/avm/bin/ \
 && { /opt/avm/bin/avmenc --help > /tmp/help.txt 2>&1 || true; } \
 && grep -m 1 "AV2 Encoder" /tmp/help.txt

FROM scratch AS avm
COPY --from=avm-build /opt/avm /

# --- JPEG AI reference software, in the conda environment its scripts/setup_env.sh describes ---------
FROM toolchain AS jpeg-ai-fetch
ARG JPEGAI_REPO=https://gitlab.com/wg1/jpeg-ai/jpeg-ai-reference-software.git
ARG JPEGAI_REF=00f1e4a72a16e4e8f94d80eadceb9b8175357389
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends git-lfs \
 && rm -rf /var/lib/apt/lists/* \
 && git lfs install --system \
 && fetch-source "$JPEGAI_REPO" "$JPEGAI_REF" /src \
 && git -C /src lfs pull

FROM scratch AS jpeg-ai-src
COPY --from=jpeg-ai-fetch /src /

FROM ${PYTHON_IMAGE} AS jpeg-ai-build
ARG JOBS
ARG JPEGAI_PYTHON=3.7
ARG MINIFORGE_URL=https://github.com/conda-forge/miniforge/releases/latest/download/Miniforge3-Linux-x86_64.sh
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential ca-certificates curl libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*
RUN curl -fsSL -o /tmp/miniforge.sh "$MINIFORGE_URL" \
 && bash /tmp/miniforge.sh -b -p /opt/conda \
 && rm /tmp/miniforge.sh \
 && /opt/conda/bin/conda create -y -q -p /opt/conda/envs/jpeg_ai_vm "python=${JPEGAI_PYTHON}" \
 && /opt/conda/bin/conda clean -a -y
COPY --from=jpeg-ai-src / /opt/jpeg-ai
ENV PATH=/opt/conda/envs/jpeg_ai_vm/bin:$PATH
WORKDIR /opt/jpeg-ai
# The entropy-coding extensions (scripts/build_ec_lib.sh), then one encode/decode of a small image: it
# proves the install and makes the software fetch any model it downloads on first use.
RUN pip install --no-cache-dir -r requirements.txt \
 && make -j "$JOBS" -C src/codec/entropy_coding/cpp_exts/mans \
 && make -j "$JOBS" -C src/codec/entropy_coding/cpp_exts/direct \
 && python -c "import numpy as n, cv2; y, x = n.mgrid[0:256, 0:256]; cv2.imwrite('/tmp/t.png', n.stack([x, y, (x + y) // 2], -1).astype(n.uint8))" \
 && python -m src.reco.coders.encoder /tmp/t.png /tmp/t.bits --set_target_bpp 25 \
 && python -m src.reco.coders.decoder /tmp/t.bits /tmp/t-dec.png \
 && rm -f /tmp/t.png /tmp/t.bits /tmp/t-dec.png

FROM scratch AS jpeg-ai
COPY --from=jpeg-ai-build /opt/conda /conda
COPY --from=jpeg-ai-build /opt/jpeg-ai /jpeg-ai

# --- optional inputs of the harness stage: empty unless a build context supplies them ----------------
FROM scratch AS wheels
COPY docker/wheels.md /
FROM scratch AS weights
COPY docker/wheels.md /

# --- the harness -------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS harness
ARG PYTHON_IMAGE
ARG JOBS
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ARG PREFETCH_WEIGHTS=auto
ARG VTM_REF=VTM-23.13
ARG ECM_REF=3391a5f0e7d89e594d2ca61e9fae570982c03d49
ARG AVM_REF=research-v15.0.0
ARG JPEGAI_REF=00f1e4a72a16e4e8f94d80eadceb9b8175357389
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    TORCH_HOME=/opt/torch \
    HARNESS_VTM_DIR=/opt/vtm \
    HARNESS_ECM_DIR=/opt/ecm \
    HARNESS_AVM_DIR=/opt/avm \
    HARNESS_JPEGAI_DIR=/opt/jpeg-ai \
    HARNESS_JPEGAI_PYTHON=/opt/conda/envs/jpeg_ai_vm/bin/python \
    HARNESS_CACHE=/workspace/cache \
    HARNESS_IMAGE_BASE=${PYTHON_IMAGE} \
    HARNESS_IMAGE_BUILD_ARGS="JOBS=${JOBS} PREFETCH_WEIGHTS=${PREFETCH_WEIGHTS} TORCH_INDEX=${TORCH_INDEX} VTM_REF=${VTM_REF} ECM_REF=${ECM_REF} AVM_REF=${AVM_REF} JPEGAI_REF=${JPEGAI_REF}"
# The Debian packages of scripts/setup.sh (libjxl-devtools: butteraugli_main), plus what OpenCV (the text
# metric's OCR, the JPEG AI environment) loads. chromium (the viewer's tests) is left out.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libavif-bin libjxl-tools libjxl-devtools webp \
      fonts-dejavu-core fonts-liberation fonts-freefont-ttf \
      libgl1 libglib2.0-0 libgomp1 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/harness
# Every Python package at the version the lock pins, none resolved at build time (--no-deps): the lock is
# the whole environment, cvvdp and compressai included (scripts/setup.sh installs those two --no-deps too).
# torch's CPU build comes from TORCH_INDEX or from the wheels context.
COPY docker/requirements.lock ./docker/
RUN --mount=type=bind,from=wheels,target=/wheels \
    pip install --no-deps --find-links /wheels ${TORCH_INDEX:+--extra-index-url "$TORCH_INDEX"} \
      -r docker/requirements.lock
COPY pyproject.toml constraints.txt README.md ./
COPY harness ./harness
COPY scripts ./scripts
RUN pip install --no-deps --no-build-isolation -e . \
 && harness --help > /dev/null
# The metrics' network weights (LPIPS, DISTS): from the weights context, then downloaded if allowed.
RUN --mount=type=bind,from=weights,target=/weights \
    mkdir -p "$TORCH_HOME" \
 && if [ -d /weights/hub ]; then cp -r /weights/hub "$TORCH_HOME/"; fi \
 && case "$PREFETCH_WEIGHTS" in \
      0) echo "PREFETCH_WEIGHTS=0: metric weights not prefetched; lpips/dists download them on first use" ;; \
      1) python scripts/prefetch_weights.py ;; \
      *) python scripts/prefetch_weights.py --best-effort ;; \
    esac
# The reference codecs last, so that changing one rebuilds none of the above. An empty context leaves its
# folder empty, and `harness codecs` lists that codec as unavailable.
COPY --from=vtm / /opt/vtm/
COPY --from=ecm / /opt/ecm/
COPY --from=avm / /opt/avm/
COPY --from=jpeg-ai / /opt/
RUN mkdir -p /opt/jpeg-ai \
 && names="" \
 && if [ -n "$(ls -A /opt/vtm)" ]; then names="$names vtm vtm-420"; fi \
 && if [ -n "$(ls -A /opt/ecm)" ]; then names="$names ecm ecm-420"; fi \
 && if [ -n "$(ls -A /opt/avm)" ]; then names="$names avm"; fi \
 && if [ -n "$(ls -A /opt/jpeg-ai)" ]; then names="$names jpeg-ai"; fi \
 && if [ -n "$names" ]; then python -m harness.codecs.selfcheck $names; fi
WORKDIR /workspace
VOLUME ["/workspace/results", "/workspace/cache"]
ENTRYPOINT ["harness", "run", "--results", "/workspace/results"]
CMD ["--codecs", "vtm,avm,jpeg-ai", "--dataset", "kodak"]
