"""Timings that measure the codec (issue 26): ffmpeg's own timing, repeats, and HEVC against PyAV."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

import pytest

from harness.codecs import get_codec
from harness.codecs.base import CodecError
from harness.core.images import load_image
from harness.core.process import ffmpeg_exe
from harness.datasets import resolve_dataset
from harness.run.store import RunStore
from harness.run.sweep import run_sweep
from tests.conftest import KODAK
from tests.runs import write_crops


def _startup_seconds() -> float:
    """The median wall time of starting the static ffmpeg and having it do nothing."""
    times = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([ffmpeg_exe(), "-hide_banner", "-version"], capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def test_ffmpeg_rows_carry_ffmpegs_own_timing_without_its_start_up(tmp_path):
    crops = write_crops(tmp_path / "crops")
    store = RunStore(tmp_path / "run")
    run_sweep(store, resolve_dataset(str(crops)), [get_codec("hevc:preset=fast"), get_codec("h264:preset=fast"),
                                                   get_codec("jpeg")], points=[30])
    rows = {(r.codec_name, r.image): r for r in store.rows()}
    assert len(rows) == 6 and all(r.ok for r in rows.values())
    assert {rows[("hevc", "kodim23")].timing, rows[("h264", "kodim13")].timing} == {"ffmpeg-benchmark"}
    assert rows[("jpeg", "kodim23")].timing == "wall"
    # A 128x96 picture decodes in milliseconds; starting ffmpeg alone takes longer than that.
    startup = _startup_seconds()
    for name in ("hevc", "h264"):
        decode = statistics.median(rows[(name, image)].decode_seconds or 0 for image in ("kodim23", "kodim13"))
        assert 0 < decode < 0.5 * startup, (name, decode, startup)


def test_time_repeats_record_the_median_and_refuse_an_encoder_that_changes_its_bits(tmp_path):
    image = load_image(write_crops(tmp_path / "crops") / "kodim23.png")
    outcome = get_codec("jpeg").compress(image, 50, repeats=3)
    assert outcome.timing == "wall, median of 3" and outcome.encode_seconds and outcome.decode_seconds
    (tmp_path / "noisy.toml").write_text("\n".join([
        'name = "noisy"', 'format = "png"',
        "[knob]", 'name = "q"', "low = 0", "high = 10", "quality_rises = true", "default_points = [5]",
        "[colour]", 'matrix = "rgb"', 'range = "full"', "bit_depth = 8", 'subsampling = "444"',
        "[programs]", 'sh = { names = ["sh"] }',
        # A PNG with random bytes after its end: it decodes to the same pixels, from different bits each time.
        "[encode]", 'command = ["{sh}", "-c", "cp $0 $1; head -c 16 /dev/urandom >> $1", "{input}", "{bitstream}"]',
        "[decode]", 'command = ["{sh}", "-c", "cp $0 $1", "{bitstream}", "{output}"]', ""]))
    from harness.codecs.commandline import codec_class, load_definition

    noisy = codec_class(load_definition(tmp_path / "noisy.toml"))()
    assert noisy.compress(image, 5).timing == "process"
    with pytest.raises(CodecError, match="encode 2 of 2 gave different bits"):
        noisy.compress(image, 5, repeats=2)


def test_harness_run_time_repeats_option(tmp_path):
    crops = write_crops(tmp_path / "crops")
    result = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--codecs", "h264:preset=fast", "--points",
                             "30", "--dataset", str(crops), "--results", "r", "--time-repeats", "3"], cwd=tmp_path,
                            capture_output=True, text=True, env=os.environ, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in (tmp_path / "r" / "crops" / "rows.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and {r["timing"] for r in rows} == {"ffmpeg-benchmark, median of 3"}


def test_hevc_decode_time_per_megapixel_is_within_3x_of_pyav_on_the_same_stream():
    av = pytest.importorskip("av", reason="PyAV is a test dependency (pyproject [test])")
    image = load_image(KODAK / "kodim01.png")
    codec = get_codec("hevc:preset=fast")
    outcome = codec.compress(image, 32, keep_bitstream=True, repeats=5)
    assert outcome.bitstream is not None
    times = []
    for _ in range(5):
        context = av.CodecContext.create("hevc", "r")
        context.thread_count = 1
        start = time.process_time()  # CPU seconds, as the row's (ffmpeg's utime + stime)
        frames = []
        for packet in context.parse(outcome.bitstream) + context.parse(None):
            frames += context.decode(packet)
        frames += context.decode(None)
        frames[0].to_ndarray(format="rgb24")
        times.append(time.process_time() - start)
    direct = statistics.median(times)
    assert outcome.decode_seconds is not None and outcome.decode_seconds < 3 * direct, (outcome.decode_seconds, direct)


def test_the_time_figure_plots_megapixels_per_second():
    import pandas as pd

    from harness.render.plots import time_scatter_figure

    summary = pd.DataFrame({"codec": ["jpeg", "hevc"], "encode_s_per_mp": [0.05, 4.0], "decode_s_per_mp": [0.02, 0.04]})
    bd = pd.DataFrame({"kind": ["rate"], "metric": ["psnr_rgb"], "anchor": ["jpeg"], "codec": ["hevc"],
                       "value": [-40.0]})
    fig = time_scatter_figure(summary, bd, "psnr_rgb")
    encode, decode = fig.axes[0], fig.axes[1]
    xs = sorted(float(c.get_offsets()[0][0]) for c in encode.collections)
    assert xs == pytest.approx([0.25, 20.0]) and "megapixels per second" in encode.get_xlabel()
    assert sorted(float(c.get_offsets()[0][0]) for c in decode.collections) == pytest.approx([25.0, 50.0])


def test_a_programs_start_up_is_measured_once_and_reported_apart_in_run_json(tmp_path):
    from tests.conftest import codec_or_skip

    avifenc = codec_or_skip("avif-avifenc:speed=10")
    crops = write_crops(tmp_path / "crops")
    store = RunStore(tmp_path / "run")
    run_sweep(store, resolve_dataset(str(crops)), [avifenc, get_codec("jpeg")], points=[40])
    described = store.read_info()["invocations"][-1]["codecs"]
    startup = described[avifenc.label]["startup_seconds"]
    assert described[avifenc.label]["timing"] == "process" and 0 < startup < 5
    assert "startup_seconds" not in described["jpeg"]
    rows = [r for r in store.rows() if r.codec == avifenc.label]
    assert rows and all(r.timing == "process" and (r.encode_seconds or 0) > 0 for r in rows)
