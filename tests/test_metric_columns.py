"""Metric options and per-instance columns (issue 25): ``cvvdp:display=...`` gets its own column in the
parquet, the report and the viewer; PSNR's use of the codec stage's error matrix is declared."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.codecs import get_codec
from harness.core.pixelerror import error_gram
from harness.datasets import resolve_dataset
from harness.metrics import MetricError, MetricSuite, column_info, get_metric, metric_of_column
from harness.run.store import RunStore
from harness.run.sweep import run_sweep
from tests.runs import write_crops


def test_metric_options_resolve_labels_and_columns_per_instance():
    default, spelled, fhd = (get_metric(s) for s in ("cvvdp", "cvvdp:display=standard_4k",
                                                     "cvvdp:display=standard_fhd"))
    assert default.label == spelled.label == "cvvdp" and fhd.label == "cvvdp:display=standard_fhd"
    assert [c.name for c in fhd.output_columns()] == ["cvvdp_jod_standard_fhd"]
    assert [c.name for c in spelled.output_columns()] == ["cvvdp_jod"]
    assert column_info("cvvdp_jod_standard_fhd").label == "ColorVideoVDP (standard_fhd)"
    assert metric_of_column("cvvdp_jod_standard_fhd") == "cvvdp" and column_info("cvvdp_jod_") is None
    assert default.identity() == spelled.identity() != fhd.identity()
    assert dict(fhd.identity().options) == {"display": "standard_fhd"}
    with pytest.raises(MetricError, match="does not take the option 'display'"):
        get_metric("psnr:display=x")


def test_psnr_declares_its_error_matrix_use_and_gives_the_same_values():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-9, 10, a.shape), 0, 255).astype(np.uint8)
    psnr = get_metric("psnr")
    assert psnr.uses_error_gram and not get_metric("ms_ssim").uses_error_gram
    direct = psnr.compute(a, b, None)
    assert psnr.from_error_gram(error_gram(b, a), a.shape[0] * a.shape[1]) == pytest.approx(direct, abs=1e-9)
    suite = MetricSuite(("psnr",))
    assert suite.evaluate_each("x", a, b, error_gram=error_gram(b, a))["psnr"][0] == pytest.approx(direct, abs=1e-9)
    with pytest.raises(NotImplementedError):
        get_metric("ms_ssim").from_error_gram(error_gram(b, a), 2000)


def test_cvvdp_display_columns_go_through_parquet_report_and_viewer(tmp_path):
    crops = write_crops(tmp_path / "crops", (("kodim23", 160, 280),))
    run = tmp_path / "run"
    metrics = ("psnr", "cvvdp:display=standard_fhd", "cvvdp:display=standard_4k")
    run_sweep(RunStore(run), resolve_dataset(str(crops)), [get_codec("jpeg"), get_codec("webp")], points=[30, 70],
              metrics=metrics)
    table = pd.read_parquet(run / "results.parquet")
    assert {"cvvdp_jod", "cvvdp_jod_standard_fhd"} <= set(table.columns)
    assert table["cvvdp_jod"].between(5, 10).all() and table["cvvdp_jod_standard_fhd"].between(5, 10).all()
    # Two viewing conditions, two sets of numbers: a 4K monitor hides more than a full-HD one.
    assert (table["cvvdp_jod"] > table["cvvdp_jod_standard_fhd"]).all()
    again = run_sweep(RunStore(run), resolve_dataset(str(crops)), [get_codec("jpeg"), get_codec("webp")],
                      points=[30, 70], metrics=metrics)
    assert (again.ran, again.completed) == (0, 0)  # each instance's column found: nothing to compute
    report = CliRunner().invoke(main, ["report", str(run), "--format", "md", "--anchor", "jpeg"])
    assert report.exit_code == 0, report.output
    text = (run / "report" / "report.md").read_text()
    header = next(line for line in text.splitlines() if "ColorVideoVDP (standard_fhd)" in line)
    assert [c.strip() for c in header.split("|")].count("ColorVideoVDP") == 1
    view = CliRunner().invoke(main, ["view", str(run)])
    assert view.exit_code == 0, view.output
    index = (run / "viewer" / "data" / "index.js").read_text()
    assert "cvvdp_jod_standard_fhd" in index and "ColorVideoVDP (standard_fhd)" in index


def test_a_metrics_identity_covers_its_weights_and_version():
    lpips = get_metric("lpips").identity()
    assert lpips.version.startswith("pyiqa ") and len(lpips.weights) == 2
    # The torch cache of ../shared holds LPIPS's weights: their sha256 is part of the column's identity.
    assert all(len(digest) == 64 for _, digest in lpips.weights), lpips.weights
    assert get_metric("lpips_vgg").identity().digest != lpips.digest


def test_a_changed_metric_version_is_computed_again_on_resume_without_encoding(tmp_path, monkeypatch):
    from harness.metrics.psnr import Psnr
    from harness.run import rows

    crops = write_crops(tmp_path / "crops", (("kodim23", 160, 280),))
    run = tmp_path / "run"

    def sweep():
        return run_sweep(RunStore(run), resolve_dataset(str(crops)), [get_codec("jpeg")], points=[30, 70])

    first = sweep()
    before = {r.job_key: r.metric_identities["psnr"] for r in RunStore(run).rows()}
    assert first.ran == 2 and len(set(before.values())) == 1
    assert sweep().completed == 0  # nothing changed: nothing computed
    monkeypatch.setattr(Psnr, "version", lambda self: "psnr 2 (another formula)")
    rows._metric_columns.cache_clear()  # a new process would see the new version at once
    again = sweep()
    assert (again.ran, again.completed) == (0, 2)
    after = {r.job_key: r.metric_identities["psnr"] for r in RunStore(run).rows()}
    assert after.keys() == before.keys() and all(after[k] != before[k] for k in after)
    rows._metric_columns.cache_clear()
