"""Report tables and figures on a real small run (Kodak crops through the runner)."""

from __future__ import annotations

import warnings

import bjontegaard
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image
from rich.console import Console

from harness.analysis import bdrate, comparison, selection, tables
from harness.render import cells, figures, plots, report
from tests.runs import make_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("report"), codecs=("jpeg", "jpeg-444"))


@pytest.fixture(scope="module")
def results(run_dir) -> pd.DataFrame:
    return selection.load_run(run_dir)


def fau_per_image(df: pd.DataFrame, anchor: str, test: str, method: str) -> dict[str, float]:
    """FAU's package on the same per-image curves (sorted by rate, as it expects)."""
    out = {}
    for image, g in df[df["status"] == "ok"].groupby("image"):
        a = g[g["codec"] == anchor].sort_values("bpp")
        t = g[g["codec"] == test].sort_values("bpp")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out[image] = float(bjontegaard.bd_rate(a["bpp"].to_numpy(), a["psnr_rgb"].to_numpy(), t["bpp"].to_numpy(),
                                                   t["psnr_rgb"].to_numpy(), method=method,
                                                   require_matching_points=False))
    return out


@pytest.mark.parametrize("method", bdrate.METHODS)
def test_bd_rate_equals_fau_on_a_real_run(results, method):
    per_image = tables.bd_per_image(results, "jpeg", ["psnr_rgb"], method=method)
    expected = fau_per_image(results, "jpeg", "jpeg-444", method)
    got = per_image.set_index("image")["value"].astype(float).to_dict()
    assert set(got) == set(expected) == {"kodim13", "kodim23"}
    for image, value in expected.items():
        assert abs(got[image] - value) < 1e-6
    table = tables.bd_table(results, "jpeg", ["psnr_rgb"], method=method)
    assert table["value"].iloc[0] == pytest.approx(np.mean(list(expected.values())), abs=1e-9)


def test_report_values_are_consistent_and_sane(results):
    rep = comparison.make_report(results, "jpeg", ["psnr_rgb"], run="small")
    rate = rep.value("jpeg-444", "psnr_rgb")
    quality = rep.value("jpeg-444", "psnr_rgb", "quality")
    # Measured on these crops: 4:4:4 JPEG spends more bits than 4:2:0 for the same RGB PSNR (chroma at full
    # resolution costs more than it gains in this quality range), so both BD measures say "worse".
    assert 2 < rate < 40 and quality < 0
    # The anchor against itself is exactly zero, whichever codec is the anchor.
    reverse = comparison.make_report(results, "jpeg-444", ["psnr_rgb"]).value("jpeg", "psnr_rgb")
    assert reverse < 0
    # Matched quality tells the same story: every geometric-mean size ratio of jpeg-444 to jpeg exceeds 1.
    matched = rep.matched[(rep.matched["codec"] == "jpeg-444") & (rep.matched["metric"] == "psnr_rgb")]
    assert len(matched) == 5 and (matched["geomean_ratio"] > 1).all() and (matched["n_images"] >= 1).all()
    assert (matched["n_images"] == 2).sum() >= 3
    # Pooled BD (dataset-mean curves) agrees in sign and roughly in size.
    pooled = comparison.make_report(results, "jpeg", ["psnr_rgb"], pooling="pooled").value("jpeg-444", "psnr_rgb")
    assert pooled > 0 and abs(pooled - rate) < 10
    summary = rep.summary.set_index("codec")
    assert list(summary.index) == ["jpeg", "jpeg-444"]
    assert (summary["failed"] == 0).all() and (summary["images"] == 2).all() and (summary["points"] == 7).all()
    assert (summary["bpp_min"] < summary["bpp_max"]).all() and (summary["encode_s_per_mp"] > 0).all()


def test_failed_rows_and_infinite_psnr_are_left_out_with_a_note(results):
    base = comparison.make_report(results, "jpeg", ["psnr_rgb"]).value("jpeg-444", "psnr_rgb")
    row = results[results["codec"] == "jpeg-444"].iloc[[0]].copy()
    failed = row.assign(status="failed", error="codec crashed", bpp=np.nan, psnr_rgb=np.nan, job_key="x1")
    lossless = row.assign(bpp=9.0, psnr_rgb=np.inf, job_key="x2")  # an identical decode: PSNR = inf
    no_metric = row.assign(bpp=8.0, psnr_rgb=np.nan, error_psnr="weights missing", job_key="x3")
    extended = pd.concat([results, failed, lossless, no_metric], ignore_index=True)
    rep = comparison.make_report(extended, "jpeg", ["psnr_rgb"])
    assert rep.value("jpeg-444", "psnr_rgb") == pytest.approx(base, abs=1e-12)
    note = next(note for note in rep.notes if note.startswith("psnr_rgb:"))
    assert f"3 of {len(extended)} rows have no usable value" in note
    assert 'codec failed 1 (jpeg-444 1): "codec crashed"' in note
    assert 'metric failed 1 (jpeg-444 1): "weights missing"' in note and "not finite 1 (jpeg-444 1)" in note
    assert rep.summary.set_index("codec").loc["jpeg-444", "failed"] == 1


def test_insufficient_overlap_is_reported_missing(results):
    rep = comparison.make_report(results, "jpeg", ["psnr_rgb"], min_overlap=0.999)
    assert rep.value("jpeg-444", "psnr_rgb") is None
    row = rep.bd_rate.iloc[0]
    assert row["n_valid"] == 0 and "overlap" in row["reason"]
    assert "n/a" in cells.bd_wide(rep).loc["jpeg-444"].iloc[0]
    assert "overlap" in report.to_markdown(rep)


def test_bad_anchor_and_metric_are_one_line_errors(results):
    with pytest.raises(selection.ReportError, match="anchor 'vvc' is not in the run \\(codecs: jpeg, jpeg-444\\)"):
        comparison.make_report(results, "vvc")
    with pytest.raises(selection.ReportError, match="no metric column 'lpips_alex'"):
        comparison.make_report(results, "jpeg", ["lpips_alex"])


def test_report_run_writes_every_format(run_dir, tmp_path):
    console = Console(record=True, width=140)
    rep = report.report_run(run_dir, "jpeg", ["psnr_rgb"], out_dir=tmp_path / "rep", console=console)
    text = console.export_text()
    assert "BD-rate vs jpeg" in text and "jpeg-444" in text and "encode [MP/s]" in text
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "| jpeg-444 |" in md and f"{rep.value('jpeg-444', 'psnr_rgb'):+.2f} %" in md
    page = (tmp_path / "rep" / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<table" in page and "http" not in page.split("<body>")[1]
    bd = pd.read_csv(tmp_path / "rep" / "bd.csv")
    assert set(bd["kind"]) == {"rate", "quality"} and set(bd["pooling"]) == {"per-image"}
    assert len(pd.read_csv(tmp_path / "rep" / "bd_per_image.csv")) == 2
    assert len(pd.read_csv(tmp_path / "rep" / "matched_per_image.csv")) == 2 * 2 * 5


def test_plots_exist_with_stable_styles(run_dir, tmp_path):
    files = figures.plot_run(run_dir, ["psnr_rgb"], per_image=True, formats=("png", "pdf", "svg"),
                           out_dir=tmp_path / "fig")
    names = {p.name for p in files}
    for stem in ("rd_psnr_rgb", "rd_psnr_rgb_per_image", "bdrate", "time_vs_bdrate_psnr_rgb"):
        assert {f"{stem}.png", f"{stem}.pdf", f"{stem}.svg"} <= names
    for path in files:
        assert path.stat().st_size > 2000
    with Image.open(tmp_path / "fig" / "rd_psnr_rgb.png") as image:
        assert image.width > 800 and image.height > 500
    assert (tmp_path / "fig" / "rd_psnr_rgb.pdf").read_bytes().startswith(b"%PDF")
    results = selection.load_run(run_dir)
    fig = plots.rd_figure(results, "psnr_rgb")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["jpeg", "jpeg-444"]
    assert ax.get_xlabel() == "rate [bpp]" and ax.get_ylabel() == "PSNR (RGB) [dB]"
    colours = {line.get_label(): line.get_color() for line in ax.get_lines() if not line.get_label().startswith("_")}
    assert colours == {"jpeg": plots.OKABE_ITO[0], "jpeg-444": plots.OKABE_ITO[1]}
    assert plots.codec_styles(["vvc", "jpeg"])["jpeg"]["color"] == plots.OKABE_ITO[0]


def test_cli_report_and_plot(run_dir, tmp_path):
    from harness.cli import main

    runner = CliRunner()
    result = runner.invoke(main, ["report", str(run_dir), "--anchor", "jpeg", "--out", str(tmp_path / "r"),
                                  "--method", "akima", "--format", "md,csv", "--metrics", "psnr_rgb,psnr_y709"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "r" / "report.md").exists() and not (tmp_path / "r" / "report.html").exists()
    assert "akima" in (tmp_path / "r" / "report.md").read_text()
    result = runner.invoke(main, ["plot", str(run_dir), "--out", str(tmp_path / "f"), "--format", "png",
                                  "--metrics", "psnr_rgb"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "f" / "bdrate.png").exists()
    result = runner.invoke(main, ["report", str(run_dir), "--anchor", "nope"])
    assert result.exit_code == 2


@pytest.mark.slow
def test_vvc_beats_jpeg_on_a_real_run(tmp_path):
    # VVC intra against JPEG on two Kodak crops: a gap of tens of percent that any sign or anchor mix-up
    # would reverse.
    run_dir = make_run(tmp_path, codecs=("jpeg", "vvc"))
    df = selection.load_run(run_dir)
    vvc = comparison.make_report(df, "jpeg", ["psnr_rgb"]).value("vvc", "psnr_rgb")
    jpeg = comparison.make_report(df, "vvc", ["psnr_rgb"]).value("jpeg", "psnr_rgb")
    assert vvc < -25 and jpeg > 25
    assert selection.default_anchor(df) == "vvc"


def test_rows_of_an_older_build_are_left_out_and_said(tmp_path):
    """A run resumed after a codec's build changed holds both builds' rows (their keys differ); the
    analysis uses the latest build's rows and says how many it left out."""
    import dataclasses

    from harness.run.store import RunStore

    run = make_run(tmp_path, codecs=("jpeg", "jpeg-444"), points=[30, 70])
    store = RunStore(run)
    current = store.rows()
    # Rows as an older jpeg build would have left them: same images and points, other version, other keys,
    # and worse quality, so mixing them in would change the curves.
    for row in [r for r in current if r.codec == "jpeg"]:
        values = {k: (v - 3.0 if v is not None and k.startswith("psnr") else v) for k, v in row.values.items()}
        store.append(dataclasses.replace(row, job_key=row.job_key + "-old", codec_version="libjpeg 6b (old)",
                                         values=values))
    store.write_parquet(force=True)
    df = selection.load_run(run)
    assert len(df) == len(current) and "libjpeg 6b (old)" not in set(df["codec_version"])
    assert df.attrs["superseded"] == {"jpeg": (4, ["libjpeg 6b (old)"])}
    made = comparison.make_report(df, "jpeg-444", ["psnr_rgb"])
    assert any("Rows of older builds left out" in n and "jpeg 4" in n for n in made.notes)
    fresh = comparison.make_report(selection.current_builds(pd.read_parquet(run / "results.parquet"), {}), "jpeg-444",
                               ["psnr_rgb"])
    # Without the filter the old rows would have entered jpeg's curve: a different BD-rate.
    assert made.value("jpeg", "psnr_rgb") != pytest.approx(fresh.value("jpeg", "psnr_rgb"), abs=1e-6)
