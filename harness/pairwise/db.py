"""The study database: the plan (images, conditions, stimuli), the raters and every vote, in one SQLite file.

``RUN/studies/NAME/study.sqlite`` runs in WAL mode with ``synchronous=FULL``: each vote is its own
transaction, committed before the server answers, so a server killed at any moment loses no vote it has
acknowledged, and several raters (threads or processes) can write at once (SQLite serialises the short
write transactions; readers never block). A server guards the file's identity: it is checked before and
after every write transaction, so a database removed or replaced under a running server is noticed before
a vote is acknowledged (:class:`DatabaseGone`), and a write that waits longer than the busy timeout for
another process's lock gives up (:class:`DatabaseBusy`). The schema version is SQLite's ``user_version``;
version 1 files are migrated in place, a newer file is refused with one line rather than misread.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SCHEMA_VERSION = 2
DATABASE_NAME = "study.sqlite"
WRITER_QUEUE_SECONDS = 20.0

# Reserved stimulus names of golden (sanity) questions: a clearly degraded copy against a good version.
ORIGINAL = "original"
DEGRADED = "degraded"
GOLDEN_NAMES = (ORIGINAL, DEGRADED)
CHOICES = ("a", "b", "tie")

VOTES_TABLE = """
CREATE TABLE votes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    trial TEXT UNIQUE,           -- NULL for imported votes
    rater TEXT NOT NULL,
    image TEXT NOT NULL,
    a TEXT NOT NULL,
    b TEXT NOT NULL,
    choice TEXT NOT NULL CHECK (choice IN ('a', 'b', 'tie')),
    seconds REAL,                -- viewing time the page measured (images decoded to the click)
    source TEXT NOT NULL,        -- 'web' or 'import'
    cast_at REAL NOT NULL,
    shown_seconds REAL,          -- the server's own clock: trial shown to vote received
    fast INTEGER NOT NULL DEFAULT 0  -- under the study's minimum viewing time: flagged, not scored
);
"""
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
    shown_at REAL NOT NULL,
    position INTEGER,            -- the rater's n-th trial, from 0
    keys TEXT                    -- JSON {side: random URL key} of this trial's stimuli
);
""" + VOTES_TABLE + """
CREATE INDEX votes_rater ON votes (rater);
CREATE INDEX trials_rater ON trials (rater);
""" + """
CREATE TABLE raters (
    id TEXT PRIMARY KEY,         -- shown in reports; never a credential
    token TEXT UNIQUE NOT NULL,  -- SHA-256 of the rater's session token (the token itself is not stored)
    source TEXT NOT NULL,        -- invite, open or sim
    created REAL NOT NULL,
    completion TEXT NOT NULL,    -- the code the end page shows
    setup TEXT                   -- JSON: the viewing set-up the page reported
);
"""
RATERS_TABLE = SCHEMA[SCHEMA.index("CREATE TABLE raters"):]


class StudyError(ValueError):
    """A study cannot be created, read or scored; str() is one line naming the file or thing at fault."""


class DatabaseGone(StudyError):
    """The study's database file was removed or replaced under a running server."""


class DatabaseBusy(StudyError):
    """Another process holds the study database's write lock for longer than the busy timeout."""


@dataclass(frozen=True)
class Vote:
    rater: str
    image: str
    a: str
    b: str
    choice: str
    seconds: float | None = None
    fast: bool = False

    @property
    def golden(self) -> bool:
        return DEGRADED in (self.a, self.b)

    @property
    def winner(self) -> str | None:
        return self.a if self.choice == "a" else self.b if self.choice == "b" else None

    @property
    def loser(self) -> str | None:
        return self.b if self.choice == "a" else self.a if self.choice == "b" else None

    @property
    def golden_right(self) -> bool:
        """A golden question is passed by preferring the good version to the degraded copy (a tie fails)."""
        return self.winner is not None and self.winner != DEGRADED


def new_secret() -> str:
    """The study's secret (it signs the raters' URL keys), stored in its meta table."""
    return secrets.token_hex(16)


def study_dir(run_dir: str | Path, name: str) -> Path:
    return Path(run_dir) / "studies" / name


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


class StudyDB:
    """Thin access to one study's SQLite file. Each thread has its own connection (kept open: closing the
    last connection to a WAL database checkpoints it, which would cost a checkpoint per vote), so an
    instance is safe to share between the server's threads. ``busy_seconds`` bounds how long a write waits
    for another process's lock; :meth:`guard` makes every write check the file's identity."""

    def __init__(self, folder: str | Path, busy_seconds: float = 30.0) -> None:
        self.folder = Path(folder)
        self.path = self.folder / DATABASE_NAME
        self.busy_seconds = busy_seconds
        self._local = threading.local()
        self._identity: tuple[int, int] | None = None
        # this process's writers queue here, in order, rather than in SQLite's sleeping busy handler; the
        # busy timeout is then only ever spent waiting for another process
        self._writer = threading.Lock()

    def guard(self) -> StudyDB:
        """Remember which file this is; from now on a write on a removed or replaced file raises."""
        self._identity = _identity(self.path)
        return self

    def verify(self) -> None:
        if self._identity is not None and _identity(self.path) != self._identity:
            raise DatabaseGone(f"{self.path}: the study database was removed or replaced while the server ran; "
                               "nothing is acknowledged until the server is restarted on the right file")

    @contextmanager
    def connect(self, create: bool = False) -> Iterator[sqlite3.Connection]:
        """This thread's connection; it never creates the file unless ``create`` (a missing study is an
        error, not a new empty database), and with :meth:`guard` it checks the file is still the same."""
        self.verify()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            uri = f"{self.path.resolve().as_uri()}?mode={'rwc' if create else 'rw'}"
            try:
                conn = sqlite3.connect(uri, uri=True, timeout=self.busy_seconds, isolation_level=None)
            except sqlite3.OperationalError as exc:
                raise StudyError(f"{self.path}: cannot be opened ({exc})") from None
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA busy_timeout={int(self.busy_seconds * 1000)}")
            self._local.conn = conn
        try:
            yield conn
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise DatabaseBusy(f"{self.path}: the database is locked by another process") from None
            raise

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed when the block ends; with :meth:`guard`, the file's identity is
        checked before it starts and after the commit (a vote committed to a removed file is not acked)."""
        if not self._writer.acquire(timeout=WRITER_QUEUE_SECONDS):
            raise DatabaseBusy(f"{self.path}: too many writes waiting")
        try:
            with self.connect() as conn:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        finally:
            self._writer.release()
        self.verify()

    # --- creation and opening --------------------------------------------------------------------------
    def create(self, meta: dict[str, str]) -> None:
        if self.path.exists():
            raise StudyError(f"{self.path}: a study of this name exists already")
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.connect(create=True) as conn:
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
        if version == 1:
            self._migrate_v1()
        elif version != SCHEMA_VERSION:
            raise StudyError(f"{self.path}: study schema version {version}, this harness reads version "
                             f"{SCHEMA_VERSION}")
        return self

    def _migrate_v1(self) -> None:
        """Version 1 -> 2: trial positions and URL keys, ties, viewing times on the server's clock, the
        fast-vote flag and the raters table; every vote is kept as it was."""
        with self.transaction() as conn:
            conn.execute("ALTER TABLE trials ADD COLUMN position INTEGER")
            conn.execute("ALTER TABLE trials ADD COLUMN keys TEXT")
            conn.execute("ALTER TABLE votes RENAME TO votes_v1")
            conn.execute("DROP INDEX IF EXISTS votes_rater")
            conn.execute(VOTES_TABLE)
            conn.execute("INSERT INTO votes (id, trial, rater, image, a, b, choice, seconds, source, cast_at) "
                         "SELECT id, trial, rater, image, a, b, choice, seconds, source, cast_at FROM votes_v1")
            conn.execute("DROP TABLE votes_v1")
            conn.execute("CREATE INDEX votes_rater ON votes (rater)")
            conn.execute(RATERS_TABLE)
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('secret', ?)", (new_secret(),))
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    # --- plan ---------------------------------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        with self.connect() as conn:
            return {r["key"]: r["value"] for r in conn.execute("SELECT key, value FROM meta")}

    def set_meta(self, values: dict[str, str]) -> None:
        with self.transaction() as conn:
            conn.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", sorted(values.items()))

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
    def add_trial(self, trial_id: str, rater: str, image: str, a: str, b: str, position: int | None = None,
                  keys: str | None = None) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT INTO trials VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (trial_id, rater, image, a, b, time.time(), position, keys))

    def trial(self, trial_id: str) -> sqlite3.Row | None:
        with self.connect() as conn:
            return conn.execute("SELECT * FROM trials WHERE id = ?", (trial_id,)).fetchone()

    def cast(self, trial_id: str, choice: str, seconds: float | None, rater: str | None = None,
             min_seconds: float = 0.0) -> Vote:
        """Record the vote on a shown trial and commit it; a second vote on one trial is refused, and so is
        a vote on another rater's trial when ``rater`` is given. A vote faster than ``min_seconds`` (on the
        page's clock or the server's) is stored flagged."""
        if choice not in CHOICES:
            raise StudyError("choice must be 'a', 'b' or 'tie'")
        now = time.time()
        with self.transaction() as conn:
            trial = conn.execute("SELECT * FROM trials WHERE id = ?", (trial_id,)).fetchone()
            if trial is None or (rater is not None and trial["rater"] != rater):
                raise StudyError("unknown trial")
            if conn.execute("SELECT 1 FROM votes WHERE trial = ?", (trial_id,)).fetchone():
                raise StudyError("this trial has a vote already")
            shown = now - float(trial["shown_at"])
            fast = min(shown, seconds if seconds is not None else shown) < min_seconds
            conn.execute(
                "INSERT INTO votes (trial, rater, image, a, b, choice, seconds, source, cast_at, shown_seconds, fast) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 'web', ?, ?, ?)",
                (trial_id, trial["rater"], trial["image"], trial["a"], trial["b"], choice, seconds, now, shown,
                 int(fast)))
        return Vote(trial["rater"], trial["image"], trial["a"], trial["b"], choice, seconds, fast)

    def import_votes(self, votes: list[Vote]) -> int:
        now = time.time()
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO votes (trial, rater, image, a, b, choice, seconds, source, cast_at, fast) "
                "VALUES (NULL, ?, ?, ?, ?, ?, ?, 'import', ?, ?)",
                [(v.rater, v.image, v.a, v.b, v.choice, v.seconds, now, int(v.fast)) for v in votes])
        return len(votes)

    def votes(self) -> list[Vote]:
        with self.connect() as conn:
            rows = conn.execute("SELECT rater, image, a, b, choice, seconds, fast FROM votes ORDER BY id").fetchall()
        return [Vote(r["rater"], r["image"], r["a"], r["b"], r["choice"], r["seconds"], bool(r["fast"]))
                for r in rows]

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
