"""Published reconstructions (PICO and the codecs of its authors' viewer) as codecs: the three layouts,
name matching, size and reference checks, failed rows for gaps, and runs that evaluate them with real
metrics. Reconstructions are the authors' own files from ../shared (never copied into the repo)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from harness.codecs.base import CodecError
from harness.core.hashing import sha256_file
from harness.core.images import load_image
from harness.datasets import resolve_dataset
from harness.published import config as published
from harness.published.contender import every_source
from harness.published.names import image_key_matches, parse_rate_name
from harness.run.store import RunStore, read_results
from harness.run.sweep import run_sweep
from harness.run.worker import _codec
from tests.conftest import KODAK, REPO, SHARED

SCENES = SHARED / "datasets" / "ml-pico-scenes"
CLIC = SHARED / "datasets" / "clic-sample"
DURANA = "michael-durana-82941"
# The viewer's bpp_data.json, as published with the scenes.
STATED = json.loads((SCENES / "bpp_data.json").read_text())
ENV = (published.ENV_PICO, published.ENV_DIRS, published.ENV_CONFIG)


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    _codec.cache_clear()  # the runner caches codec instances per process (availability included)
    yield
    _codec.cache_clear()


def _codec_named(name: str):
    return {cls.name: cls for cls in every_source()}[name]()


def _pixels(path: Path) -> np.ndarray:
    return load_image(path).pixels


@pytest.fixture()
def small_dataset(tmp_path) -> Path:
    """kodim04 (has a viewer scene) and kodim05 (has none), as a folder dataset."""
    folder = tmp_path / "originals"
    folder.mkdir()
    for name in ("kodim04", "kodim05"):
        os.symlink(KODAK / f"{name}.png", folder / f"{name}.png")
    return folder


# --- names ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stem, expected", [
    ("Splash_rate20_0.173bpp", ("Splash", "rate20", "0.173")),
    ("Splash_0.22076bpp", ("Splash", None, "0.22076")),
    ("DCVC_RT_0.175902bpp", ("DCVC_RT", None, "0.175902")),
    ("hific_0.174bpp", ("hific", None, "0.174")),
    ("vvc_0.191bbp", ("vvc", None, "0.191")),            # the authors' typo
    ("Splash_0.34129bpp-", ("Splash", None, "0.34129")),  # and a trailing dash
    ("Splash_0.22043555", ("Splash", None, "0.22043555")),
    ("Splash_rate16_0.095", ("Splash", "rate16", "0.095")),
    ("target_2xds", None), ("thumb", None), ("reference", None), ("target_3.47MB", None),
])
def test_rate_in_file_name(stem, expected):
    assert parse_rate_name(stem) == expected


def test_publisher_names_match_dataset_names():
    assert image_key_matches("kodak_kodim04", "kodim04")
    assert image_key_matches("kodim15", "kodim15")
    assert image_key_matches(DURANA, DURANA)
    assert image_key_matches("clic2020_" + DURANA, "professional/" + DURANA)
    assert not image_key_matches("kodak_kodim04", "kodim4")
    assert not image_key_matches("kodak_kodim04", "im04")
    assert not image_key_matches("kodim04", "kodak_kodim04")


# --- configuration --------------------------------------------------------------------------------------

def test_unconfigured_codec_is_unavailable_and_says_which_variable():
    codec = _codec_named("pico")
    ok = codec.availability()
    assert not ok and published.ENV_PICO in ok.reason and published.ENV_DIRS in ok.reason


def test_builtin_published_codecs_never_clash_with_our_adapters():
    from harness.codecs import codec_names

    names = codec_names()
    for name in ("pico", "hific", "dcvc-rt", "vvc-published", "bpg-published", "vvc"):
        assert name in names


# --- layout 1: the authors' viewer ------------------------------------------------------------------------

def test_viewer_layout_indexes_every_listed_reconstruction(monkeypatch):
    monkeypatch.setenv(published.ENV_PICO, str(SCENES))
    expected = {"pico": 0.297, "hific": 0.300, "dcvc-rt": 0.327, "vvc-published": 0.332, "bpg-published": 0.312}
    for name, bpp in expected.items():
        codec = _codec_named(name)
        assert codec.availability(), codec.availability().reason
        assert codec.points_for("kodim04") == [bpp]
        assert codec.points_for("kodim05") == []
    assert _codec_named("pico").points_for(DURANA) == [0.220]
    # Listed in bpp_data.json although the file is absent: still a point, so it becomes a failed row.
    assert _codec_named("vvc-published").points_for(DURANA) == [0.221]
    assert _codec_named("bpg-published").points_for(DURANA) == []


def test_viewer_reconstruction_is_measured_against_the_original(monkeypatch):
    monkeypatch.setenv(published.ENV_PICO, str(SCENES))
    image = load_image(KODAK / "kodim04.png")
    outcome = _codec_named("pico").compress(image, 0.297)
    assert outcome.rate_source == "published" and outcome.bpp == 0.297
    assert outcome.file_bytes is None and outcome.encode_seconds is None and outcome.decode_seconds is None
    np.testing.assert_array_equal(outcome.reconstruction, _pixels(SCENES / "kodak_kodim04" / "pico.png"))
    assert outcome.params["stated_bpp"] == "0.297" and outcome.params["layout"] == "viewer"
    assert outcome.params["publisher_image_name"] == "kodak_kodim04"
    assert outcome.params["source_sha256"] == sha256_file(SCENES / "kodak_kodim04" / "pico.png")
    # The distortion is real and in the range a 0.3 bpp perceptual codec has on kodim04.
    assert 29.5 < _psnr(outcome.reconstruction, image.pixels) < 31.5


# --- layout 2: rates in file names, as the authors name their files ---------------------------------------

@pytest.fixture()
def filename_tree(tmp_path) -> Path:
    """The authors' file-name patterns over their real reconstructions (symlinks to ../shared), with the
    clutter of their folders: duplicates, thumbnails, a downsampled target and a misnamed rate."""
    root = tmp_path / "authors"
    kodak = root / "kodak_kodim04"
    durana = root / DURANA
    kodak.mkdir(parents=True)
    durana.mkdir()
    links = {
        kodak / "Splash_rate20_0.297bpp.png": SCENES / "kodak_kodim04" / "pico.png",
        kodak / "hific_0.300bpp.png": SCENES / "kodak_kodim04" / "hific.png",
        kodak / "DCVC_RT_0.327412bpp.png": SCENES / "kodak_kodim04" / "dcvc.png",
        kodak / "vvc_0.332bbp.png": SCENES / "kodak_kodim04" / "vvc.png",
        kodak / "reference.png": SCENES / "kodak_kodim04" / "reference.png",
        kodak / "thumb.png": SCENES / "kodak_kodim04" / "bpg.png",
        kodak / "target_2xds.png": SCENES / "kodak_kodim04" / "bpg.png",
        durana / "Splash_0.22043555.png": SCENES / DURANA / "pico.png",
        durana / "pico.png": SCENES / DURANA / "pico.png",  # the viewer's copy of the same file
        durana / "DCVC_RT_287089bpp.png": SCENES / DURANA / "dcvc.png",  # lost its "0.": not a rate
        durana / "target_3.47MB.png": SCENES / DURANA / "reference.png",
        # Image named in the file, not by a folder; the second PICO rate of this image.
        root / "kodim04_Splash_rate12_0.1bpp.png": SCENES / "kodak_kodim04" / "bpg.png",
    }
    for link, target in links.items():
        os.symlink(target, link)
    # The viewer's own bpp_data.json beside the folders, with coarser figures than the names state.
    # hific.png is listed but absent; its rate-named copy hific_0.300bpp.png is there.
    (root / "bpp_data.json").write_text(json.dumps({DURANA: {"pico": "0.220"}, "kodak_kodim04": {"hific": "0.3"}}))
    return root


def test_filename_layout(monkeypatch, filename_tree):
    monkeypatch.setenv(published.ENV_DIRS, str(filename_tree))
    pico, dcvc, vvc = _codec_named("pico"), _codec_named("dcvc-rt"), _codec_named("vvc-published")
    assert pico.points_for("kodim04") == [0.1, 0.297]
    hific = _codec_named("hific")
    assert hific.points_for("kodim04") == [0.300]
    assert hific.compress(load_image(KODAK / "kodim04.png"), 0.3).params["stated_bpp"] == "0.300"
    assert dcvc.points_for("kodim04") == [0.327412]
    assert vvc.points_for("kodim04") == [0.332]
    # pico.png (0.220 in bpp_data.json) and Splash_0.22043555.png are one file: one point, the finer rate.
    assert pico.points_for(DURANA) == [0.22043555]
    assert dcvc.points_for(DURANA) == []
    assert any("287089" in p and "implausible" in p for p in pico.problems())
    image = load_image(KODAK / "kodim04.png")
    outcome = pico.compress(image, 0.297)
    assert outcome.params["rate_label"] == "rate20" and outcome.params["layout"] == "filename"
    np.testing.assert_array_equal(outcome.reconstruction, _pixels(SCENES / "kodak_kodim04" / "pico.png"))
    low = pico.compress(image, 0.1)
    assert low.params["rate_label"] == "rate12" and low.params["publisher_image_name"] == "kodim04"


def test_untagged_files_in_the_pico_folder_are_pico(monkeypatch, tmp_path):
    folder = tmp_path / "pico_zip" / "rate20"
    folder.mkdir(parents=True)
    os.symlink(SCENES / "kodak_kodim04" / "pico.png", folder / "kodim04_0.297bpp.png")
    monkeypatch.setenv(published.ENV_PICO, str(tmp_path / "pico_zip"))
    assert _codec_named("pico").points_for("kodim04") == [0.297]
    monkeypatch.delenv(published.ENV_PICO)
    monkeypatch.setenv(published.ENV_DIRS, f"hific={tmp_path / 'pico_zip'}")
    assert _codec_named("hific").points_for("kodim04") == [0.297]
    assert _codec_named("pico").points_for("kodim04") == []


# --- layout 3: a generic manifest ---------------------------------------------------------------------------

def test_manifest_layouts_csv_and_json(monkeypatch, tmp_path):
    root = tmp_path / "manifested"
    (root / "files").mkdir(parents=True)
    os.symlink(SCENES / "kodak_kodim04" / "hific.png", root / "files" / "a.png")
    # Manifests name files inside their folder (links placed there are followed).
    os.symlink(SCENES / DURANA / "pico.png", root / "files" / "pico.png")
    os.symlink(SCENES / "kodak_kodim04" / "dcvc.png", root / "files" / "dcvc.png")
    os.symlink(SCENES / "kodak_kodim04" / "bpg.png", root / "files" / "bpg.png")
    (root / "manifest.csv").write_text(
        "image,codec,rate,bpp,path\n"
        f"kodim04.png,HiFiC,q3,0.3001,files/a.png\n"
        f"{DURANA},PICO,rate20,0.2204,files/pico.png\n"
        f"kodim04,ELIC,q1,0.41,files/dcvc.png\n"
        "kodim04,ELIC,q2,not-a-number,files/a.png\n"
    )
    (root / "more.json").write_text(json.dumps({"reconstructions": [
        {"image": "kodim04", "codec": "bpg", "label": "qp37", "bpp": 0.312, "path": "files/bpg.png"}]}))
    (root / "unrelated.json").write_text(json.dumps({"not": "a manifest"}))
    monkeypatch.setenv(published.ENV_DIRS, str(root))
    assert _codec_named("hific").points_for("kodim04") == [0.3001]
    assert _codec_named("pico").points_for(DURANA) == [0.2204]
    assert _codec_named("bpg-published").points_for("kodim04") == [0.312]
    # A codec the harness does not know becomes "<name>-published".
    elic = _codec_named("elic-published")
    assert elic.availability() and elic.points_for("kodim04") == [0.41]
    assert any("not-a-number" in p for p in elic.problems())
    image = load_image(KODAK / "kodim04.png")
    outcome = _codec_named("hific").compress(image, 0.3001)
    assert outcome.params["rate_label"] == "q3" and outcome.params["layout"] == "manifest"
    np.testing.assert_array_equal(outcome.reconstruction, _pixels(SCENES / "kodak_kodim04" / "hific.png"))


def test_toml_config_declares_sources_and_codecs(monkeypatch, tmp_path):
    data = tmp_path / "data" / "kodim04"
    data.mkdir(parents=True)
    os.symlink(SCENES / "kodak_kodim04" / "dcvc.png", data / "MLIC_0.33bpp.png")
    config = tmp_path / "published.toml"
    config.write_text('[[source]]\npath = "data"\n\n[[codec]]\nname = "mlic-published"\ntokens = ["MLIC"]\n'
                      '\n[[codec]]\nname = "vvc"\n')
    monkeypatch.setenv(published.ENV_CONFIG, str(config))
    assert _codec_named("mlic-published").points_for("kodim04") == [0.33]
    # A published codec may not take the name of an encoder (ours is "vvc"): refused, and said why.
    assert "vvc" not in {cls.name for cls in every_source()}
    assert any("'vvc' must be lower-case and end in '-published'" in p
               for p in _codec_named("mlic-published").problems())


# --- checks: sizes, originals, 16-bit files ------------------------------------------------------------------

def test_size_mismatch_and_foreign_reference_fail_clearly(monkeypatch, tmp_path):
    scene = tmp_path / "viewer" / "kodak_kodim04"
    scene.mkdir(parents=True)
    Image.open(SCENES / "kodak_kodim04" / "hific.png").crop((0, 0, 96, 64)).save(scene / "hific.png")
    os.symlink(SCENES / "kodak_kodim04" / "pico.png", scene / "pico.png")
    shifted = _pixels(KODAK / "kodim04.png").copy()
    shifted[10:20, 10:30] ^= 1
    Image.fromarray(shifted).save(scene / "reference.png")
    (tmp_path / "viewer" / "bpp_data.json").write_text(json.dumps({"kodak_kodim04": {"hific": "0.3", "pico": "0.297"}}))
    monkeypatch.setenv(published.ENV_PICO, str(tmp_path / "viewer"))
    image = load_image(KODAK / "kodim04.png")
    with pytest.raises(CodecError, match=r"hific.png is 96x64 but the original kodim04 is 512x768"):
        _codec_named("hific").compress(image, 0.3)
    with pytest.raises(CodecError, match=r"reference.png differs from the dataset's kodim04 \(200 pixels"):
        _codec_named("pico").compress(image, 0.297)


def test_sixteen_bit_reconstruction_is_reduced_by_rounding(monkeypatch, tmp_path):
    scene = tmp_path / "v" / "kodim04"
    scene.mkdir(parents=True)
    eight = _pixels(SCENES / "kodak_kodim04" / "pico.png")
    import imagecodecs

    (scene / "pico.png").write_bytes(imagecodecs.png_encode(eight.astype(np.uint16) * 257))
    (tmp_path / "v" / "bpp_data.json").write_text(json.dumps({"kodim04": {"pico": "0.297"}}))
    monkeypatch.setenv(published.ENV_PICO, str(tmp_path / "v"))
    outcome = _codec_named("pico").compress(load_image(KODAK / "kodim04.png"), 0.297)
    np.testing.assert_array_equal(outcome.reconstruction, eight)
    assert "16-bit reduced to 8 bits with round(x/257)" in outcome.params["reconstruction_notes"]


# --- runs ---------------------------------------------------------------------------------------------------

def test_run_evaluates_published_codecs_and_reports_gaps(monkeypatch, small_dataset, tmp_path):
    monkeypatch.setenv(published.ENV_PICO, str(SCENES))
    from harness.codecs import get_codec

    names = ["pico", "hific", "dcvc-rt", "vvc-published", "bpg-published"]
    store = RunStore(tmp_path / "run")
    summary = run_sweep(store, resolve_dataset(str(small_dataset)), [get_codec(n) for n in names])
    table = read_results(store.run_dir)
    assert summary.total == 10 and len(table) == 10
    ok = table[table.status == "ok"].set_index("codec")
    assert set(ok["image"]) == {"kodim04"} and len(ok) == 5
    original = _pixels(KODAK / "kodim04.png")
    files = {"pico": "pico", "hific": "hific", "dcvc-rt": "dcvc", "vvc-published": "vvc", "bpg-published": "bpg"}
    for name, file in files.items():
        row = ok.loc[name]
        assert row["bpp"] == float(STATED["kodak_kodim04"][file]) == row["point"]
        assert row["rate_source"] == "published" and pd.isna(row["file_bytes"]) and pd.isna(row["encode_seconds"])
        expected = _psnr(original, _pixels(SCENES / "kodak_kodim04" / f"{file}.png"))
        assert row["psnr_rgb"] == pytest.approx(expected, abs=1e-9)
    # The published PSNRs of this scene, measured here (PICO trades PSNR for perceptual quality).
    assert ok.loc["pico", "psnr_rgb"] == pytest.approx(30.32, abs=0.01)
    assert ok.loc["dcvc-rt", "psnr_rgb"] == pytest.approx(35.28, abs=0.01)
    # Nothing was published for kodim05: an "absent" row per codec that says so, not a failure.
    assert (table.status == "failed").sum() == 0
    missing = table[table.status == "absent"]
    assert set(missing["image"]) == {"kodim05"} and len(missing) == 5
    assert all(e.endswith("no published reconstruction of " + c + " for image kodim05")
               for e, c in zip(missing["error"], missing["codec"], strict=True))


def test_listed_but_absent_reconstruction_is_a_failed_row(monkeypatch, tmp_path):
    monkeypatch.setenv(published.ENV_PICO, str(SCENES))
    from harness.codecs import get_codec

    store = RunStore(tmp_path / "run")
    run_sweep(store, resolve_dataset(str(CLIC / f"{DURANA}.png")), [get_codec("vvc-published")])
    row = read_results(store.run_dir).iloc[0]
    assert row["status"] == "failed" and row["point"] == 0.221
    assert f"{DURANA}/vvc.png of vvc-published for image {DURANA} does not exist" in row["error"]
    assert "bpp_data.json lists it at 0.221 bpp" in row["error"]


def test_cli_run_with_pico_dir(small_dataset, tmp_path):
    env = {**os.environ, published.ENV_PICO: str(SCENES)}
    result = subprocess.run([sys.executable, "-m", "harness.cli", "run", "--codecs", "pico,hific",
                             "--dataset", str(small_dataset), "--results", str(tmp_path / "r"), "--run", "p"],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr  # kodim05 was never published: absent rows, not failures
    assert "0 failed, 2 not published" in " ".join(result.stderr.split())
    table = read_results(tmp_path / "r" / "p")
    assert set(table.loc[table.status == "absent", "error"]) == {
        f"no published reconstruction of {c} for image kodim05" for c in ("pico", "hific")}
    assert table.loc[(table.codec == "pico") & (table.status == "ok"), "bpp"].tolist() == [0.297]


@pytest.mark.slow
def test_clic_scene_with_perceptual_metric(monkeypatch, tmp_path):
    """The full-size CLIC scene (2048x1365) with LPIPS: the paper's caveat on the authors' own files."""
    monkeypatch.setenv(published.ENV_PICO, str(SCENES))
    from harness.codecs import get_codec

    store = RunStore(tmp_path / "run")
    started = time.perf_counter()
    run_sweep(store, resolve_dataset(str(CLIC / f"{DURANA}.png")), [get_codec(n) for n in ("pico", "dcvc-rt")],
              metrics=("psnr", "lpips"))
    seconds = time.perf_counter() - started
    table = read_results(store.run_dir)
    assert (table.status == "ok").all(), table.error.tolist()
    by = table.set_index("codec")
    # PICO: 5.3 dB below DCVC-RT in PSNR at about the same rate, yet a far lower (better) LPIPS.
    assert by.loc["dcvc-rt", "psnr_rgb"] - by.loc["pico", "psnr_rgb"] == pytest.approx(5.33, abs=0.01)
    assert by.loc["pico", "lpips_alex"] == pytest.approx(0.0520, abs=0.001)
    assert by.loc["dcvc-rt", "lpips_alex"] == pytest.approx(0.1854, abs=0.001)
    print(f"2 published CLIC rows with LPIPS in {seconds:.1f} s")


# --- datasets: the names the authors use --------------------------------------------------------------------

def test_clic_test_definition_matches_the_authors_names(monkeypatch, tmp_path):
    from harness.datasets import dataset_definitions

    definition = dataset_definitions()["clic"]
    assert definition.name == "clic2020-test"
    sums = dict(reversed(line.split()) for line in (CLIC / "SHA256SUMS").read_text().splitlines() if line.strip())
    assert definition.known_hashes == sums
    # The shared sample, placed where a fetched copy would be, resolves under the authors' names.
    data = tmp_path / "data"
    data.mkdir()
    os.symlink(CLIC, data / "clic2020-test")
    monkeypatch.setenv("HARNESS_DATA", str(data))
    dataset = resolve_dataset("clic")
    names = sorted(ref.name for ref in dataset.images)
    assert names == ["1035a35332e08ee1e7793f7be86d6ca1", DURANA]  # a mobile hash name, an Unsplash name
    scenes = [p.name for p in SCENES.iterdir() if p.is_dir() and not p.name.startswith("kodak_")]
    assert scenes and all(any(image_key_matches(scene, name) for name in names) for scene in scenes)


def test_archive_members_keep_their_stems_and_macos_junk_is_skipped(monkeypatch, tmp_path):
    """A fetched CLIC-style zip: images named by their file stems, whatever folder they sit in; the
    ``__MACOSX/._*.png`` resource forks macOS zips carry are not images."""
    import hashlib
    import zipfile

    from harness.datasets import fetch

    png = (KODAK / "kodim23.png").read_bytes()
    archive = tmp_path / "CLIC_test.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr(f"test/{DURANA}.png", png)
        bundle.writestr("test/1035a35332e08ee1e7793f7be86d6ca1.png", png)
        bundle.writestr(f"__MACOSX/test/._{DURANA}.png", b"\x00\x05\x16\x07 resource fork")
        bundle.writestr("test/readme.txt", b"not an image")
    definitions = tmp_path / "definitions"
    definitions.mkdir()
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    (definitions / "clic-like.toml").write_text(
        f'name = "clic-like"\n[[archives]]\nurl = "{archive.as_uri()}"\nsha256 = "{digest}"\n')
    monkeypatch.setenv("HARNESS_DATASETS_DIR", str(definitions))
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HARNESS_DATA", str(tmp_path / "nothing"))
    root = fetch("clic-like")
    assert sorted(p.name for p in root.iterdir() if p.suffix == ".png") == [
        "1035a35332e08ee1e7793f7be86d6ca1.png", f"{DURANA}.png"]
    assert sorted(ref.name for ref in resolve_dataset("clic-like").images) == [
        "1035a35332e08ee1e7793f7be86d6ca1", DURANA]


def test_published_listing_counts_checks_sizes_and_takes_rate_corrections(monkeypatch, tmp_path):
    """`harness published`: per codec usable / missing / wrong-size counts, paths printed whole; a file whose
    name misstates its rate is reported once there (not by `harness run`) and a [[rate]] table corrects it;
    `harness codecs` counts only files on disk."""
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    viewer = tmp_path / "a-long-folder-name-that-would-not-fit-in-eighty-columns-of-a-terminal" / "viewer"
    scene = viewer / "kodak_kodim04"
    scene.mkdir(parents=True)
    os.symlink(SCENES / "kodak_kodim04" / "pico.png", scene / "pico.png")
    os.symlink(SCENES / "kodak_kodim04" / "reference.png", scene / "reference.png")
    Image.open(SCENES / "kodak_kodim04" / "hific.png").crop((0, 0, 96, 64)).save(scene / "hific.png")
    os.symlink(SCENES / "kodak_kodim04" / "dcvc.png", scene / "DCVC_RT_287089bpp.png")  # lost its "0."
    (viewer / "bpp_data.json").write_text(json.dumps({"kodak_kodim04": {"pico": "0.297", "hific": "0.300",
                                                                        "bpg": "0.312"}}))
    env = {**os.environ, published.ENV_PICO: str(viewer), "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    for name in (published.ENV_DIRS, published.ENV_CONFIG):
        env.pop(name, None)

    def harness(*args: str, extra: dict[str, str] | None = None) -> str:
        done = subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, text=True,
                              env={**env, **(extra or {})}, check=False, cwd=tmp_path)
        return done.stdout + done.stderr

    listing = harness("published")
    flat = " ".join(listing.split())
    assert "│ pico │ 1 │ 1 │ │ │" in flat.replace("  ", " ")
    assert "│ hific │ 1 │ 0 │ │ 1 │" in flat and "│ bpg-published │ 1 │ 0 │ 1 │ │" in flat
    assert f"wrong size: {scene / 'hific.png'} is 96x64, the original is 512x768" in listing
    assert f"missing: bpg-published kodak_kodim04 at 0.312 bpp: {scene / 'bpg.png'}" in listing
    assert f"not used: {scene / 'DCVC_RT_287089bpp.png'}: stated rate 287089 bpp is implausible" in listing
    assert "[[rate]]" in listing
    monkeypatch.setenv(published.ENV_PICO, str(viewer))  # what `harness codecs` shows as the version
    assert "(0 reconstructions on disk, 1 listed but missing," in _codec_named("bpg-published").version()
    assert "(1 reconstructions on disk, data" in _codec_named("pico").version()
    run = harness("run", "--codecs", "pico", "--dataset", str(KODAK / "kodim04.png"), "--run", "r")
    assert "implausible" not in run and "not used" not in run  # said once, in the listing

    config = tmp_path / "published.toml"
    config.write_text('[[rate]]\nfile = "DCVC_RT_287089bpp.png"\nbpp = 0.287089\n')
    fixed = harness("published", "--details", extra={published.ENV_CONFIG: str(config)})
    assert "implausible" not in fixed
    assert f"dcvc-rt\tkodak_kodim04\t0.287089 bpp\tfilename\tcorrected rate\t{scene / 'DCVC_RT_287089bpp.png'}" in fixed


def test_listing_codecs_reads_no_published_folder(tmp_path):
    """The codec registry lists the built-in and declared published codecs without reading their folders;
    a codec named only inside the data is found when it is asked for by name."""
    root = tmp_path / "manifested"
    root.mkdir()
    os.symlink(SCENES / "kodak_kodim04" / "dcvc.png", root / "dcvc.png")
    (root / "manifest.csv").write_text("image,codec,bpp,path\nkodim04,ELIC,0.41,dcvc.png\n")
    code = ("from harness.codecs import codec_class, codec_names\n"
            "from harness.published.index import build_index\n"
            "names = codec_names()\n"
            "print('pico' in names, 'elic-published' in names, build_index.cache_info().misses)\n"
            "print(codec_class('elic-published')().points_for('kodim04'), build_index.cache_info().misses)\n")
    env = {**os.environ, published.ENV_DIRS: str(root), "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:2] == ["True False 0", "[0.41] 1"]
