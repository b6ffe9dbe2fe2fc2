"""The Docker image builds with podman, runs the harness, and gives the same bits as the harness outside it
(scripts/container-check.sh: base image from Debian's packages, image build, `harness codecs`, the same
small run inside and outside, bitstreams and metric values compared). Slow: the first build takes 10-20 min."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

def test_image_provenance_from_the_image_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.core import container

    for key in [k for k in os.environ if k.startswith(container.PREFIX)]:
        monkeypatch.delenv(key)
    monkeypatch.setattr(container, "PODMAN_ENV", Path("/nonexistent/.containerenv"))
    monkeypatch.setattr(container, "DOCKER_ENV", Path("/nonexistent/.dockerenv"))
    assert container.image_provenance() is None  # not in an image: run.json says nothing
    monkeypatch.setenv("HARNESS_IMAGE_BASE", "python:3.11-slim-bookworm")
    monkeypatch.setenv("HARNESS_IMAGE_BUILD_ARGS", "JOBS=2 PREFETCH_WEIGHTS=auto")
    assert container.image_provenance() == {"base": "python:3.11-slim-bookworm",
                                            "build_args": "JOBS=2 PREFETCH_WEIGHTS=auto",
                                            "digest": "unknown (pass -e HARNESS_IMAGE_DIGEST=...)"}


def test_image_provenance_reads_podmans_containerenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from harness.core import container

    env = tmp_path / ".containerenv"  # as podman 4.3 writes it in a rootful container
    env.write_text('engine="podman-4.3.1"\nname="x"\nid="ab12"\nimage="localhost/harness:check"\n'
                   'imageid="3f2a"\nrootless=0\n')
    monkeypatch.setattr(container, "PODMAN_ENV", env)
    monkeypatch.setenv("HARNESS_IMAGE_BASE", "python:3.11-slim-bookworm")
    monkeypatch.delenv("HARNESS_IMAGE_DIGEST", raising=False)
    info = container.image_provenance()
    assert info is not None
    assert (info["engine"], info["image"], info["digest"]) == ("podman-4.3.1", "localhost/harness:check",
                                                               "sha256:3f2a")


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux") or os.geteuid() != 0,
                    reason="rootful podman: needs Linux and root")
def test_container_check(tmp_path: Path) -> None:
    env = {**os.environ, "WORK": str(tmp_path / "work")}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "container-check.sh")], env=env, capture_output=True,
                          text=True, timeout=3 * 3600)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    available = next(line for line in out.splitlines() if line.startswith("available inside:")).split()[2:]
    for codec in ("avif", "avif-avifenc", "avif-rav1e", "avif-svt", "h264", "hevc", "jpeg", "jpeg-444", "jpeg2000",
                  "jpegli", "jxl", "jxl-cjxl", "jxl-imagecodecs", "pico-torch", "vvc", "vvenc-yuv", "webp"):
        assert codec in available, out[-4000:]
    assert "equal inside and outside: jpeg, webp, avif, jxl, hevc, vvc" in out, out[-4000:]
    assert '"digest": "sha256:' in out and '"build_args": "JOBS=' in out, out[-4000:]


def test_lock_pins_every_dependency_of_pyproject() -> None:
    """docker/requirements.lock (the image's whole Python environment) names every dependency pyproject.toml
    declares, each pinned to one version; a new dependency without `python3 docker/lock.py` fails here."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = [line for line in (ROOT / "docker" / "requirements.lock").read_text().splitlines()
             if line and not line.startswith("#")]
    pinned = {canonicalize_name(line.split("==")[0]): line.split("==")[1] for line in lines}
    assert all("==" in line and line.count("==") == 1 for line in lines)
    for spec in [*project["dependencies"], *project["optional-dependencies"]["compressai"], "cvvdp", "compressai"]:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        assert name in pinned, f"{name} is not in docker/requirements.lock: run python3 docker/lock.py"
        assert req.specifier.contains(pinned[name], prereleases=True), (name, pinned[name], str(req.specifier))
