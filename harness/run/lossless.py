"""The lossless sweep (``harness run --lossless``): every lossless mode on every original, each reconstruction
checked bit for bit, with the size and the encode and decode speed.

Lossless means lossless for the 8-bit RGB the harness loads: an original that loading changes (16-bit reduced,
alpha dropped, palette transparency, grey replicated) is flagged in its rows (``source_changed``), not refused,
since the codecs are still judged on the same 8-bit RGB. A reconstruction that is not the loaded pixels is a
failed row (``exact`` False, ``error`` says how many pixels differ), never a size. Speeds are per CPU second
(this process and the encoder programs it runs, user + system), so a loaded machine does not change them much;
the wall-clock seconds are kept beside them.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from harness.codecs.lossless import LosslessMode, lossless_modes
from harness.core.errors import one_line
from harness.core.images import load_image
from harness.core.pareto import pareto_front as front_of
from harness.datasets import Dataset

COLUMNS = ("image", "codec", "effort", "width", "height", "bytes", "bpp", "encode_seconds", "decode_seconds",
           "encode_wall_seconds", "decode_wall_seconds", "exact", "error", "source_changed")


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and of its finished children (the command-line encoders): the
    codec's work, whatever else the machine is doing; threads add up."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def select_modes(codecs: Sequence[str] | None = None) -> list[LosslessMode]:
    """The modes of the named codecs (``jxl``, ``jxl:e7`` for one effort), all of them when none is named."""
    modes = lossless_modes()
    if not codecs:
        return modes
    known = sorted({m.codec for m in modes})
    chosen = []
    for spec in codecs:
        codec, _, effort = spec.partition(":")
        found = [m for m in modes if m.codec == codec and effort in ("", m.effort)]
        if not found:
            raise ValueError(f"no lossless mode {spec!r} (codecs: {', '.join(known)}; efforts as codec:EFFORT)")
        chosen += [m for m in found if m not in chosen]
    return chosen


def run_mode(mode: LosslessMode, name: str, rgb: np.ndarray, notes: Sequence[str]) -> dict[str, object]:
    height, width = rgb.shape[:2]
    row: dict[str, object] = {"image": name, "codec": mode.codec, "effort": mode.effort, "width": width,
                              "height": height, "bytes": None, "bpp": None, "encode_seconds": None,
                              "decode_seconds": None, "encode_wall_seconds": None, "decode_wall_seconds": None,
                              "exact": False, "error": "",
                              "source_changed": "; ".join(notes)}
    try:
        start, cpu_start = time.perf_counter(), cpu_seconds()
        data = mode.encode(rgb)
        middle, cpu_middle = time.perf_counter(), cpu_seconds()
        decoded = mode.decode(data, height, width)
        end, cpu_end = time.perf_counter(), cpu_seconds()
    except Exception as exc:  # noqa: BLE001  (one mode failing is its row's error; the sweep goes on)
        row["error"] = f"{mode.codec} {mode.effort}: {one_line(exc)}"
        return row
    row.update(bytes=len(data), bpp=8 * len(data) / (height * width), encode_seconds=cpu_middle - cpu_start,
               decode_seconds=cpu_end - cpu_middle, encode_wall_seconds=middle - start, decode_wall_seconds=end - middle)
    if decoded.shape != rgb.shape:
        row["error"] = f"decoded {decoded.shape} for a {rgb.shape} original"
    elif not np.array_equal(decoded, rgb):
        differ = int(np.any(decoded != rgb, axis=2).sum())
        row["error"] = f"not lossless: {differ} of {height * width} pixels differ"
    else:
        row["exact"] = True
    return row


def lossless_sweep(dataset: Dataset, modes: Sequence[LosslessMode],
                   progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """One row per (original, mode)."""
    rows = []
    for ref in dataset.images:
        source = load_image(ref.path, ref.name)
        for mode in modes:
            if progress is not None:
                progress(f"{ref.name} {mode.codec} {mode.effort}")
            rows.append(run_mode(mode, ref.name, source.pixels, source.notes))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Per codec and effort: images, how many exact, mean bpp over the exact rows, and encode/decode speed in
    megapixels per CPU second (all pixels over all CPU seconds, :func:`cpu_seconds`)."""
    out = []
    for (codec, effort), g in rows.groupby(["codec", "effort"], sort=False):
        ok = g[g["exact"].astype(bool)]
        mp = float((ok["width"] * ok["height"]).sum()) / 1e6
        enc, dec = float(ok["encode_seconds"].sum()), float(ok["decode_seconds"].sum())
        out.append({"codec": codec, "effort": effort, "images": len(g), "exact": len(ok),
                    "bpp_mean": float(ok["bpp"].mean()) if len(ok) else float("nan"),
                    "encode_mp_s": mp / enc if enc > 0 else float("nan"),
                    "decode_mp_s": mp / dec if dec > 0 else float("nan")})
    return pd.DataFrame(out, columns=["codec", "effort", "images", "exact", "bpp_mean", "encode_mp_s", "decode_mp_s"])


def pareto_front(table: pd.DataFrame, speed: str = "encode_mp_s", size: str = "bpp_mean") -> pd.DataFrame:
    """The summary rows on the Pareto front of speed against size (:func:`harness.core.pareto.pareto_front`),
    fastest first; rows where not every image was exact take no part."""
    usable = table[(table["exact"] == table["images"])]
    keys = front_of([(index, float(row[speed]), float(row[size])) for index, row in usable.iterrows()])
    return usable.loc[keys]
