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
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from harness.render.page import Page
from harness.render.viewer.assets import MAP_KINDS, Asset, make_assets, map_colours
from harness.render.viewer.assets import write_atomic as _write_atomic
from harness.render.viewer.rundata import (
    ViewerError,
    json_number,
    make_slug,
    match_reference,
    metric_columns,
    run_tolerance,
    text,
    why_no_pixels,
)
from harness.run.rows import file_path

STATIC_FILES = ("dom.js", "display.js", "chart.js", "pairs.js", "compare.js", "compare.css", "viewer.js", "viewer.css")
_ICON = '<link rel="icon" href="data:,">\n'
_DATA = ("static/dom.js", "data/index.js", "data/links.js")
# The site's pages: their bodies are pages/NAME, the rest is the shell of harness.render.page.
PAGES = {
    "index.html": Page("Reconstructions", ("static/viewer.css",), (*_DATA, "static/viewer.js"),
                       'data-page="index" class="index"', _ICON),
    "view.html": Page("Comparison", ("static/compare.css", "static/viewer.css"),
                      ("static/display.js", "static/chart.js", "static/compare.js", *_DATA, "static/viewer.js"),
                      'data-page="view"', _ICON),
    "pairs.html": Page("Matched pairs", ("static/viewer.css",), (*_DATA, "static/pairs.js"),
                       'data-page="pairs" class="index"', _ICON),
}
# Columns of a row shown beside its side after bpp and its metrics (when the run has them).
ROW_NUMBERS = ("bpp_payload", "file_bytes", "target_bpp", "encode_seconds", "decode_seconds")

@dataclass
class SitePlan:
    run_dir: Path
    index: dict[str, Any]
    pages: dict[str, dict[str, Any]]  # image slug -> page data
    assets: dict[str, Asset] = field(default_factory=dict)  # site path -> asset
    not_shown: list[str] = field(default_factory=list)  # rows without pixels, with the reason

    def assets_of(self, slug: str, detail: bool = False) -> list[Asset]:
        """The image files of one image's page: its original and thumbnail first; the detail maps (seconds
        each) only with ``detail``."""
        page = self.pages[slug]
        paths = [page["original"], page["thumb"], *[p for row in page["rows"] for p in (row["file"], row["diff"])]]
        if detail:
            paths += [p for row in page["rows"] for p in row["maps"].values()]
        return [self.assets[p] for p in paths]


def plan_site(run_dir: str | Path, report_href: str | None = None) -> SitePlan:
    """Everything the site of ``run_dir`` shows, and how to make each of its image files."""
    from harness.analysis.selection import current_builds, latest_versions
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
            failed.append(f"{row['image']} {row['codec']} {json_number(row.get('point'))}: the codec failed "
                          f"({text(row.get('error')) or 'no message'})")
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
        original = file_path(str(image_path))  # a name that is not UTF-8 is escaped in the table
        if not original.is_file():
            not_shown.append(f"{image}: original {original} is missing ({len(rows)} rows not shown)")
            continue
        slug = make_slug(str(image), taken)
        sha = str(rows["image_sha256"].iloc[0])[:12]
        original_path = f"img/{slug}/original-{sha}.png"
        thumb_path = f"thumbs/{slug}-{sha}.png"
        assets[original_path] = Asset(original_path, "original", str(original))
        assets[thumb_path] = Asset(thumb_path, "thumbnail", str(original))
        shown = []
        for row in rows.to_dict("records"):
            why = why_no_pixels(run_dir, row)
            if why is not None:
                not_shown.append(f"{image} {row['codec']} {json_number(row.get('point'))}: {why}")
                continue
            rid = str(row["job_key"])[:12]
            recon_path, diff_path = f"img/{slug}/{rid}.png", f"img/{slug}/{rid}.diff.png"
            assets[recon_path] = Asset(recon_path, "reconstruction", str(original), str(run_dir), row)
            assets[diff_path] = Asset(diff_path, "difference", str(original), str(run_dir), row)
            maps = {kind: f"img/{slug}/{rid}.{kind}.png" for kind in MAP_KINDS}
            for kind, path in maps.items():
                assets[path] = Asset(path, kind, str(original), str(run_dir), row)
            errors = {c[len(METRIC_ERROR_PREFIX):]: str(row[c]) for c in error_columns if text(row.get(c))}
            shown.append({
                "id": rid, "codec": str(row["codec"]), "codec_name": text(row.get("codec_name")),
                "knob": text(row.get("knob")), "point": json_number(row.get("point")),
                "bpp": json_number(row.get("bpp")), "target_bpp": json_number(row.get("target_bpp")),
                "rate_source": text(row.get("rate_source")), "codec_version": text(row.get("codec_version")),
                "file": recon_path, "diff": diff_path, "maps": maps,
                "values": {c: json_number(row.get(c)) for c in numbers}, "metric_errors": errors,
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
    from harness.render.viewer.curves import mean_curves

    index = {"map_colours": map_colours().tolist(), "detail_maps": False, "mean_curves": mean_curves(pages, numbers, reference), "run": run_dir.resolve().name, "reference": reference, "tolerance": run_tolerance(run_dir), "codecs": codecs, "images": images,
             "numbers": columns, "not_shown": not_shown, "report": report_href}
    return SitePlan(run_dir, index, pages, assets, not_shown)


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
    for name, shell in PAGES.items():
        target = out_dir / name
        _write_atomic(target, shell.fill(package.joinpath("pages", name).read_text(encoding="utf-8")).encode())
        written.append(target)
    write_links(out_dir, plan.index.get("report"))
    target = out_dir / "data" / "index.js"
    _write_atomic(target, _data_script("HARNESS_VIEWER_INDEX", None, plan.index).encode())
    written.append(target)
    for slug, page in plan.pages.items():
        target = out_dir / "data" / "images" / f"{slug}.js"
        _write_atomic(target, _data_script("HARNESS_VIEWER_PAGES", slug, page).encode())
        written.append(target)
    return written


def write_links(out_dir: Path, report_href: str | None) -> Path:
    """``data/links.js``: where the run's report is, relative to the site (null: none). The viewer writes
    it when it is built, ``harness report`` again when it writes a report next to it, so each finds the
    other whatever the order they were made in."""
    target = Path(out_dir) / "data" / "links.js"
    _write_atomic(target, _data_script("HARNESS_VIEWER_LINKS", None, {"report": report_href}).encode())
    return target


def link_report(site: Path, report_html: Path) -> Path | None:
    """Point the site at ``site`` (if there is one) to the report page ``report_html``."""
    if not (Path(site) / "view.html").is_file():
        return None
    href = os.path.relpath(Path(report_html).resolve(), Path(site).resolve()).replace(os.sep, "/")
    return write_links(Path(site), href)


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
               images: Iterable[str] | None = None, detail_maps: bool = False) -> BuildResult:
    """Write the comparison site of a run to ``out_dir`` (default ``RUN/viewer``). ``lazy`` writes the
    pages and data only: the image files are then made on request (:mod:`harness.render.viewer.server`).
    ``images`` limits the image files made to those images (names). ``detail_maps`` also makes every
    row's invented- and lost-detail maps (seconds per reconstruction; served, they are made on request)."""
    run_dir = Path(run_dir)
    out = Path(out_dir) if out_dir is not None else run_dir / "viewer"
    report = run_dir / "report" / "report.html"
    href = os.path.relpath(report, out).replace(os.sep, "/") if report.is_file() else None
    plan = plan_site(run_dir, report_href=href)
    plan.index["detail_maps"] = bool(detail_maps or lazy)
    out.mkdir(parents=True, exist_ok=True)
    write_pages(plan, out)
    errors: list[str] = []
    if not lazy:
        wanted = set(images) if images is not None else None
        groups = [plan.assets_of(slug, detail_maps) for slug, page in plan.pages.items()
                  if wanted is None or page["image"] in wanted]
        if jobs > 1 and len(groups) > 1:
            from joblib import Parallel, delayed

            results = Parallel(n_jobs=jobs)(delayed(make_assets)(g, str(out)) for g in groups)
        else:
            results = [make_assets(g, str(out)) for g in groups]
        errors = [line for group in results for line in group]
    files, size = site_size(out)
    return BuildResult(out, files, size, errors, plan)
