"""A dataset's files on disk: listing a folder (and saying what it skipped), downloading, and extracting
archives all-or-nothing with a record of every extracted file's sha256."""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import stat
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from harness.core.errors import one_line
from harness.core.hashing import sha256_file
from harness.core.images import SUPPORTED_SUFFIXES


class DatasetError(RuntimeError):
    """A dataset cannot be resolved, fetched or verified; str() is one line."""


@dataclass(frozen=True)
class ImageRef:
    """An original image of a dataset: its unique name within the dataset and where its file is."""

    name: str
    path: Path


@dataclass(frozen=True)
class Archive:
    url: str
    sha256: str
    bytes: int | None = None
    members: str = "*"


# The record of an archive dataset's extracted files (name -> sha256), written last: a folder without it
# is not a complete extraction.
MANIFEST = ".harness-files.json"


def is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES


def _skip_reason(path: Path) -> str | None:
    """Why a folder entry is not an image of the dataset (one kind per reason), or None if it is one."""
    try:
        mode = path.lstat().st_mode
    except OSError as exc:
        return f"unreadable entry ({one_line(exc.strerror or exc)})"
    if stat.S_ISLNK(mode) and not path.exists():
        return "dangling link"
    if path.is_dir():
        return f"folder named {path.name}" if path.suffix.lower() in SUPPORTED_SUFFIXES else None
    if not path.is_file():
        kind = "FIFO" if stat.S_ISFIFO(path.stat().st_mode) else "special file"
        return f"{kind} ({path.name})" if path.suffix.lower() in SUPPORTED_SUFFIXES else kind
    suffix = path.suffix.lower()
    if suffix in SUPPORTED_SUFFIXES:
        return None
    if path.name == MANIFEST or path.name.endswith(".partial"):
        return None  # the harness's own bookkeeping
    if not suffix:
        return "file without a suffix"
    if suffix in Image.registered_extensions():
        return f"{suffix} (not a supported still format)"
    return f"{suffix} (not an image format)"


def folder_images(root: Path) -> tuple[tuple[ImageRef, ...], dict[str, int]]:
    """The images under ``root`` by name (path relative to it, without suffix), and what was skipped: kind
    of entry -> how many (folders are the structure, not counted, unless named like an image)."""
    images: list[Path] = []
    skipped: dict[str, int] = {}
    for path in sorted(root.rglob("*")):
        reason = _skip_reason(path)
        if reason is None:
            if is_image_file(path):
                images.append(path)
        else:
            skipped[reason] = skipped.get(reason, 0) + 1
    return tuple(ImageRef(str(p.relative_to(root).with_suffix("")), p) for p in images), skipped


def skipped_line(skipped: dict[str, int]) -> str:
    """``"3 skipped: 1 .gif (not a supported still format), 1 dangling link, 1 folder named x.png"``, or ""."""
    if not skipped:
        return ""
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(skipped.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"{sum(skipped.values())} skipped: {kinds}"


ProgressFactory = Callable[[str, int | None], Callable[[int], None]]


def download(url: str, destination: Path, expected_sha256: str | None, progress: ProgressFactory | None) -> None:
    destination.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=destination.parent, delete=False) as tmp:
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                total = int(response.headers.get("Content-Length") or 0) or None
                advance = progress(destination.name, total) if progress else None
                while block := response.read(1 << 20):
                    tmp.write(block)
                    if advance:
                        advance(len(block))
        except OSError as exc:
            os.unlink(tmp.name)
            raise DatasetError(f"{url}: download failed ({one_line(exc)})") from None
    actual = sha256_file(tmp.name) if expected_sha256 else ""
    if expected_sha256 and actual != expected_sha256:
        os.unlink(tmp.name)
        raise DatasetError(f"{url}: sha256 {actual} differs from the expected {expected_sha256}")
    os.replace(tmp.name, destination)


def extract_archive(zip_path: Path, archive: Archive, root: Path) -> dict[str, str]:
    """Extract the archive's images into ``root`` and record each one's sha256 in ``root``'s manifest
    (archives publish no per-file hashes; the archive's own hash vouches for these), so that
    ``datasets verify`` finds a file missing or changed later. Members with the same file name in
    different folders of the archive keep their folder, instead of overwriting each other. ``root`` is a
    temporary folder that :func:`replace_folder` puts in place once everything is there."""
    with zipfile.ZipFile(zip_path) as bundle:
        members = [m for m in bundle.infolist() if not m.is_dir() and archive_member_is_image(m.filename)
                   and fnmatch.fnmatch(Path(m.filename).name, archive.members)]
        counts: dict[str, int] = {}
        for member in members:
            counts[Path(member.filename).name] = counts.get(Path(member.filename).name, 0) + 1
        recorded: dict[str, str] = {}
        for member in members:
            parts = Path(member.filename).parts
            if Path(member.filename).is_absolute() or ".." in parts:
                raise DatasetError(f"{zip_path}: member {member.filename!r} points outside the dataset folder")
            name = parts[-1] if counts[parts[-1]] == 1 else str(Path(*parts))
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with bundle.open(member) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst)
            recorded[name] = sha256_file(target)
    manifest = root / MANIFEST
    known = json.loads(manifest.read_text()) if manifest.is_file() else {}
    known.update(recorded)
    manifest.write_text(json.dumps(known, indent=1, sort_keys=True) + "\n")
    return recorded


def replace_folder(built: Path, root: Path) -> None:
    """Put the completely built folder ``built`` at ``root`` (replacing any earlier copy) by renames, so a
    kill at any moment leaves either the old copy or the new one, never a mixture."""
    old = root.with_name(f".{root.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if root.exists():
        os.replace(root, old)
    os.replace(built, root)
    shutil.rmtree(old, ignore_errors=True)


def archive_member_is_image(member: str) -> bool:
    """Whether a zip member is one of the dataset's images. macOS-made zips carry ``__MACOSX/._name.png``
    resource forks beside each image: same suffix, not an image, and they would become images named
    ``._name``. The image's name is its file stem, as the publishers (and PICO's authors) name it."""
    parts = Path(member).parts
    if not parts or "__MACOSX" in parts or parts[-1].startswith("."):
        return False
    return Path(parts[-1]).suffix.lower() in SUPPORTED_SUFFIXES
