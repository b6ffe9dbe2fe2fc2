"""The container image this process runs in: what the image recorded about its build, and what the engine says."""

from __future__ import annotations

import os
from pathlib import Path

PREFIX = "HARNESS_IMAGE_"  # set by the Dockerfile (BASE, BUILD_ARGS) or at `docker run -e` (DIGEST)
PODMAN_ENV = Path("/run/.containerenv")  # podman writes engine, image name and id here (with --privileged)
DOCKER_ENV = Path("/.dockerenv")


def image_provenance() -> dict[str, str] | None:
    """{"base", "build_args", "digest", "engine", "image", ...} of the image, or None outside a container image."""
    info = {key[len(PREFIX):].lower(): value for key, value in os.environ.items() if key.startswith(PREFIX)}
    if not info:
        return None
    try:
        lines = PODMAN_ENV.read_text().splitlines()
    except OSError:
        lines = []
    engine = {key: value.strip('"') for key, _, value in (line.partition("=") for line in lines)}
    for key in ("engine", "image"):
        if engine.get(key):
            info.setdefault(key, engine[key])
    if engine.get("imageid"):
        info.setdefault("digest", f"sha256:{engine['imageid']}")
    if "engine" not in info and DOCKER_ENV.exists():
        info["engine"] = "docker"
    info.setdefault("digest", f"unknown (pass -e {PREFIX}DIGEST=...)")
    return info
