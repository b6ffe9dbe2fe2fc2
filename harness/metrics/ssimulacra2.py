"""SSIMULACRA 2.1 (Jon Sneyers, Cloudinary), reimplemented in numpy from the published algorithm.

The official tool is ``ssimulacra2`` (github.com/cloudinary/ssimulacra2, the same code as libjxl's
``tools/ssimulacra2``); no packaged build of it exists for Debian or PyPI, and the PyPI ``ssimulacra2``
port differs from it by up to 7.4 points because it blurs with a truncated SciPy Gaussian. This module
follows the official algorithm step by step:

1. 8-bit sRGB -> linear sRGB in float32, values in [0, 1] (libjxl's rational-polynomial sRGB curve).
2. Six scales (1:1 .. 1:32); each further scale is a 2x2 box average *of linear RGB* (odd edges repeat
   the last row/column), stopping when the previous scale is smaller than 8 px on a side.
3. At each scale, linear RGB -> XYB (libjxl's opsin absorbance matrix and bias, cube root, minus the
   cube root of the bias; X = (L - M) / 2, Y = (L + M) / 2, B = S), then rescaled to about 0..1:
   X' = 14 X + 0.42, Y' = Y + 0.01, B' = B - Y + 0.55.
4. Blur with libjxl's recursive Gaussian (sigma 1.5; Charalampidis 2016, "Recursive implementation of
   the Gaussian filter using truncated cosine functions", zero outside the image): mu1, mu2, and the
   blurred products for sigma11, sigma22, sigma12.
5. Per channel, three error maps: SSIM' without the luminance denominator
   (1 - (1 - (mu1 - mu2)^2) (2 sigma12 + C2) / (sigma11 + sigma22 + C2), clamped at 0, C2 = 0.0009) and
   the edge maps (1 + |I2 - mu2|) / (1 + |I1 - mu1|) - 1, split into its positive part ("ringing":
   edges in the distorted image where the original is smooth) and negative part ("blurring").
   Each map gives its mean and its 4-norm: 6 scales x 3 channels x 3 maps x 2 norms = 108 numbers.
6. Their weighted sum with the official 108 weights, then the official polynomial and power mapping to
   a score of at most 100 (identical images give 100).

Why float32 arithmetic is emulated operation by operation: SSIM' subtracts nearly equal numbers
(sigma11 = blur(I1^2) - mu1^2), and where the images are flat, the official tool's float32 rounding noise
passes the clamp at 0 and becomes part of its score (about 0.2 points at JPEG quality 90 on a flat Kodak
crop; a float64 blur was 0.18 off, a float32 blur without libjxl's operation order 0.17 off). So the
8-bit input scaling, the sRGB curve, the XYB matrix with fused multiply-adds, libjxl's cube-root
approximation and both passes of the recursive Gaussian (the row pass in its four-output unrolled
form) follow libjxl 0.8's float32 operations; a fused multiply-add is emulated by one float64
multiply-add rounded once to float32. The result equals the official tool to about 1e-8.

Calibration (``tests/test_perceptual_extra.py``): on the 24 pairs of
``shared/metrics-calibration/perceptual-extra`` the largest difference from the official tool is
5e-9 points (the test asserts 0.05). Images are 8-bit sRGB as the harness decodes them; PNG
colour chunks (gAMA, iCCP, ...) are not read, which is the harness's policy for every metric.
"""

from __future__ import annotations

import numpy as np

from harness.metrics import register
from harness.metrics.base import Column, Metric, MetricError
from harness.metrics.gaussian import blur, fma

NUM_SCALES = 6
C2 = np.float32(0.0009)

# The official weights (SSIMULACRA 2.1, April 2023), in the order channel (X, Y, B), scale (1:1..1:32),
# norm (1, 4), map (SSIM', ringing, blurring).
WEIGHTS = np.array([
    0.0, 0.0007376606707406586, 0.0, 0.0, 0.0007793481682867309, 0.0, 0.0, 0.0004371155730107379, 0.0,
    1.1041726426657346, 0.00066284834129271, 0.00015231632783718752, 0.0, 0.0016406437456599754, 0.0,
    1.8422455520539298, 11.441172603757666, 0.0, 0.0007989109436015163, 0.000176816438078653, 0.0,
    1.8787594979546387, 10.94906990605142, 0.0, 0.0007289346991508072, 0.9677937080626833, 0.0,
    0.00014003424285435884, 0.9981766977854967, 0.00031949755934435053, 0.0004550992113792063, 0.0, 0.0,
    0.0013648766163243398, 0.0, 0.0, 0.0, 0.0, 0.0, 7.466890328078848, 0.0, 17.445833984131262,
    0.0006235601634041466, 0.0, 0.0, 6.683678146179332, 0.00037724407979611296, 1.027889937768264,
    225.20515300849274, 0.0, 0.0, 19.213238186143016, 0.0011401524586618361, 0.001237755635509985,
    176.39317598450694, 0.0, 0.0, 24.43300999870476, 0.28520802612117757, 0.0004485436923833408, 0.0,
    0.0, 0.0, 34.77906344483772, 44.835625328877896, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
    0.0008680556573291698, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0005313191874358747, 0.0, 0.00016533814161379112,
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0004179171803251336, 0.0017290828234722833, 0.0, 0.0020827005846636437,
    0.0, 0.0, 8.826982764996862, 23.19243343998926, 0.0, 95.1080498811086, 0.9863978034400682,
    0.9834382792465353, 0.0012286405048278493, 171.2667255897307, 0.9807858872435379, 0.0, 0.0, 0.0,
    0.0005130064588990679, 0.0, 0.00010854057858411537,
])


_F = np.float32


# libjxl constants, evaluated in float32 as the C++ does (e.g. kM01 = 1.0f - kM02 - kM00).
_M = np.array([
    [_F(0.30), (_F(1.0) - _F(0.078)) - _F(0.30), _F(0.078)],
    [_F(0.23), (_F(1.0) - _F(0.078)) - _F(0.23), _F(0.078)],
    [_F(0.24342268924547819), _F(0.20476744424496821),
     (_F(1.0) - _F(0.24342268924547819)) - _F(0.20476744424496821)],
], dtype=np.float32)
_BIAS = _F(0.0037930732552754493)
_NEG_BIAS_CBRT = -np.cbrt(_BIAS)
# TF_SRGB::DisplayFromEncoded: rational polynomial above 0.04045, x / 12.92 below (float32).
_SRGB_P = tuple(_F(v) for v in (2.200248328e-04, 1.043637593e-02, 1.624820318e-01, 7.961564959e-01, 8.210152774e-01))
_SRGB_Q = tuple(_F(v) for v in (2.631846970e-01, 1.076976492e+00, 4.987528350e-01, -5.512498495e-02, 6.521209011e-03))


def srgb_to_linear(rgb8: np.ndarray) -> np.ndarray:
    """8-bit sRGB (HxWx3) -> linear light as 3xHxW float32, as libjxl 0.8 does it: v * float(1/255), then
    its rational-polynomial sRGB transfer function (error ~1e-7 against the exact formula)."""
    encoded = np.multiply(rgb8.transpose(2, 0, 1).astype(np.float32), _F(1.0 / 255.0), dtype=np.float32)
    poly_p = np.full(encoded.shape, _SRGB_P[4], dtype=np.float32)
    poly_q = np.full(encoded.shape, _SRGB_Q[4], dtype=np.float32)
    for degree in range(3, -1, -1):
        poly_p = fma(poly_p, encoded, np.float64(_SRGB_P[degree]))
        poly_q = fma(poly_q, encoded, np.float64(_SRGB_Q[degree]))
    linear = encoded * (_F(1.0) / _F(12.92))
    return np.where(encoded > _F(0.04045), poly_p / poly_q, linear).astype(np.float32)


def _cube_root_and_add(x: np.ndarray, add: np.float32) -> np.ndarray:
    """libjxl ``CubeRootAndAdd``: cbrt(x) + add from an exponent trick and four Newton steps (float32)."""
    k1_3, k4_3 = _F(1.0) / _F(3.0), _F(4.0) / _F(3.0)
    xa_3 = k1_3 * x
    bits = x.view(np.int32)
    guess = np.int32(0x54800000) - (bits >> 23) * np.int32(0x002AAAAA)
    r = np.where(bits == 0, np.int32(0), guess).astype(np.int32).view(np.float32)
    for _ in range(3):
        r2 = r * r
        r = fma(-xa_3, r2 * r2, k4_3 * r)
    r2 = r * r
    r = fma(k1_3, fma(-x, r2 * r2, r), r)
    r2 = r * r
    return fma(r2, x, np.float64(add))


def linear_to_positive_xyb(linear: np.ndarray) -> np.ndarray:
    """3xHxW linear sRGB -> libjxl XYB (``LinearRGBToXYB``, fused multiply-adds as libjxl's SIMD code),
    then SSIMULACRA2's rescaling to about 0..1: X' = 14 X + 0.42, Y' = Y + 0.01, B' = B - Y + 0.55."""
    r, g, b = linear[0], linear[1], linear[2]
    mixed = []
    for row in _M:
        value = fma(np.float64(row[0]), r, fma(np.float64(row[1]), g, fma(np.float64(row[2]), b, np.float64(_BIAS))))
        mixed.append(_cube_root_and_add(np.maximum(value, _F(0.0)), _NEG_BIAS_CBRT))
    half = _F(0.5)
    x = half * (mixed[0] - mixed[1])
    y = half * (mixed[0] + mixed[1])
    return np.stack([x * _F(14.0) + _F(0.42), y + _F(0.01), (mixed[2] - y) + _F(0.55)])


def downsample(linear: np.ndarray) -> np.ndarray:
    """2x2 box average of 3xHxW planes; an odd last row/column is averaged with itself."""
    _, height, width = linear.shape
    padded = np.pad(linear, ((0, 0), (0, height % 2), (0, width % 2)), mode="edge")
    return (padded[:, 0::2, 0::2] + padded[:, 0::2, 1::2] + padded[:, 1::2, 0::2]
            + padded[:, 1::2, 1::2]) * np.float32(0.25)


def _norms(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per channel (first axis): mean and 4-norm of non-negative maps, accumulated in float64."""
    flat = values.reshape(values.shape[0], -1).astype(np.float64)
    return flat.mean(axis=1), np.sqrt(np.sqrt((flat ** 4).mean(axis=1)))


def scale_scores(img1: np.ndarray, img2: np.ndarray) -> np.ndarray:
    """The 18 numbers of one scale, as [channel, norm, map] (maps: SSIM', ringing, blurring)."""
    stacked = np.concatenate([img1 * img1, img2 * img2, img1 * img2, img1, img2])
    blurred = blur(stacked)
    s11, s22, s12, mu1, mu2 = blurred[0:3], blurred[3:6], blurred[6:9], blurred[9:12], blurred[12:15]
    mu11, mu22, mu12 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    num_m = np.float32(1.0) - (mu1 - mu2) * (mu1 - mu2)
    num_s = np.float32(2.0) * (s12 - mu12) + C2
    denom_s = (s11 - mu11) + (s22 - mu22) + C2
    ssim = np.maximum(1.0 - (num_m * num_s / denom_s).astype(np.float64), 0.0)
    edge = ((1.0 + np.abs(img2 - mu2).astype(np.float64)) / (1.0 + np.abs(img1 - mu1).astype(np.float64))) - 1.0
    out = np.empty((3, 2, 3))
    for index, error_map in enumerate((ssim, np.maximum(edge, 0.0), np.maximum(-edge, 0.0))):
        mean, norm4 = _norms(error_map)
        out[:, 0, index] = mean
        out[:, 1, index] = norm4
    return out


def ssimulacra2(reference: np.ndarray, distorted: np.ndarray) -> float:
    """SSIMULACRA 2.1 score of ``distorted`` against ``reference`` (HxWx3 uint8 sRGB); 100 = identical."""
    if reference.shape != distorted.shape:
        raise MetricError(f"reconstruction {distorted.shape} differs from the original {reference.shape}")
    if min(reference.shape[:2]) < 8:
        raise MetricError(f"ssimulacra2 needs at least 8x8 pixels, got {reference.shape[1]}x{reference.shape[0]}")
    lin1, lin2 = srgb_to_linear(reference), srgb_to_linear(distorted)
    scales = []
    for scale in range(NUM_SCALES):
        if lin1.shape[1] < 8 or lin1.shape[2] < 8:
            break
        if scale:
            lin1, lin2 = downsample(lin1), downsample(lin2)
        scales.append(scale_scores(linear_to_positive_xyb(lin1), linear_to_positive_xyb(lin2)))
    # The official sum walks channel, scale, norm, map with one running weight index (so an image with
    # fewer than six scales uses the leading weights, as the official tool does).
    values = np.stack(scales, axis=1).reshape(-1)  # [channel, scale, norm, map]
    total = float(np.dot(WEIGHTS[: values.size], np.abs(values)))
    total *= 0.9562382616834844
    total = 2.326765642916932 * total - 0.020884521182843837 * total * total + 6.248496625763138e-05 * total ** 3
    return 100.0 - 10.0 * total ** 0.6276336467831387 if total > 0 else 100.0


@register
class Ssimulacra2(Metric):
    name = "ssimulacra2"
    description = "SSIMULACRA 2.1 (numpy reimplementation of the official tool, libjxl recursive Gaussian, XYB)"
    columns = (Column("ssimulacra2", "SSIMULACRA2", "", True),)

    def compute(self, reference, reconstruction, prepared):
        return {"ssimulacra2": ssimulacra2(reference, reconstruction)}
