"""Speed in every report: MP/s columns, the Pareto front of encode speed against BD-rate (listed in the report,
drawn in the time figure), and the one Pareto definition."""

from __future__ import annotations

import math

import pytest

from tests.runs import make_run


def test_pareto_front_by_brute_force():
    from harness.core.pareto import pareto_front

    points = [("a", 10.0, 5.0), ("b", 5.0, 3.0), ("c", 4.0, 4.0), ("d", 1.0, 1.0), ("e", 10.0, 6.0),
              ("f", math.nan, 0.0), ("g", 0.5, 1.0)]
    front = pareto_front(points)
    finite = [p for p in points if math.isfinite(p[1])]
    expected = [k for k, s, c in finite
                if not any((s2 >= s and c2 < c) or (s2 > s and c2 <= c) for _, s2, c2 in finite)]
    assert front == ["a", "b", "d"] and set(front) == set(expected)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("speed"), codecs=("jpeg", "jpeg-444", "webp"))


def test_report_gives_mp_per_second_and_the_front(run_dir, tmp_path):
    from harness.analysis import comparison, selection, speed
    from harness.render.report import to_markdown

    df = selection.load_run(run_dir)
    report = comparison.make_report(df, "jpeg", ["psnr_rgb"], run="speed")
    text = to_markdown(report)
    assert "encode [MP/s]" in text and "decode [MP/s]" in text
    front = speed.speed_front(report.summary, report.bd_rate, "psnr_rgb")
    speeds = {str(r["codec"]): 1 / float(r["encode_s_per_mp"]) for _, r in report.summary.iterrows()}
    bd = {str(c): float(v) for c, v in zip(report.bd_rate["codec"], report.bd_rate["value"])} | {"jpeg": 0.0}
    for codec in speeds:  # on the front exactly when no other codec is both faster and smaller
        beaten = any(speeds[o] > speeds[codec] and bd[o] < bd[codec] for o in speeds if o != codec)
        assert (codec in front) == (not beaten), (codec, speeds, bd)
    assert f"fastest first: {', '.join(front)}" in text
    assert f"{speeds['webp']:.3g}" in text


def test_time_figure_draws_the_front(run_dir, tmp_path):
    from harness.render.figures import plot_run

    files = plot_run(run_dir, ["psnr_rgb"], anchor="jpeg", formats=["png"], out_dir=tmp_path)
    assert any(path.name.startswith("time_vs_bdrate") and path.stat().st_size > 5000 for path in files)
