"""Readers of the three layouts of published folders (viewer, rate-named files, manifests) into an index."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.core.errors import one_line
from harness.core.images import SUPPORTED_SUFFIXES
from harness.published.config import DEFAULT_CONFIG_DIR, ENV_CONFIG, MAX_PLAUSIBLE_BPP, Source, norm_token, slug
from harness.published.names import Tokens, parse_rate_name


@dataclass(frozen=True)
class Entry:
    """One published reconstruction: whose, of which image, at what stated rate, where."""

    codec: str
    image_key: str  # scene folder / name prefix / manifest image, as the publisher wrote it
    bpp: float
    stated: str  # the rate as written (kept for precision and provenance)
    path: Path
    rate_label: str
    layout: str
    listed_in: Path | None = None  # the manifest or bpp_data.json that states the rate

    @property
    def digits(self) -> int:
        """Significant digits of the stated rate: of two statements about one file the finer wins."""
        return len(self.stated.replace(".", "").lstrip("0"))


@dataclass
class Index:
    entries: list[Entry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # files that look published but could not be read
    conflicts: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # (codec, image key) -> notes



def is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES


def inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` lies inside ``folder`` as written: published indexes name files by relative paths,
    and none may reach out of the folder they describe (``../../etc/passwd``). Symbolic links placed in
    the folder are the owner's choice and are followed."""
    real, base = os.path.normpath(os.path.abspath(path)), os.path.normpath(os.path.abspath(folder))
    return os.path.commonpath([real, base]) == base


def _scene_dir(base: Path, scene: str) -> Path:
    for candidate in (base / scene, base / "scenes" / scene):
        if candidate.is_dir():
            return candidate
    return base / scene


def _recon_file(folder: Path, key: str) -> Path:
    for suffix in (".png", ".webp", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".ppm"):
        if (folder / (key + suffix)).is_file():
            return folder / (key + suffix)
    return folder / (key + ".png")


def _read_viewer(path: Path, tokens: Tokens, index: Index) -> None:
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise ValueError("expected an object mapping scene -> codec -> bpp")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        index.problems.append(f"{path}: not a viewer bpp_data.json ({one_line(exc)})")
        return
    for scene, rates in data.items():
        folder = _scene_dir(path.parent, scene)
        for key, stated in rates.items():
            codec = tokens.codec_of(key) or f"{slug(key)}-published"
            try:
                bpp = float(stated)
            except (TypeError, ValueError):
                index.problems.append(f"{path}: {scene}/{key}: bpp {stated!r} is not a number")
                continue
            recon = _recon_file(folder, key)
            if not inside(recon, path.parent):
                index.problems.append(f"{path}: {scene}/{key} names a file outside the viewer's folder")
                continue
            index.entries.append(Entry(codec, scene, bpp, str(stated).strip(), recon, "viewer", "viewer", path))


_MANIFEST_COLUMNS = {
    "image": ("image", "image_name", "original", "scene"),
    "codec": ("codec", "method", "model"),
    "bpp": ("bpp", "stated_bpp", "bits_per_pixel"),
    "path": ("path", "file", "reconstruction", "filename"),
    "label": ("rate", "rate_label", "label", "quality", "point"),
}


def _manifest_rows(path: Path) -> list[dict[str, Any]] | None:
    """The rows of a manifest, or None when the file is not one (other CSV/JSON files are left alone)."""
    try:
        if path.suffix.lower() == ".csv":
            with path.open(newline="") as handle:
                rows: Any = list(csv.DictReader(handle))
        else:
            rows = json.loads(path.read_text())
            if isinstance(rows, dict):
                rows = rows.get("reconstructions")
    except (OSError, ValueError, UnicodeDecodeError, csv.Error):
        return None
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        return None
    keys = {norm_token(k) for k in rows[0]}
    if not all(any(alias in keys for alias in _MANIFEST_COLUMNS[c]) for c in ("image", "codec", "bpp", "path")):
        return None
    return rows


def _column(row: dict[str, Any], column: str) -> Any:
    normal = {norm_token(str(k)): v for k, v in row.items()}
    for alias in _MANIFEST_COLUMNS[column]:
        if alias in normal and normal[alias] not in (None, ""):
            return normal[alias]
    return None


def _read_manifest(path: Path, rows: list[dict[str, Any]], tokens: Tokens, index: Index) -> None:
    for number, row in enumerate(rows, start=2 if path.suffix.lower() == ".csv" else 1):
        where = f"{path}: {'line' if path.suffix.lower() == '.csv' else 'entry'} {number}"
        image, codec_name, stated, file = (_column(row, c) for c in ("image", "codec", "bpp", "path"))
        if image is None or codec_name is None or stated is None or file is None:
            index.problems.append(f"{where}: needs image, codec, bpp and path")
            continue
        try:
            bpp = float(stated)
        except (TypeError, ValueError):
            index.problems.append(f"{where}: bpp {stated!r} is not a number")
            continue
        codec = tokens.codec_of(str(codec_name)) or f"{slug(str(codec_name))}-published"
        label = _column(row, "label")
        recon = Path(str(file))
        if recon.is_absolute() or not inside(path.parent / recon, path.parent):
            index.problems.append(f"{where}: file {str(file)!r} is outside the manifest's folder; "
                                  "manifests may only name files beside or below them")
            continue
        recon = path.parent / recon
        image_key = Path(str(image)).stem if Path(str(image)).suffix.lower() in SUPPORTED_SUFFIXES else str(image)
        index.entries.append(Entry(codec, image_key, bpp, str(stated).strip(), recon,
                                   str(label) if label is not None else "manifest", "manifest", path))


def _walk(root: Path) -> Iterator[Path]:
    # Symbolic links are followed (published folders are often assembled from links), each real folder
    # once: a link loop would otherwise be walked forever.
    seen: set[tuple[int, int]] = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        try:
            info = os.stat(dirpath)
        except OSError:
            dirnames[:] = []
            continue
        if (info.st_dev, info.st_ino) in seen:
            dirnames[:] = []
            continue
        seen.add((info.st_dev, info.st_ino))
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "__MACOSX")))
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(dirpath) / name


def read_source(source: Source, tokens: Tokens, index: Index, rates: dict[str, float] | None = None) -> None:
    files = list(_walk(source.path))
    listed: set[str] = set()
    for path in files:
        if path.name == "bpp_data.json":
            before = len(index.entries)
            _read_viewer(path, tokens, index)
            listed.update(os.path.abspath(e.path) for e in index.entries[before:])
        elif path.suffix.lower() in (".csv", ".json"):
            rows = _manifest_rows(path)
            if rows is not None:
                before = len(index.entries)
                _read_manifest(path, rows, tokens, index)
                listed.update(os.path.abspath(e.path) for e in index.entries[before:])
    for path in files:
        if path.suffix.lower() not in SUPPORTED_SUFFIXES or os.path.abspath(path) in listed:
            continue
        parsed = parse_rate_name(path.stem)
        if parsed is None:
            continue  # originals, thumbnails, "target_2xds": not reconstructions
        head, label, stated = parsed
        if rates and path.name in rates:
            stated, label = repr(rates[path.name]), "corrected rate"
        codec, image_key = tokens.split(head)
        if codec is None:
            if source.default_codec is None:
                index.problems.append(f"{path}: states a rate but names no known codec ({head!r}); "
                                      f"declare it in a [[codec]] table or name the folder's codec")
                continue
            codec = source.default_codec
        image_key = image_key.strip("_-") or path.parent.name
        bpp = float(stated)
        if not 0 < bpp <= MAX_PLAUSIBLE_BPP:
            index.problems.append(f"{path}: stated rate {stated} bpp is implausible (a misread file name?); "
                                  f"correct it with a [[rate]] table (file = {path.name!r}, bpp = ...) in "
                                  f"{DEFAULT_CONFIG_DIR} or the file named by {ENV_CONFIG}")
            continue
        index.entries.append(Entry(codec, image_key, bpp, stated, path, label or "filename", "filename"))
