"""Reference values for IW-SSIM and PSNR-HVS-M on the calibration pairs, from implementations separate from
the harness's libraries (piq, psnr-hvsm): written here, loop by loop, after the original MATLAB code
(Wang & Li's ``iwssim.m`` on matlabPyrTools' Laplacian pyramid, here pyrtools; Ponomarenko's ``psnrhvsm.m``).

    python3 scripts/jpegai_calibration.py            # writes tests/data/jpegai_calibration.json

The planes are the harness's: full-range BT.709 Y' rounded to 8 bits (harness.metrics.jpegai_luma.luma8).
VIF, FSIMc and NLPD need no values from here: the test compares them with the official MATLAB values that come
with the calibration pairs (../shared/metrics-calibration/results_official.csv).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CALIBRATION = REPO.parent / "shared" / "metrics-calibration"
FILES = ("I03.bmp", "I04.bmp", "I06.bmp", "I08.bmp", "I19.bmp")
OUT = REPO / "tests" / "data" / "jpegai_calibration.json"

# --- IW-SSIM (iwssim.m: 5 scales, K = [0.01 0.03], L = 255, Gaussian 11x11 sigma 1.5, 3x3 blocks + parent,
# sigma_nsq 0.4, the MS-SSIM scale weights used as they are, not renormalised) ---------------------------------
WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _gaussian(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    x = np.arange(size) - (size - 1) / 2
    g = np.exp(-(x[:, None] ** 2 + x[None, :] ** 2) / (2 * sigma * sigma))
    return g / g.sum()


def _filter_valid(image: np.ndarray, window: np.ndarray) -> np.ndarray:
    from scipy.signal import correlate2d

    return correlate2d(image, window, mode="valid")


def _filter_same(image: np.ndarray, window: np.ndarray) -> np.ndarray:
    from scipy.signal import correlate2d

    return correlate2d(image, window, mode="same", boundary="fill")


def _resize_bilinear(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """MATLAB imresize(..., 'bilinear') when enlarging: pixel centres at (i + 0.5) * in / out - 0.5, edges held."""

    def axis_weights(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        src = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        return lo, hi, src - lo

    r0, r1, fr = axis_weights(image.shape[0], height)
    c0, c1, fc = axis_weights(image.shape[1], width)
    rows = image[r0] * (1 - fr)[:, None] + image[r1] * fr[:, None]
    return rows[:, c0] * (1 - fc)[None, :] + rows[:, c1] * fc[None, :]


def _enlarge2(image: np.ndarray) -> np.ndarray:
    """iwssim.m's imenlarge2: bilinear to 4M-3 x 4N-3, extrapolated by one sample each side, every 2nd sample."""
    m, n = image.shape
    t = np.zeros((4 * m - 1, 4 * n - 1))
    t[1:-1, 1:-1] = _resize_bilinear(image, 4 * m - 3, 4 * n - 3)
    t[0, :] = 2 * t[1, :] - t[2, :]
    t[-1, :] = 2 * t[-2, :] - t[-3, :]
    t[:, 0] = 2 * t[:, 1] - t[:, 2]
    t[:, -1] = 2 * t[:, -2] - t[:, -3]
    return t[::2, ::2]


def _information_weights(x: np.ndarray, y: np.ndarray, parent: np.ndarray | None, sigma_nsq: float = 0.4) -> np.ndarray:
    tol = 1e-15
    box = np.full((3, 3), 1 / 9)
    mx, my = _filter_same(x, box), _filter_same(y, box)
    cov = _filter_same(x * y, box) - mx * my
    sx = np.maximum(_filter_same(x * x, box) - mx * mx, 0)
    sy = np.maximum(_filter_same(y * y, box) - my * my, 0)
    g = cov / (sx + tol)
    vv = sy - g * cov
    g[sx < tol] = 0
    vv[sx < tol] = sy[sx < tol]
    g[sy < tol] = 0
    vv[sy < tol] = 0
    nv, nh = x.shape
    nblv, nblh = nv - 2, nh - 2
    columns = []
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            shifted = np.roll(np.roll(x, dy, axis=0), dx, axis=1)
            columns.append(shifted[1 : 1 + nblv, 1 : 1 + nblh].ravel())
    if parent is not None:
        columns.append(_enlarge2(parent)[:nv, :nh][1 : 1 + nblv, 1 : 1 + nblh].ravel())
    neighbours = np.stack(columns, axis=1)
    count = neighbours.shape[1]
    cu = neighbours.T @ neighbours / neighbours.shape[0]
    eigenvalues, vectors = np.linalg.eigh(cu)
    positive = eigenvalues * (eigenvalues > 0)
    lam = positive * eigenvalues.sum() / (positive.sum() + (positive.sum() == 0))
    cu = vectors @ np.diag(lam) @ vectors.T
    ss = np.sum((neighbours @ np.linalg.inv(cu)) * neighbours, axis=1).reshape(nblv, nblh) / count
    g, vv = g[1 : 1 + nblv, 1 : 1 + nblh], vv[1 : 1 + nblv, 1 : 1 + nblh]
    info = sum(np.log2(1 + ((vv + (1 + g * g) * sigma_nsq) * ss * lj + sigma_nsq * vv) / (sigma_nsq * sigma_nsq))
               for lj in lam)
    info[info < tol] = 0
    return info


def iw_ssim_reference(original: np.ndarray, distorted: np.ndarray) -> float:
    import pyrtools as pt

    bands_o = [pt.pyramids.LaplacianPyramid(original, height=5).pyr_coeffs[(s, 0)] for s in range(5)]
    bands_d = [pt.pyramids.LaplacianPyramid(distorted, height=5).pyr_coeffs[(s, 0)] for s in range(5)]
    window = _gaussian()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    pooled = []
    for s in range(5):
        o, d = bands_o[s], bands_d[s]
        mu1, mu2 = _filter_valid(o, window), _filter_valid(d, window)
        s12 = _filter_valid(o * d, window) - mu1 * mu2
        s1 = np.maximum(_filter_valid(o * o, window) - mu1 * mu1, 0)
        s2 = np.maximum(_filter_valid(d * d, window) - mu2 * mu2, 0)
        cs = (2 * s12 + c2) / (s1 + s2 + c2)
        if s == 4:
            cs = cs * (2 * mu1 * mu2 + c1) / (mu1 * mu1 + mu2 * mu2 + c1)
            weights = np.ones_like(cs)
        else:
            weights = _information_weights(o, d, bands_o[s + 1] if s < 3 else None)[4:-4, 4:-4]
        pooled.append(float(np.sum(cs * weights) / np.sum(weights)))
    return float(np.prod(np.abs(pooled) ** np.array(WEIGHTS)))


# --- PSNR-HVS-M / PSNR-HVS (psnrhvsm.m: 8x8 blocks, step 8, MATLAB dct2, the published CSF and masking tables;
# the tables are the definition, the same numbers in every implementation) -----------------------------------
CSF = np.array([
    [1.608443, 2.339554, 2.573509, 1.608443, 1.072295, 0.643377, 0.504610, 0.421887],
    [2.144591, 2.144591, 1.838221, 1.354478, 0.989811, 0.443708, 0.428918, 0.467911],
    [1.838221, 1.979622, 1.608443, 1.072295, 0.643377, 0.451493, 0.372972, 0.459555],
    [1.838221, 1.513829, 1.169777, 0.887417, 0.504610, 0.295806, 0.321689, 0.415082],
    [1.429727, 1.169777, 0.695543, 0.459555, 0.378457, 0.236102, 0.249855, 0.334222],
    [1.072295, 0.735288, 0.467911, 0.402111, 0.317717, 0.247453, 0.227744, 0.279729],
    [0.525206, 0.402111, 0.329937, 0.295806, 0.249855, 0.212687, 0.214459, 0.254803],
    [0.357432, 0.279729, 0.270896, 0.262603, 0.229778, 0.257351, 0.249855, 0.259950]])
MASK = np.array([
    [0.390625, 0.826446, 1.000000, 0.390625, 0.173611, 0.062500, 0.038447, 0.026874],
    [0.694444, 0.694444, 0.510204, 0.277008, 0.147929, 0.029727, 0.027778, 0.033058],
    [0.510204, 0.591716, 0.390625, 0.173611, 0.062500, 0.030779, 0.021004, 0.031888],
    [0.510204, 0.346021, 0.206612, 0.118906, 0.038447, 0.013212, 0.015625, 0.026015],
    [0.308642, 0.206612, 0.073046, 0.031888, 0.021626, 0.008417, 0.009426, 0.016866],
    [0.173611, 0.081633, 0.033058, 0.024414, 0.015242, 0.009246, 0.007831, 0.011815],
    [0.041649, 0.024414, 0.016437, 0.013212, 0.009426, 0.006830, 0.006944, 0.009803],
    [0.019290, 0.011815, 0.011080, 0.010412, 0.007972, 0.010000, 0.009426, 0.010203]])


def _block_variance(block: np.ndarray) -> float:
    return float(np.var(block, ddof=1) * block.size)


def _masking(block: np.ndarray, coefficients: np.ndarray) -> float:
    energy = float(np.sum(coefficients**2 * MASK) - coefficients[0, 0] ** 2 * MASK[0, 0])
    whole = _block_variance(block)
    if whole != 0:
        whole = sum(_block_variance(block[r : r + 4, c : c + 4]) for r in (0, 4) for c in (0, 4)) / whole
    return math.sqrt(energy * whole) / 32


def psnr_hvs_m_reference(original: np.ndarray, distorted: np.ndarray) -> tuple[float, float]:
    """(PSNR-HVS-M, PSNR-HVS) in dB of two 0..255 planes whose sides are multiples of 8."""
    from scipy.fft import dctn

    s_hvsm = s_hvs = 0.0
    count = 0
    for r in range(0, original.shape[0] - 7, 8):
        for c in range(0, original.shape[1] - 7, 8):
            a, b = original[r : r + 8, c : c + 8], distorted[r : r + 8, c : c + 8]
            da, db = dctn(a, norm="ortho"), dctn(b, norm="ortho")
            mask = max(_masking(a, da), _masking(b, db))
            for k in range(8):
                for m in range(8):
                    u = abs(da[k, m] - db[k, m])
                    s_hvs += (u * CSF[k, m]) ** 2
                    if k or m:
                        u = max(u - mask / MASK[k, m], 0.0)
                    s_hvsm += (u * CSF[k, m]) ** 2
                    count += 1
    return (10 * math.log10(255 * 255 / (s_hvsm / count)), 10 * math.log10(255 * 255 / (s_hvs / count)))


def main() -> None:
    from harness.metrics.jpegai_luma import luma8
    from harness.metrics.psnrhvsm import pad8

    values: dict[str, dict[str, float]] = {"iw_ssim_y": {}, "psnr_hvs_m_y": {}, "psnr_hvs_y": {}}
    for name in FILES:
        ref = luma8(np.asarray(Image.open(CALIBRATION / "ref_dir" / name).convert("RGB")))
        dist = luma8(np.asarray(Image.open(CALIBRATION / "dist_dir" / name).convert("RGB")))
        values["iw_ssim_y"][name] = iw_ssim_reference(ref, dist)
        values["psnr_hvs_m_y"][name], values["psnr_hvs_y"][name] = psnr_hvs_m_reference(pad8(ref), pad8(dist))
        print(name, {key: round(column[name], 6) for key, column in values.items()}, flush=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"planes": "BT.709 Y' full range rounded to 8 bits", "values": values}, indent=1) + "\n")


if __name__ == "__main__":
    main()
