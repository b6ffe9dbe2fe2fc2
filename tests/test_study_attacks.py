"""The study server as an attacker, a careless organizer and a crowd would try it: another rater's trial,
sock-puppet sessions, a 300 MB body, nested JSON, an unbounded trial id, the database deleted, replaced or
locked under a running server, stimuli whose sizes would tell the conditions apart, and 2,000 votes from 20
clients at once."""

from __future__ import annotations

import http.client
import json
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from harness.pairwise.db import StudyDB, StudyError
from harness.pairwise.plan import create_study
from harness.pairwise.report import score_study
from harness.pairwise.sessions import invite
from harness.pairwise.settings import Settings
from tests.runs import make_run
from tests.studyserver import free_port, memory_kb, serve


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """Real JPEG and WebP encodes at two qualities of two Kodak crops: 4 conditions."""
    return make_run(tmp_path_factory.mktemp("attack-run"), codecs=("jpeg", "webp"), points=[15, 60])


def _client(db: StudyDB, token: str | None = None):
    from starlette.testclient import TestClient

    from harness.pairwise.server import make_app

    return TestClient(make_app(db), headers={"Authorization": f"Bearer {token}"} if token else {})


def test_no_rater_can_act_for_or_read_another(run_dir):
    db = create_study(run_dir, "others")
    (_, alice), (_, bob) = invite(db, 2)
    a, b = _client(db, alice), _client(db, bob)
    trial = a.get("/api/next").json()
    assert b.get("/api/next").json()["trial"] != trial["trial"]
    # bob cannot vote on, nor fetch the images of, alice's trial; the answers do not tell it exists
    refused = b.post("/api/vote", json={"trial": trial["trial"], "choice": "a", "seconds": 2})
    assert refused.status_code == 404 and refused.json() == {"error": "unknown trial"}
    assert b.get(trial["a"]).status_code == 404
    # nobody without a session gets anything, whatever they claim to be
    anonymous = _client(db)
    assert anonymous.get("/api/next", params={"rater": "alice"}).status_code == 401
    assert anonymous.get(trial["a"]).status_code == 401
    assert anonymous.get("/api/organizer").status_code == 401
    assert anonymous.post("/api/session").status_code == 403  # invitation only
    # alice's trial is still hers to answer
    assert a.post("/api/vote", json={"trial": trial["trial"], "choice": "a", "seconds": 2}).json()["votes"] == 1
    assert [v.rater for v in db.votes()] == [db.trial(trial["trial"])["rater"]]


def test_sock_puppets_without_a_passed_golden_question_are_not_counted(run_dir):
    """40 sessions from the open study link, two votes each, all for the same side: only the sessions that
    met (and passed) a golden question count, and the report says how many did not."""
    db = create_study(run_dir, "puppets", settings=Settings(enrolment="open", min_seconds=0))
    client = _client(db)
    for _ in range(40):
        token = client.post("/api/session").json()["token"]
        puppet = _client(db, token)
        for _ in range(2):
            trial = puppet.get("/api/next").json()
            shown = db.trial(trial["trial"])
            # a puppet always votes for the side showing the degraded copy (or A): it fails every golden question
            choice = "b" if shown["b"] == "degraded" else "a"
            assert puppet.post("/api/vote", json={"trial": trial["trial"], "choice": choice}).status_code == 200
    assert len(db.votes()) == 80
    with pytest.raises(StudyError, match="no usable votes"):
        score_study(db, bootstrap=20)
    # two honest raters who pass their golden questions: exactly their other votes count
    for _ in range(2):
        honest = _client(db, client.post("/api/session").json()["token"])
        for _ in range(8):
            trial = honest.get("/api/next").json()
            choice = "a" if db.trial(trial["trial"])["b"] == "degraded" else "b"
            assert honest.post("/api/vote", json={"trial": trial["trial"], "choice": choice}).status_code == 200
    scores, _ = score_study(db, bootstrap=20)
    raters = scores.raters.set_index("rater")
    puppets = raters[raters["votes"] == 2]
    assert len(puppets) == 40 and puppets["dropped"].all() and (puppets["golden_right"] == 0).all()
    met = int((puppets["golden"] > 0).sum())
    assert 0 < met < 40 and int((puppets["status"] == "unscreened").sum()) == 40 - met
    assert int((~raters["dropped"]).sum()) == 2
    assert scores.votes_used == 16 - int(raters.loc[~raters["dropped"], "golden"].sum())


def test_bodies_are_capped_json_checked_and_nothing_echoed(run_dir, tmp_path):
    db = create_study(run_dir, "bodies")
    (_, token), = invite(db, 1)
    port = free_port()
    server = serve(run_dir, "bodies", port)
    try:
        before = memory_kb(server.pid)

        def post(body: bytes, chunked: bool = False, length: int | None = None) -> tuple[int, bytes]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            if length is not None:
                headers["Content-Length"] = str(length)
            try:
                if chunked:
                    def chunks():
                        for _ in range(300):
                            yield b"[" * (1 << 20)

                    conn.request("POST", "/api/vote", body=chunks(), headers=headers, encode_chunked=True)
                else:
                    conn.request("POST", "/api/vote", body=body, headers=headers)
            except (BrokenPipeError, ConnectionResetError):
                pass
            response = conn.getresponse()
            data = response.read()
            conn.close()
            return response.status, data

        status, data = post(b"", chunked=True)  # 300 MB, no length given
        assert status == 413 and len(data) < 200
        status, data = post(b"x" * 1000, length=300 << 20)  # a 300 MB length announced
        assert status == 413
        assert memory_kb(server.pid) - before < 50_000  # peak resident memory grew by under 50 MB
        for nested in (b"[" * 8000 + b"]" * 8000, b'{"a":' * 2500 + b"1" + b"}" * 2500, b"{not json"):
            status, data = post(nested)
            assert status == 400 and json.loads(data) == {"error": "malformed JSON"}
        huge = "f" * (10 << 10)
        status, data = post(json.dumps({"trial": huge, "choice": "a"}).encode())
        assert status == 400 and huge[:40] not in data.decode() and len(data) < 200
        status, data = post(json.dumps({"trial": "0" * 32, "choice": "a" * 5000}).encode())
        assert status == 400 and len(data) < 200
        assert db.votes() == []
    finally:
        server.kill()
        server.wait(timeout=30)


def test_database_replaced_or_deleted_under_the_server_is_503_and_no_acked_vote_is_lost(run_dir, tmp_path):
    db = create_study(run_dir, "gone", settings=Settings(min_seconds=0))
    (_, token), = invite(db, 1)
    client = _client(db, token)
    acked = []

    def vote() -> int:
        trial = client.get("/api/next")
        if trial.status_code != 200:
            return trial.status_code
        trial_id = trial.json()["trial"]
        response = client.post("/api/vote", json={"trial": trial_id, "choice": "a", "seconds": 2})
        if response.status_code == 200:
            acked.append(trial_id)
        return response.status_code

    assert [vote() for _ in range(3)] == [200] * 3
    # the file is replaced by a copy (as a restore from backup or a sync tool would): the server's open
    # connections still write to the old file, so nothing may be acknowledged any more
    copy = tmp_path / "copy.sqlite"
    with sqlite3.connect(db.path) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db.path}{suffix}").unlink(missing_ok=True)
    copy.replace(db.path)
    trial_id = client.get("/api/next")
    assert trial_id.status_code == 503
    assert vote() == 503
    # restarted on the file that is there now: every acknowledged vote is in it
    client = _client(StudyDB(db.folder), token)
    assert {r[0] for r in sqlite3.connect(db.path).execute("SELECT trial FROM votes")} == set(acked)
    assert vote() == 200
    # deleted outright: 503 again, never an acknowledgement
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db.path}{suffix}").unlink(missing_ok=True)
    assert vote() == 503


def test_locked_database_is_503_with_retry_after_within_2s_and_accepted_on_retry(run_dir):
    db = create_study(run_dir, "locked", settings=Settings(min_seconds=0))
    (_, token), = invite(db, 1)
    client = _client(db, token)
    trial = client.get("/api/next").json()["trial"]
    holder = sqlite3.connect(db.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        start = time.monotonic()
        refused = client.post("/api/vote", json={"trial": trial, "choice": "b", "seconds": 1.5})
        elapsed = time.monotonic() - start
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert elapsed < 2.0, elapsed
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    accepted = client.post("/api/vote", json={"trial": trial, "choice": "b", "seconds": 1.5})
    assert accepted.status_code == 200 and [v.choice for v in db.votes()] == ["b"]


def test_stimuli_tell_nothing_of_their_condition(run_dir):
    """Every stimulus of an image has the same byte size, no ETag, and a URL of its own trial."""
    db = create_study(run_dir, "blind", settings=Settings(min_seconds=0))
    tokens = [t for _, t in invite(db, 3)]
    sizes: dict[str, set[int]] = {}
    urls = set()
    for token in tokens:
        client = _client(db, token)
        for _ in range(6):
            trial = client.get("/api/next").json()
            image = db.trial(trial["trial"])["image"]
            for side in ("a", "b", "original"):
                response = client.get(trial[side])
                assert response.status_code == 200 and "etag" not in response.headers
                assert "last-modified" not in response.headers
                sizes.setdefault(image, set()).add(len(response.content))
                urls.add(trial[side])
            client.post("/api/vote", json={"trial": trial["trial"], "choice": "a", "seconds": 2})
    assert len(urls) == 3 * 6 * 3  # no URL is ever reused
    assert all(len(s) == 1 for s in sizes.values()), sizes
    conditions = {r["condition"] for r in db.stimuli()}
    shown = {c for v in db.votes() for c in (v.a, v.b)}
    assert len(shown & conditions) >= 3


@pytest.mark.slow
def test_2000_votes_from_20_clients_are_2000_rows(run_dir):
    db = create_study(run_dir, "crowd", settings=Settings(trials_per_rater=100, min_seconds=0))
    tokens = [t for _, t in invite(db, 20)]
    port = free_port()
    server = serve(run_dir, "crowd", port)
    acked, errors, retries = [], [], []

    def call(request: urllib.request.Request) -> dict:
        for _ in range(10):  # a 503 asks to come back after Retry-After: the page does the same
            try:
                return json.load(urllib.request.urlopen(request, timeout=60))
            except urllib.error.HTTPError as exc:
                if exc.code != 503:
                    raise
                retries.append(1)
                time.sleep(float(exc.headers.get("Retry-After", "1")))
        raise RuntimeError("still 503 after 10 tries")

    def rater(token: str) -> None:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        for _ in range(100):
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}/api/next", headers=headers)
                trial = call(request)["trial"]
                body = json.dumps({"trial": trial, "choice": "a", "seconds": 1.0}).encode()
                request = urllib.request.Request(f"http://127.0.0.1:{port}/api/vote", data=body, headers=headers)
                if call(request)["ok"]:
                    acked.append(trial)
            except Exception as exc:  # noqa: BLE001 - counted, and the test fails on any
                errors.append(repr(exc)[:200])

    try:
        threads = [threading.Thread(target=rater, args=(t,)) for t in tokens]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        server.kill()
        server.wait(timeout=30)
    assert errors == []
    rows = sqlite3.connect(db.path).execute("SELECT trial FROM votes").fetchall()
    assert len(acked) == 2000 and len(rows) == 2000 and {r[0] for r in rows} == set(acked)
