"""`harness codecs --check`: run every available codec at its lowest- and highest-quality default points on a
small image and say whether the results look like a codec working (bpp and PSNR in plausible ranges, more
bits giving more quality, no worse than baseline JPEG at the same rate). It catches wrong command lines,
wrong colour pipelines and broken builds in seconds, before a long run."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from harness.codecs import codec_class, codec_names
from harness.codecs.base import Contender
from harness.core.errors import one_line
from harness.core.images import SourceImage

# A codec at its best default point should be at least this good on a natural image, at its worst no
# worse than this; outside, something in the chain (colour, sizes, planes) is wrong.
PSNR_FLOOR_DB = 15.0
PSNR_CEILING_DB = 80.0
BPP_CEILING = 24.0  # more than raw 8-bit RGB
# Every codec compared here beats baseline JPEG 4:4:4 at equal rate; one far below it at a rate JPEG can
# reach has a broken chain (wrong matrix or range, swapped planes, misread bit depth), not a weak design.
JPEG_MARGIN_DB = 3.0
JPEG_QUALITIES = (1, 3, 5, 10, 20, 30, 40, 50, 60, 70, 80, 85, 90, 95)


def jpeg_reference_curve(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(bpp, PSNR) of libjpeg-turbo 4:4:4 (Pillow) on ``pixels``, by increasing bpp."""
    import io

    from PIL import Image

    points = []
    for quality in JPEG_QUALITIES:
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality, subsampling=0)
        decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))
        points.append((buffer.tell() * 8 / (pixels.shape[0] * pixels.shape[1]), _psnr(decoded, pixels)))
    points.sort()
    return np.array([p[0] for p in points]), np.array([p[1] for p in points])


def jpeg_psnr_at(curve: tuple[np.ndarray, np.ndarray], bpp: float) -> float | None:
    """JPEG's PSNR at ``bpp`` (linear in log-rate), or None outside the rates JPEG reaches."""
    rates, psnrs = curve
    if not rates[0] <= bpp <= rates[-1]:
        return None
    return float(np.interp(np.log(bpp), np.log(rates), psnrs))


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * float(np.log10(255.0**2 / mse))


def _extremes(codec: Contender) -> tuple[float, float]:
    """(lowest-quality point, highest-quality point) of the codec's default points."""
    points = sorted(codec.default_points)
    return (points[0], points[-1]) if codec.knob.quality_rises else (points[-1], points[0])


def check_codec(codec: Contender, image: SourceImage,
                jpeg_curve: tuple[np.ndarray, np.ndarray] | None = None) -> dict[str, Any]:
    """One codec's check row: status ``ok``, ``suspect``, ``failed`` or ``unavailable``, with the numbers."""
    row: dict[str, Any] = {"codec": codec.label, "status": "unavailable", "detail": "", "version": "",
                           "low_point": None, "low_bpp": None, "low_psnr": None,
                           "high_point": None, "high_bpp": None, "high_psnr": None, "seconds": None}
    ok = codec.availability()
    if not ok:
        row["detail"] = ok.reason
        return row
    row["version"] = codec.version()
    if not codec.default_points:
        row.update(status="failed", detail="no default points")
        return row
    low, high = _extremes(codec)
    start = time.perf_counter()
    try:
        for which, point in (("low", low), ("high", high)):
            outcome = codec.compress(image, point)
            row[f"{which}_point"] = point
            row[f"{which}_bpp"] = outcome.bpp
            row[f"{which}_psnr"] = _psnr(outcome.reconstruction, image.pixels)
    except Exception as exc:  # noqa: BLE001 - any failure of a codec is what this check reports
        row.update(status="failed", detail=one_line(exc), seconds=time.perf_counter() - start)
        return row
    row["seconds"] = time.perf_counter() - start
    problems = []
    for which in ("low", "high"):
        bpp, quality = row[f"{which}_bpp"], row[f"{which}_psnr"]
        if not 0 < bpp < BPP_CEILING:
            problems.append(f"{which} point {row[f'{which}_point']:g}: {bpp:.3g} bpp is implausible")
        if not PSNR_FLOOR_DB <= quality <= PSNR_CEILING_DB and quality != float("inf"):
            problems.append(f"{which} point {row[f'{which}_point']:g}: {quality:.1f} dB is implausible")
        reference = jpeg_psnr_at(jpeg_curve or jpeg_reference_curve(image.pixels), bpp) if bpp > 0 else None
        if reference is not None and quality < reference - JPEG_MARGIN_DB:
            problems.append(f"{which} point {row[f'{which}_point']:g}: {quality:.1f} dB at {bpp:.3g} bpp is "
                            f"{reference - quality:.1f} dB below JPEG 4:4:4 (broken colour chain, or a very weak codec)")
    if low != high:
        if row["high_bpp"] <= row["low_bpp"]:
            problems.append("the high-quality point does not use more bits than the low one")
        if row["high_psnr"] <= row["low_psnr"]:
            problems.append("the high-quality point is not better than the low one")
    row["status"] = "suspect" if problems else "ok"
    row["detail"] = "; ".join(problems)
    return row


def check_codecs(image: SourceImage, names: list[str] | None = None) -> list[dict[str, Any]]:
    """Check every codec of :func:`checked` (or those named) on ``image``; one row per codec, in name order.

    Rows: codec, status (ok / suspect / failed / unavailable), detail (the reason or the problems),
    version, low_point/low_bpp/low_psnr, high_point/high_bpp/high_psnr (RGB PSNR, dB), seconds."""
    curve = jpeg_reference_curve(image.pixels)
    return [check_codec(codec_class(name)(), image, curve) for name in (names if names is not None else checked())]


def checked() -> list[str]:
    """The codecs a check runs: those that encode (published data, whose points are data, have nothing to check)."""
    return [name for name in codec_names() if codec_class(name).can_encode]


def default_check_image() -> SourceImage:
    """A small natural image that needs no download: a 128x96 crop of scikit-image's ``astronaut`` (public
    domain, installed with scikit-image), with a face, fabric texture and flat background."""
    from pathlib import Path

    import skimage

    from harness.core.images import load_image

    path = Path(skimage.__file__).parent / "data" / "astronaut.png"
    image = load_image(path, name="astronaut-crop")
    crop = np.ascontiguousarray(image.pixels[40:136, 160:288])
    return SourceImage(name=image.name, path=image.path, sha256=image.sha256, pixels=crop, notes=("crop",))


def main(argv: list[str] | None = None) -> int:
    """``python -m harness.codecs.selfcheck [CODEC ...]``: check the named codecs (default: all available);
    exit status 1 if any of them is unavailable, failed or suspect (0 only if every one is ok)."""
    import sys

    names = list(sys.argv[1:] if argv is None else argv) or None
    rows = check_codecs(default_check_image(), names)
    if names is None:
        rows = [r for r in rows if r["status"] != "unavailable"]
    for r in rows:
        numbers = ""
        if r["low_bpp"] is not None:
            numbers = (f" {r['low_point']:g}: {r['low_bpp']:.3f} bpp {r['low_psnr']:.2f} dB;"
                       f" {r['high_point']:g}: {r['high_bpp']:.3f} bpp {r['high_psnr']:.2f} dB")
        print(f"{r['codec']}: {r['status']}{numbers}{' - ' + r['detail'] if r['detail'] else ''}", flush=True)
    return 0 if rows and all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
