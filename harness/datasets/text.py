"""The ``text`` dataset: Kodak photographs with rendered text lines at known positions.

Text-region metrics need images whose text is known exactly. :func:`generate_text_dataset` draws
:data:`LINES_PER_IMAGE` short lines of English words and numbers onto Kodak originals with Pillow's
FreeType renderer, in fonts from Debian font packages (``fonts-dejavu-core``, ``fonts-liberation``,
``fonts-freefont-ttf``) at sizes 10 to 40 px, and records every line's box. The text is drawn like a
caption or subtitle: fill black or white (whichever contrasts with the local background) with a thin
outline in the other colour, so it stays legible on any part of a photograph.

Deterministic: one seeded generator drives the choice of photographs, words, fonts, sizes and positions,
so the same arguments give the same pixels (for the same Pillow/FreeType and fonts).

Output in ``out_dir``: ``text_NN_<kodak name>.png`` and ``boxes.json``::

    {"generator": "harness.datasets.text", "version": 1, "seed": ..., "count": ...,
     "images": [{"file": "text_00_kodim05.png", "source": "kodim05.png", "width": 768, "height": 512,
                 "boxes": [{"x0": 40, "y0": 31, "x1": 251, "y1": 57, "text": "harbour 1987 signal",
                            "font": "DejaVuSans.ttf", "size": 24}, ...]}, ...]}

Boxes are pixel rectangles [x0, x1) x [y0, y1) around the ink of each line, outline included.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

VERSION = 1
SEED = 20240611
LINES_PER_IMAGE = 6
SIZES = (10, 12, 14, 16, 18, 20, 24, 28, 32, 36, 40)
BOXES_JSON = "boxes.json"

# (file name, where Debian installs it): one regular sans, serif, mono and bold face per package.
FONTS = (
    ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu"),
    ("DejaVuSerif-Bold.ttf", "/usr/share/fonts/truetype/dejavu"),
    ("LiberationSans-Regular.ttf", "/usr/share/fonts/truetype/liberation"),
    ("LiberationSerif-Regular.ttf", "/usr/share/fonts/truetype/liberation"),
    ("LiberationMono-Bold.ttf", "/usr/share/fonts/truetype/liberation"),
    ("FreeSans.ttf", "/usr/share/fonts/truetype/freefont"),
    ("FreeSerifBold.ttf", "/usr/share/fonts/truetype/freefont"),
)

WORDS = (
    "harbour", "signal", "market", "window", "garden", "river", "station", "coffee", "bridge", "orange",
    "winter", "museum", "ticket", "street", "closed", "open", "north", "south", "exit", "parking",
    "sale", "hotel", "bakery", "gallery", "photo", "music", "school", "library", "office", "theatre",
    "EXIT", "STOP", "OPEN", "SALE", "CAFE", "POST", "ROUTE", "GATE", "DOCK", "PIER",
)


class TextDatasetError(RuntimeError):
    """The dataset cannot be generated (missing font or Kodak file); the message is one line."""


def _font_path(name: str, folder: str) -> Path:
    path = Path(folder) / name
    if not path.is_file():
        raise TextDatasetError(
            f"{path}: font file missing (install the Debian packages fonts-dejavu-core fonts-liberation "
            f"fonts-freefont-ttf)"
        )
    return path


def _phrase(rng: np.random.Generator) -> str:
    words = [str(rng.choice(WORDS)) for _ in range(int(rng.integers(2, 4)))]
    if rng.random() < 0.5:
        words.insert(int(rng.integers(0, len(words) + 1)), str(int(rng.integers(10, 10000))))
    return " ".join(words)


def _overlaps(box: tuple[int, int, int, int], others: list[tuple[int, int, int, int]], gap: int) -> bool:
    x0, y0, x1, y1 = box
    return any(x0 < b[2] + gap and b[0] < x1 + gap and y0 < b[3] + gap and b[1] < y1 + gap for b in others)


def _render(photo: np.ndarray, rng: np.random.Generator, sizes: list[int]) -> tuple[np.ndarray, list[dict]]:
    image = Image.fromarray(photo)
    draw = ImageDraw.Draw(image)
    height, width = photo.shape[:2]
    luma = photo.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    boxes: list[dict] = []
    placed: list[tuple[int, int, int, int]] = []
    for size in sizes:
        name, folder = FONTS[int(rng.integers(len(FONTS)))]
        font = ImageFont.truetype(str(_font_path(name, folder)), size)
        stroke = max(1, size // 14)
        for _attempt in range(200):
            text = _phrase(rng)
            left, top, right, bottom = (int(v) for v in draw.textbbox((0, 0), text, font=font, stroke_width=stroke))
            w, h = right - left, bottom - top
            if w > width - 16:
                continue
            x = int(rng.integers(8, width - 8 - w)) - left
            y = int(rng.integers(8, height - 8 - h)) - top
            box = (x + left, y + top, x + right, y + bottom)
            # Lines far enough apart that a detector cannot merge two of them into one.
            if _overlaps(box, placed, gap=max(12, size)):
                continue
            dark = float(luma[box[1]:box[3], box[0]:box[2]].mean()) > 128
            fill, outline = ((0, 0, 0), (255, 255, 255)) if dark else ((255, 255, 255), (0, 0, 0))
            draw.text((x, y), text, font=font, fill=fill, stroke_width=stroke, stroke_fill=outline)
            placed.append(box)
            boxes.append({"x0": box[0], "y0": box[1], "x1": box[2], "y1": box[3], "text": text,
                          "font": name, "size": size})
            break
        else:
            raise TextDatasetError(f"could not place a {size}-px line of text without overlap")
    return np.asarray(image), boxes


def generate_text_dataset(out_dir: Path, kodak_dir: Path, count: int = 8) -> list[Path]:
    """Write ``count`` Kodak photographs with rendered text (PNG) and ``out_dir/boxes.json`` (the
    ground-truth boxes, see the module docstring); return the PNG paths. A complete earlier output with
    the same parameters is reused as it is."""
    out_dir, kodak_dir = Path(out_dir), Path(kodak_dir)
    if count < 1:
        raise TextDatasetError(f"count must be at least 1, got {count}")
    sources = sorted(kodak_dir.glob("kodim*.png"))
    if not sources:
        raise TextDatasetError(f"{kodak_dir}: no Kodak images (kodim*.png) found")
    manifest_path = out_dir / BOXES_JSON
    if manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text())
            files = [out_dir / entry["file"] for entry in manifest["images"]]
            if (manifest.get("version"), manifest.get("seed"), manifest.get("count")) == (VERSION, SEED, count) \
                    and all(f.is_file() for f in files):
                return files
        except (json.JSONDecodeError, KeyError, TypeError):
            pass  # damaged: regenerate
    from harness.core.images import load_image, save_png

    rng = np.random.default_rng(SEED)
    order = rng.permutation(len(sources))
    out_dir.mkdir(parents=True, exist_ok=True)
    entries, paths = [], []
    for index in range(count):
        source = sources[int(order[index % len(sources)])]
        photo = load_image(source).pixels
        # Every image gets a spread of sizes: the smallest, the largest and a random middle.
        sizes = sorted({10, 40} | {int(s) for s in rng.choice(SIZES[1:-1], LINES_PER_IMAGE - 2, replace=False)})
        pixels, boxes = _render(photo, rng, sizes)
        name = f"text_{index:02d}_{source.stem}.png"
        save_png(pixels, out_dir / name)
        paths.append(out_dir / name)
        entries.append({"file": name, "source": source.name, "width": int(pixels.shape[1]),
                        "height": int(pixels.shape[0]), "boxes": boxes})
    manifest = {"generator": "harness.datasets.text", "version": VERSION, "seed": SEED, "count": count,
                "fonts": [name for name, _ in FONTS], "images": entries}
    tmp = manifest_path.with_name(BOXES_JSON + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1) + "\n")
    tmp.replace(manifest_path)
    return paths


def load_boxes(out_dir: Path) -> dict[str, list[dict]]:
    """file name -> its ground-truth boxes, from ``out_dir/boxes.json``."""
    path = Path(out_dir) / BOXES_JSON
    try:
        manifest = json.loads(path.read_text())
        return {entry["file"]: entry["boxes"] for entry in manifest["images"]}
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise TextDatasetError(f"{path}: cannot read the ground-truth boxes ({exc})") from None


def box_found(box: dict, detections: list[np.ndarray], shape: tuple[int, int], coverage: float = 0.7) -> bool:
    """Whether detected quadrilaterals cover at least ``coverage`` of a ground-truth box's area.

    A detector may split one rendered line into several word boxes, so the union of detections counts;
    only detections of a plausible height for the line (at most 2.5x its height plus 10 px) take part, so
    a detection spanning half the image cannot "find" every box under it."""
    import cv2

    x0, y0, x1, y1 = (int(box[k]) for k in ("x0", "y0", "x1", "y1"))
    height = y1 - y0
    mask = np.zeros(shape, dtype=np.uint8)
    polygons = [np.round(d).astype(np.int32) for d in detections
                if float(np.ptp(np.asarray(d)[:, 1])) <= 2.5 * height + 10]
    if polygons:
        cv2.fillPoly(mask, polygons, 1)
    return float(mask[y0:y1, x0:x1].mean()) >= coverage if (x1 > x0 and y1 > y0) else False
