"""The study database: the plan (images, conditions, stimuli) and every vote, in one SQLite file.

``RUN/studies/NAME/study.sqlite`` runs in WAL mode with ``synchronous=FULL``: each vote is its own
transaction, committed before the server answers, so a server killed at any moment loses no vote it has
acknowledged, and several raters (threads or processes) can write at once (SQLite serialises the short
write transactions; readers never block). The schema version is SQLite's ``user_version``; a file
written by a newer harness is refused with one line rather than misread.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SCHEMA_VERSION = 1
DATABASE_NAME = "study.sqlite"

# Reserved stimulus names of golden (sanity) questions: the original against a heavily degraded copy.
ORIGINAL = "original"
DEGRADED = "degraded"
GOLDEN_NAMES = (ORIGINAL, DEGRADED)

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE images (
    name TEXT PRIMARY KEY,
    original TEXT NOT NULL,      -- PNG path relative to the study folder
    degraded TEXT NOT NULL,      -- the golden questions' degraded copy
    width INTEGER NOT NULL,
    height INTEGER NOT NULL
);
CREATE TABLE conditions (
    name TEXT PRIMARY KEY,       -- CODEC@POINT
    codec TEXT NOT NULL,
    point TEXT NOT NULL
);
CREATE TABLE stimuli (
    image TEXT NOT NULL REFERENCES images(name),
    condition TEXT NOT NULL REFERENCES conditions(name),
    path TEXT NOT NULL,          -- lossless PNG relative to the study folder
    bpp REAL NOT NULL,
    metrics TEXT NOT NULL,       -- JSON: the run's metric values of this row
    PRIMARY KEY (image, condition)
);
CREATE TABLE trials (            -- a comparison shown to a rater, awaiting a vote
    id TEXT PRIMARY KEY,
    rater TEXT NOT NULL,
    image TEXT NOT NULL,
    a TEXT NOT NULL,
    b TEXT NOT NULL,
    shown_at REAL NOT NULL
);
CREATE TABLE votes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trial TEXT UNIQUE,           -- NULL for imported votes
    rater TEXT NOT NULL,
    image TEXT NOT NULL,
    a TEXT NOT NULL,
    b TEXT NOT NULL,
    choice TEXT NOT NULL CHECK (choice IN ('a', 'b')),
    seconds REAL,
    source TEXT NOT NULL,        -- 'web' or 'import'
    cast_at REAL NOT NULL
);
CREATE INDEX votes_rater ON votes (rater);
CREATE INDEX trials_rater ON trials (rater);
"""


class StudyError(ValueError):
    """A study cannot be created, read or scored; str() is one line naming the file or thing at fault."""


@dataclass(frozen=True)
class Vote:
    rater: str
    image: str
    a: str
    b: str
    choice: str
    seconds: float | None = None

    @property
    def golden(self) -> bool:
        return self.a in GOLDEN_NAMES or self.b in GOLDEN_NAMES

    @property
    def winner(self) -> str:
        return self.a if self.choice == "a" else self.b


def study_dir(run_dir: str | Path, name: str) -> Path:
    return Path(run_dir) / "studies" / name


def _configure(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")


class StudyDB:
    """Thin access to one study's SQLite file. Each thread has its own connection (kept open: closing the
    last connection to a WAL database checkpoints it, which would cost a checkpoint per vote), so an
    instance is safe to share between the server's threads."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / DATABASE_NAME
        self._local = threading.local()

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            _configure(conn)
            self._local.conn = conn
        yield conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # --- creation and opening --------------------------------------------------------------------------
    def create(self, meta: dict[str, str]) -> None:
        if self.path.exists():
            raise StudyError(f"{self.path}: a study of this name exists already")
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.connect() as conn:
            conn.executescript(SCHEMA)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            conn.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta.items()))

    def check(self) -> StudyDB:
        if not self.path.is_file():
            raise StudyError(f"{self.path}: no such study (create it with `harness study create`)")
        with self.connect() as conn:
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
            except sqlite3.DatabaseError as exc:
                raise StudyError(f"{self.path}: not a study database ({exc})") from None
        if version != SCHEMA_VERSION:
            raise StudyError(f"{self.path}: study schema version {version}, this harness reads version "
                             f"{SCHEMA_VERSION}")
        return self

    # --- plan ---------------------------------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        with self.connect() as conn:
            return {r["key"]: r["value"] for r in conn.execute("SELECT key, value FROM meta")}

    def images(self) -> list[sqlite3.Row]:
        with self.connect() as conn:
            return conn.execute("SELECT * FROM images ORDER BY name").fetchall()

    def conditions(self) -> list[sqlite3.Row]:
        with self.connect() as conn:
            return conn.execute("SELECT * FROM conditions ORDER BY codec, name").fetchall()

    def stimuli(self) -> list[sqlite3.Row]:
        with self.connect() as conn:
            return conn.execute("SELECT * FROM stimuli ORDER BY image, condition").fetchall()

    # --- trials and votes ---------------------------------------------------------------------------------
    def add_trial(self, trial_id: str, rater: str, image: str, a: str, b: str) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT INTO trials VALUES (?, ?, ?, ?, ?, ?)", (trial_id, rater, image, a, b, time.time()))

    def trial(self, trial_id: str) -> sqlite3.Row | None:
        with self.connect() as conn:
            return conn.execute("SELECT * FROM trials WHERE id = ?", (trial_id,)).fetchone()

    def cast(self, trial_id: str, choice: str, seconds: float | None) -> Vote:
        """Record the vote on a shown trial and commit it; a second vote on one trial is refused."""
        if choice not in ("a", "b"):
            raise StudyError(f"choice must be 'a' or 'b', got {choice!r}")
        with self.transaction() as conn:
            trial = conn.execute("SELECT * FROM trials WHERE id = ?", (trial_id,)).fetchone()
            if trial is None:
                raise StudyError(f"unknown trial {trial_id!r}")
            if conn.execute("SELECT 1 FROM votes WHERE trial = ?", (trial_id,)).fetchone():
                raise StudyError(f"trial {trial_id!r} has a vote already")
            conn.execute(
                "INSERT INTO votes (trial, rater, image, a, b, choice, seconds, source, cast_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'web', ?)",
                (trial_id, trial["rater"], trial["image"], trial["a"], trial["b"], choice, seconds, time.time()))
        return Vote(trial["rater"], trial["image"], trial["a"], trial["b"], choice, seconds)

    def import_votes(self, votes: list[Vote]) -> int:
        now = time.time()
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO votes (trial, rater, image, a, b, choice, seconds, source, cast_at) "
                "VALUES (NULL, ?, ?, ?, ?, ?, ?, 'import', ?)",
                [(v.rater, v.image, v.a, v.b, v.choice, v.seconds, now) for v in votes])
        return len(votes)

    def votes(self) -> list[Vote]:
        with self.connect() as conn:
            rows = conn.execute("SELECT rater, image, a, b, choice, seconds FROM votes ORDER BY id").fetchall()
        return [Vote(r["rater"], r["image"], r["a"], r["b"], r["choice"], r["seconds"]) for r in rows]

    def pending(self, since: float) -> list[sqlite3.Row]:
        """Trials shown after ``since`` that have no vote yet (other raters are looking at them)."""
        with self.connect() as conn:
            return conn.execute(
                "SELECT t.* FROM trials t LEFT JOIN votes v ON v.trial = t.id "
                "WHERE v.id IS NULL AND t.shown_at >= ?", (since,)).fetchall()

    def rater_counts(self, rater: str) -> tuple[int, int]:
        """(votes cast, trials shown) by one rater."""
        with self.connect() as conn:
            votes = conn.execute("SELECT COUNT(*) FROM votes WHERE rater = ?", (rater,)).fetchone()[0]
            shown = conn.execute("SELECT COUNT(*) FROM trials WHERE rater = ?", (rater,)).fetchone()[0]
        return int(votes), int(shown)

    def open_trial(self, rater: str) -> sqlite3.Row | None:
        """The rater's latest shown trial if it has no vote (a reloaded page gets the same comparison)."""
        with self.connect() as conn:
            return conn.execute(
                "SELECT t.* FROM trials t WHERE t.rater = ? AND NOT EXISTS "
                "(SELECT 1 FROM votes v WHERE v.trial = t.id) ORDER BY t.shown_at DESC LIMIT 1", (rater,)).fetchone()

