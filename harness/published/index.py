"""The index of published reconstructions: read, deduplicated, cached; and the survey ``harness published`` shows."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from harness.core.hashing import sha256_file
from harness.published.config import Config, PublishedSpec, Source, load_config
from harness.published.names import Tokens
from harness.published.readers import Entry, Index, read_source


def _consistent(a: Entry, b: Entry) -> bool:
    """Two statements of one file's rate agree when the finer rounds to the coarser."""
    coarse = min(a, b, key=lambda e: e.digits)
    decimals = len(coarse.stated.partition(".")[2])
    return abs(a.bpp - b.bpp) <= 0.5 * 10.0**-decimals + 1e-12


def _deduplicate(index: Index) -> None:
    """The viewer lists ``pico.png`` and also ships ``Splash_0.22076bpp.png``, the same file: keep one
    reconstruction per (codec, image, content), with the most precise stated rate."""
    groups: dict[tuple[str, str], list[Entry]] = {}
    for entry in index.entries:
        groups.setdefault((entry.codec, entry.image_key.lower()), []).append(entry)
    kept: list[Entry] = []
    for (codec, image_key), entries in groups.items():
        by_content: dict[Any, list[Entry]] = {}
        sizes: dict[int | None, list[Entry]] = {}
        for e in entries:
            sizes.setdefault(e.path.stat().st_size if e.path.is_file() else None, []).append(e)
        for size, same_size in sizes.items():
            if size is None:
                # Listed without a file: one entry per stated rate, each becomes a failed row.
                for e in same_size:
                    by_content.setdefault(("missing", str(e.path)), []).append(e)
            elif len(same_size) == 1:
                by_content.setdefault(("file", str(same_size[0].path)), []).append(same_size[0])
            else:
                for e in same_size:
                    by_content.setdefault(("sha", sha256_file(e.path)), []).append(e)
        chosen: dict[float, Entry] = {}
        # Files first: a listed file that is absent (``pico.png``) whose rate-named copy is present
        # (``Splash_0.273217bpp.png``) is that copy, not a missing reconstruction.
        ordered = sorted(by_content.items(), key=lambda kv: kv[0][0] == "missing")
        for (kind, _), group in ordered:
            best = max(group, key=lambda e: (e.digits, e.layout != "viewer"))
            if kind == "missing" and any(_consistent(best, e) for e in chosen.values()):
                continue
            for other in group:
                if other is not best and not _consistent(best, other):
                    index.conflicts.setdefault((codec, image_key), []).append(
                        f"{other.path.name} is stated at {other.stated} bpp ({other.listed_in or other.path}) "
                        f"and at {best.stated} bpp ({best.listed_in or best.path}); using {best.stated}")
            if best.bpp in chosen:
                index.conflicts.setdefault((codec, image_key), []).append(
                    f"{best.path} and {chosen[best.bpp].path} are different reconstructions stated at the "
                    f"same {best.stated} bpp; using {chosen[best.bpp].path.name}")
                continue
            chosen[best.bpp] = best
        kept.extend(chosen.values())
    index.entries = sorted(kept, key=lambda e: (e.codec, e.image_key, e.bpp))


@functools.lru_cache(maxsize=8)
def build_index(sources: tuple[Source, ...], specs: tuple[PublishedSpec, ...],
                 rates: tuple[tuple[str, float], ...] = ()) -> Index:
    tokens = Tokens(specs)
    index = Index()
    corrected = dict(rates)
    for source in sources:
        if source.path.is_dir():
            read_source(source, tokens, index, corrected)
    # A correction also wins over a viewer's or manifest's statement of the same file.
    index.entries = [replace(e, bpp=corrected[e.path.name], stated=repr(corrected[e.path.name]),
                             rate_label="corrected rate") if e.path.name in corrected else e for e in index.entries]
    _deduplicate(index)
    return index


def current_index() -> tuple[Config, Index]:
    config = load_config()
    return config, build_index(config.sources, config.specs, config.rates)


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from the file's header, without decoding it; None if unreadable."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return im.size
    except (OSError, ValueError, SyntaxError):
        return None


@dataclass
class SourceStatus:
    """What ``harness published`` says of one published codec."""

    codec: str
    usable: list[Entry] = field(default_factory=list)
    missing: list[Entry] = field(default_factory=list)  # listed (e.g. in bpp_data.json) but not on disk
    wrong_size: list[tuple[Entry, tuple[int, int], tuple[int, int]]] = field(default_factory=list)  # (e, got, want)


def survey(index: Index) -> dict[str, SourceStatus]:
    """Every indexed reconstruction checked: present, and of the size of its original (the scene's
    ``reference.png``, else the size most reconstructions of that image share)."""
    by_image: dict[str, list[tuple[Entry, tuple[int, int] | None]]] = {}
    for entry in index.entries:
        size = image_size(entry.path) if entry.path.is_file() else None
        by_image.setdefault(entry.image_key.lower(), []).append((entry, size))
    status: dict[str, SourceStatus] = {}
    for entries in by_image.values():
        folder = entries[0][0].path.parent
        reference = image_size(folder / "reference.png") if (folder / "reference.png").is_file() else None
        sizes = [s for _, s in entries if s is not None]
        expected = reference or (max(set(sizes), key=sizes.count) if sizes else None)
        for entry, size in entries:
            st = status.setdefault(entry.codec, SourceStatus(entry.codec))
            if not entry.path.is_file():
                st.missing.append(entry)
            elif size is None or (expected is not None and size != expected):
                st.wrong_size.append((entry, size or (0, 0), expected or (0, 0)))
            else:
                st.usable.append(entry)
    return dict(sorted(status.items()))
