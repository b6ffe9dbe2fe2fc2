"""Pairwise preference studies: plan on a real run, simulated raters through import and through the live
pair selector, scoring and perceptual BD-rate against a known truth, CSV checks, and the web app's API."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from harness.pairwise.db import DEGRADED, ORIGINAL, StudyDB, StudyError, Vote
from harness.pairwise.exchange import export_votes, read_votes_csv
from harness.pairwise.plan import create_study
from harness.pairwise.report import condition_info, perceptual_bd_rate
from harness.pairwise.scoring import fit_elo, score_votes, screen_raters, win_probability
from harness.pairwise.select import Selector, burn_in_pairs
from harness.pairwise.simulate import (
    Truth,
    rate_shift_truth,
    simulate_session,
    simulate_votes,
    true_bd_rate,
)
from tests.conftest import REPO
from tests.runs import make_run

# webp saves bits against jpeg, jpeg-444 costs bits, by construction of the simulated truth.
OFFSETS = {"jpeg": 0.0, "jpeg-444": -60.0, "webp": 90.0}
SLOPE = 250.0


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """Real encodes: 3 codecs x 4 quality points (12 conditions) on two Kodak crops."""
    return make_run(tmp_path_factory.mktemp("study-run"), codecs=("jpeg", "jpeg-444", "webp"),
                    points=[10, 25, 45, 70], metrics=("psnr",))


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "harness.cli", "study", *args], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)


def test_fit_recovers_known_elo_and_sums_to_zero():
    rng = np.random.default_rng(3)
    true = np.linspace(-400, 400, 8)
    a = rng.integers(0, 8, 4000)
    b = (a + rng.integers(1, 8, 4000)) % 8
    a_wins = rng.random(4000) < win_probability(true[a], true[b])
    elo = fit_elo(np.where(a_wins, a, b), np.where(a_wins, b, a), 8)
    assert abs(elo.sum()) < 1e-6
    assert np.max(np.abs(elo - true)) < 45  # about 2 standard errors at ~1000 votes per condition
    # a condition nobody compared has no score; the others still sum to zero
    votes = [Vote("r", "i", "x@1", "x@2", "a"), Vote("r", "i", "x@2", "x@1", "a"), Vote("r", "i", "x@1", "x@2", "a")]
    scores = score_votes(votes, ["x@1", "x@2", "x@3"], bootstrap=20, require_golden=False)
    assert np.isnan(scores.elo[2]) and np.isnan(scores.low[2]) and abs(np.nansum(scores.elo)) < 1e-6
    assert scores.elo[0] > scores.elo[1] and scores.low[0] <= scores.elo[0] <= scores.high[0]
    # one condition winning everything stays finite (the L2 term)
    always = fit_elo(np.zeros(5, int), np.ones(5, int), 2)
    assert 500 < always[0] - always[1] < 2000


def test_screening_drops_failed_and_unscreened_raters():
    votes = [Vote("good", "i", "x@9", DEGRADED, "a"), Vote("good", "i", DEGRADED, ORIGINAL, "b"),
             Vote("bad", "i", "x@9", DEGRADED, "b"), Vote("bad", "i", DEGRADED, "x@9", "b"),
             Vote("tied", "i", "x@9", DEGRADED, "tie"), Vote("unscreened", "i", "x@1", "x@2", "a")]
    table = screen_raters(votes, 0.8).set_index("rater")
    assert sorted(table.index[table["dropped"]]) == ["bad", "tied", "unscreened"]
    assert table.loc["bad", "golden_right"] == 1 and table.loc["good", "golden_share"] == 1.0
    assert table.loc["unscreened", "status"] == "unscreened" and table.loc["tied", "status"] == "failed"
    assert not screen_raters(votes, 0.8, require_golden=False).set_index("rater").loc["unscreened", "dropped"]


def test_create_plans_conditions_and_lossless_images(run_dir):
    db = create_study(run_dir, "plan")
    info = condition_info(db)
    assert sorted(info["condition"]) == sorted(f"{c}@{q}" for c in OFFSETS for q in (10, 25, 45, 70))
    assert (info["images"] == 2).all()
    run = pd.read_parquet(run_dir / "results.parquet")
    # every stimulus is the run's reconstruction, pixel for pixel (an independent encode gives the same)
    from harness.codecs import get_codec
    from harness.core.images import load_image

    s = next(r for r in db.stimuli() if r["condition"] == "webp@25")
    row = run[(run["codec"] == "webp") & (run["point"] == 25) & (run["image"] == s["image"])].iloc[0]
    expected = get_codec("webp").compress(load_image(row["image_path"]), 25).reconstruction
    assert np.array_equal(load_image(db.folder / s["path"]).pixels, expected)
    assert s["bpp"] == pytest.approx(row["bpp"])
    with db.connect() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    with pytest.raises(StudyError, match="exists already"):
        create_study(run_dir, "plan")


def test_simulated_raters_recover_order_and_perceptual_bd_rate(run_dir, tmp_path):
    """2,000 simulated votes on 12 conditions, imported through the CLI, scored and reported."""
    assert _cli("create", str(run_dir), "sim").returncode == 0
    db = StudyDB(run_dir / "studies" / "sim")
    info = condition_info(db)
    assert len(info) == 12
    truth_elo = rate_shift_truth(info, OFFSETS, SLOPE)
    truth = Truth(truth_elo, sorted(r["name"] for r in db.images()))
    votes = simulate_votes(db, truth, 2000, n_raters=20, careless=2, seed=11)
    csv_path = tmp_path / "votes.csv"
    with csv_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["rater", "image", "a", "b", "choice", "seconds"])
        writer.writerows([v.rater, v.image, v.a, v.b, v.choice, f"{v.seconds:.2f}"] for v in votes)
    result = _cli("import", str(run_dir), "sim", str(csv_path))
    assert result.returncode == 0, result.stderr
    assert f"imported {len(votes)} votes" in result.stderr

    result = _cli("report", str(run_dir), "sim", "--anchor", "jpeg", "--bootstrap", "400", "--format", "png")
    assert result.returncode == 0, result.stderr
    elo = pd.read_csv(db.folder / "elo.csv")
    assert list(elo.columns) == ["condition", "elo", "low", "high"]
    assert len(elo) == 12 and (elo["low"] <= elo["elo"]).all() and (elo["elo"] <= elo["high"]).all()
    rho = scipy.stats.spearmanr(elo["elo"], elo["condition"].map(truth_elo)).statistic
    assert rho >= 0.95
    # the two careless raters answered golden questions at random and are dropped, and said so
    assert "sim000" in result.stdout and "sim001" in result.stdout
    bd = pd.read_csv(db.folder / "bd.csv").set_index("codec")
    for codec in ("jpeg-444", "webp"):
        known = true_bd_rate(OFFSETS, "jpeg", codec, SLOPE)
        # the truth through the same pchip machinery equals the closed form (lines are exact)
        exact = perceptual_bd_rate(info["codec"], info["bpp"].to_numpy(), info["condition"].map(truth_elo).to_numpy(),
                                   "jpeg", codec)
        assert exact.value == pytest.approx(known, abs=1e-6)
        assert bd.loc[codec, "low"] <= known <= bd.loc[codec, "high"], (codec, known, bd.loc[codec].to_dict())
    assert np.sign(bd.loc["webp", "bd_rate"]) == -1 and np.sign(bd.loc["jpeg-444", "bd_rate"]) == 1
    kendall = pd.read_csv(db.folder / "kendall.csv").set_index("metric")
    assert {"psnr_rgb", "psnr_y709"} <= set(kendall.index)
    assert (kendall["kendall_tau"].abs() <= 1).all() and (kendall["conditions"] == 12).all()
    assert (db.folder / "elo_vs_bpp.png").stat().st_size > 10_000
    assert "Perceptual BD-rate" in (db.folder / "report.md").read_text()

    exported = tmp_path / "out.csv"
    assert _cli("export", str(run_dir), "sim", str(exported)).returncode == 0
    again = pd.read_csv(exported)
    assert list(again.columns) == ["rater", "image", "a", "b", "choice", "seconds"] and len(again) == len(votes)
    assert list(again["choice"]) == [v.choice for v in votes]


def test_import_names_the_bad_line(run_dir, tmp_path):
    db = create_study(run_dir, "bad-import")
    path = tmp_path / "votes.csv"
    path.write_text("rater,image,a,b,choice,seconds\nr1,kodim23,jpeg@10,webp@10,a,1.5\n"
                    "r1,kodim23,jpeg@10,webp@99,b,2\n")
    with pytest.raises(StudyError, match=r"votes.csv:3: 'webp@99' is not a condition"):
        read_votes_csv(path, db)
    path.write_text("rater,image,a,b,choice,seconds\nr1,kodim23,jpeg@10,webp@10,left,1.5\n")
    with pytest.raises(StudyError, match=r"votes.csv:2: choice must be 'a', 'b' or 'tie'"):
        read_votes_csv(path, db)
    path.write_text("rater,image,a,b\nr1,kodim23,jpeg@10,webp@10\n")
    with pytest.raises(StudyError, match="missing column"):
        read_votes_csv(path, db)
    result = _cli("import", str(db.folder.parent.parent), "bad-import", str(path))
    assert result.returncode == 2 and "missing column(s) choice, seconds" in result.stderr
    assert db.votes() == []
    assert export_votes(db, tmp_path / "empty.csv") == 0


def test_adaptive_session_burn_in_golden_and_recovery(run_dir):
    """The live selector: a golden question among each rater's first four comparisons (a compressed version
    against the degraded copy), a burn-in covering every image and condition, then informative pairs;
    sessions end after trials_per_rater; scores still recover the truth."""
    db = create_study(run_dir, "adaptive", codecs=["jpeg", "webp"])
    info = condition_info(db)
    truth_elo = rate_shift_truth(info, OFFSETS, SLOPE)
    design = burn_in_pairs(db, 0)
    images = sorted(r["name"] for r in db.images())
    assert {(i, c) for i, a, b in design for c in (a, b)} == {(i, c) for i in images for c in info["condition"]}
    simulate_session(db, Truth(truth_elo, images), 600, n_raters=6, seed=5)
    votes = db.votes()
    assert len(votes) == 600
    per_rater = {}
    for v in votes:
        per_rater.setdefault(v.rater, []).append(v)
    assert len(per_rater) > 6  # sessions of 60 trials ended and new raters took over
    for vs in per_rater.values():
        assert len(vs) <= 60
        assert any(v.golden for v in vs[:4]) or len(vs) < 4
        assert all(v.a != ORIGINAL and v.b != ORIGINAL for v in vs)  # golden: two compressed versions
    first_golden = {next(k for k, v in enumerate(vs) if v.golden) for vs in per_rater.values() if len(vs) >= 4}
    assert len(first_golden) > 1  # at random positions, not always the same one
    answered = {(v.image, *sorted((v.a, v.b))) for v in votes}
    assert set(design) <= answered
    with db.connect() as conn:
        assert conn.execute("SELECT COUNT(*) FROM votes WHERE trial IS NULL").fetchone()[0] == 0
        seconds = [r[0] for r in conn.execute("SELECT seconds FROM votes")]
    assert all(s > 0 for s in seconds)
    scores = score_votes(votes, list(info["condition"]), bootstrap=100)
    rho = scipy.stats.spearmanr(scores.elo, info["condition"].map(truth_elo)).statistic
    assert rho >= 0.9
    raters_only = score_votes(votes, list(info["condition"]), bootstrap=100, resample="raters")
    assert np.allclose(raters_only.elo, scores.elo) and raters_only.extra["resample"] == "raters"
    with pytest.raises(StudyError, match="resample must be one of"):
        score_votes(votes, list(info["condition"]), bootstrap=10, resample="votes")


def test_two_raters_at_once_get_different_burn_in_pairs(run_dir):
    from harness.pairwise.settings import Settings

    db = create_study(run_dir, "concurrent", codecs=["jpeg"], settings=Settings(golden_first=0))
    selector = Selector(db)
    first, second = selector.next_trial("r1"), selector.next_trial("r2")
    assert first.id != second.id
    assert (first.image, {first.a, first.b}) != (second.image, {second.a, second.b})
    assert selector.next_trial("r1").id == first.id  # a reload shows the open comparison again
    db.cast(second.id, "b", 1.0)
    db.cast(first.id, "a", 2.0)
    with pytest.raises(StudyError, match="has a vote already"):
        db.cast(first.id, "b", 1.0)
    assert [(v.rater, v.choice) for v in db.votes()] == [("r2", "b"), ("r1", "a")]


def test_api_is_blind_and_refuses_double_votes(run_dir):
    from starlette.testclient import TestClient

    from harness.core.images import load_image
    from harness.pairwise.server import make_app
    from harness.pairwise.sessions import invite

    db = create_study(run_dir, "api", codecs=["jpeg", "webp"])
    (_, token), = invite(db, 1)
    client = TestClient(make_app(db), headers={"Authorization": f"Bearer {token}"})
    trial = client.get("/api/next").json()
    assert "jpeg" not in str(trial) and "webp" not in str(trial)  # the page never learns the conditions
    shown = db.trial(trial["trial"])
    stimuli = {(r["image"], r["condition"]): r["path"] for r in db.stimuli()}
    png = client.get(trial["b"])
    assert "etag" not in png.headers and png.headers["cache-control"] == "no-store"
    expected = (db.folder / next(r["degraded"] for r in db.images() if r["name"] == shown["image"])
                if shown["b"] == DEGRADED else db.folder / stimuli[(shown["image"], shown["b"])])
    assert np.array_equal(load_image_bytes(png.content), load_image(expected).pixels)
    original = load_image(db.folder / next(r["original"] for r in db.images() if r["name"] == shown["image"]))
    assert original.width == trial["width"] and trial["total"] == 60 and trial["votes"] == 0
    assert client.post("/api/vote", json={"trial": trial["trial"], "choice": "b", "seconds": 3.5}).json()["votes"] == 1
    again = client.post("/api/vote", json={"trial": trial["trial"], "choice": "a", "seconds": 1})
    assert again.status_code == 409
    assert client.get("/api/next", headers={"Authorization": "Bearer nobody"}).status_code == 401
    assert client.post("/api/vote", json={"trial": trial["trial"], "choice": "tie"}).status_code == 400  # no ties
    assert [(v.choice, v.seconds) for v in db.votes()] == [("b", 3.5)]


def load_image_bytes(data: bytes) -> np.ndarray:
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


SCENES = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "ml-pico-scenes"
PUBLISHED = {"pico": "pico", "hific": "hific", "dcvc-rt": "dcvc", "vvc-published": "vvc", "bpg-published": "bpg"}


@pytest.mark.slow
def test_pico_scenes_study_created_served_and_reported(tmp_path, monkeypatch):
    """PICO and its published rivals plus our VVC, AVIF and JPEG XL at PICO's rate (--match pico, which
    keeps the search's bracketing encodes) and two more points each, on kodim04 of the ml-pico-scenes set:
    create, serve (the real app), score simulated votes whose truth follows RGB-PSNR, and report."""
    from starlette.testclient import TestClient

    from harness.codecs import get_codec
    from harness.core.images import load_image
    from harness.datasets import resolve_dataset
    from harness.pairwise.server import make_app
    from harness.published.config import ENV_CONFIG, ENV_DIRS, ENV_PICO
    from harness.run.store import RunStore
    from harness.run.sweep import run_sweep
    from harness.run.worker import _codec
    from tests.conftest import KODAK

    for name in (ENV_CONFIG, ENV_DIRS):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(ENV_PICO, str(SCENES))
    _codec.cache_clear()
    originals = tmp_path / "originals"
    originals.mkdir()
    os.symlink(KODAK / "kodim04.png", originals / "kodim04.png")
    data = resolve_dataset(str(originals))
    store = RunStore(tmp_path / "scenes")
    ours = ["vvc", "avif", "jxl"]
    run_sweep(store, data, [get_codec(c) for c in [*PUBLISHED, *ours]], match="pico")
    for codec, points in {"vvc": [30, 40], "avif": [28, 48], "jxl": [3, 14]}.items():
        run_sweep(store, data, [get_codec(codec)], points=points)
    store.write_parquet()
    _codec.cache_clear()

    result = _cli("create", str(store.run_dir), "pico")
    assert result.returncode == 0, result.stderr
    db = StudyDB(store.run_dir / "studies" / "pico")
    info = condition_info(db).set_index("condition")
    assert set(info["codec"]) == set(PUBLISHED) | set(ours)
    # ours: the matched point, the search's two bracketing encodes (kept by --match) and two more points
    assert (info["codec"].value_counts()[ours] >= 3).all()
    assert info.loc["pico@0.297", "bpp"] == pytest.approx(0.297)
    # published reconstructions are shown exactly as the authors published them
    for s in db.stimuli():
        codec = info.loc[s["condition"], "codec"]
        if codec in PUBLISHED:
            published = load_image(SCENES / "kodak_kodim04" / f"{PUBLISHED[codec]}.png").pixels
            assert np.array_equal(load_image(db.folder / s["path"]).pixels, published), codec

    from harness.pairwise.sessions import invite

    for _, token in invite(db, 2):
        client = TestClient(make_app(db), headers={"Authorization": f"Bearer {token}"})
        trial = client.get("/api/next").json()
        shown = db.trial(trial["trial"])
        png = load_image_bytes(client.get(trial["a"]).content)
        path = db.folder / next(r["path"] for r in db.stimuli() if r["condition"] == shown["a"]) \
            if shown["a"] != DEGRADED else db.folder / next(r["degraded"] for r in db.images())
        assert np.array_equal(png, load_image(path).pixels)
        assert client.post("/api/vote", json={"trial": trial["trial"], "choice": "a", "seconds": 2.0}).status_code == 200

    psnr = {s["condition"]: json.loads(s["metrics"])["psnr_rgb"] for s in db.stimuli()}
    truth_elo = {c: 60.0 * (v - np.mean(list(psnr.values()))) for c, v in psnr.items()}
    votes = simulate_votes(db, Truth(truth_elo, ["kodim04"]), 1500, n_raters=15, seed=4)
    csv_path = tmp_path / "votes.csv"
    with csv_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["rater", "image", "a", "b", "choice", "seconds"])
        writer.writerows([v.rater, v.image, v.a, v.b, v.choice, v.seconds] for v in votes)
    assert _cli("import", str(store.run_dir), "pico", str(csv_path)).returncode == 0
    result = _cli("report", str(store.run_dir), "pico", "--anchor", "vvc", "--bootstrap", "200", "--format", "png")
    assert result.returncode == 0, result.stderr
    elo = pd.read_csv(db.folder / "elo.csv")
    assert len(elo) == len(info) >= 14
    assert scipy.stats.spearmanr(elo["elo"], elo["condition"].map(truth_elo)).statistic >= 0.9
    bd = pd.read_csv(db.folder / "bd.csv").set_index("codec")
    assert set(bd.index) == set(info["codec"]) - {"vvc"}
    # one rate: no curve; or no BD-rate at all when the anchor's Elo is out of order between its two
    # bracketing encodes at nearly the same rate (0.300 and 0.306 bpp), as the report then says
    assert bd.loc["pico", "reason"].startswith(("test has 1 usable point", "anchor: Elo not increasing in bpp"))
    equal = pd.read_csv(db.folder / "equal_elo.csv").set_index("condition")
    assert "pico@0.297" in equal.index
    kendall = pd.read_csv(db.folder / "kendall.csv").set_index("metric")
    assert kendall.loc["psnr_rgb", "kendall_tau"] > 0.7
    assert "pico@0.297" in result.stdout


def test_a_16_vote_study_warns_and_shows_no_zero_width_interval(run_dir):
    """One rater, 16 votes: the report opens with its warnings, and no interval is shown that is not one
    (zero width, or the estimate on its edge)."""
    db = create_study(run_dir, "sixteen")
    info = condition_info(db)
    truth = Truth(rate_shift_truth(info, OFFSETS, SLOPE), sorted(r["name"] for r in db.images()))
    votes = simulate_votes(db, truth, 16, n_raters=1, seed=2)
    assert sum(not v.golden for v in votes) == 16
    db.import_votes(votes)
    from harness.pairwise.report import report_study

    rep = report_study(db, anchor="jpeg", bootstrap=200, formats=("png",))
    text = rep.files["report"].read_text()
    warnings = text.split("## Warnings")[1].split("##")[0]
    assert "only 1 screened rater(s) counted" in warnings
    assert "fewer than 20 counted votes" in warnings
    assert "degenerate bootstrap" in warnings or "interval not shown" in warnings or "no perceptual BD-rate" in warnings
    for table in (rep.elo, rep.bd.rename(columns={"bd_rate": "elo"})):
        shown = table[np.isfinite(table["low"].astype(float))]
        assert (shown["high"] - shown["low"] > 1e-6).all()
        assert ((shown["low"] < shown["elo"]) & (shown["elo"] < shown["high"])).all()
    for row in rep.bd.itertuples():  # no BD-rate on a curve whose Elo falls as bpp rises, and it says why
        if str(row.reason).startswith(("Elo not increasing", "anchor: Elo")):
            assert not np.isfinite(row.bd_rate)
    assert "The study has not ended by its stopping rule" in text


def test_davidson_recovers_a_known_tie_parameter(run_dir):
    """Votes with 'no visible difference' drawn from Davidson's model with nu = 0.6: the fit's nu interval
    contains it, and the Elo order is recovered."""
    from harness.pairwise.davidson import fit_davidson

    db = create_study(run_dir, "ties", codecs=["jpeg", "webp"])
    info = condition_info(db)
    truth_elo = rate_shift_truth(info, OFFSETS, SLOPE)
    truth = Truth(truth_elo, sorted(r["name"] for r in db.images()), nu=0.6, seed=1)
    votes = simulate_votes(db, truth, 1500, n_raters=15, seed=3)
    ties = sum(v.choice == "tie" for v in votes)
    assert 0.1 * len(votes) < ties < 0.4 * len(votes)
    scores = score_votes(votes, list(info["condition"]), bootstrap=200)
    assert scores.extra["nu_low"] <= 0.6 <= scores.extra["nu_high"]
    assert scores.extra["nu_high"] - scores.extra["nu_low"] < 0.3
    assert scipy.stats.spearmanr(scores.elo, info["condition"].map(truth_elo)).statistic >= 0.95
    # the fit is the maximum: two conditions, 30 wins, 10 losses and 20 ties give nu = 2 * 20 / (2 sqrt(300))
    wins = np.array([[0.0, 30.0], [10.0, 0.0]])
    theta, nu = fit_davidson(wins, np.array([[0.0, 20.0], [20.0, 0.0]]), l2=0.0)
    assert nu == pytest.approx(20 / np.sqrt(300), rel=1e-6)
    assert theta[0] - theta[1] == pytest.approx(np.log(3.0), rel=1e-6)


def test_a_version_1_study_is_migrated_with_every_vote(run_dir):
    """A study written by the previous harness (schema 1: no raters table, votes a/b only) opens as
    version 2 with its votes, trials and plan intact, and scores."""
    import sqlite3

    db = create_study(run_dir, "old", codecs=["jpeg"])
    votes = simulate_votes(db, Truth(dict.fromkeys(condition_info(db)["condition"], 0.0),
                                     sorted(r["name"] for r in db.images())), 40, n_raters=2, seed=1)
    db.import_votes(votes)
    conn = sqlite3.connect(db.path, isolation_level=None)
    conn.executescript("""
        DROP TABLE raters;
        ALTER TABLE trials DROP COLUMN position; ALTER TABLE trials DROP COLUMN keys;
        DROP INDEX votes_rater; ALTER TABLE votes RENAME TO v2;
        CREATE TABLE votes (id INTEGER PRIMARY KEY AUTOINCREMENT, trial TEXT UNIQUE, rater TEXT NOT NULL,
            image TEXT NOT NULL, a TEXT NOT NULL, b TEXT NOT NULL,
            choice TEXT NOT NULL CHECK (choice IN ('a', 'b')), seconds REAL, source TEXT NOT NULL,
            cast_at REAL NOT NULL);
        INSERT INTO votes SELECT id, trial, rater, image, a, b, choice, seconds, source, cast_at FROM v2;
        DROP TABLE v2; CREATE INDEX votes_rater ON votes (rater); DELETE FROM meta WHERE key = 'secret';
        PRAGMA user_version = 1;
    """)
    conn.close()
    again = StudyDB(db.folder).check()
    with again.connect() as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    assert again.votes() == votes
    assert "secret" in again.meta()
    from harness.pairwise.sessions import invite

    assert len(invite(again, 1)) == 1  # the raters table exists
    scores = score_votes(again.votes(), list(condition_info(again)["condition"]), bootstrap=20)
    assert scores.votes_used == sum(not v.golden for v in votes)


def test_stopping_rules_end_the_study_and_the_report_says_which(run_dir):
    """A vote budget, and an interval width: once met, no new pairs for anyone (raters get their end page),
    the study's meta says what ended it, and so does the report."""
    from harness.pairwise.report import report_study
    from harness.pairwise.select import Selector
    from harness.pairwise.settings import Settings

    images = None
    for name, settings, reason in (("budget", Settings(budget=50, min_seconds=0), "budget: 50 counted votes"),
                                   ("width", Settings(stop_width=400, min_seconds=0), "stop width")):
        db = create_study(run_dir, name, codecs=["jpeg", "webp"], settings=settings)
        images = sorted(r["name"] for r in db.images())
        truth = Truth(rate_shift_truth(condition_info(db), OFFSETS, SLOPE), images)
        cast = simulate_session(db, truth, 2000, n_raters=4, seed=1)
        assert cast < 2000
        meta = db.meta()
        assert meta["ended_by"].startswith(reason), meta["ended_by"]
        late = Selector(db).next_trial("someone-new")
        assert late is None or late.phase == "golden"  # a newcomer may still meet a golden question
        counted = [v for v in db.votes() if not v.golden and not v.fast]
        if name == "budget":
            assert len(counted) == 50
        rep = report_study(db, bootstrap=50, formats=("png",), require_golden=False)
        assert f"The study ended by its stopping rule: {meta['ended_by']}" in rep.files["report"].read_text()


def test_fast_votes_are_flagged_left_out_and_counted(run_dir):
    from starlette.testclient import TestClient

    from harness.pairwise.server import make_app
    from harness.pairwise.sessions import invite
    from harness.pairwise.settings import Settings

    db = create_study(run_dir, "fast", codecs=["jpeg", "webp"], settings=Settings(min_seconds=0.8))
    (_, token), = invite(db, 1)
    client = TestClient(make_app(db), headers={"Authorization": f"Bearer {token}"})
    trial = client.get("/api/next").json()["trial"]
    # the page says 5 s, but the server saw the vote 0.0x s after the trial was shown: flagged
    assert client.post("/api/vote", json={"trial": trial, "choice": "a", "seconds": 5.0}).status_code == 200
    trial = client.get("/api/next").json()["trial"]
    import time

    time.sleep(0.9)
    assert client.post("/api/vote", json={"trial": trial, "choice": "a", "seconds": 0.3}).status_code == 200  # page: fast
    trial = client.get("/api/next").json()["trial"]
    time.sleep(0.9)
    assert client.post("/api/vote", json={"trial": trial, "choice": "b", "seconds": 1.2}).status_code == 200
    assert [v.fast for v in db.votes()] == [True, True, False]
    with db.connect() as conn:
        shown = [r[0] for r in conn.execute("SELECT shown_seconds FROM votes ORDER BY id")]
    assert shown[0] < 0.8 <= shown[1] and shown[2] >= 0.8
    while all(v.golden or v.fast for v in db.votes()):  # one slow vote on a real pair, to score
        trial = client.get("/api/next").json()["trial"]
        time.sleep(0.9)
        client.post("/api/vote", json={"trial": trial, "choice": "b", "seconds": 1.2})
    votes = db.votes()
    scores = score_votes(votes, list(condition_info(db)["condition"]), bootstrap=10, require_golden=False,
                         golden_threshold=0.0)
    assert scores.votes_used == sum(not v.golden and not v.fast for v in votes)
    assert scores.extra["fast_votes"] == sum(not v.golden and v.fast for v in votes)
