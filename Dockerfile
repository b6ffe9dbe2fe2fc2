# syntax=docker/dockerfile:1
#
# The harness with the reference codecs built from source: VTM (VVC), ECM (JVET's model beyond VVC),
# AVM (AV2) and the JPEG AI reference software, at the pinned versions below.
#
#   docker build -t harness .
#   docker run --rm -v "$PWD/results:/workspace/results" harness --codecs vtm,avm --dataset kodak
#
# Every *_REF is a tag, branch or commit of the repository beside it; override with --build-arg.
# Builds are independent stages, so BuildKit builds them in parallel.
# Debian packages are not version-pinned (hadolint DL3008): the base image pins the Debian release, and
# bookworm's security updates replace exact versions.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

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
FROM toolchain AS vtm
ARG VTM_REPO=https://vcgit.hhi.fraunhofer.de/jvet/VVCSoftware_VTM.git
ARG VTM_REF=VTM-23.13
RUN fetch-source "$VTM_REPO" "$VTM_REF" /src \
 && cmake -S /src -B /src/build -DCMAKE_BUILD_TYPE=Release \
 && cmake --build /src/build -j "$(nproc)" --target EncoderApp DecoderApp \
 && mkdir -p /opt/vtm/bin \
 && find /src/bin -type f \( -name EncoderApp -o -name DecoderApp \) -path '*release*' -exec cp {} /opt/vtm/bin/ \; \
 && cp -r /src/cfg /opt/vtm/cfg \
 && { /opt/vtm/bin/EncoderApp --help > /tmp/help.txt || true; } \
 && grep -m 1 "VTM Encoder Version" /tmp/help.txt

# --- ECM: JVET enhanced compression model (same build system as VTM) --------------------------------
FROM toolchain AS ecm
ARG ECM_REPO=https://vcgit.hhi.fraunhofer.de/ecm/ECM.git
# ECM-20.0 (the commit that sets ECM_VERSION "20.0").
ARG ECM_REF=3391a5f0e7d89e594d2ca61e9fae570982c03d49
RUN fetch-source "$ECM_REPO" "$ECM_REF" /src \
 && cmake -S /src -B /src/build -DCMAKE_BUILD_TYPE=Release \
 && cmake --build /src/build -j "$(nproc)" --target EncoderApp DecoderApp \
 && mkdir -p /opt/ecm/bin \
 && find /src/bin -type f \( -name EncoderApp -o -name DecoderApp \) -path '*release*' -exec cp {} /opt/ecm/bin/ \; \
 && cp -r /src/cfg /opt/ecm/cfg \
 && { /opt/ecm/bin/EncoderApp --help > /tmp/help.txt || true; } \
 && grep -m 1 "ECM Encoder Version" /tmp/help.txt

# --- AVM: AV2 research anchor, configured as its CI does (cmake -GNinja Release); TFLite, needed by the
# ML partition pruning of the default config, builds from the archives in third_party/ -------------
FROM toolchain AS avm
ARG AVM_REPO=https://github.com/AOMediaCodec/avm.git
ARG AVM_REF=research-v15.0.0
RUN fetch-source "$AVM_REPO" "$AVM_REF" /src \
 && cmake -S /src -B /src/build -G Ninja -DCMAKE_BUILD_TYPE=Release -DENABLE_TESTS=0 -DENABLE_DOCS=0 \
 && cmake --build /src/build --target avmenc avmdec \
 && mkdir -p /opt/avm/bin \
 && cp /src/build/avmenc /src/build/avmdec /opt/avm/bin/ \
 && { /opt/avm/bin/avmenc --help > /tmp/help.txt 2>&1 || true; } \
 && grep -m 1 "AV2 Encoder" /tmp/help.txt

# --- JPEG AI reference software, in the conda environment its scripts/setup_env.sh describes ---------
FROM ${PYTHON_IMAGE} AS jpeg-ai
ARG JPEGAI_REPO=https://gitlab.com/wg1/jpeg-ai/jpeg-ai-reference-software.git
ARG JPEGAI_REF=00f1e4a72a16e4e8f94d80eadceb9b8175357389
ARG JPEGAI_PYTHON=3.7
ARG MINIFORGE_URL=https://github.com/conda-forge/miniforge/releases/latest/download/Miniforge3-Linux-x86_64.sh
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential git git-lfs ca-certificates curl \
      libgl1 libglib2.0-0 \
 && rm -rf /var/lib/apt/lists/*
RUN curl -fsSL -o /tmp/miniforge.sh "$MINIFORGE_URL" \
 && bash /tmp/miniforge.sh -b -p /opt/conda \
 && rm /tmp/miniforge.sh \
 && /opt/conda/bin/conda create -y -q -p /opt/conda/envs/jpeg_ai_vm "python=${JPEGAI_PYTHON}" \
 && /opt/conda/bin/conda clean -a -y
RUN git lfs install --system \
 && git clone --quiet "$JPEGAI_REPO" /opt/jpeg-ai \
 && git -C /opt/jpeg-ai checkout --quiet --detach "$JPEGAI_REF" \
 && git -C /opt/jpeg-ai lfs pull \
 && git -C /opt/jpeg-ai log -1 --format="JPEG AI @ %H (%cs)"
ENV PATH=/opt/conda/envs/jpeg_ai_vm/bin:$PATH
WORKDIR /opt/jpeg-ai
# The entropy-coding extensions (scripts/build_ec_lib.sh), then one encode/decode of a small image: it
# proves the install and makes the software fetch any model it downloads on first use.
RUN pip install --no-cache-dir -r requirements.txt \
 && make -C src/codec/entropy_coding/cpp_exts/mans \
 && make -C src/codec/entropy_coding/cpp_exts/direct \
 && python -c "import numpy as n, cv2; y, x = n.mgrid[0:256, 0:256]; cv2.imwrite('/tmp/t.png', n.stack([x, y, (x + y) // 2], -1).astype(n.uint8))" \
 && python -m src.reco.coders.encoder /tmp/t.png /tmp/t.bits --set_target_bpp 25 \
 && python -m src.reco.coders.decoder /tmp/t.bits /tmp/t-dec.png \
 && rm -f /tmp/t.png /tmp/t.bits /tmp/t-dec.png

# --- the harness -------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS harness
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    TORCH_HOME=/opt/torch \
    HARNESS_VTM_DIR=/opt/vtm \
    HARNESS_ECM_DIR=/opt/ecm \
    HARNESS_AVM_DIR=/opt/avm \
    HARNESS_JPEGAI_DIR=/opt/jpeg-ai \
    HARNESS_JPEGAI_PYTHON=/opt/conda/envs/jpeg_ai_vm/bin/python \
    HARNESS_CACHE=/workspace/cache
# The Debian packages of scripts/setup.sh, plus what the JPEG AI environment's OpenCV loads.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libavif-bin libjxl-tools webp \
      fonts-dejavu-core fonts-liberation fonts-freefont-ttf \
      libgl1 libglib2.0-0 libgomp1 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=vtm /opt/vtm /opt/vtm
COPY --from=ecm /opt/ecm /opt/ecm
COPY --from=avm /opt/avm /opt/avm
COPY --from=jpeg-ai /opt/conda /opt/conda
COPY --from=jpeg-ai /opt/jpeg-ai /opt/jpeg-ai
WORKDIR /opt/harness
COPY pyproject.toml constraints.txt README.md ./
COPY harness ./harness
COPY codecs ./codecs
COPY datasets ./datasets
COPY scripts ./scripts
# Editable install (definitions are package data, so a plain install works too). torch first, from the
# index of the build that constraints.txt pins (CPU), so nothing pulls another build.
RUN pip install --extra-index-url "$TORCH_INDEX" -c constraints.txt torch torchvision \
 && pip install --extra-index-url "$TORCH_INDEX" -c constraints.txt -e . \
 && python scripts/prefetch_weights.py \
 && python -m harness.codecs.selfcheck vtm vtm-420 ecm ecm-420 avm jpeg-ai
WORKDIR /workspace
VOLUME ["/workspace/results", "/workspace/cache"]
ENTRYPOINT ["harness", "run", "--results", "/workspace/results"]
CMD ["--codecs", "vtm,avm,jpeg-ai", "--dataset", "kodak"]
