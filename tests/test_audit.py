"""What a hostile-input audit found (issue 11): one test per finding, each failing before its fix."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness.codecs import get_codec
from harness.datasets import resolve_dataset
from harness.run.executors import execute_local
from harness.run.plan import plan_jobs
from harness.run.store import RunStore, read_results
from harness.run.sweep import execute_plan, run_sweep
from tests.conftest import KODAK
from tests.runs import crop_png, write_crops, zip_dataset


def cli(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, capture_output=True, text=True, check=False,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


# --- silent loss or wrong numbers -----------------------------------------------------------------------

def test_the_same_pixels_under_two_names_are_two_rows(tmp_path):
    crops = write_crops(tmp_path / "crops")
    shutil.copy(crops / "kodim23.png", crops / "kodim23-copy.png")
    store = RunStore(tmp_path / "run")
    summary = run_sweep(store, resolve_dataset(str(crops)), [get_codec("jpeg")], points=[50])
    table = read_results(store.run_dir)
    assert summary.ran == 3 and sorted(table["image"]) == ["kodim13", "kodim23", "kodim23-copy"]
    pair = table.set_index("image").loc[["kodim23", "kodim23-copy"]]
    assert pair["bpp"].nunique() == 1 and pair["psnr_rgb"].nunique() == 1


def test_points_outside_the_codecs_range_are_recorded_as_the_codec_used_them(tmp_path):
    crops = write_crops(tmp_path / "crops")
    store = RunStore(tmp_path / "run")
    run_sweep(store, resolve_dataset(str(crops)), [get_codec("webp")], points=[90, 120, 150])
    table = read_results(store.run_dir)
    # webp's quality stops at 100: 120 and 150 are one encode at 100, one RD point, not two.
    assert sorted(table["point"].unique()) == [90.0, 100.0] and len(table) == 4
    clamped = table[table["point"] == 100.0]
    assert (clamped["requested_point"] == 120.0).all()
    assert table[table["point"] == 90.0]["requested_point"].isna().all()


def test_an_archive_dataset_missing_a_file_fails_verify(tmp_path):
    definitions = zip_dataset(tmp_path, {"set/a.png": crop_png("kodim01", 0), "set/b.png": crop_png("kodim02", 0),
                                          "set/c.png": crop_png("kodim03", 0)}, name="audit-zip")
    env = {"HARNESS_DATASETS_DIR": str(definitions), "HARNESS_CACHE": str(tmp_path / "cache"),
           "HARNESS_DATA": str(tmp_path / "data")}
    fetched = cli("datasets", "fetch", "audit-zip", cwd=tmp_path, env=env)
    assert fetched.returncode == 0, fetched.stderr
    root = tmp_path / "cache" / "datasets" / "audit-zip"
    assert cli("datasets", "verify", "audit-zip", cwd=tmp_path, env=env).returncode == 0
    (root / "b.png").unlink()  # as an interrupted extraction or a lost file leaves it
    broken = cli("datasets", "verify", "audit-zip", cwd=tmp_path, env=env)
    assert broken.returncode == 1 and "b.png: missing" in broken.stderr
    # A copy nobody recorded (HARNESS_DATA) cannot be vouched for: verify says so.
    copy = tmp_path / "data" / "audit-zip"
    copy.mkdir(parents=True)
    shutil.copy(root / "a.png", copy / "a.png")
    unrecorded = cli("datasets", "verify", "audit-zip", cwd=tmp_path, env=env)
    assert unrecorded.returncode == 1 and "completeness cannot be checked" in unrecorded.stderr


def test_zip_members_with_the_same_name_do_not_overwrite_each_other(tmp_path):
    first, second = crop_png("kodim05", 0), crop_png("kodim06", 100)
    definitions = zip_dataset(tmp_path, {"professional/x.png": first, "mobile/x.png": second,
                                          "mobile/y.png": crop_png("kodim07", 0)}, name="audit-twins")
    env = {"HARNESS_DATASETS_DIR": str(definitions), "HARNESS_CACHE": str(tmp_path / "cache")}
    assert cli("datasets", "fetch", "audit-twins", cwd=tmp_path, env=env).returncode == 0
    root = tmp_path / "cache" / "datasets" / "audit-twins"
    assert (root / "professional" / "x.png").read_bytes() == first
    assert (root / "mobile" / "x.png").read_bytes() == second
    assert (root / "y.png").is_file()


def test_report_after_an_interrupted_run_reads_the_newer_journal(tmp_path):
    crops = write_crops(tmp_path / "crops")
    dataset = resolve_dataset(str(crops))
    store = RunStore(tmp_path / "run")
    run_sweep(store, dataset, [get_codec("jpeg")], points=[50])  # writes the parquet: 2 rows
    time.sleep(0.01)
    # A second invocation that was killed before writing its parquet: the journal has 4 more rows.
    execute_plan(store, plan_jobs(dataset, [get_codec("jpeg")], points=[20, 80]))
    assert len(pd.read_parquet(store.parquet)) == 2
    assert len(read_results(store.run_dir)) == 6


# --- runs that can never finish -------------------------------------------------------------------------

def test_a_file_name_that_is_not_utf8_does_not_break_parquet_or_report(tmp_path):
    crops = write_crops(tmp_path / "crops")
    os.rename(crops / "kodim13.png", os.path.join(os.fsencode(crops), b"caf\xe9.png"))
    result = cli("run", "--codecs", "jpeg,jpeg-444", "--points", "30,60,90", "--dataset", str(crops),
                 "--results", "r", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    table = pd.read_parquet(tmp_path / "r" / "crops" / "results.parquet")
    assert "caf\\xe9" in set(table["image"]) and len(table) == 12
    report = cli("report", "r/crops", "--anchor", "jpeg", cwd=tmp_path)
    assert report.returncode == 0, report.stderr


def test_lines_of_the_journal_that_are_not_rows_are_skipped_and_named(tmp_path):
    crops = write_crops(tmp_path / "crops")
    run = ["run", "--codecs", "jpeg", "--points", "50", "--dataset", str(crops), "--results", "r"]
    assert cli(*run, cwd=tmp_path).returncode == 0
    journal = tmp_path / "r" / "crops" / "rows.jsonl"
    with journal.open("ab") as handle:
        handle.write(b'{"hello": "valid JSON, not a row"}\n\x00\xff\xfe binary garbage\n')
    again = cli(*run, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "0 encoded, 2 already done" in again.stderr
    assert "skipped line 3 (not a row" in again.stderr and "4 (not JSON)" in again.stderr


def test_an_unreadable_image_is_a_failed_row_and_the_run_goes_on(tmp_path):
    crops = write_crops(tmp_path / "crops")
    dataset = resolve_dataset(str(crops))
    (crops / "kodim13.png").unlink()  # gone between listing and reading (network share, another process)
    store = RunStore(tmp_path / "run")
    summary = run_sweep(store, dataset, [get_codec("jpeg")], points=[30, 60])
    table = read_results(store.run_dir).set_index("image")
    assert summary.failed == 2 and (table.loc["kodim23", "status"] == "ok").all()
    assert all("kodim13.png" in e and "No such file" in e for e in table.loc["kodim13", "error"])


def _dies_on_kodim13(job):
    from harness.run.worker import execute_job

    if job.image == "kodim13" and job.point == 60:
        os.kill(os.getpid(), signal.SIGKILL)  # what the out-of-memory killer does
    return execute_job(job)


def test_a_worker_killed_mid_job_is_a_failed_row_not_an_aborted_run(tmp_path):
    from joblib import Parallel, delayed
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    crops = write_crops(tmp_path / "crops")
    jobs = plan_jobs(resolve_dataset(str(crops)), [get_codec("jpeg")], points=[30, 60, 90])
    # What the run used to do: joblib gives up on the whole run.
    with pytest.raises(TerminatedWorkerError):
        list(Parallel(n_jobs=2, return_as="generator_unordered")(delayed(_dies_on_kodim13)(j) for j in jobs))
    results = {(r.row.image, r.row.point): r.row for r in execute_local(jobs, 2, work=_dies_on_kodim13)}
    assert len(results) == 6
    killed = results[("kodim13", 60.0)]
    assert killed.status == "failed" and "worker process died" in (killed.error or "")
    assert all(row.ok and row.values["psnr_rgb"] > 20 for key, row in results.items() if key != ("kodim13", 60.0))


# --- hangs ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["vtm", "vtm-420", "ecm", "ecm-420", "avm", "jpeg-ai"])
def test_every_external_program_has_a_time_limit_scaled_by_pixels(name):
    codec = get_codec(name)
    small, large = codec.encode_timeout(768 * 512), codec.encode_timeout(4000 * 3000)
    # Bounded, scaled, and generous: AVM at the CTC's cpu-used=0 codes ~12,000 s per megapixel on one core
    # (775 s for a 256x256 crop), so a 12 MP picture may legitimately take two days.
    assert small is not None and large is not None and 600 <= small < large < 24 * 3600 * 5
    assert codec.decode_timeout(b"x" * 100_000) is not None


def test_a_symlink_loop_in_the_published_folder_does_not_hang(tmp_path):
    pico = tmp_path / "pico"
    (pico / "scene").mkdir(parents=True)
    os.symlink("..", pico / "scene" / "loop")
    os.symlink(pico, pico / "scene" / "again")
    crops = write_crops(tmp_path / "crops")
    env = {"HARNESS_PICO_DIR": str(pico)}
    listed = cli("published", cwd=tmp_path, env=env, timeout=120)
    assert listed.returncode == 0, listed.stderr
    run = cli("run", "--codecs", "jpeg", "--points", "50", "--dataset", str(crops), "--results", "r", cwd=tmp_path,
              env=env, timeout=120)
    assert run.returncode == 0, run.stderr


# --- security -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ('name = "evil"\n[[files]]\nname = "../../x.png"\nurl = "file:///etc/hostname"\n', "relative path inside"),
    ('name = "evil"\n[[files]]\nname = "/tmp/x.png"\n', "relative path inside"),
    ('name = "evil"\ngenerator = "os:system"\n', "only the harness's own generators"),
    ('name = "evil"\npackage = "os.path"\n', "top-level package"),
])
def test_dataset_definitions_cannot_write_outside_or_run_foreign_code(tmp_path, text, expected):
    from harness.datasets import DatasetError, load_definition

    path = tmp_path / "evil.toml"
    path.write_text(text)
    with pytest.raises(DatasetError, match=expected) as info:
        load_definition(path)
    assert str(path) in str(info.value)


def test_a_published_manifest_cannot_point_outside_its_folder(tmp_path):
    pico = tmp_path / "pico"
    pico.mkdir()
    secret = tmp_path / "secret.png"
    secret.write_text("root:x:0:0:secret\n")
    (pico / "manifest.csv").write_text(f"image,codec,bpp,path\nkodim23,pico,0.1,../secret.png\n"
                                       f"kodim23,pico,0.2,{secret}\n")
    listed = cli("published", cwd=tmp_path, env={"HARNESS_PICO_DIR": str(pico)})
    assert listed.stderr.count("outside the manifest's folder") == 2, listed.stderr
    from harness.core.images import ImageError, load_image

    with pytest.raises(ImageError) as info:
        load_image(secret)
    assert "root" not in str(info.value).replace(str(tmp_path), "")


# --- concurrency ----------------------------------------------------------------------------------------

def test_runs_on_one_folder_at_once_do_not_both_do_the_work(tmp_path):
    crops = write_crops(tmp_path / "crops")
    runs = [subprocess.Popen([sys.executable, "-m", "harness.cli", "run", "--codecs", "jpeg,webp", "--points",
                              "20,50", "--dataset", str(crops), "--results", "r"], cwd=tmp_path, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    outcomes = [(p.wait(timeout=300), p.stderr.read() if p.stderr else "") for p in runs]
    assert all("Traceback" not in err for _, err in outcomes), outcomes
    assert all(code in (0, 2) for code, _ in outcomes), outcomes
    assert sum(1 for code, _ in outcomes if code == 0) >= 1
    # Each job was done once: one journal line per row, not one per concurrent run.
    assert len(read_results(tmp_path / "r" / "crops")) == 8
    assert (tmp_path / "r" / "crops" / "rows.jsonl").read_text().count("\n") == 8
    store = RunStore(tmp_path / "r" / "crops")
    store.lock()
    try:
        busy = cli("run", "--codecs", "jpeg", "--points", "50", "--dataset", str(crops), "--results", "r", cwd=tmp_path)
        assert "another harness process" in one_line_error(busy) and str(os.getpid()) in busy.stderr
    finally:
        store.unlock()


# --- rough edges ----------------------------------------------------------------------------------------

def _png_definition(name: str, programs: str, encode: str, decode: str) -> str:
    """A toy command-line codec on 8-bit RGB PNG files (knob q 0..10), for the rough-edge tests."""
    return "\n".join([
        f'name = "{name}"', 'format = "png"',
        "[knob]", 'name = "q"', "low = 0", "high = 10", "quality_rises = true", "default_points = [5]",
        "[colour]", 'matrix = "rgb"', 'range = "full"', "bit_depth = 8", 'subsampling = "444"',
        "[programs]", programs, "[encode]", encode, "[decode]", decode, ""])


SLEEPER = _png_definition(
    "sleeper", 'sh = { names = ["sh"] }',
    'command = ["{sh}", "-c", "exec sleep 120", "{input}", "{bitstream}"]',
    'command = ["{sh}", "-c", "exec sleep 120", "{bitstream}", "{output}"]')


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:  # a child that ended meanwhile (a version query)
        return b""


def test_kill_9_of_the_parent_leaves_no_codec_running_and_no_temp_folder(tmp_path):
    codecs = tmp_path / "codecs"
    codecs.mkdir()
    (codecs / "sleeper.toml").write_text(SLEEPER)
    crops = write_crops(tmp_path / "crops")
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    env = {**os.environ, "HARNESS_CODECS_DIR": str(codecs), "TMPDIR": str(system_tmp)}
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", "--codecs", "sleeper", "--dataset",
                             str(crops), "--results", "r"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    children: list[int] = []
    while not children and time.time() < deadline:
        children = [c for c in _children(proc.pid) if b"sleep" in _cmdline(c)]
        time.sleep(0.1)
    assert children, "the encoder never started"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 10
    while Path(f"/proc/{children[0]}").exists() and time.time() < deadline:
        time.sleep(0.1)
    status = Path(f"/proc/{children[0]}/stat")
    assert not status.exists() or status.read_text().rsplit(")", 1)[1].split()[0] == "Z", "the encoder still runs"
    assert not any(system_tmp.iterdir())  # nothing left in the system's temporary folder
    leftovers = tmp_path / "r" / "crops" / ".tmp" / str(proc.pid)
    assert leftovers.is_dir()  # ... but in the run's own, until the next invocation
    subprocess.run([sys.executable, "-m", "harness.cli", "run", "--codecs", "jpeg", "--points", "50", "--dataset",
                    str(crops), "--results", "r"], cwd=tmp_path, env=env, capture_output=True, timeout=300, check=False)
    assert not leftovers.exists()


def grey_definition(colour: str) -> str:
    """A broken decoder: whatever the stream, one flat colour (the input's mean, so the PSNR floor passes)."""
    return _png_definition(
        "grey", 'ffmpeg = { names = ["ffmpeg"], provider = "imageio_ffmpeg:get_ffmpeg_exe" }',
        'command = ["{ffmpeg}", "-hide_banner", "-loglevel", "error", "-i", "{input}", "-f", "image2", '
        '"-c:v", "png", "-y", "{bitstream}"]',
        'command = ["{ffmpeg}", "-hide_banner", "-loglevel", "error", "-i", "{bitstream}", "-f", "lavfi", '
        f'"-i", "color=c=0x{colour}:s={{width}}x{{height}}", "-map", "1:v", "-frames:v", "1", "-y", "{{output}}"]')


def test_a_flat_grey_decode_is_a_failed_row_even_above_the_psnr_floor(tmp_path):
    from harness.codecs.base import CodecError
    from harness.core.images import load_image
    from harness.core.pixelerror import error_gram, mse_of, psnr_db

    crops = write_crops(tmp_path / "crops")
    image = load_image(crops / "kodim23.png")
    mean = image.pixels.reshape(-1, 3).mean(axis=0).round().astype(int)
    flat = np.broadcast_to(mean.astype(np.uint8), image.pixels.shape)
    assert psnr_db(mse_of(error_gram(flat, image.pixels), flat.shape[0] * flat.shape[1])) > 10  # the floor alone lets it through
    codecs = tmp_path / "codecs"
    codecs.mkdir()
    (codecs / "grey.toml").write_text(grey_definition("".join(f"{v:02x}" for v in mean)))
    from harness.codecs.commandline import codec_class
    from harness.codecs.definition import load_definition

    grey = codec_class(load_definition(codecs / "grey.toml"))()
    assert grey.availability(), grey.availability().reason
    with pytest.raises(CodecError, match="one flat colour"):
        grey.compress(image, 5)


def test_report_on_an_empty_run_is_one_line(tmp_path):
    run = tmp_path / "empty"
    run.mkdir()
    (run / "rows.jsonl").write_text("")
    assert "has no rows" in one_line_error(cli("report", str(run), cwd=tmp_path))


def test_results_folder_that_cannot_be_made_is_one_line(tmp_path):
    crops = write_crops(tmp_path / "crops")
    (tmp_path / "afile").write_text("x")
    for results in ("afile/sub", "/proc/harness-results"):
        message = one_line_error(cli("run", "--codecs", "jpeg", "--points", "50", "--dataset", str(crops),
                                     "--results", results, cwd=tmp_path))
        assert "cannot write the run folder" in message


def test_jobs_zero_fails_before_the_run_folder_exists(tmp_path):
    crops = write_crops(tmp_path / "crops")
    message = one_line_error(cli("run", "--codecs", "jpeg", "--dataset", str(crops), "--results", "r", "--jobs", "0",
                                 cwd=tmp_path))
    assert "--jobs 0" in message and not (tmp_path / "r").exists()


def test_a_codec_named_twice_runs_once(tmp_path):
    crops = write_crops(tmp_path / "crops")
    result = cli("run", "--codecs", "jpeg,,jpeg", "--points", "50", "--dataset", str(crops), "--results", "r",
                 cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2 jobs: 2 encoded" in result.stderr
    assert (tmp_path / "r" / "crops" / "rows.jsonl").read_text().count("\n") == 2


def test_a_png_with_a_bad_ihdr_crc_says_so(tmp_path):
    from harness.core.images import ImageError, load_image

    data = bytearray((KODAK / "kodim23.png").read_bytes())
    assert zlib.crc32(bytes(data[12:29])) == int.from_bytes(data[29:33], "big")
    data[32] ^= 0xFF
    path = tmp_path / "bad-crc.png"
    path.write_bytes(bytes(data))
    with pytest.raises(ImageError) as info:
        load_image(path)
    assert "IHDR" in str(info.value) and "CRC" in str(info.value) and str(path) in str(info.value)
    assert json.dumps(str(info.value))  # one line, printable
