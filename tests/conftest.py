"""Test configuration: real data from ../shared (never copied into the repo), offline metric weights."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
KODAK = SHARED / "datasets" / "kodak"

# Must be set before torch/pyiqa are imported anywhere: pyiqa fixes its cache directory at import.
os.environ.setdefault("TORCH_HOME", str(SHARED / "weights" / "torch_home"))
os.environ.setdefault("HARNESS_DATA", str(SHARED / "datasets"))


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Generated datasets and downloads go to a per-session cache, not the user's.
    os.environ["HARNESS_CACHE"] = str(tmp_path_factory.mktemp("harness-cache"))


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"{SHARED}: the shared test data must sit beside the repository")
    return SHARED


# Codecs that `bash scripts/setup.sh` installs on this machine (Debian tools, Pillow's AVIF/WebP/JPEG,
# imagecodecs, the static ffmpeg with VVenC and x265). One of them being unavailable is a broken set-up,
# and fails the tests instead of skipping them; other codecs (reference software) may be absent.
EXPECTED_CODECS = ("vvc", "hevc", "h264", "avif", "avif-svt", "avif-rav1e", "avif-avifenc", "jxl", "jxl-imagecodecs",
                   "jxl-cjxl", "jpeg2000", "webp", "jpeg", "jpeg-444", "jpegli", "vvenc-yuv", "pico-torch")


def codec_or_skip(spec: str):
    """The codec, available; an expected codec that is not fails the test, any other is skipped."""
    from harness.codecs import get_codec

    codec = get_codec(spec)
    ok = codec.availability()
    if not ok:
        if codec.name in EXPECTED_CODECS:
            pytest.fail(f"{codec.name} should be available on this machine (bash scripts/setup.sh): {ok.reason}")
        pytest.skip(f"{codec.name} unavailable here: {ok.reason}")
    return codec


def kodak_crop(name: str = "kodim23", top: int = 200, left: int = 300, height: int = 64, width: int = 96):
    """A small real image: a crop of a Kodak original, as a SourceImage."""
    from harness.core.images import load_image

    image = load_image(KODAK / f"{name}.png")
    return replace(image, pixels=image.pixels[top:top + height, left:left + width].copy())
