"""Raters and their sessions: invitations, unguessable session tokens, golden positions, completion codes.

A rater exists only through a session token: ``harness study invite`` prints one link per rater (the token
rides in the link's fragment, so it never reaches a server log or a Referer header), or, in a study with
open enrolment, the page asks the server for a new session. The database keeps the SHA-256 of each token,
never the token; every request names its rater by presenting the token, so no one can act for or read
another rater. The organizer's token (for the live progress page) is kept in ``organizer.token`` beside the
database, readable by its owner only.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sqlite3
import time
from pathlib import Path

import numpy as np

from harness.pairwise.db import StudyDB, StudyError

ORGANIZER_FILE = "organizer.token"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_rater(db: StudyDB, source: str = "invite") -> tuple[str, str]:
    """A new rater: (rater id, session token). The id is what reports show; the token is the credential."""
    token = secrets.token_urlsafe(24)
    rater = "r-" + secrets.token_hex(5)
    completion = "-".join(secrets.token_hex(2).upper() for _ in range(3))
    with db.transaction() as conn:
        conn.execute("INSERT INTO raters (id, token, source, created, completion) VALUES (?, ?, ?, ?, ?)",
                     (rater, token_hash(token), source, time.time(), completion))
    return rater, token


def invite(db: StudyDB, n: int) -> list[tuple[str, str]]:
    if not 1 <= n <= 10_000:
        raise StudyError(f"--n must be 1-10000, got {n}")
    return [new_rater(db, "invite") for _ in range(n)]


def rater_of(db: StudyDB, token: str) -> sqlite3.Row | None:
    """The rater a session token belongs to, or None (unknown, malformed or empty token)."""
    if not token or len(token) > 100:
        return None
    with db.connect() as conn:
        return conn.execute("SELECT * FROM raters WHERE token = ?", (token_hash(token),)).fetchone()


def record_setup(db: StudyDB, rater: str, setup: dict[str, float]) -> None:
    with db.transaction() as conn:
        conn.execute("UPDATE raters SET setup = ? WHERE id = ?", (json.dumps(setup, sort_keys=True), rater))


def organizer_token(db: StudyDB) -> str:
    """The organizer's token, made on first use and kept in a file only its owner can read."""
    path = db.folder / ORGANIZER_FILE
    if path.is_file():
        return path.read_text().strip()
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token


def organizer_ok(folder: Path, token: str) -> bool:
    path = folder / ORGANIZER_FILE
    return bool(token) and path.is_file() and secrets.compare_digest(path.read_text().strip(), token)


def golden_positions(secret: str, rater: str, first: int, every: int, total: int) -> set[int]:
    """Where a rater's golden questions fall (trial positions from 0): one at a random position among the
    first ``first`` trials, then one at a random position in each further block of ``every``. Drawn from
    the study's secret, so raters cannot predict them and a reload does not move them."""
    seed = int.from_bytes(hashlib.sha256(f"{secret}:{rater}".encode()).digest()[:8], "big")
    rng = np.random.default_rng(seed)
    if first <= 0:
        return set()  # a study without golden questions (every rater then counts only with --keep-unscreened)
    positions = {int(rng.integers(0, first))}
    if every > 0:
        start = first
        while start < total:
            positions.add(start + int(rng.integers(0, every)))
            start += every
    return positions


def links(base_url: str, tokens: list[tuple[str, str]]) -> list[str]:
    base = base_url.rstrip("/")
    return [f"{base}/#t={token}" for _, token in tokens]
