"""The lossless sweep on Kodak originals: every codec's reconstruction bit-exact, JPEG XL smaller than PNG on
the mean, speeds in MP/s, the Pareto front, and originals that loading changes flagged."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tests.conftest import KODAK, REPO

IMAGES = ("kodim05", "kodim23")
# The slowest effort of each codec is left to the -m slow test (every mode on the same originals).
SLOW = {("jxl", "e9"), ("webp", "m6"), ("png-oxipng", "o6")}


def _dataset(folder, names=IMAGES):
    from harness.datasets import resolve_dataset

    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / f"{name}.png").write_bytes((KODAK / f"{name}.png").read_bytes())
    return resolve_dataset(str(folder))


def _check(rows: pd.DataFrame) -> pd.DataFrame:
    from harness.run.lossless import pareto_front, summary

    assert rows["exact"].all(), rows.loc[~rows["exact"], ["image", "codec", "effort", "error"]].to_string()
    assert set(rows["codec"]) == {"jxl", "webp", "avif", "hevc", "jpeg2000", "png-oxipng"}
    table = summary(rows)
    assert (table["encode_mp_s"] > 0).all() and (table["decode_mp_s"] > 0).all()
    best = table.groupby("codec")["bpp_mean"].min()
    # A known result: JPEG XL is smaller than (optimised) PNG on the mean; every codec is under 24 bpp.
    assert best["jxl"] < best["png-oxipng"] and (table["bpp_mean"] < 24).all()
    front = pareto_front(table)
    assert len(front) >= 1 and front["bpp_mean"].is_monotonic_decreasing
    for row in table.itertuples():  # nothing off the front is both faster and smaller than a front member
        on_front = ((front["codec"] == row.codec) & (front["effort"] == row.effort)).any()
        beaten = ((table["encode_mp_s"] > row.encode_mp_s) & (table["bpp_mean"] < row.bpp_mean)).any()
        assert on_front != beaten or (not on_front and not beaten and row.encode_mp_s <= front["encode_mp_s"].max())
    return table


def test_lossless_on_kodak_originals_is_bit_exact_and_jxl_beats_png(tmp_path):
    from harness.render.lossless import write_lossless
    from harness.run.lossless import lossless_sweep, select_modes

    modes = [m for m in select_modes() if (m.codec, m.effort) not in SLOW]
    rows = lossless_sweep(_dataset(tmp_path / "kodak"), modes)
    assert len(rows) == len(IMAGES) * len(modes) and (rows["source_changed"] == "").all()
    _check(rows)
    files = write_lossless(rows, tmp_path / "out")
    text = files["report"].read_text()
    assert "Pareto front" in text and "| jxl | e7 | 2/2 |" in text and files["figure"].stat().st_size > 10_000


@pytest.mark.slow
def test_every_mode_on_kodak_originals(tmp_path):
    from harness.run.lossless import lossless_sweep, select_modes

    _check(lossless_sweep(_dataset(tmp_path / "kodak"), select_modes()))


def test_originals_that_loading_changes_are_flagged_and_a_mismatch_fails(tmp_path):
    from harness.codecs.lossless import LosslessMode
    from harness.run.lossless import lossless_sweep, run_mode, select_modes

    rgb = np.asarray(Image.open(KODAK / "kodim23.png").convert("RGB"))[:64, :64]
    folder = tmp_path / "odd"
    folder.mkdir()
    Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)])).save(folder / "alpha.png")
    Image.fromarray(rgb.astype(np.uint16)[..., 0] * 257).save(folder / "grey16.png")
    from harness.datasets import resolve_dataset

    rows = lossless_sweep(resolve_dataset(str(folder)), select_modes(["png-oxipng:o2"]))
    notes = dict(zip(rows["image"], rows["source_changed"]))
    assert "alpha dropped" in notes["alpha"] and "16-bit" in notes["grey16"]
    assert rows["exact"].all()  # lossless for the loaded 8-bit RGB
    lossy = LosslessMode("jpeg", "q90", lambda x: x.tobytes(), lambda d, h, w: np.clip(
        np.frombuffer(d, np.uint8).reshape(h, w, 3).astype(int) + 1, 0, 255).astype(np.uint8))
    row = run_mode(lossy, "kodim23", rgb, ())
    assert row["exact"] is False and "not lossless" in str(row["error"])
    with pytest.raises(ValueError, match="no lossless mode 'vvc'"):
        select_modes(["vvc"])


def test_the_command(tmp_path):
    folder = tmp_path / "crops"
    folder.mkdir()
    Image.open(KODAK / "kodim23.png").crop((0, 0, 96, 64)).save(folder / "kodim23.png")
    done = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--lossless", "--dataset", str(folder),
                           "--codecs", "png-oxipng:o2,jxl:e3", "--results", str(tmp_path / "results"), "--run", "ll"],
                          capture_output=True, text=True, cwd=REPO, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    out = tmp_path / "results" / "ll" / "lossless"
    table = pd.read_csv(out / "lossless_summary.csv")
    assert list(table["codec"]) == ["png-oxipng", "jxl"] and (table["exact"] == 1).all()
    assert (out / "lossless.png").is_file() and "Pareto front" in (out / "lossless.md").read_text()
