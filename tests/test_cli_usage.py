"""``harness run``: usage errors before any work, points adjusted by a codec named, failures counted as the
exit status says, Ctrl-C, what a finished run leaves, and messages printed as written (issue 26, item 3)."""

from __future__ import annotations

import os
import re
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.runs import write_crops
from tests.test_audit import SLEEPER

REPO = Path(__file__).resolve().parents[1]
NO_PUBLISHED = {"HARNESS_PICO_DIR": "", "HARNESS_PUBLISHED_DIRS": ""}


def harness(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run ``python -m harness.cli``; returns the result, its wall-clock seconds and its CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, capture_output=True, text=True,
                          check=False, env={**os.environ, **(env or {})}, timeout=600)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return done, wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


@pytest.mark.parametrize(("args", "expected"), [
    (["--codecs", "jpeg", "--points", "abc"], "error: --points abc: 'abc' is not a number"),
    (["--codecs", "jpeg", "--target-bpp", "-1"], "error: --target-bpp -1: -1 is not a positive number"),
    (["--codecs", "jpeg", "--points", "30,inf"], "error: --points 30,inf: inf is not a finite number"),
    (["--codecs", "jpeg:speed=3", "--points", "50"], "error: codec 'jpeg' has no option 'speed'"),
    (["--codecs", "jpeg", "--points", "50", "--metrics", "psnr,nosuch"], "error: unknown metric 'nosuch'"),
    (["--codecs", "jpeg,webp", "--match", "avif"], "error: --match avif: the reference codec must be one of"),
    (["--codecs", "jpeg", "--speed", "3"], "error: No such option '--speed'"),
])
def test_a_usage_error_is_one_line_before_any_work(tmp_path, args, expected):
    # The dataset does not exist: the usage error is found first, so nothing was read.
    done, wall, cpu = harness("run", *args, "--dataset", str(tmp_path / "no-such-folder"), "--results", "r",
                              cwd=tmp_path)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith(expected), done.stderr
    assert not (tmp_path / "r").exists()
    # Wall-clock time depends on how loaded the machine is; the CPU time the command spends does not.
    assert cpu < 2, f"{cpu:.2f} s of CPU ({wall:.2f} s wall)"
    print(f"{args}: {wall:.2f} s wall, {cpu:.2f} s CPU")


def test_points_a_codec_adjusts_are_named_once_per_codec(tmp_path):
    crops = write_crops(tmp_path / "crops")  # two images: one line per codec and point, not per image
    done, _, _ = harness("run", "--codecs", "jpeg,webp", "--points", "-5,0,50,200", "--dataset", str(crops),
                         "--results", "r", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stderr.splitlines() if line.startswith("note:")]
    assert notes == ["note: jpeg: point -5 clamped to 1 (quality runs from 1 to 100)",
                     "note: jpeg: point 0 clamped to 1 (quality runs from 1 to 100)",
                     "note: jpeg: point 200 clamped to 100 (quality runs from 1 to 100)",
                     "note: webp: point -5 clamped to 0 (quality runs from 0 to 100)",
                     "note: webp: point 200 clamped to 100 (quality runs from 0 to 100)"], done.stderr


def test_the_closing_line_counts_codec_and_metric_failures_as_the_exit_status_does(tmp_path):
    crops = write_crops(tmp_path / "crops", (("kodim23", 160, 280),))
    empty = tmp_path / "empty-torch-home"  # no LPIPS weights, and no way to download them
    empty.mkdir()
    env = {"TORCH_HOME": str(empty), "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
           **NO_PUBLISHED}
    done, _, _ = harness("run", "--codecs", "jpeg,pico", "--points", "30", "--metrics", "psnr,lpips", "--dataset",
                         str(crops), "--results", "r", "--allow-unavailable", cwd=tmp_path, env=env)
    closing = [line for line in done.stderr.splitlines() if " jobs: " in line]
    assert closing and "; 2 rows, 2 failed (1 codec, 1 with a failed metric: lpips 1) -> " in closing[0], done.stderr
    assert done.returncode == 2


def test_a_failure_line_says_where_the_row_is_and_keeps_its_brackets(tmp_path):
    crops = write_crops(tmp_path / "crops", (("kodim23", 160, 280),))
    missing = tmp_path / "none.pt"
    done, _, _ = harness("run", "--codecs", f"pico,pico-torch:checkpoint={missing}", "--target-bpp", "0.5",
                         "--dataset", str(crops), "--results", "r", "--allow-unavailable", cwd=tmp_path,
                         env=NO_PUBLISHED)
    assert done.returncode == 2, done.stderr  # two failed rows
    failed = [line for line in done.stderr.splitlines() if line.startswith("failed ")]
    assert len(failed) == 2 and not any(" None" in line for line in failed), done.stderr
    assert any(line.startswith(f"failed pico-torch:checkpoint={missing} kodim23 target 0.5 bpp: ") for line in failed)
    assert any(line.startswith("failed pico kodim23 no point: ") for line in failed)
    # rich would read "[[source]]" as markup and print "[]"
    assert "or add a [[source]] to a TOML file" in done.stderr


def test_a_finished_run_leaves_no_lock_and_no_temporary_folder(tmp_path):
    crops = write_crops(tmp_path / "crops", (("kodim23", 160, 280),))
    done, _, _ = harness("run", "--codecs", "jpeg", "--points", "50", "--dataset", str(crops), "--results", "r",
                         cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run = tmp_path / "r" / "crops"
    assert (run / "results.parquet").is_file()
    assert not (run / ".lock").exists() and not (run / ".tmp").exists()


def test_ctrl_c_says_how_to_resume(tmp_path):
    codecs = tmp_path / "codecs"
    codecs.mkdir()
    (codecs / "sleeper.toml").write_text(SLEEPER)
    crops = write_crops(tmp_path / "crops", (("kodim23", 160, 280),))
    args = [sys.executable, "-m", "harness.cli", "run", "--codecs", "jpeg,sleeper", "--points", "5", "--dataset",
            str(crops), "--results", "r"]
    env = {**os.environ, "HARNESS_CODECS_DIR": str(codecs)}
    # Its own process group, as a terminal's foreground job: Ctrl-C reaches the run, its workers and codecs. A
    # terminal's job starts with Ctrl-C's default action, whatever this test process inherited (a process
    # started with SIGINT ignored keeps ignoring it, as a shell's background job does).
    proc = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    journal = tmp_path / "r" / "crops" / "rows.jsonl"
    deadline = time.time() + 120
    while not (journal.exists() and journal.read_text().strip()) and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # the sleeper's encode has started
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    lines = [line for line in err.splitlines() if line.startswith("interrupted:")]
    assert lines == [f"interrupted: 1 finished row is saved in {Path('r') / 'crops'}; run the same command again to "
                     "resume (finished jobs are not redone)"], err
    assert "Aborted!" not in err and "Traceback" not in err
    assert not (tmp_path / "r" / "crops" / ".lock").exists()
    assert re.search(r"sleeper", journal.read_text()) is None  # the interrupted job is not a row
