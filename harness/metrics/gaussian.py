"""libjxl's recursive Gaussian blur (``FastGaussian``) in numpy, emulating its float32 arithmetic, and the
float32 fused multiply-add it and SSIMULACRA 2 are computed with."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from harness.metrics.base import MetricError

SIGMA = 1.5


@functools.cache
def recursive_gaussian_coefficients(sigma: float = SIGMA) -> tuple[int, np.ndarray, np.ndarray]:
    """(N, n2, d1) of libjxl's ``CreateRecursiveGaussian``: the radius and the three IIR filters'
    input and feedback coefficients, in float64 (libjxl stores them as float32 for the column pass
    and derives its row-pass constants from the float64 values)."""
    radius = float(round(np.float32(3.2795 * sigma + 0.2546)))  # roundf in libjxl: half away from 0
    pi_div_2r = math.pi / (2.0 * radius)
    omega = np.array([pi_div_2r, 3.0 * pi_div_2r, 5.0 * pi_div_2r])
    p = np.array([1.0 / math.tan(0.5 * omega[0]), -1.0 / math.tan(0.5 * omega[1]),
                  1.0 / math.tan(0.5 * omega[2])])
    r = np.array([p[0] * p[0] / math.sin(omega[0]), -p[1] * p[1] / math.sin(omega[1]),
                  p[2] * p[2] / math.sin(omega[2])])
    rho = np.exp(-0.5 * sigma * sigma * omega * omega) / radius
    d_13 = p[0] * r[1] - r[0] * p[1]
    d_35 = p[1] * r[2] - r[1] * p[2]
    d_51 = p[2] * r[0] - r[2] * p[0]
    zeta_15, zeta_35 = d_35 / d_13, d_51 / d_13
    a = np.array([[p[0], p[1], p[2]], [r[0], r[1], r[2]], [zeta_15, zeta_35, 1.0]])
    gamma = np.array([1.0, radius * radius - sigma * sigma, zeta_15 * rho[0] + zeta_35 * rho[1] + rho[2]])
    beta = np.linalg.solve(a, gamma)
    if abs(float(beta @ p) - 1.0) > 1e-12:  # libjxl's own sanity check: the weights are normalised
        raise MetricError("recursive Gaussian: IIR weights are not normalised")
    n2 = -beta * np.cos(omega * (radius + 1.0))
    d1 = -2.0 * np.cos(omega)
    return int(radius), n2, d1


def fma(a: Any, b: Any, c: Any) -> np.ndarray:
    """float32 fused multiply-add: the float32 product is exact in float64, one rounding to float32 after
    the add (in float64 first; a double rounding differs from a true FMA only on exact float32 ties)."""
    return (np.multiply(a, b, dtype=np.float64) + c).astype(np.float32)


@functools.cache
def _horizontal_constants(sigma: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """libjxl's mul_in, mul_prev, mul_prev2 (3 filters x 4 lanes, float32): the recursion expanded over
    four consecutive outputs, used by its row pass."""
    _, n2, d1 = recursive_gaussian_coefficients(sigma)
    d_2 = d1 * d1
    mul_prev = np.stack([-d1, d_2 - 1.0, -d_2 * d1 + 2.0 * d1, d_2 * d_2 - 3.0 * d_2 + 1.0], axis=1)
    mul_prev2 = np.stack([-np.ones(3), d1, -d_2 + 1.0, d_2 * d1 - 2.0 * d1], axis=1)
    mul_in = np.stack([n2, -d1 * n2, d_2 * n2 - n2, -d_2 * d1 * n2 + 2.0 * d1 * n2], axis=1)
    return (mul_in.astype(np.float32).astype(np.float64), mul_prev.astype(np.float32).astype(np.float64),
            mul_prev2.astype(np.float32).astype(np.float64))


def _horizontal(x: np.ndarray, sigma: float) -> np.ndarray:
    """libjxl ``FastGaussian1D`` on every row of ``x`` (rows x width, float32), operation for operation:
    a scalar start, blocks of four outputs from the unrolled constants, a scalar remainder."""
    radius = recursive_gaussian_coefficients(sigma)[0]
    mul_in, mul_prev, mul_prev2 = _horizontal_constants(sigma)
    rows, width = x.shape
    out = np.empty_like(x)
    zero = np.zeros(rows, dtype=np.float32)
    prev = [zero] * 3
    prev2 = [zero] * 3

    def scalar_step(n: int) -> None:
        left, right = n - radius - 1, n + radius - 1
        total = (x[:, left] if left >= 0 else zero) + (x[:, right] if right < width else zero)
        outs = []
        for k in range(3):
            value = np.multiply(total, np.float32(mul_in[k, 0]), dtype=np.float32)
            value = fma(mul_prev2[k, 0], prev2[k], value)
            prev2[k] = prev[k]
            value = fma(mul_prev[k, 0], prev[k], value)
            prev[k] = value
            outs.append(value)
        if n >= 0:
            out[:, n] = outs[0] + (outs[1] + outs[2])

    n = -radius + 1
    first_aligned = -(-(radius + 1) // 4) * 4
    while n < min(first_aligned, width):
        scalar_step(n)
        n += 1
    while n < width - radius + 1 - 3:
        total = x[:, n - radius - 1: n - radius + 3] + x[:, n + radius - 1: n + radius + 3]
        outs = []
        for k in range(3):
            value = np.multiply(total[:, 0:1], mul_in[k].astype(np.float32), dtype=np.float32)
            for i in range(1, 4):
                value[:, i:] = fma(mul_in[k, : 4 - i], total[:, i: i + 1], value[:, i:])
            value = fma(mul_prev2[k], prev2[k][:, None], value)
            value = fma(mul_prev[k], prev[k][:, None], value)
            prev2[k] = value[:, 2]
            prev[k] = value[:, 3]
            outs.append(value)
        out[:, n: n + 4] = outs[0] + (outs[1] + outs[2])
        n += 4
    while n < width:
        scalar_step(n)
        n += 1
    return out


def _vertical(x: np.ndarray, sigma: float) -> np.ndarray:
    """libjxl ``FastGaussianVertical`` on every column of ``x`` (height x columns, float32):
    y = n2 * (top + bottom) + (-(d1 * y[n-1]) - y[n-2]), both fused."""
    radius, n2_f64, d1_f64 = recursive_gaussian_coefficients(sigma)
    n2 = n2_f64.astype(np.float32).astype(np.float64)
    d1 = d1_f64.astype(np.float32).astype(np.float64)
    height = x.shape[0]
    out = np.empty_like(x)
    zero = np.zeros(x.shape[1:], dtype=np.float32)
    prev = [zero] * 3
    prev2 = [zero] * 3
    for n in range(-radius + 1, height):
        top, bottom = n - radius - 1, n + radius - 1
        if top < 0:
            total = x[bottom] if bottom < height else zero
        else:
            total = x[top] + (x[bottom] if bottom < height else zero)
        outs = []
        for k in range(3):
            feedback = (-np.multiply(d1[k], prev[k], dtype=np.float64) - prev2[k]).astype(np.float32)
            value = fma(n2[k], total, feedback)
            prev2[k], prev[k] = prev[k], value
            outs.append(value)
        if n >= 0:
            out[n] = outs[0] + (outs[1] + outs[2])
    return out


def blur(planes: np.ndarray, sigma: float = SIGMA) -> np.ndarray:
    """libjxl ``FastGaussian`` (rows, then columns) of a stack of float32 planes (..., H, W), emulating
    its float32 arithmetic: the SSIM variances subtract nearly equal numbers, and in flat areas the
    rounding noise of the blur, clamped at 0 by the SSIM' map, is part of the official score."""
    shape = planes.shape
    height, width = shape[-2:]
    flat = np.ascontiguousarray(planes, dtype=np.float32).reshape(-1, height, width)
    rows = _horizontal(flat.reshape(-1, width), sigma).reshape(flat.shape)
    columns = _vertical(np.ascontiguousarray(rows.transpose(1, 0, 2)).reshape(height, -1), sigma)
    return columns.reshape(height, flat.shape[0], width).transpose(1, 0, 2).reshape(shape)
