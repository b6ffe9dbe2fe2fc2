"""Planning a study on a run: which conditions, which images, and the pixels every rater will see.

A condition is one codec at one operating point, named ``CODEC@POINT``. The point is the codec's knob value
when the codec has the same knob values on every image of the study (``jpeg@30``, ``vvc@32``). Codecs whose
points differ per image (published reconstructions at the authors' rates, codecs rate-matched with
``--match`` or ``--target-bpp``) are grouped by the rank of the point within each image (lowest bpp first)
and named by the mean bpp of that rank (``pico@0.259``), so one condition spans all images, as in PICO's
own study. Each condition's rate in the report is its mean bpp over the study's images.

Every shown image is a lossless PNG in ``RUN/studies/NAME/images/``: the original, each reconstruction
(exactly the pixels the run measured, from :func:`harness.run.reconstruct.reconstruction`: the kept
reconstruction, the kept bitstream decoded again, or the published file) and, for the golden questions, a
heavily degraded copy of the original (JPEG quality 5, 4:2:0), shown against the image's best compressed
version: anyone looking should reject it.
"""

from __future__ import annotations

import io
import json
import math
import re
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from harness.core.images import ImageError, encode_png, load_image
from harness.pairwise.db import GOLDEN_NAMES, StudyDB, StudyError, new_secret, study_dir
from harness.pairwise.settings import Settings

GOLDEN_JPEG_QUALITY = 5


def _format_point(value: float) -> str:
    return f"{value:g}"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@=+-]", "_", name)


def _select_codecs(frame: pd.DataFrame, codecs: Sequence[str] | None) -> pd.DataFrame:
    if not codecs:
        return frame
    keep = []
    for wanted in codecs:
        hits = frame[(frame["codec"] == wanted) | (frame["codec_name"] == wanted)]
        if hits.empty:
            raise StudyError(f"codec {wanted!r} has no successful rows in the run "
                             f"(codecs: {', '.join(sorted(frame['codec'].unique()))})")
        keep.append(hits)
    return pd.concat(keep).drop_duplicates("job_key")


def condition_table(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per (image, condition) of the successful rows of ``frame``: columns ``condition``, ``codec``,
    ``point`` (the label) and the run row's own columns."""
    parts = []
    for codec, rows in frame.groupby("codec", sort=True):
        per_image = rows.groupby("image")["point"].apply(lambda p: tuple(sorted(p.round(9))))
        if per_image.nunique() == 1 and rows.groupby("image")["point"].apply(lambda p: p.is_unique).all():
            labels = rows["point"].map(_format_point)
        else:
            rank = rows.groupby("image")["bpp"].rank(method="first").astype(int)
            mean_bpp = rows.groupby(rank)["bpp"].mean()
            text = {k: f"{v:.3f}" for k, v in mean_bpp.items()}
            if len(set(text.values())) < len(text):
                text = {k: f"{v:.3f}r{k}" for k, v in mean_bpp.items()}
            labels = rank.map(text)
        parts.append(rows.assign(codec=str(codec), point_label=labels.astype(str),
                                 condition=str(codec) + "@" + labels.astype(str)))
    if not parts:
        raise StudyError("no successful rows to compare")
    table = pd.concat(parts)
    clash = table.duplicated(["image", "condition"], keep=False)
    if clash.any():
        first = table[clash].iloc[0]
        raise StudyError(f"{first['condition']} has several rows on image {first['image']}; "
                         "choose the points with --points")
    return table.reset_index(drop=True)


def _matches_point(label: str, wanted: Sequence[str]) -> bool:
    for w in wanted:
        if label == w:
            return True
        try:
            if math.isclose(float(label), float(w), rel_tol=1e-9, abs_tol=1e-12):
                return True
        except ValueError:
            continue
    return False


def reconstruction_pixels(run_dir: Path, row: pd.Series) -> np.ndarray:
    """A row's reconstruction, exactly the pixels its metrics were computed on (the run's one way to get
    them: kept PNG, kept bitstream decoded again, or the published file)."""
    from harness.run.reconstruct import ReconstructionError, reconstruction

    try:
        return reconstruction(run_dir, row.drop(["condition", "point_label"], errors="ignore"))
    except ReconstructionError as exc:
        raise StudyError(str(exc)) from None


def degraded_copy(pixels: np.ndarray) -> np.ndarray:
    """The golden questions' obviously worse image: JPEG at quality 5 with 4:2:0 chroma."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=GOLDEN_JPEG_QUALITY, subsampling=2)
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


def create_study(run_dir: str | Path, name: str, *, codecs: Sequence[str] | None = None,
                 images: Sequence[str] | None = None, points: Sequence[str] | None = None,
                 settings: Settings | None = None, seed: int = 0,
                 progress: Callable[[str], None] | None = None) -> StudyDB:
    """Plan a study on a run: write the PNGs and the SQLite plan under ``RUN/studies/NAME/``."""
    from harness.analysis.selection import ReportError, load_run, metric_columns

    run_dir = Path(run_dir)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise StudyError(f"study name {name!r}: use letters, digits, '.', '_' and '-'")
    try:
        frame = load_run(run_dir)
    except ReportError as exc:
        raise StudyError(str(exc)) from None
    frame = frame[frame["status"] == "ok"]
    frame = frame[np.isfinite(pd.to_numeric(frame["bpp"], errors="coerce"))]
    metrics = metric_columns(frame)
    frame = _select_codecs(frame, codecs)
    if images:
        missing = sorted(set(images) - set(frame["image"]))
        if missing:
            raise StudyError(f"image(s) not in the run's successful rows: {', '.join(missing)}")
        frame = frame[frame["image"].isin(images)]
    table = condition_table(frame)
    if points:
        table = table[table["point_label"].map(lambda p: _matches_point(p, points))]
    # An image is worth showing only if it has two conditions to compare.
    counts = table.groupby("image")["condition"].nunique()
    table = table[table["image"].isin(counts[counts >= 2].index)]
    if table["condition"].nunique() < 2:
        raise StudyError("the selection leaves fewer than two conditions on any image")
    folder = study_dir(run_dir, name)
    db = StudyDB(folder)
    if db.path.exists():
        raise StudyError(f"{db.path}: a study of this name exists already")
    if folder.exists():
        shutil.rmtree(folder)  # an earlier attempt that never wrote its database
    meta = {"name": name, "run": str(run_dir.resolve()), "created": str(time.time()), "seed": str(seed),
            "secret": new_secret(), "metrics": json.dumps(metrics), **(settings or Settings()).check().to_meta()}
    image_rows, stimulus_rows = [], []
    for image_name, rows in table.groupby("image", sort=True):
        say = progress or (lambda _: None)
        say(f"{image_name}: original, degraded copy and {len(rows)} reconstructions")
        first = rows.iloc[0]
        try:
            original = load_image(Path(str(first["image_path"])), str(image_name)).pixels
        except ImageError as exc:
            raise StudyError(str(exc)) from None
        base = folder / "images" / _safe(str(image_name))
        base.mkdir(parents=True, exist_ok=True)
        (base / "original.png").write_bytes(encode_png(original, compress_level=6))
        (base / "degraded.png").write_bytes(encode_png(degraded_copy(original), compress_level=6))
        rel = base.relative_to(folder)
        image_rows.append((str(image_name), str(rel / "original.png"), str(rel / "degraded.png"),
                           original.shape[1], original.shape[0]))
        for _, row in rows.iterrows():
            target = base / f"{_safe(str(row['condition']))}.png"
            target.write_bytes(encode_png(reconstruction_pixels(run_dir, row), compress_level=6))
            values = {m: float(row[m]) for m in metrics if m in row and pd.notna(row[m])}
            stimulus_rows.append((str(image_name), str(row["condition"]), str(rel / target.name),
                                  float(row["bpp"]), json.dumps(values)))
    db.create(meta)
    conditions = table.drop_duplicates("condition")[["condition", "codec", "point_label"]]
    if set(conditions["condition"]) & set(GOLDEN_NAMES):
        raise StudyError("a condition is named like a golden stimulus (original, degraded)")
    with db.transaction() as conn:
        conn.executemany("INSERT INTO images VALUES (?, ?, ?, ?, ?)", image_rows)
        conn.executemany("INSERT INTO conditions VALUES (?, ?, ?)", conditions.itertuples(index=False))
        conn.executemany("INSERT INTO stimuli VALUES (?, ?, ?, ?, ?)", stimulus_rows)
    return db
