"""Every row's key covers what made its bits (issue 26): a changed default, fixed argument or definition
encodes again and keeps older rows out of analyses; a spelled-out default is the same codec; rows of
schema 2 are adopted when their parameters equal the current configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from harness.analysis import selection as tables
from harness.cli import main
from harness.cli.runoutput import closing_line
from harness.codecs import get_codec
from harness.codecs.avif import Avif
from harness.codecs.hevc import Hevc
from harness.datasets import resolve_dataset
from harness.run.rows import Row
from harness.run.store import RunStore
from harness.run.sweep import run_sweep
from tests.conftest import REPO
from tests.runs import write_crops

ONE_CROP = (("kodim23", 160, 280),)


def _sweep(run: Path, crops: Path, specs: list[str], **config):
    return run_sweep(RunStore(run), resolve_dataset(str(crops)), [get_codec(s) for s in specs], **config)


def _as_schema2(run: Path, labels: dict[str, str] | None = None, tolerance: float = 0.02) -> None:
    """Rewrite a run's journal as a schema-2 harness wrote it: keys of the codec string and build, padding
    and rate-search trials inside params, no codec identity. ``labels``: the codec string each label had."""
    import hashlib

    lines = []
    for row in RunStore(run).rows():
        data = row.to_json()
        label = (labels or {}).get(row.codec, row.codec)
        params = json.loads(data["params"] or "{}")
        if data.pop("padded_height") is not None:
            params["padded_to"] = [row.padded_height, row.padded_width]
        if data.pop("search_trials") is not None:
            params["rate_search"] = [list(t) for t in row.search_trials or ()]
        for name in ("padded_width", "codec_options", "codec_config"):
            data.pop(name)
        target = row.target_bpp
        identity = {"image": row.image_sha256, "name": row.image, "codec": label, "version": row.codec_version,
                    "point": None if target is not None else row.point, "target_bpp": target,
                    "tolerance": tolerance if target is not None else None}
        data.update(schema=2, codec=label, params=json.dumps(params, sort_keys=True),
                    job_key=hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32])
        lines.append(json.dumps(data, sort_keys=True) + "\n")
    (run / "rows.jsonl").write_text("".join(lines))
    (run / "results.parquet").unlink()
    info = json.loads((run / "run.json").read_text())
    for invocation in info["invocations"]:
        invocation["codecs"] = {(labels or {}).get(label, label): {k: v for k, v in described.items()
                                                                    if k not in ("config", "options")}
                                for label, described in invocation["codecs"].items()}
    (run / "run.json").write_text(json.dumps(info))


def _configs(run: Path) -> set[str]:
    return {str(c) for c in tables.load_run(run)["codec_config"]}


def test_a_default_spelled_out_is_the_same_codec_and_reuses_its_rows(tmp_path):
    crops = write_crops(tmp_path / "crops", ONE_CROP)
    common = ["run", "--dataset", str(crops), "--points", "30,40", "--results", str(tmp_path), "--run", "r"]
    first = CliRunner().invoke(main, [*common, "--codecs", "avif"])
    assert first.exit_code == 0, first.output
    rows = {r.job_key: r for r in RunStore(tmp_path / "r").rows()}
    assert "2 encoded" in first.output and len(rows) == 2
    spelled = CliRunner().invoke(main, [*common, "--codecs", "avif:speed=2"])
    assert spelled.exit_code == 0, spelled.output
    assert "0 encoded, 2 already done" in spelled.output
    assert {r.job_key: r for r in RunStore(tmp_path / "r").rows()} == rows
    other = CliRunner().invoke(main, [*common, "--codecs", "avif:speed=6"])
    assert "2 encoded, 0 already done" in other.output, other.output
    table = tables.load_run(tmp_path / "r")
    assert sorted(table["codec"].unique()) == ["avif", "avif:speed=6"]
    invocation = json.loads((tmp_path / "r" / "run.json").read_text())["invocations"][-1]
    assert invocation["simd"]["level"] != "" and invocation["threads"]["jobs"] == 1
    assert invocation["threads"]["usable_cpus"] >= 1 and "OMP_NUM_THREADS" in invocation["threads"]
    assert {json.loads(o)["speed"] for o in table["codec_options"]} == {"2", "6"}


def test_a_changed_adapter_default_encodes_again_and_analyses_use_the_new_rows(tmp_path, monkeypatch):
    crops = write_crops(tmp_path / "crops", ONE_CROP)
    first = _sweep(tmp_path / "run", crops, ["avif"], points=[30, 40])
    before = _configs(tmp_path / "run")
    monkeypatch.setattr(Avif, "option_defaults", {**Avif.option_defaults, "speed": "4"})
    second = _sweep(tmp_path / "run", crops, ["avif"], points=[30, 40])
    assert (first.ran, second.ran, second.skipped) == (2, 2, 0)
    table = tables.load_run(tmp_path / "run")
    assert len(table) == 2 and {json.loads(o)["speed"] for o in table["codec_options"]} == {"4"}
    assert _configs(tmp_path / "run").isdisjoint(before)
    assert table.attrs["superseded"]["avif"][0] == 2 and len(RunStore(tmp_path / "run").rows()) == 4


def test_a_changed_fixed_argument_of_an_ffmpeg_adapter_encodes_again(tmp_path, monkeypatch):
    crops = write_crops(tmp_path / "crops", ONE_CROP)
    first = _sweep(tmp_path / "run", crops, ["hevc"], points=[32])
    old = tables.load_run(tmp_path / "run")
    fixed = Hevc._x265_params
    monkeypatch.setattr(Hevc, "_x265_params", lambda self, point: fixed(self, point) + ":aq-mode=0")
    second = _sweep(tmp_path / "run", crops, ["hevc"], points=[32])
    assert (first.ran, second.ran) == (1, 1)
    new = tables.load_run(tmp_path / "run")
    assert len(new) == 1 and "aq-mode=0" in json.loads(new["params"].iloc[0])["x265_params"]
    assert new["codec_config"].iloc[0] != old["codec_config"].iloc[0]
    assert new["codec_version"].iloc[0] == old["codec_version"].iloc[0]  # the build is the same
    assert new.attrs["superseded"]["hevc"][0] == 1


def test_a_changed_default_of_a_toml_definition_encodes_again(tmp_path):
    crops = write_crops(tmp_path / "crops", ONE_CROP)
    definitions = tmp_path / "codecs"
    definitions.mkdir()
    shipped = (REPO / "harness/codecs/definitions/vvenc-yuv.toml").read_text()
    assert 'preset = "fast"' in shipped
    text = shipped.replace('name = "vvenc-yuv"', 'name = "vvenc-keys"')
    env = {**os.environ, "HARNESS_CODECS_DIR": str(definitions), "PYTHONPATH": str(REPO)}
    args = [sys.executable, "-m", "harness.cli", "run", "--codecs", "vvenc-keys", "--dataset", str(crops),
            "--points", "37", "--results", str(tmp_path), "--run", "r"]
    outputs = []
    for preset in ("fast", "faster", "faster"):
        (definitions / "vvenc-keys.toml").write_text(text.replace('preset = "fast"', f'preset = "{preset}"'))
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        outputs.append(done.stdout + done.stderr)
    assert "1 encoded" in outputs[0] and "1 encoded" in outputs[1] and "0 encoded" in outputs[2]
    table = tables.load_run(tmp_path / "r")
    assert len(table) == 1 and json.loads(table["codec_options"].iloc[0]) == {"preset": "faster"}
    assert table.attrs["superseded"]["vvenc-keys"][0] == 1


def test_a_schema2_run_migrates_without_encoding_when_nothing_changed(tmp_path):
    crops = write_crops(tmp_path / "crops", ONE_CROP)
    run = tmp_path / "run"
    _sweep(run, crops, ["jpeg", "hevc"], points=[30, 50])
    _sweep(run, crops, ["jpeg", "avif"], points=[40, 70], match="jpeg")  # trials and search rows
    made = {(r.codec, r.image, r.point, r.target_bpp, r.role): r for r in RunStore(run).rows()}
    assert any(r.search_trials for r in made.values()) and any(r.role == "search" for r in made.values())
    _as_schema2(run)
    legacy = RunStore(run).rows()
    assert all(r.codec_config is None for r in legacy) and any(r.search_trials for r in legacy)
    assert len(tables.load_run(run)) == len(made)  # an old run reads as it did
    again = _sweep(run, crops, ["jpeg", "hevc"], points=[30, 50])
    matched = _sweep(run, crops, ["jpeg", "avif"], points=[40, 70], match="jpeg")
    assert (again.ran, matched.ran) == (0, 0)
    assert again.adopted + matched.adopted == len(made)
    assert "earlier harness kept" in closing_line(again, RunStore(run).rows(), "x")
    rows = RunStore(run).rows()
    assert len(rows) == len(made) and all(r.codec_config for r in rows)
    for row in rows:
        old = made[(row.codec, row.image, row.point, row.target_bpp, row.role)]
        assert (row.job_key, row.values, row.bpp, row.search_trials) == (old.job_key, old.values, old.bpp,
                                                                         old.search_trials)
    assert len(tables.load_run(run)) == len(made) and not tables.load_run(run).attrs.get("superseded")


def test_a_schema2_row_made_with_another_default_is_an_older_build(tmp_path):
    # Rows a schema-2 harness made with `--codecs avif` when avif's default speed was 6.
    crops = write_crops(tmp_path / "crops", ONE_CROP)
    run = tmp_path / "run"
    _sweep(run, crops, ["avif:speed=6"], points=[30, 40])
    _as_schema2(run, labels={"avif:speed=6": "avif"})
    assert {r.codec for r in RunStore(run).rows()} == {"avif"}
    resumed = _sweep(run, crops, ["avif"], points=[30, 40])
    assert (resumed.ran, resumed.adopted) == (2, 0)
    table = tables.load_run(run)
    assert len(table) == 2 and table["codec_config"].notna().all()
    assert {json.loads(o)["speed"] for o in table["codec_options"]} == {"2"}
    assert table.attrs["superseded"]["avif"][0] == 2


def test_schema2_rows_read_with_typed_padding_and_trials(tmp_path):
    crops = write_crops(tmp_path / "crops", ONE_CROP, height=45, width=63)  # odd sizes: 4:2:0 pads
    run = tmp_path / "run"
    _sweep(run, crops, ["vvenc-yuv"], target_bpps=[1.0])
    row = RunStore(run).rows()[0]
    assert (row.padded_height, row.padded_width) == (46, 64) and len(row.search_trials or ()) >= 2
    assert "padded_to" not in json.loads(row.params or "{}") and "rate_search" not in json.loads(row.params or "{}")
    _as_schema2(run)
    legacy = Row.from_json(json.loads((run / "rows.jsonl").read_text().splitlines()[0]))
    assert (legacy.padded_height, legacy.padded_width, legacy.search_trials) == (
        row.padded_height, row.padded_width, row.search_trials)
    assert _sweep(run, crops, ["vvenc-yuv"], target_bpps=[1.0]).adopted == 1
