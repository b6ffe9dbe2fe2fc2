"""Rendering of a report's tables: Markdown (tabulate), CSV, a standalone HTML page and a rich terminal
table. The values come typed from :mod:`harness.analysis.comparison` (:class:`~harness.analysis.comparison.BDGrid`,
:class:`~harness.analysis.comparison.MatchedGrid`, the summary DataFrame); text is made here and never read back.
:func:`report_run` computes, writes and prints the report of a run directory.
"""

from __future__ import annotations

import base64
import html
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from harness.analysis import bdrate
from harness.analysis.comparison import (
    BDGrid,
    Report,
    bd_grid,
    make_report,
    matched_grid,
)
from harness.analysis.selection import ReportError, load_run, run_name, run_quality_targets
from harness.render.cells import (
    bd_class,
    bd_heading,
    bd_text,
    bd_wide,
    diagnostics,
    legend_lines,
    matched_heading,
    matched_text,
    matched_wide,
    pareto_line,
    summary_cells,
    summary_display,
)
from harness.render.headlines import equal_rate_markdown, headlines, markdown_html

# --- Markdown -------------------------------------------------------------------------------------------

def _md(frame: pd.DataFrame) -> str:
    # Numbers read best right-aligned even when formatted as text; the codec column stays left.
    return frame.to_markdown(colalign=("left",) + ("right",) * len(frame.columns))


def has_values(grid: BDGrid) -> bool:
    """Whether a BD table has at least one value (a table entirely n/a is not shown)."""
    return any(cell.value is not None and not cell.is_anchor for row in grid.cells for cell in row)


def _no_bd_line(report: Report) -> str:
    if report.equal_rate is not None:
        return (f"No BD table: {report.anchor} has one point per image, and BD-rate needs a curve. The comparison "
                "above is at the anchor's own rates instead.")
    return "No BD value could be computed (see the diagnostics)."


def to_markdown(report: Report) -> str:
    parts = [f"# Codec comparison: {report.run}", "", *headlines(report),
             *[f"- {line}" for line in legend_lines(report)], ""]
    if report.equal_rate is not None:
        parts += [f"## At {report.anchor}'s rates", "", equal_rate_markdown(report.anchor, report.equal_rate), ""]
    grids = [(kind, bd_grid(report, kind)) for kind in ("rate", "quality")]
    if not any(has_values(grid) for _, grid in grids):
        parts += [_no_bd_line(report), ""]
    for kind, grid in grids:
        if has_values(grid):
            parts += [f"## BD-{kind} against {report.anchor}", "", _md(bd_wide(report, kind)), ""]
    matched = matched_wide(report)
    if not matched.empty and matched.notna().any().any():
        parts += [f"## Matched quality: rate ratio to {report.anchor}", "", _md(matched), ""]
    diag = diagnostics(report)
    front = pareto_line(report)
    parts += ["## Codecs", "", summary_display(report).to_markdown(), "", *([front, ""] if front else []),
              f"<details><summary>Diagnostics ({len(diag)} BD computations)</summary>", "",
              diag.to_markdown(index=False, floatfmt=".4g"), "", "</details>", ""]
    return "\n".join(parts)


# --- HTML -----------------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:2em auto;max-width:72em;
color:#222;line-height:1.4}
table{border-collapse:collapse;margin:0.5em 0 1.5em;font-size:0.92em}
th,td{border:1px solid #ccc;padding:0.25em 0.6em;text-align:right}
th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}
.better{color:#0072B2;font-weight:600}.worse{color:#D55E00}.na{color:#888}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}
"""


def _html_bd_table(grid: BDGrid, viewer: str | None = None, anchor: str = "") -> str:
    """A BD table whose cells are coloured by whether the codec beats the anchor; with ``viewer`` (the
    href of a ``harness view`` site), each codec links to its comparison with the anchor at equal rate."""
    headings = ["codec", *[bd_heading(axis, grid.kind) for axis in grid.metrics]]
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headings)
    body = []
    for codec, row in zip(grid.codecs, grid.cells):
        name = html.escape(codec)
        if viewer:
            href = f"{viewer}/view.html#a={quote(codec, safe='')}&b={quote(anchor, safe='')}"
            name = f'<a href="{html.escape(href)}" title="look at {name} against the anchor">{name}</a>'
        cells = [f"<th>{name}</th>"]
        for cell in row:
            css = bd_class(cell)
            text = html.escape(bd_text(cell, grid.kind))
            cells.append(f'<td class="{css}">{text}</td>' if css else f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _viewer_check(viewer: str) -> str:
    """A script that keeps the viewer links only if the viewer's data load (from file:// too)."""
    src = json.dumps(f"{viewer}/data/links.js")
    return ("<script>(function(){var s=document.createElement('script');s.src=" + src.replace("</", "<\\/")
            + ";s.onerror=function(){document.querySelectorAll('a[href*=\"view.html\"],.viewer-note a')"
            ".forEach(function(a){a.removeAttribute('href');});"
            "document.querySelectorAll('.viewer-note').forEach(function(n){n.textContent="
            "'harness view RUN makes a comparison viewer of the reconstructions, linked from these tables';});};"
            "document.head.appendChild(s);})();</script>")


def to_html(report: Report, figures: Sequence[Path] = (), viewer: str | None = None) -> str:
    """A standalone page: tables inline, figures embedded as PNG data; codecs link to the run's
    comparison viewer when ``viewer`` (its href relative to the page) is given."""
    def table(frame: pd.DataFrame) -> str:
        return frame.to_html(escape=True, border=0, na_rep="n/a")

    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>Codec comparison: {html.escape(report.run)}</title><style>{_CSS}</style></head><body>",
             f"<h1>Codec comparison: {html.escape(report.run)}</h1>",
             markdown_html("\n".join(headlines(report))), "<ul>",
             *[f"<li>{html.escape(line)}</li>" for line in legend_lines(report)],
             (f'<li class="viewer-note"><a href="{html.escape(viewer)}/index.html">Look at the reconstructions</a>: '
              "every codec name below opens its comparison with the anchor at equal rate</li>" + _viewer_check(viewer)
              if viewer else
              "<li>`harness view RUN` makes a comparison viewer of the reconstructions, linked from these tables"
              "</li>"), "</ul>",
             ]
    if report.equal_rate is not None:
        parts += [f"<h2>At {html.escape(report.anchor)}'s rates</h2>",
                  markdown_html(equal_rate_markdown(report.anchor, report.equal_rate))]
    grids = [(kind, bd_grid(report, kind)) for kind in ("rate", "quality")]
    if not any(has_values(grid) for _, grid in grids):
        parts.append(f"<p>{html.escape(_no_bd_line(report))}</p>")
    for kind, grid in grids:
        if has_values(grid):
            parts += [f"<h2>BD-{kind} against {html.escape(report.anchor)}</h2>",
                      _html_bd_table(grid, viewer, report.anchor)]
    matched = matched_wide(report)
    if not matched.empty and matched.notna().any().any():
        parts += [f"<h2>Matched quality: rate ratio to {html.escape(report.anchor)}</h2>", table(matched)]
    parts += ["<h2>Codecs</h2>", table(summary_display(report))]
    for path in figures:
        if Path(path).suffix.lower() == ".png" and Path(path).exists():
            data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
            parts.append(f'<figure><img alt="{html.escape(Path(path).stem)}" src="data:image/png;base64,{data}">'
                         f"<figcaption>{html.escape(Path(path).name)}</figcaption></figure>")
    diag = diagnostics(report)
    parts += [f"<details><summary>Diagnostics ({len(diag)} BD computations)</summary>",
              diag.to_html(index=False, border=0, na_rep="n/a", float_format=lambda v: f"{v:.4g}"),
              "</details>", "</body></html>"]
    return "\n".join(parts)


# --- terminal -------------------------------------------------------------------------------------------

_RICH_STYLES = {"better": "green", "worse": "red", "na": "dim", "": ""}


def to_rich(report: Report) -> Any:
    """A rich renderable: BD-rate, BD-quality, matched quality and codec tables."""
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    def table(title: str, index_name: str, headings: Sequence[str],
              rows: Sequence[tuple[str, Sequence[tuple[str, str]]]]) -> Table:
        """rows: (label, [(text, style class)]) with classes as in the HTML page."""
        # Headers such as "encode [s/MP]" would read as rich markup; Text keeps them literal.
        t = Table(title=Text(title), title_justify="left", header_style="bold", min_width=len(title) + 2,
                  box=box.SIMPLE_HEAD)
        t.add_column(Text(index_name), justify="left", no_wrap=True)
        for j, heading in enumerate(headings):
            # Values keep their line (headers may wrap): a number split over two lines misreads.
            width = max([len(cells[j][0]) for _, cells in rows] + [1])
            t.add_column(Text(heading), justify="right", min_width=width)
        for label, cells in rows:
            t.add_row(Text(label), *[Text(text, style=_RICH_STYLES[css]) for text, css in cells])
        return t

    def bd_table(grid: BDGrid, title: str) -> Table:
        return table(title, "codec", [bd_heading(axis, grid.kind) for axis in grid.metrics],
                     [(codec, [(bd_text(cell, grid.kind), bd_class(cell)) for cell in row])
                      for codec, row in zip(grid.codecs, grid.cells)])

    from rich.markdown import Markdown

    items: list[Any] = [Markdown("\n".join(headlines(report)))] if headlines(report) else []
    if report.equal_rate is not None:
        items.append(Markdown(f"**At {report.anchor}'s rates.** "
                              + equal_rate_markdown(report.anchor, report.equal_rate)))
    grids = {kind: bd_grid(report, kind) for kind in ("rate", "quality")}
    if not any(has_values(g) for g in grids.values()):
        items.append(Text(_no_bd_line(report)))
    if has_values(grids["rate"]):
        items.append(bd_table(grids["rate"], f"BD-rate vs {report.anchor} ({report.method}, {report.pooling})"))
    if has_values(grids["quality"]):
        items.append(bd_table(grids["quality"], f"BD-quality vs {report.anchor}"))
    matched = matched_grid(report)
    if matched.rows:
        items.append(table(f"Matched quality: geometric-mean {report.rate_column} ratio to {report.anchor} (images)",
                           "quality", matched.codecs,
                           [(matched_heading(row.axis, row.target),
                             [(matched_text(c), "na" if c.ratio is None else "") for c in row.cells])
                            for row in matched.rows]))
    # Versions are long; in a terminal they go below the table instead of squeezing it.
    headings, rows = summary_cells(report)
    items.append(table("Codecs", "codec", headings[:-1], [(codec, cells[:-1]) for codec, cells in rows]))
    items += [Text(f"{codec}: {cells[-1][0]}", style="dim") for codec, cells in rows]
    missing = pd.concat([report.bd_rate, report.bd_quality])
    missing = missing[missing["reason"].astype(str) != ""]
    if report.equal_rate is None:  # with one anchor point per image every BD value is missing for one reason
        for _, row in missing.iterrows():
            items.append(Text(f"{row['codec']} {row['metric']} BD-{row['kind']}: {row['reason']}", style="dim"))
    items += [Text(line, style="dim") for line in legend_lines(report)]
    return Group(*items)


# --- files ----------------------------------------------------------------------------------------------

def write_report(report: Report, out_dir: str | Path, formats: Sequence[str] = ("md", "csv", "html"),
                 figures: Sequence[Path] = (), viewer: str | Path | None = None) -> dict[str, Path]:
    """Write the report files; returns name -> path. ``viewer``: the folder of the run's comparison
    site (``harness view``), linked from the HTML tables when it exists."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for fmt in formats:
        if fmt == "md":
            files["md"] = out / "report.md"
            files["md"].write_text(to_markdown(report))
        elif fmt == "csv":
            tables = {"bd": pd.concat([report.bd_rate, report.bd_quality], ignore_index=True),
                      "bd_per_image": report.bd_per_image, "matched": report.matched,
                      "matched_per_image": report.matched_per_image, "summary": report.summary}
            for name, frame in tables.items():
                files[f"csv:{name}"] = out / f"{name}.csv"
                frame.to_csv(files[f"csv:{name}"], index=False)
        elif fmt == "html":
            files["html"] = out / "report.html"
            href = None
            if viewer is not None:
                # Linked whatever the order: the page checks at load time that the viewer is there (and
                # unlinks the names if not); a viewer that is there is told where this report is.
                from harness.render.viewer.site import link_report

                href = Path(os.path.relpath(Path(viewer).resolve(), out.resolve())).as_posix()
                link_report(Path(viewer), files["html"])
            files["html"].write_text(to_html(report, figures, href))
        else:
            raise ReportError(f"unknown report format {fmt!r} (known: md, csv, html)")
    report.files.update(files)
    return files


def report_run(run_dir: str | Path, anchor: str, metrics: Sequence[str] | None = None, *, method: str = "pchip",
               pooling: str = "per-image", rate_column: str = "bpp",
               min_overlap: float = bdrate.DEFAULT_MIN_OVERLAP, out_dir: str | Path | None = None,
               formats: Sequence[str] = ("md", "csv", "html"), console: Any = None,
               targets: dict[str, Sequence[float]] | None = None, figures: Sequence[Path] | None = None) -> Report:
    """Make the report of a run, write it (default: ``RUN/report/``) and print it to ``console`` if given.

    Figures already in ``RUN/figures/`` (from :func:`harness.render.figures.plot_run`) are embedded in the HTML.
    """
    df = load_run(run_dir)
    base = Path(run_dir).parent if Path(run_dir).is_file() else Path(run_dir)
    report = make_report(df, anchor, metrics, run=run_name(run_dir), method=method, pooling=pooling,
                         rate_column=rate_column, min_overlap=min_overlap, targets=targets,
                         quality_targets=run_quality_targets(base))
    if figures is None:
        figures = sorted((base / "figures").glob("*.png")) if (base / "figures").is_dir() else []
    write_report(report, Path(out_dir) if out_dir else base / "report", formats, figures, viewer=base / "viewer")
    if console is not None:
        console.print(to_rich(report))
    return report
