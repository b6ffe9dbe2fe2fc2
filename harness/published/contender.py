"""Published reconstructions as a source: the ``published`` family (``pico``, ``hific``, ``dcvc-rt``, ...).

Some codecs cannot be run here (PICO's model is not public), but their authors published
reconstructions and the bits per pixel they state for them. A published source is not a codec: it has
no encoder or decoder, and evaluating it at a point is a lookup of such a reconstruction; the harness
measures its distortion against the dataset's original itself, and the row says that the rate is the
authors' figure (``rate_source = "published"``, no file sizes, no
timing).

Where reconstructions are found (every location is searched for every published codec):

- ``HARNESS_PICO_DIR``: folder(s) of PICO's reconstructions (``os.pathsep``-separated); files whose name
  carries a rate but no codec token there are PICO's;
- ``HARNESS_PUBLISHED_DIRS``: folder(s), each optionally ``codec=folder`` to name the codec of untagged
  files in it;
- TOML files (``$HARNESS_PUBLISHED_CONFIG``, else every ``*.toml`` in ``harness/codecs/definitions/published/``;
  a subfolder, because the ``*.toml`` beside it are command-line codec definitions) with
  ``[[source]]`` tables (``path``, optional ``codec``; relative paths resolve against the file) and
  ``[[codec]]`` tables (``name``, ``tokens``, ``description``) declaring more published codecs.

Layouts read in those folders (all three may be mixed; the same file found twice counts once):

- viewer: a ``bpp_data.json`` mapping scene -> codec key -> bpp, with ``<scene>/<codec key>.png`` beside
  it or under ``scenes/`` (the layout of the PICO authors' comparison viewer); a listed reconstruction
  whose file is absent becomes a failed row, not a gap;
- rate in the file name, as the authors name their files: ``Splash_rate20_0.173bpp.png``,
  ``Splash_0.22076bpp.png``, ``DCVC_RT_0.175902bpp.png``, ``hific_0.174bpp.png``, with the image named by
  the enclosing folder or by a prefix/suffix of the name (``kodim04_hific_0.3bpp.png``);
- manifest: any ``*.csv`` / ``*.json`` with columns ``image, codec, bpp, path`` (and optionally
  ``rate`` / ``label``); paths are relative to the manifest.

Operating points: the point of a published codec IS the stated bpp of one reconstruction (so ``point``
and ``bpp`` agree and read directly as rates); :meth:`PublishedSource.points_for` lists the stated bpps
available for an image. An image with none gives one failed row that says so.

Image names: a scene/prefix key matches a dataset image when it equals the image's name or is that name
with dataset tags prepended (``kodak_kodim04`` -> ``kodim04``); comparison ignores case and folders.
A reconstruction whose size differs from the original, and a scene ``reference.png`` / ``Target.png``
whose pixels differ from the dataset's original, make the row fail with the reason.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import importlib.resources
import json
import math
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from harness.codecs.base import (
    Availability,
    CodecError,
    ColourChain,
    Contender,
    Knob,
    NoOutput,
    Outcome,
)
from harness.core.errors import one_line
from harness.core.images import SUPPORTED_SUFFIXES, ImageError, load_image
from harness.core.toml import TomlReader

if TYPE_CHECKING:
    from harness.core.images import SourceImage

ENV_PICO = "HARNESS_PICO_DIR"
ENV_DIRS = "HARNESS_PUBLISHED_DIRS"
ENV_CONFIG = "HARNESS_PUBLISHED_CONFIG"
DEFAULT_CONFIG_DIR = Path(str(importlib.resources.files("harness.codecs") / "definitions" / "published"))

# A stated rate outside this range is a misread name (``DCVC_RT_287089bpp.png`` lost its "0."), not a rate.
MAX_PLAUSIBLE_BPP = 48.0

# Files in a scene folder that are the original, not a reconstruction (checked against the dataset's).
REFERENCE_STEMS = ("reference", "target", "original")


@dataclass(frozen=True)
class PublishedSpec:
    """A published codec: its harness name and the tokens that name it in viewers, files and manifests."""

    name: str
    tokens: tuple[str, ...]
    description: str
    colour: ColourChain


_LEARNED = ColourChain("learned", "n/a", 8, "n/a")
_UNKNOWN = ColourChain("unknown", "unknown", 8, "unknown")

# Codecs of the PICO paper's comparison viewer. The viewer's VVC and BPG are the authors' encodes, named
# ``-published`` so they never clash with (or pass for) our own ``vvc`` and ``hevc`` adapters.
BUILTIN: tuple[PublishedSpec, ...] = (
    PublishedSpec("pico", ("pico", "splash"),
                  "PICO (Apple): the authors' published reconstructions at their stated bpp", _LEARNED),
    PublishedSpec("hific", ("hific",), "HiFiC: reconstructions published by the PICO authors", _LEARNED),
    PublishedSpec("dcvc-rt", ("dcvc_rt", "dcvd_rt", "dcvc"),
                  "DCVC-RT (intra): reconstructions published by the PICO authors", _LEARNED),
    PublishedSpec("vvc-published", ("vvc",),
                  "VVC as encoded and published by the PICO authors (their settings, not ours)", _UNKNOWN),
    PublishedSpec("bpg-published", ("bpg",),
                  "BPG as encoded and published by the PICO authors", ColourChain("bt601", "full", 8, "420")),
)


def _norm(token: str) -> str:
    return re.sub(r"[\s\-]+", "_", token.strip().lower())


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-") or "unnamed"


# --- where the data are -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Source:
    path: Path
    default_codec: str | None = None  # codec of rate-bearing files whose name carries no codec token
    origin: str = ""  # which setting named this folder (for messages)


@dataclass(frozen=True)
class Config:
    sources: tuple[Source, ...]
    specs: tuple[PublishedSpec, ...]
    problems: tuple[str, ...] = ()
    # Stated rates corrected by the user: file name -> bpp (a ``[[rate]]`` table), for files whose name
    # misstates the rate (``DCVC_RT_287089bpp.png`` lost its "0.") or that no manifest lists.
    rates: tuple[tuple[str, float], ...] = ()


def _split_dirs(value: str) -> list[str]:
    return [part for part in value.split(os.pathsep) if part.strip()]


def load_config(environ: dict[str, str] | None = None) -> Config:
    """Sources and codec specs from the environment and the TOML file. Never raises: a bad setting is
    a problem line that availability and ``harness published`` report."""
    env = os.environ if environ is None else environ
    sources: list[Source] = []
    problems: list[str] = []
    rates: dict[str, float] = {}
    specs = list(BUILTIN)
    for part in _split_dirs(env.get(ENV_PICO, "")):
        sources.append(Source(Path(part).expanduser(), "pico", ENV_PICO))
    for part in _split_dirs(env.get(ENV_DIRS, "")):
        codec, sep, folder = part.partition("=")
        if sep and codec and not os.path.exists(part):
            sources.append(Source(Path(folder).expanduser(), codec.strip(), ENV_DIRS))
        else:
            sources.append(Source(Path(part).expanduser(), None, ENV_DIRS))
    if env.get(ENV_CONFIG):
        config_files = [Path(env[ENV_CONFIG]).expanduser()]
        if not config_files[0].is_file():
            problems.append(f"{config_files[0]}: {ENV_CONFIG} names a file that does not exist")
            config_files = []
    else:
        config_files = sorted(DEFAULT_CONFIG_DIR.glob("*.toml")) if DEFAULT_CONFIG_DIR.is_dir() else []
    for config_path in config_files:
        r = TomlReader(config_path, ValueError)
        try:
            raw = r.read()
            r.check_keys(raw, {"codec", "source", "rate"})
            for table in r.tables(raw, "rate"):
                r.check_keys(table, {"file", "bpp"}, "rate.")
                bpp = float(r.get(table, "bpp", (int, float), "rate."))
                if not 0 < bpp <= MAX_PLAUSIBLE_BPP:
                    raise ValueError(f"{config_path}: [[rate]] bpp {bpp} is not a plausible rate")
                rates[Path(r.get(table, "file", str, "rate.")).name] = bpp
            for table in r.tables(raw, "codec"):
                r.check_keys(table, {"name", "tokens", "description"}, "codec.")
                name = r.get(table, "name", str, "codec.")
                if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*-published", name):
                    # The suffix keeps published data from ever passing for (or clashing with) an encoder.
                    problems.append(f"{config_path}: published codec name {name!r} must be lower-case and "
                                    "end in '-published'")
                    continue
                tokens = r.strings(table, "tokens", "codec.", ()) or (name,)
                specs.append(PublishedSpec(name, tuple(_norm(t) for t in tokens),
                                           r.get(table, "description", str, "codec.", "published reconstructions"),
                                           _UNKNOWN))
            for table in r.tables(raw, "source"):
                r.check_keys(table, {"path", "codec"}, "source.")
                where = Path(r.get(table, "path", str, "source.")).expanduser()
                if not where.is_absolute():
                    where = config_path.parent / where
                sources.append(Source(where, r.get(table, "codec", str, "source.", None), str(config_path)))
        except ValueError as exc:
            problems.append(str(exc))
    for source in sources:
        if not source.path.is_dir():
            problems.append(f"{source.path}: folder named by {source.origin} does not exist")
    return Config(tuple(sources), tuple(specs), tuple(problems), tuple(sorted(rates.items())))


# --- the index of reconstructions ---------------------------------------------------------------------

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


_RATE_RE = re.compile(
    r"^(?P<head>.*?)(?:[_\-]rate(?P<rate>\d+))?[_\-](?P<bpp>\d*\.?\d+)(?P<unit>bpp|bbp)?[_\-]?$",
    re.IGNORECASE,
)


class _Tokens:
    """Codec tokens, longest first, so ``DCVC_RT`` is read as dcvc-rt before ``dcvc`` is tried."""

    def __init__(self, specs: Iterable[PublishedSpec]) -> None:
        pairs: dict[str, str] = {}
        for spec in specs:
            pairs.setdefault(_norm(spec.name), spec.name)
            for token in spec.tokens:
                pairs.setdefault(_norm(token), spec.name)
        self.pairs = sorted(pairs.items(), key=lambda kv: -len(kv[0]))

    def codec_of(self, word: str) -> str | None:
        key = _norm(word)
        for token, name in self.pairs:
            if key == token:
                return name
        return None

    def split(self, head: str) -> tuple[str | None, str]:
        """``"kodim04_Splash"`` -> ("pico", "kodim04"); ``"DCVC_RT"`` -> ("dcvc-rt", "")."""
        key = _norm(head)
        for token, name in self.pairs:
            if key == token:
                return name, ""
            if key.endswith("_" + token):
                return name, head[: len(head) - len(token) - 1]
            if key.startswith(token + "_"):
                return name, head[len(token) + 1:]
        return None, head


def parse_rate_name(stem: str) -> tuple[str, str | None, str] | None:
    """``"Splash_rate20_0.173bpp"`` -> ("Splash", "rate20", "0.173"); None when the name states no rate."""
    match = _RATE_RE.match(stem)
    if not match or not match.group("head"):
        return None
    if not match.group("unit") and "." not in match.group("bpp"):
        return None  # "target_2xds", "photo_12": a number, not a rate
    rate = match.group("rate")
    return match.group("head"), (f"rate{rate}" if rate else None), match.group("bpp")


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES


def _inside(path: Path, folder: Path) -> bool:
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


def _read_viewer(path: Path, tokens: _Tokens, index: Index) -> None:
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
            codec = tokens.codec_of(key) or f"{_slug(key)}-published"
            try:
                bpp = float(stated)
            except (TypeError, ValueError):
                index.problems.append(f"{path}: {scene}/{key}: bpp {stated!r} is not a number")
                continue
            recon = _recon_file(folder, key)
            if not _inside(recon, path.parent):
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
    keys = {_norm(k) for k in rows[0]}
    if not all(any(alias in keys for alias in _MANIFEST_COLUMNS[c]) for c in ("image", "codec", "bpp", "path")):
        return None
    return rows


def _column(row: dict[str, Any], column: str) -> Any:
    normal = {_norm(str(k)): v for k, v in row.items()}
    for alias in _MANIFEST_COLUMNS[column]:
        if alias in normal and normal[alias] not in (None, ""):
            return normal[alias]
    return None


def _read_manifest(path: Path, rows: list[dict[str, Any]], tokens: _Tokens, index: Index) -> None:
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
        codec = tokens.codec_of(str(codec_name)) or f"{_slug(str(codec_name))}-published"
        label = _column(row, "label")
        recon = Path(str(file))
        if recon.is_absolute() or not _inside(path.parent / recon, path.parent):
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


def _read_source(source: Source, tokens: _Tokens, index: Index, rates: dict[str, float] | None = None) -> None:
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


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
                    by_content.setdefault(("sha", _file_digest(e.path)), []).append(e)
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
def _build_index(sources: tuple[Source, ...], specs: tuple[PublishedSpec, ...],
                 rates: tuple[tuple[str, float], ...] = ()) -> Index:
    tokens = _Tokens(specs)
    index = Index()
    corrected = dict(rates)
    for source in sources:
        if source.path.is_dir():
            _read_source(source, tokens, index, corrected)
    # A correction also wins over a viewer's or manifest's statement of the same file.
    index.entries = [replace(e, bpp=corrected[e.path.name], stated=repr(corrected[e.path.name]),
                             rate_label="corrected rate") if e.path.name in corrected else e for e in index.entries]
    _deduplicate(index)
    return index


def current_index() -> tuple[Config, Index]:
    config = load_config()
    return config, _build_index(config.sources, config.specs, config.rates)


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


def image_key_matches(key: str, image_name: str) -> bool:
    """A publisher's name for an image matches a dataset image's name when they are equal or the key is
    the name with dataset tags prepended (``kodak_kodim04`` ~ ``kodim04``); case and folders ignored."""
    key = key.replace("\\", "/").rsplit("/", 1)[-1].lower()
    name = image_name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return key == name or key.endswith("_" + name)


# --- the source ----------------------------------------------------------------------------------------

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

    def compress(self, image: SourceImage, point: float | None, keep_bitstream: bool = False) -> Outcome:
        entry = self._entry(image, point)
        if not entry.path.is_file():
            where = f" ({entry.listed_in} lists it at {entry.stated} bpp)" if entry.listed_in else ""
            raise CodecError(f"published reconstruction {entry.path} of {self.name} for image {image.name} "
                             f"does not exist{where}")
        try:
            recon = load_image(entry.path)
        except ImageError as exc:
            raise CodecError(str(exc)) from None
        if recon.pixels.shape != image.pixels.shape:
            rh, rw = recon.pixels.shape[:2]
            raise CodecError(f"published reconstruction {entry.path} is {rw}x{rh} but the original "
                             f"{image.name} is {image.width}x{image.height}")
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
            reconstruction=recon.pixels, file_bytes=None, payload_bytes=None, bpp=entry.bpp,
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
        if path.stem.lower() not in REFERENCE_STEMS or not _is_image(path):
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
    """The built-in published codecs (always listed, unavailable until configured), codecs declared in
    the TOML file, and one ``<name>-published`` codec per other name found in configured manifests/viewers."""
    config, index = current_index()
    specs = {spec.name: spec for spec in config.specs}
    for entry in index.entries:
        if entry.codec not in specs:
            specs[entry.codec] = PublishedSpec(entry.codec, (entry.codec,),
                                               f"published reconstructions ({entry.codec})", _UNKNOWN)
    return [_source_class(spec) for spec in specs.values()]
