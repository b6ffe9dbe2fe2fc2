"""The published source as a contender: its points are the stated rates, its reconstructions read from disk."""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from harness.codecs.base import Contender
from harness.codecs.values import Availability, CodecError, Knob, NoOutput, Outcome
from harness.core.images import ImageError, load_image
from harness.published.config import (
    DEFAULT_CONFIG_DIR,
    ENV_DIRS,
    ENV_PICO,
    MAX_PLAUSIBLE_BPP,
    UNKNOWN_COLOUR,
    PublishedSpec,
    load_config,
)
from harness.published.index import current_index
from harness.published.names import image_key_matches
from harness.published.readers import Entry, is_image

if TYPE_CHECKING:
    from harness.core.images import SourceImage

# A reconstruction at most this much larger than its original (either side) is codec padding, cropped.
MAX_PADDING = 16
# Files in a scene folder that are the original, not a reconstruction (checked against the dataset's).
REFERENCE_STEMS = ("reference", "target", "original")


class PublishedSource(Contender):
    """A contender whose operating points are published reconstructions with their authors' stated rates."""

    spec: ClassVar[PublishedSpec]
    knob = Knob("stated_bpp", 0.0, MAX_PLAUSIBLE_BPP, integer=False, quality_rises=True)
    default_points: ClassVar[tuple[float, ...]] = ()
    fixed_points: ClassVar[bool] = True

    def _entries(self) -> list[Entry]:
        _, index = current_index()
        return [e for e in index.entries if e.codec == self.name]

    def _entries_for(self, image_name: str) -> list[Entry]:
        return [e for e in self._entries() if image_key_matches(e.image_key, image_name)]

    def check_availability(self) -> Availability:
        config, index = current_index()
        if not config.sources:
            return Availability(False, f"no published reconstructions configured: set {ENV_PICO} or "
                                       f"{ENV_DIRS} to a folder of them, or add a [[source]] to a TOML file "
                                       f"in {DEFAULT_CONFIG_DIR}")
        if not self._entries():
            folders = ", ".join(str(s.path) for s in config.sources)
            extra = f" ({config.problems[0]})" if config.problems else ""
            return Availability(False, f"no reconstructions of {self.name} in {folders}{extra}")
        return Availability(True)

    def probe_version(self) -> str:
        # Identifies the data, so that changed files or rates give new job keys (and are re-measured).
        digest = hashlib.sha256()
        for e in self._entries():
            size = e.path.stat().st_size if e.path.is_file() else -1
            digest.update(f"{e.image_key}|{e.stated}|{e.path.name}|{size}\n".encode())
        on_disk = sum(e.path.is_file() for e in self._entries())
        missing = len(self._entries()) - on_disk
        return (f"published by the authors ({on_disk} reconstructions on disk"
                + (f", {missing} listed but missing" if missing else "") + f", data {digest.hexdigest()[:12]})")

    def points_for(self, image_name: str) -> list[float]:
        return sorted({e.bpp for e in self._entries_for(image_name)})

    def problems(self) -> list[str]:
        """What the index could not use, for this codec and in general (shown by ``harness published``)."""
        config, index = current_index()
        notes = [*config.problems, *index.problems]
        for (codec, key), lines in sorted(index.conflicts.items()):
            if codec == self.name:
                notes.extend(f"{key}: {line}" for line in lines)
        return notes

    def _entry(self, image: SourceImage, point: float | None) -> Entry:
        entries = self._entries_for(image.name)
        if not entries:
            raise NoOutput(f"no published reconstruction of {self.name} for image {image.name}")
        if point is None:
            raise CodecError(f"{self.name}: no operating point given for image {image.name}")
        for entry in entries:
            if math.isclose(entry.bpp, point, rel_tol=1e-9, abs_tol=1e-12):
                return entry
        have = ", ".join(f"{e.bpp:g}" for e in entries)
        raise CodecError(f"no published reconstruction of {self.name} for image {image.name} at {point:g} bpp "
                         f"(published: {have} bpp)")

    def compress(self, image: SourceImage, point: float | None, keep_bitstream: bool = False,
                 repeats: int = 1) -> Outcome:
        entry = self._entry(image, point)
        if not entry.path.is_file():
            where = f" ({entry.listed_in} lists it at {entry.stated} bpp)" if entry.listed_in else ""
            raise CodecError(f"published reconstruction {entry.path} of {self.name} for image {image.name} "
                             f"does not exist{where}")
        try:
            recon = load_image(entry.path)
        except ImageError as exc:
            raise CodecError(str(exc)) from None
        pixels, padded_from = recon.pixels, None
        if pixels.shape != image.pixels.shape:
            rh, rw = pixels.shape[:2]
            if not (0 <= rh - image.height <= MAX_PADDING and 0 <= rw - image.width <= MAX_PADDING):
                raise CodecError(f"published reconstruction {entry.path} is {rw}x{rh} but the original "
                                 f"{image.name} is {image.width}x{image.height}")
            # Codec padding (the authors' VVC of a 720x439 original is 720x440): cropped from the top-left.
            pixels, padded_from = pixels[:image.height, :image.width], f"{rw}x{rh}"
        mismatch = _check_reference(entry, image)
        if mismatch:
            raise CodecError(mismatch)
        params: dict[str, Any] = {
            "source_file": str(entry.path),
            "source_sha256": recon.sha256,
            "stated_bpp": entry.stated,
            "rate_label": entry.rate_label,
            "layout": entry.layout,
            "publisher_image_name": entry.image_key,
        }
        if entry.listed_in:
            params["rate_listed_in"] = str(entry.listed_in)
        if recon.notes:
            params["reconstruction_notes"] = list(recon.notes)
        _, index = current_index()
        conflicts = index.conflicts.get((self.name, entry.image_key.lower()))
        if conflicts:
            params["index_notes"] = conflicts
        return Outcome(
            reconstruction=pixels, padded_from=padded_from, file_bytes=None, payload_bytes=None, bpp=entry.bpp,
            bpp_payload=None, encode_seconds=None, decode_seconds=None, params=params,
            rate_source="published", bitstream=None,
        )

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["rate_source"] = "published"
        info["problems"] = self.problems() if self.availability() else []
        return info


_REFERENCE_VERDICTS: dict[tuple[str, str], str | None] = {}


def _check_reference(entry: Entry, image: SourceImage) -> str | None:
    """The scene folder's copy of the original (``reference.png``, ``Target.png``), where present, must be
    pixel-identical to the dataset's original: otherwise distortion would be measured against the wrong
    image. None when it is (or there is none), else why not. Checked once per folder and original."""
    folder = entry.path.parent
    if entry.layout == "manifest" or not folder.is_dir():
        return None
    key = (str(folder), image.sha256)
    if key not in _REFERENCE_VERDICTS:
        _REFERENCE_VERDICTS[key] = _compare_references(folder, image)
    return _REFERENCE_VERDICTS[key]


def _compare_references(folder: Path, image: SourceImage) -> str | None:
    for path in sorted(folder.iterdir()):
        if path.stem.lower() not in REFERENCE_STEMS or not is_image(path):
            continue
        try:
            ref = load_image(path)
        except ImageError as exc:
            return f"the publisher's original is unreadable: {exc}"
        if ref.pixels.shape != image.pixels.shape:
            rh, rw = ref.pixels.shape[:2]
            return (f"the publisher's original {path} is {rw}x{rh} but the dataset's {image.name} is "
                    f"{image.width}x{image.height}")
        if not np.array_equal(ref.pixels, image.pixels):
            diff = np.abs(ref.pixels.astype(np.int16) - image.pixels.astype(np.int16))
            return (f"the publisher's original {path} differs from the dataset's {image.name} "
                    f"({int((diff.max(axis=2) > 0).sum())} pixels differ, max {int(diff.max())}): "
                    "its reconstructions were made from another original")
    return None


def _source_class(spec: PublishedSpec) -> type[PublishedSource]:
    attrs = {"name": spec.name, "description": spec.description, "colour": spec.colour, "spec": spec,
             "__module__": __name__, "__doc__": spec.description}
    cls_name = "Published_" + re.sub(r"\W", "_", spec.name)
    return type(cls_name, (PublishedSource,), attrs)


def discover() -> list[type[Contender]]:
    """The codec registry's listing: the built-in published codecs and those declared in TOML files. Reads
    no published folder, so listing codecs stays cheap; codecs named only by the data come from :func:`find`."""
    return [_source_class(spec) for spec in load_config().specs]


def _found_specs() -> dict[str, PublishedSpec]:
    config, index = current_index()
    specs = {spec.name: spec for spec in config.specs}
    for entry in index.entries:
        if entry.codec not in specs:
            specs[entry.codec] = PublishedSpec(entry.codec, (entry.codec,),
                                               f"published reconstructions ({entry.codec})", UNKNOWN_COLOUR)
    return specs


def find(name: str) -> type[Contender] | None:
    """A codec the registry does not list: one ``<name>-published`` per other codec named in the data."""
    spec = _found_specs().get(name) if name.endswith("-published") else None
    return _source_class(spec) if spec is not None else None


def every_source() -> list[type[Contender]]:
    """Every published codec: the listed ones and one ``<name>-published`` per other name in the data."""
    return [_source_class(spec) for spec in _found_specs().values()]
