"""The comparison site of a run: what it shows (planned from the results table) and the files it needs.

:func:`plan_site` reads a run's results and decides everything the site shows: per image, the original
and every successful row whose decoded pixels can be found, with that row's numbers; per file of the
site, how to make it. :func:`write_site` writes the pages and data, and (unless ``lazy``) every image
file; :func:`make_asset` makes one image file, which is what the local server does on first request.

Pixels are never re-compressed lossily. A row's pixels are those :func:`harness.run.reconstruct.reconstruction`
gives (the kept reconstruction PNG, the kept bitstream decoded again by the row's codec, or the published
file, checked against the digest the row recorded), written as PNG; a kept PNG or published file that is a
plain 8-bit RGB PNG without colour chunks (which browsers would colour-manage) is hard-linked (or copied
across filesystems) instead. Every image file is named by content (job key or sha256), so a second build
reuses what is there and an interrupted one resumes. Rows that kept nothing to show are listed as not
shown, with the reason.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

STATIC_FILES = ("display.js", "compare.js", "compare.css", "viewer.js", "viewer.css")
PAGE_FILES = ("index.html", "view.html")
THUMBNAIL_WIDTH = 320
# Columns of a row shown beside its side after bpp and its metrics (when the run has them).
ROW_NUMBERS = ("bpp_payload", "file_bytes", "target_bpp", "encode_seconds", "decode_seconds")
_COLOUR_CHUNKS = {b"iCCP", b"gAMA", b"cHRM", b"sRGB", b"tRNS", b"cICP"}


class ViewerError(ValueError):
    """The site cannot be made (no run, nothing to show); str() is one line."""


@dataclass(frozen=True)
class Asset:
    """One image file of the site and how to make it."""

    path: str  # relative to the site root, posix
    kind: str  # "original" | "thumbnail" | "reconstruction" | "difference"
    original: str  # the original image file (every kind needs it, or is it)
    run_dir: str | None = None  # for reconstructions and difference maps: the run and its row
    row: dict[str, Any] | None = field(default=None, compare=False, hash=False)


@dataclass
class SitePlan:
    run_dir: Path
    index: dict[str, Any]
    pages: dict[str, dict[str, Any]]  # image slug -> page data
    assets: dict[str, Asset] = field(default_factory=dict)  # site path -> asset
    not_shown: list[str] = field(default_factory=list)  # rows without pixels, with the reason

    def assets_of(self, slug: str) -> list[Asset]:
        """The image files of one image's page: its original and thumbnail first."""
        page = self.pages[slug]
        paths = [page["original"], page["thumb"], *[p for row in page["rows"] for p in (row["file"], row["diff"])]]
        return [self.assets[p] for p in paths]


# --- reading the run ------------------------------------------------------------------------------------

def _json_number(value: Any) -> Any:
    """A table value as JSON: NaN/None -> null, +-inf -> "inf"/"-inf" (JSON has no infinity)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    return value


def _text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def _slug(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "image"
    slug, n = base, 2
    while slug.lower() in taken:
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug.lower())
    return slug


def metric_columns(df: pd.DataFrame) -> list[str]:
    """Columns of the table that a registered metric produces, in table order."""
    from harness.metrics import column_info

    return [c for c in df.columns if column_info(str(c)) is not None]


def _params(row: dict[str, Any]) -> dict[str, Any]:
    try:
        params = json.loads(_text(row.get("params")) or "{}")
    except json.JSONDecodeError:
        return {}
    return params if isinstance(params, dict) else {}


def kept_file(run_dir: Path, row: dict[str, Any]) -> Path | None:
    """A file holding the row's decoded pixels as they are (its kept reconstruction PNG, or the published
    file it was measured on), if there is one."""
    kept = _text(row.get("reconstruction"))
    if kept and (run_dir / kept).is_file():
        return run_dir / kept
    source = _params(row).get("source_file") if _text(row.get("rate_source")) == "published" else None
    if source and Path(source).is_file():
        return Path(source)
    return None


def why_no_pixels(run_dir: Path, row: dict[str, Any]) -> str | None:
    """None when the run kept what a row's pixels are made from (a reconstruction, a bitstream, a published
    file), else why it did not. Nothing is decoded here."""
    if kept_file(run_dir, row) is not None:
        return None
    stream = _text(row.get("bitstream"))
    if stream:
        return None if (run_dir / stream).is_file() else f"kept bitstream {run_dir / stream} is missing"
    if _text(row.get("rate_source")) == "published":
        source = _params(row).get("source_file")
        return f"published file {source} is missing" if source else "the published row names no file"
    return "the run kept neither bitstream nor reconstruction (--no-keep-bitstreams)"


def match_reference(df: pd.DataFrame) -> str | None:
    """The codec a ``--match`` run matched the others to: the codec without targets whose (image, bpp)
    pairs are the targets of the others' rows; None for other runs."""
    if "target_bpp" not in df or df["target_bpp"].isna().all():
        return None
    targets = {(str(i), round(float(t), 9)) for i, t in zip(df["image"], df["target_bpp"]) if pd.notna(t)}
    best, hits = None, 0
    for codec, rows in df[df["target_bpp"].isna()].groupby("codec"):
        count = sum((str(i), round(float(b), 9)) in targets for i, b in zip(rows["image"], rows["bpp"]) if pd.notna(b))
        if count > hits:
            best, hits = str(codec), count
    return best


def plan_site(run_dir: str | Path, report_href: str | None = None) -> SitePlan:
    """Everything the site of ``run_dir`` shows, and how to make each of its image files."""
    from harness.analysis.tables import current_builds, latest_versions
    from harness.metrics import column_info
    from harness.run.rows import METRIC_ERROR_PREFIX
    from harness.run.store import read_results

    run_dir = Path(run_dir)
    try:
        df = current_builds(read_results(run_dir), latest_versions(run_dir))
    except FileNotFoundError as exc:
        raise ViewerError(str(exc)) from None
    failed: list[str] = []
    if "status" in df:
        for row in df[df["status"] != "ok"].to_dict("records"):
            failed.append(f"{row['image']} {row['codec']} {_json_number(row.get('point'))}: the codec failed "
                          f"({_text(row.get('error')) or 'no message'})")
        df = df[df["status"] == "ok"]
    metrics = metric_columns(df)
    numbers = ["bpp", *metrics, *[c for c in ROW_NUMBERS if c in df and df[c].notna().any()]]
    reference = match_reference(df)
    error_columns = [c for c in df.columns if str(c).startswith(METRIC_ERROR_PREFIX)]

    pages: dict[str, dict[str, Any]] = {}
    assets: dict[str, Asset] = {}
    not_shown: list[str] = failed
    taken: set[str] = set()
    images: list[dict[str, Any]] = []
    for (image, image_path), rows in df.groupby(["image", "image_path"], sort=True):
        original = Path(str(image_path))
        if not original.is_file():
            not_shown.append(f"{image}: original {original} is missing ({len(rows)} rows not shown)")
            continue
        slug = _slug(str(image), taken)
        sha = str(rows["image_sha256"].iloc[0])[:12]
        original_path = f"img/{slug}/original-{sha}.png"
        thumb_path = f"thumbs/{slug}-{sha}.png"
        assets[original_path] = Asset(original_path, "original", str(original))
        assets[thumb_path] = Asset(thumb_path, "thumbnail", str(original))
        shown = []
        for row in rows.to_dict("records"):
            why = why_no_pixels(run_dir, row)
            if why is not None:
                not_shown.append(f"{image} {row['codec']} {_json_number(row.get('point'))}: {why}")
                continue
            rid = str(row["job_key"])[:12]
            recon_path, diff_path = f"img/{slug}/{rid}.png", f"img/{slug}/{rid}.diff.png"
            assets[recon_path] = Asset(recon_path, "reconstruction", str(original), str(run_dir), row)
            assets[diff_path] = Asset(diff_path, "difference", str(original), str(run_dir), row)
            errors = {c[len(METRIC_ERROR_PREFIX):]: str(row[c]) for c in error_columns if _text(row.get(c))}
            shown.append({
                "id": rid, "codec": str(row["codec"]), "codec_name": _text(row.get("codec_name")),
                "knob": _text(row.get("knob")), "point": _json_number(row.get("point")),
                "bpp": _json_number(row.get("bpp")), "target_bpp": _json_number(row.get("target_bpp")),
                "rate_source": _text(row.get("rate_source")), "codec_version": _text(row.get("codec_version")),
                "file": recon_path, "diff": diff_path,
                "values": {c: _json_number(row.get(c)) for c in numbers}, "metric_errors": errors,
            })
        shown.sort(key=lambda r: (r["codec"], r["bpp"] if isinstance(r["bpp"], float) else math.inf))
        width, height = int(rows["width"].iloc[0]), int(rows["height"].iloc[0])
        pages[slug] = {"image": str(image), "slug": slug, "width": width, "height": height,
                       "original": original_path, "thumb": thumb_path, "rows": shown}
        images.append({"image": str(image), "slug": slug, "width": width, "height": height, "thumb": thumb_path,
                       "rows": len(shown), "codecs": sorted({r["codec"] for r in shown})})

    shown_rows = [r for page in pages.values() for r in page["rows"]]
    if not shown_rows:
        reasons = sorted({line.split(": ", 1)[-1] for line in not_shown}) or ["the run has no successful rows"]
        raise ViewerError(f"{run_dir}: no row has pixels to show ({'; '.join(reasons[:3])})")
    codecs = []
    for codec in sorted({r["codec"] for r in shown_rows}, key=lambda c: (c != reference, c)):
        mine = [r for r in shown_rows if r["codec"] == codec]
        bpps = [r["bpp"] for r in mine if isinstance(r["bpp"], float)]
        codecs.append({"codec": codec, "codec_name": mine[0]["codec_name"], "rate_source": mine[0]["rate_source"],
                       "rows": len(mine), "images": len({p for p, page in pages.items() if any(
                           r["codec"] == codec for r in page["rows"])}),
                       "bpp_min": min(bpps) if bpps else None, "bpp_max": max(bpps) if bpps else None})
    columns = []
    for name in numbers:
        info = column_info(name)
        columns.append({"column": name, "label": info.label if info else name,
                        "unit": info.unit if info else "",
                        "better": None if info is None else ("higher" if info.higher_is_better else "lower")})
    index = {"run": run_dir.resolve().name, "reference": reference, "codecs": codecs, "images": images,
             "numbers": columns, "not_shown": not_shown, "report": report_href}
    return SitePlan(run_dir, index, pages, assets, not_shown)


# --- writing --------------------------------------------------------------------------------------------

def _plain_png(path: Path) -> bool:
    """An 8-bit RGB PNG without colour-management chunks: browsers show its stored values as they are."""
    try:
        with path.open("rb") as handle:
            if handle.read(8) != b"\x89PNG\r\n\x1a\n":
                return False
            first = True
            while True:
                head = handle.read(8)
                if len(head) < 8:
                    return False
                length, kind = struct.unpack(">I4s", head)
                if first:
                    ihdr = handle.read(length)
                    if kind != b"IHDR" or len(ihdr) < 10 or ihdr[8] != 8 or ihdr[9] != 2:
                        return False
                    handle.seek(4, os.SEEK_CUR)
                    first = False
                    continue
                if kind in _COLOUR_CHUNKS:
                    return False
                if kind == b"IDAT":
                    return True  # colour chunks must come before the image data
                handle.seek(length + 4, os.SEEK_CUR)
    except OSError:
        return False


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _place_png(source: Path, target: Path, pixels: Callable[[], np.ndarray]) -> None:
    """``target`` holds the pixels of ``source`` as a plain PNG: a hard link or copy of a plain PNG,
    else ``pixels()`` encoded losslessly."""
    from harness.core.images import encode_png

    target.parent.mkdir(parents=True, exist_ok=True)
    if _plain_png(source):
        tmp = target.with_name(target.name + ".tmp")
        tmp.unlink(missing_ok=True)
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    else:
        _write_atomic(target, encode_png(pixels()))


def row_pixels(asset: Asset) -> np.ndarray:
    """A row's decoded pixels, checked against what its metrics were computed on."""
    from harness.run.reconstruct import reconstruction

    assert asset.run_dir is not None and asset.row is not None
    return reconstruction(asset.run_dir, asset.row)


def _pixels(path: str | Path) -> np.ndarray:
    from harness.core.images import load_image

    return load_image(path).pixels


def _original_pixels(path: str) -> np.ndarray:
    from harness.core.images import cached_load

    return cached_load(path).pixels


def difference_map(original: np.ndarray, reconstruction: np.ndarray) -> np.ndarray:
    """Per pixel, the largest absolute error over R, G and B (uint8 grey); the viewer amplifies and
    colours it."""
    if original.shape != reconstruction.shape:
        raise ViewerError(f"reconstruction is {reconstruction.shape[1]}x{reconstruction.shape[0]} but the "
                          f"original is {original.shape[1]}x{original.shape[0]}")
    error = np.maximum(original, reconstruction)
    error -= np.minimum(original, reconstruction)  # |a - b| in uint8, without a wider copy
    return error.max(axis=2)


def make_asset(asset: Asset, out_dir: Path, original: Callable[[], np.ndarray] | None = None) -> Path:
    """Write one image file of the site (nothing to do when it is already there). ``original`` returns
    the original's pixels (default: decoded through a small per-process cache)."""
    from PIL import Image

    from harness.core.images import encode_png

    target = out_dir / asset.path
    if target.is_file():
        return target
    get_original = original or (lambda: _original_pixels(asset.original))
    if asset.kind == "original":
        _place_png(Path(asset.original), target, get_original)
    elif asset.kind == "reconstruction":
        assert asset.run_dir is not None and asset.row is not None
        kept = kept_file(Path(asset.run_dir), asset.row)
        if kept is not None:
            _place_png(kept, target, lambda: row_pixels(asset))
        else:
            _write_atomic(target, encode_png(row_pixels(asset)))
    elif asset.kind == "difference":
        diff = difference_map(get_original(), row_pixels(asset))
        # The fastest zlib level: 2.5x faster than level 6 for about 10% more bytes on these maps.
        _write_atomic(target, encode_png(diff, compress_level=1))
    elif asset.kind == "thumbnail":
        image = Image.fromarray(get_original())
        image.thumbnail((THUMBNAIL_WIDTH, THUMBNAIL_WIDTH), Image.Resampling.LANCZOS, reducing_gap=3.0)
        _write_atomic(target, encode_png(np.asarray(image), compress_level=6))
    else:
        raise ViewerError(f"unknown asset kind {asset.kind!r}")
    return target


def _make_assets(assets: list[Asset], out_dir: str) -> list[str]:
    """The files of one image (its original decoded at most once for all of them); errors as lines."""
    errors = []
    decoded: list[np.ndarray] = []

    def original() -> np.ndarray:
        if not decoded:
            decoded.append(_pixels(assets[0].original))
        return decoded[0]

    for asset in assets:
        try:
            make_asset(asset, Path(out_dir), original)
        except Exception as exc:  # noqa: BLE001 - any failure is reported per file; the site goes on
            errors.append(f"{asset.path}: {type(exc).__name__}: {' '.join(str(exc).split())}")
    return errors


def _data_script(variable: str, key: str | None, data: dict[str, Any]) -> str:
    # Loaded with <script src>, which works from file:// where fetch() of a JSON file does not.
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False)
    if key is None:
        return f"window.{variable} = {payload};\n"
    return (f"window.{variable} = window.{variable} || {{}};\n"
            f"window.{variable}[{json.dumps(key)}] = {payload};\n")


def write_pages(plan: SitePlan, out_dir: Path) -> list[Path]:
    """The HTML pages, the scripts and styles, and the data of every image."""
    package = resources.files("harness.render.viewer")
    written = []
    for name in STATIC_FILES:
        target = out_dir / "static" / name
        _write_atomic(target, package.joinpath("static", name).read_bytes())
        written.append(target)
    for name in PAGE_FILES:
        target = out_dir / name
        _write_atomic(target, package.joinpath("pages", name).read_bytes())
        written.append(target)
    target = out_dir / "data" / "index.js"
    _write_atomic(target, _data_script("HARNESS_VIEWER_INDEX", None, plan.index).encode())
    written.append(target)
    for slug, page in plan.pages.items():
        target = out_dir / "data" / "images" / f"{slug}.js"
        _write_atomic(target, _data_script("HARNESS_VIEWER_PAGES", slug, page).encode())
        written.append(target)
    return written


@dataclass
class BuildResult:
    out_dir: Path
    files: int
    bytes: int
    errors: list[str]
    plan: SitePlan


def site_size(out_dir: Path) -> tuple[int, int]:
    """(files, bytes) under ``out_dir``; hard-linked files count in full."""
    files = size = 0
    for path in out_dir.rglob("*"):
        if path.is_file():
            files += 1
            size += path.stat().st_size
    return files, size


def write_site(run_dir: str | Path, out_dir: str | Path | None = None, *, jobs: int = 1, lazy: bool = False,
               images: Iterable[str] | None = None) -> BuildResult:
    """Write the comparison site of a run to ``out_dir`` (default ``RUN/viewer``). ``lazy`` writes the
    pages and data only: the image files are then made on request (:mod:`harness.render.viewer.server`).
    ``images`` limits the image files made to those images (names)."""
    run_dir = Path(run_dir)
    out = Path(out_dir) if out_dir is not None else run_dir / "viewer"
    report = run_dir / "report" / "report.html"
    href = os.path.relpath(report, out).replace(os.sep, "/") if report.is_file() else None
    plan = plan_site(run_dir, report_href=href)
    out.mkdir(parents=True, exist_ok=True)
    write_pages(plan, out)
    errors: list[str] = []
    if not lazy:
        wanted = set(images) if images is not None else None
        groups = [plan.assets_of(slug) for slug, page in plan.pages.items()
                  if wanted is None or page["image"] in wanted]
        if jobs > 1 and len(groups) > 1:
            from joblib import Parallel, delayed

            results = Parallel(n_jobs=jobs)(delayed(_make_assets)(g, str(out)) for g in groups)
        else:
            results = [_make_assets(g, str(out)) for g in groups]
        errors = [line for group in results for line in group]
    files, size = site_size(out)
    return BuildResult(out, files, size, errors, plan)
