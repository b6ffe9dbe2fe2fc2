"""The 8-bit integer scale decoder and the entropy tables of the unofficial PICO re-implementation.

The paper quantizes the scale decoder to 8 bits and runs it on the CPU so that sigma (the only thing the
entropy coder needs) is bit-exact on every platform. Here:

- weights: signed 8-bit, symmetric, one scale per output channel (the inverse Haar that follows two of the
  convolutions is folded into their weights first, so only conv -> ReLU -> requantize remains);
- activations: unsigned 8-bit after every ReLU, one scale per layer, calibrated at export on training crops;
- the input z_hat is already an integer (coded symbol, |z| <= 1023), used as is;
- accumulation: integers. Convolutions run as float64 ``conv2d`` on integer-valued tensors, which is exact
  because every partial sum stays far below 2^53 (|z| <= 1023, |w| <= 127, at most a few thousand terms);
- requantization: int64 fixed point ``(acc * m + 2^(s-1)) >> s`` with a per-channel multiplier m;
- output: the index into a fixed log-uniform table of 64 scales from 0.11 to 64, computed by the same
  fixed-point rule. The entropy coder uses ``SCALE_TABLE[index]``: encoder and decoder never see a float
  sigma, so they cannot disagree about it.

z is coded with one Gaussian per channel whose width is also a table index fixed at export.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from harness.codecs.pico_torch.checkpoint import save_checkpoint
from harness.codecs.pico_torch.config import SIGMA_MAX, SIGMA_MIN
from harness.codecs.pico_torch.layers import HAAR, haar_up
from harness.codecs.pico_torch.model import PicoModel

NUM_SCALES = 64
LOG_SIGMA_MIN = math.log(SIGMA_MIN)
LOG_STEP = (math.log(SIGMA_MAX) - math.log(SIGMA_MIN)) / (NUM_SCALES - 1)
Z_MAX = 1023  # coded range of every symbol is [-Z_MAX, Z_MAX]
_ACT_MAX = 255


def scale_table() -> np.ndarray:
    """The 64 entropy-coder scales, rounded to multiples of 2^-16 so the table is the same everywhere."""
    raw = np.exp(LOG_SIGMA_MIN + LOG_STEP * np.arange(NUM_SCALES))
    return np.round(raw * 65536.0) / 65536.0


def _fold_haar(weight: torch.Tensor, bias: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """conv (out channels c*4 + band) followed by inverse Haar == conv with mixed output channels followed
    by pixel_shuffle: mix the 4 band channels of each c with the Haar matrix."""
    out, inp, kh, kw = weight.shape
    w = weight.view(out // 4, 4, inp, kh, kw)
    w = torch.einsum("kj,cjihw->ckihw", HAAR.to(weight), w).reshape(out, inp, kh, kw)
    b = torch.einsum("kj,cj->ck", HAAR.to(bias), bias.view(out // 4, 4)).reshape(out)
    return w, b


def _quantize_weight(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    w = weight.double()
    scale = w.abs().amax(dim=(1, 2, 3)).clamp_min(1e-12) / 127.0
    q = torch.round(w / scale.view(-1, 1, 1, 1)).clamp(-127, 127).to(torch.int8)
    return q, scale


def _multiplier(ratio: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Fixed-point multipliers m and one shift s with m / 2^s ~= ratio and m < 2^30."""
    top = float(ratio.abs().max())
    shift = int(max(0, min(40, 30 - math.ceil(math.log2(max(top, 1e-12))))))
    return torch.round(ratio * 2.0**shift).to(torch.int64), shift


def _requant(acc: np.ndarray, mult: np.ndarray, shift: int, lo: int, hi: int) -> np.ndarray:
    out = (acc * mult.reshape(1, -1, 1, 1) + (1 << (shift - 1))) >> shift
    return np.clip(out, lo, hi)


def _iconv(x: np.ndarray, weight: np.ndarray, padding: int) -> np.ndarray:
    """Exact integer convolution (see the module docstring for why float64 is exact here)."""
    out = F.conv2d(torch.from_numpy(x.astype(np.float64)), torch.from_numpy(weight.astype(np.float64)),
                   padding=padding)
    return out.numpy().astype(np.int64)


class IntScaleDecoder:
    """Integer inference of the scale decoder from the tables stored in an exported checkpoint."""

    def __init__(self, tables: dict[str, Any]) -> None:
        self.t = {k: (v.numpy() if isinstance(v, torch.Tensor) else v) for k, v in tables.items()}

    def __call__(self, z_hat: np.ndarray, level: int) -> np.ndarray:
        """z_hat: (1, Cz, h, w) integers -> scale indices (1, M, 4h, 4w) int64 in [0, NUM_SCALES)."""
        t = self.t
        x = np.asarray(z_hat, dtype=np.int64)
        acc = _iconv(x, t["w1"], 1) + t["b1"][level].reshape(1, -1, 1, 1)
        a = _requant(acc, t["m1"], int(t["s1"]), 0, _ACT_MAX)
        acc = _iconv(a, t["w2"], 0) + t["b2"].reshape(1, -1, 1, 1)
        a = _requant(acc, t["m2"], int(t["s2"]), 0, _ACT_MAX)
        a = F.pixel_shuffle(torch.from_numpy(a), 2).numpy()
        acc = _iconv(a, t["w3"], 0) + t["b3"].reshape(1, -1, 1, 1)
        a = _requant(acc, t["m3"], int(t["s3"]), 0, _ACT_MAX)
        a = F.pixel_shuffle(torch.from_numpy(a), 2).numpy()
        acc = _iconv(a, t["w4"], 1) + t["b4"][level].reshape(1, -1, 1, 1)
        return _requant(acc, t["m4"], int(t["s4"]), 0, NUM_SCALES - 1)


@torch.no_grad()
def build_tables(model: PicoModel, calibration: torch.Tensor) -> tuple[dict[str, Any], dict[str, float]]:
    """Quantize the scale decoder of ``model`` using activation ranges seen on ``calibration`` crops at
    every quality level; returns the tables and agreement statistics against the float decoder."""
    sd = model.scale_decoder
    levels = model.cfg.levels
    w2, b2 = _fold_haar(sd.c2.weight, sd.c2.bias)
    w3, b3 = _fold_haar(sd.c3.weight, sd.c3.bias)

    z_all = []
    maxima = [0.0, 0.0, 0.0]
    acts: list[list[torch.Tensor]] = [[], [], []]
    for level in range(levels):
        lv = torch.full((calibration.shape[0],), level, dtype=torch.long)
        _, z = model.encode_latents(calibration, lv)
        z_hat = torch.round(z).clamp(-Z_MAX, Z_MAX)
        z_all.append(z_hat)
        h1 = F.relu(sd.c1(z_hat) + sd.level_bias1[lv][:, :, None, None])
        h2 = F.relu(haar_up(sd.c2(h1)))
        h3 = F.relu(haar_up(sd.c3(h2)))
        for i, h in enumerate((h1, h2, h3)):
            acts[i].append(h.flatten())
    for i in range(3):
        values = torch.cat(acts[i])
        positive = values[values > 0]
        # A high quantile rather than the maximum: a few outliers would waste the 8-bit range.
        maxima[i] = float(torch.quantile(positive[:1_000_000], 0.9999)) if positive.numel() else 1.0
    s_act = [max(m, 1e-6) / _ACT_MAX for m in maxima]

    tables: dict[str, Any] = {}
    q1, sw1 = _quantize_weight(sd.c1.weight)
    bias1 = sd.c1.bias.double().view(1, -1) + sd.level_bias1.double()
    tables["w1"] = q1
    tables["b1"] = torch.round(bias1 / sw1.view(1, -1)).to(torch.int64)
    tables["m1"], tables["s1"] = _multiplier(sw1 / s_act[0])

    for name, (w, b), s_in, s_out in (("2", (w2, b2), s_act[0], s_act[1]), ("3", (w3, b3), s_act[1], s_act[2])):
        q, sw = _quantize_weight(w)
        tables["w" + name] = q
        tables["b" + name] = torch.round(b.double() / (sw * s_in)).to(torch.int64)
        tables["m" + name], tables["s" + name] = _multiplier(sw * s_in / s_out)

    q4, sw4 = _quantize_weight(sd.c4.weight)
    bias4 = sd.c4.bias.double().view(1, -1) + sd.level_bias4.double() - LOG_SIGMA_MIN
    tables["w4"] = q4
    tables["b4"] = torch.round(bias4 / (sw4 * s_act[2]).view(1, -1)).to(torch.int64)
    tables["m4"], tables["s4"] = _multiplier(sw4 * s_act[2] / LOG_STEP)

    z_sigma = torch.exp(model.z_log_sigma.double()).clamp(SIGMA_MIN, SIGMA_MAX)
    tables["z_index"] = torch.round((torch.log(z_sigma) - LOG_SIGMA_MIN) / LOG_STEP).clamp(
        0, NUM_SCALES - 1).to(torch.int64)
    tables["scale_table"] = torch.from_numpy(scale_table())

    # Agreement of the integer path with the float scale decoder, in table steps.
    decoder = IntScaleDecoder(tables)
    diffs = []
    for level, z_hat in enumerate(z_all):
        lv = torch.full((z_hat.shape[0],), level, dtype=torch.long)
        ref = (model.log_sigma(z_hat, lv) - LOG_SIGMA_MIN) / LOG_STEP
        for i in range(min(4, z_hat.shape[0])):
            got = decoder(z_hat[i:i + 1].numpy().astype(np.int64), level)
            diffs.append((got - ref[i:i + 1].clamp(0, NUM_SCALES - 1).numpy()).ravel())
    d = np.abs(np.concatenate(diffs))
    stats = {"int_vs_float_mean_abs_steps": float(d.mean()), "int_vs_float_max_abs_steps": float(d.max()),
             "activation_maxima": maxima}
    return tables, stats


@torch.no_grad()
def export(model: PicoModel, path: str | Path, calibration: torch.Tensor, info: dict[str, Any] | None = None,
           half: bool = True) -> dict[str, float]:
    """Fold the block scales, build the integer tables, and save a checkpoint that can code images.

    With ``half`` the float weights are stored as float16 (and used as such, cast to float32, by both the
    encoder and the decoder)."""
    model = model.cpu().eval()
    model.fold_scales()
    if half:
        # Round the weights now so the int tables are built from the very weights the coder will use.
        for p in model.parameters():
            p.copy_(p.half().float())
    tables, stats = build_tables(model, calibration.cpu())
    save_checkpoint(path, model, half=half, extra={"int_scale": tables, "info": {**(info or {}), **stats}})
    return stats
