"""A codec and a metric from another package, installed beside harness with pip, plug in through the
``harness.codecs`` and ``harness.metrics`` entry-point groups: `harness codecs` and `harness metrics --list`
list them and `harness run` produces rows and columns with them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.run.store import read_results
from tests.conftest import REPO
from tests.runs import write_crops

PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "harness-posterize"
version = "1.0"

[project.entry-points."harness.codecs"]
posterize = "harness_posterize:Posterize"

[project.entry-points."harness.metrics"]
maxdiff = "harness_posterize:metrics"
"""

MODULE = '''\
"""A lab's codec outside harness: the top bits of every sample, as a PNG after one byte saying how many."""

import io

import numpy as np
import PIL
from PIL import Image

from harness.codecs.base import Availability, Bitstream, Codec, ColourChain, Knob
from harness.metrics.base import Column, Metric


class Posterize(Codec):
    name = "posterize"
    description = "top bits of each sample, as PNG (a plug-in codec)"
    knob = Knob("bits", 1, 8, integer=True, quality_rises=True)
    default_points = (3.0, 5.0, 7.0)
    colour = ColourChain("rgb", "full", 8, "444")
    extension = ".png"
    option_defaults = {"rounding": "midpoint"}
    option_choices = {"rounding": ("midpoint", "floor")}

    def check_availability(self):
        return Availability(True)

    def probe_version(self):
        return f"posterize 1.0 / Pillow {PIL.__version__}"

    def encode(self, rgb, point):
        bits = int(point)
        buffer = io.BytesIO()
        Image.fromarray((rgb >> (8 - bits)).astype(np.uint8)).save(buffer, "PNG")
        return Bitstream(bytes([bits]) + buffer.getvalue(), params={"rounding": self.option("rounding")})

    def decode(self, data, size=None):
        shift = 8 - data[0]
        with Image.open(io.BytesIO(data[1:])) as im:
            coded = np.asarray(im.convert("RGB")).astype(np.uint16)
        half = (1 << shift) >> 1 if self.option("rounding") == "midpoint" else 0
        return ((coded << shift) + half).astype(np.uint8)


class MaxDiff(Metric):
    name = "maxdiff"
    description = "largest difference of any sample (a plug-in metric)"
    columns = (Column("max_diff", "largest sample difference", "levels", False),)

    def compute(self, reference, reconstruction, prepared):
        return {"max_diff": float(np.abs(reference.astype(int) - reconstruction.astype(int)).max())}


def metrics():
    return [MaxDiff]
'''


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The package built and installed with pip into a folder of its own (as a lab would beside harness)."""
    root = tmp_path_factory.mktemp("plugin")
    source = root / "src"
    source.mkdir()
    (source / "pyproject.toml").write_text(PYPROJECT)
    (source / "harness_posterize.py").write_text(MODULE)
    target = root / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                           "--no-index", "--target", str(target), str(source)],
                          capture_output=True, text=True, timeout=300, cwd=root)
    assert done.returncode == 0, done.stderr[-2000:]
    assert list(target.glob("harness_posterize-1.0.dist-info/entry_points.txt"))
    return target


def harness(args: list[str], site: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(site)]), "COLUMNS": "300"}
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_plugin_codec_is_listed_and_runs(installed, tmp_path):
    listed = harness(["codecs"], installed, tmp_path)
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert "posterize" in listed.stdout and "top bits of each sample" in listed.stdout
    assert "rounding=midpoint (midpoint, floor)" in listed.stdout

    crops = write_crops(tmp_path / "crops")
    ran = harness(["run", "--codecs", "posterize,posterize:rounding=floor", "--points", "3,6", "--dataset",
                   str(crops), "--metrics", "psnr,maxdiff", "--results", str(tmp_path / "results"), "--run", "plug"],
                  installed, tmp_path)
    assert ran.returncode == 0, ran.stderr[-2000:]
    rows = read_results(tmp_path / "results" / "plug")
    assert len(rows) == 8 and (rows["status"] == "ok").all(), rows[["codec", "error"]].to_string()
    assert set(rows["codec"]) == {"posterize", "posterize:rounding=floor"}
    assert rows["codec_version"].str.startswith("posterize 1.0 / Pillow").all()
    mid = rows[rows["codec"] == "posterize"].groupby("point")["psnr_rgb"].mean()
    floor = rows[rows["codec"] == "posterize:rounding=floor"].groupby("point")["psnr_rgb"].mean()
    # More bits, more quality and more bytes; the midpoint reconstruction beats flooring by about 6 dB at 3 bits.
    assert mid[6.0] > mid[3.0] + 10 and (mid - floor).min() > 2
    assert np.all(rows.groupby("point")["bpp"].mean().diff().dropna() > 0)
    # The plug-in metric's column: keeping 3 of 8 bits, flooring loses up to 31 levels, the midpoint 16.
    worst = rows[rows["point"] == 3.0].groupby("codec")["max_diff"].max()
    assert worst["posterize:rounding=floor"] == 31 and worst["posterize"] == 16
    listed = harness(["metrics", "--list"], installed, tmp_path)
    assert listed.returncode == 0 and "maxdiff" in listed.stdout and "max_diff" in listed.stdout
