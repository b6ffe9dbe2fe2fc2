"""Training images: found under folders, Kodak and CLIC refused, loaded downscaled, sampled as random crops."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".ppm")
TEST_SETS = re.compile(r"kodak|kodim|clic", re.IGNORECASE)  # the harness's test images: never trained on


class TrainingError(RuntimeError):
    """Training cannot start; str() is one line."""


def known_test_hashes() -> set[str]:
    """SHA-256 of the harness's Kodak/CLIC files, when the shared datasets are on this machine."""
    hashes: set[str] = set()
    root = Path(__file__).resolve().parents[3].parent / "shared" / "datasets"
    for sums in root.glob("*/SHA256SUMS"):
        if TEST_SETS.search(sums.parent.name):
            for line in sums.read_text().splitlines():
                if line.strip():
                    hashes.add(line.split()[0].lower())
    return hashes


def find_training_images(folders: list[str]) -> list[Path]:
    """Image files under ``folders``, one per picture (the largest of multi-resolution copies)."""
    best: dict[tuple[str, str], tuple[int, Path]] = {}
    for folder in folders:
        root = Path(folder)
        if not root.exists():
            raise TrainingError(f"{root}: training folder does not exist")
        if TEST_SETS.search(str(root.resolve())):
            raise TrainingError(f"{root}: refusing to train on Kodak/CLIC test images")
        files = [root] if root.is_file() else sorted(root.rglob("*"))
        for path in files:
            if path.suffix.lower() not in IMAGE_SUFFIXES or "screenshot" in path.name.lower():
                continue
            stem = re.sub(r"[_-]?\d+x\d+$", "", path.stem)
            res = re.search(r"(\d+)x(\d+)$", path.stem)
            size = int(res.group(1)) * int(res.group(2)) if res else path.stat().st_size
            key = (str(path.parent), stem or "<res>")
            if key not in best or size > best[key][0]:
                best[key] = (size, path)
    paths = sorted(p for _, p in best.values())
    if not paths:
        raise TrainingError(f"no training images found under {', '.join(folders)}")
    return paths


def load_training_images(paths: list[Path], min_side: int, downscale: int = 2) -> list[np.ndarray]:
    import hashlib

    from PIL import Image

    forbidden = known_test_hashes()
    images = []
    for path in paths:
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() in forbidden:
            raise TrainingError(f"{path}: is a Kodak/CLIC test image; refusing to train on it")
        try:
            with Image.open(path) as opened:
                im = opened.convert("RGB")
                # Box-filter downscale: washes out JPEG artifacts and makes smooth wallpapers denser in
                # detail, closer to photographs like Kodak's; small photos are reduced less.
                factor = max(1, min(downscale, min(im.size) // min_side))
                im = im.reduce(factor) if factor > 1 else im
        except OSError as exc:
            print(f"skipping {path}: {exc}", file=sys.stderr)
            continue
        if min(im.size) >= min_side:
            images.append(np.asarray(im))
    if not images:
        raise TrainingError(f"no training image is at least {min_side} px after 2x downscaling")
    return images


class CropSampler:
    """Random crops with flips, images chosen in proportion to their area."""

    def __init__(self, images: list[np.ndarray], crop: int, seed: int) -> None:
        self.images = images
        self.crop = crop
        area = np.array([im.shape[0] * im.shape[1] for im in images], dtype=np.float64)
        weight = np.sqrt(area)  # large synthetic wallpapers would otherwise dominate the photographs
        self.p = weight / weight.sum()
        self.rng = np.random.default_rng(seed)

    def batch(self, n: int) -> torch.Tensor:
        import torch

        out = np.empty((n, self.crop, self.crop, 3), dtype=np.uint8)
        for i in range(n):
            im = self.images[self.rng.choice(len(self.images), p=self.p)]
            y = self.rng.integers(0, im.shape[0] - self.crop + 1)
            x = self.rng.integers(0, im.shape[1] - self.crop + 1)
            c = im[y:y + self.crop, x:x + self.crop]
            if self.rng.random() < 0.5:
                c = c[:, ::-1]
            if self.rng.random() < 0.5:
                c = c[::-1]
            out[i] = c
        return torch.from_numpy(out).permute(0, 3, 1, 2).float() / 255.0
