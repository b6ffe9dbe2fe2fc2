"""Votes in and out as CSV (``rater,image,a,b,choice,seconds``), so studies run elsewhere (a
crowdsourcing platform, another lab) can be scored here, and votes cast here analysed elsewhere.

``a`` and ``b`` are condition names (``CODEC@POINT``) or ``original``; a golden question has ``degraded`` on
one side; ``choice`` is ``a``, ``b`` or ``tie``; ``seconds`` (the viewing time) may be empty.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from harness.pairwise.db import CHOICES, DEGRADED, GOLDEN_NAMES, ORIGINAL, StudyDB, StudyError, Vote

COLUMNS = ("rater", "image", "a", "b", "choice", "seconds")


def read_votes_csv(path: str | Path, db: StudyDB) -> list[Vote]:
    """Parse and check a votes CSV against the study's plan; the first bad line stops it, named."""
    path = Path(path)
    images = {r["name"] for r in db.images()}
    known = {r["name"] for r in db.conditions()} | set(GOLDEN_NAMES)
    stimuli = {(r["image"], r["condition"]) for r in db.stimuli()}
    try:
        handle = path.open(newline="")
    except OSError as exc:
        raise StudyError(f"{path}: cannot be read ({exc.strerror})") from None
    votes = []
    with handle:
        reader = csv.DictReader(handle)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise StudyError(f"{path}: missing column(s) {', '.join(missing)} (need {','.join(COLUMNS)})")
        for line, row in enumerate(reader, start=2):
            where = f"{path}:{line}"
            rater, image, a, b = (str(row[c] or "").strip() for c in ("rater", "image", "a", "b"))
            choice = str(row["choice"] or "").strip().lower()
            if not rater:
                raise StudyError(f"{where}: empty rater")
            if image not in images:
                raise StudyError(f"{where}: image {image!r} is not in the study")
            for side in (a, b):
                if side not in known:
                    raise StudyError(f"{where}: {side!r} is not a condition of the study")
                if side not in GOLDEN_NAMES and (image, side) not in stimuli:
                    raise StudyError(f"{where}: the study has no {side} on image {image}")
            if a == b:
                raise StudyError(f"{where}: a and b are both {a!r}")
            if ORIGINAL in (a, b) and DEGRADED not in (a, b):
                raise StudyError(f"{where}: the original is shown only against the degraded copy (golden)")
            if choice not in CHOICES:
                raise StudyError(f"{where}: choice must be 'a', 'b' or 'tie', got {str(row['choice'])[:40]!r}")
            text = str(row["seconds"] or "").strip()
            try:
                seconds = float(text) if text else None
            except ValueError:
                raise StudyError(f"{where}: seconds must be a number, got {text!r}") from None
            if seconds is not None and not (math.isfinite(seconds) and seconds >= 0):
                raise StudyError(f"{where}: seconds must be a non-negative number, got {text!r}")
            votes.append(Vote(rater, image, a, b, choice, seconds))
    return votes


def import_votes(path: str | Path, db: StudyDB) -> int:
    return db.import_votes(read_votes_csv(path, db))


def export_votes(db: StudyDB, path: str | Path) -> int:
    votes = db.votes()
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for v in votes:
            writer.writerow([v.rater, v.image, v.a, v.b, v.choice, "" if v.seconds is None else f"{v.seconds:.3f}"])
    tmp.replace(path)
    return len(votes)
