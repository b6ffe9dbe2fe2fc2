"""A real, small run for the report/plot/notebook tests: Kodak crops through the runner."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from tests.conftest import KODAK

# (name, top, left): textured regions, so the codecs' RD curves differ from image to image.
CROPS = (("kodim23", 160, 280), ("kodim13", 250, 350))


def write_crops(folder: Path, crops: Sequence[tuple[str, int, int]] = CROPS, height: int = 96,
                width: int = 128) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, top, left in crops:
        pixels = np.asarray(Image.open(KODAK / f"{name}.png"))[top:top + height, left:left + width]
        Image.fromarray(pixels).save(folder / f"{name}.png")
    return folder


def make_run(root: Path, codecs: Sequence[str] = ("jpeg", "jpeg-444"), points: Sequence[float] | None = None,
             metrics: tuple[str, ...] = ("psnr",)) -> Path:
    """Run ``codecs`` on two Kodak crops with the real runner; returns the run directory."""
    from harness.codecs import get_codec
    from harness.datasets import resolve_dataset
    from harness.run.store import RunStore
    from harness.run.sweep import run_sweep

    crops = write_crops(root / "kodak-crops")
    store = RunStore(root / "run")
    run_sweep(store, resolve_dataset(str(crops)), [get_codec(c) for c in codecs], points=points, metrics=metrics)
    return store.run_dir


def zip_dataset(tmp_path: Path, members: dict[str, bytes], name: str) -> Path:
    """A dataset definition of one local zip archive holding ``members``; returns the definitions folder."""
    archive = tmp_path / f"{name}.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for member, data in members.items():
            bundle.writestr(member, data)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    definitions = tmp_path / "definitions"
    definitions.mkdir(exist_ok=True)
    (definitions / f"{name}.toml").write_text(
        f'name = "{name}"\n[[archives]]\nurl = "{archive.as_uri()}"\nsha256 = "{digest}"\n')
    return definitions


def crop_png(name: str, top: int) -> bytes:
    """A 64x48 crop of a Kodak original as PNG bytes."""
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(Image.open(KODAK / f"{name}.png"))[top:top + 48, 100:164]).save(buffer, "PNG")
    return buffer.getvalue()
