"""PICO-style learned codec network: an UNOFFICIAL re-implementation in torch.

This follows what the PICO paper (arXiv 2605.05148, main text) states; it is not the authors' code and its
weights are not theirs. What the paper states and this module implements:

- hyperprior model with the hyper-encoder folded into the encoder (:class:`Analysis` returns y and z);
- hyper-decoder split into a *scale decoder* (sigma for entropy coding, one shot from z_hat; quantized to
  8 bits and run in integer arithmetic on the CPU, see :mod:`.intscale`) and a *context decoder* (a prior
  mapped to a location mu and a learned quantization width q);
- coded symbols s = round((y - mu) / q), reconstruction y_hat = q * s + mu;
- autoregression over a 2x2 spatial grid of the latent, applied only to mu and q (phase order
  (0,0), (1,1), (0,1), (1,0)), so entropy decoding of all symbols needs only sigma and never waits on
  the context network;
- inverted-residual backbone blocks with learned per-channel input/output scales that
  :meth:`PicoModel.fold_scales` folds into the convolution weights;
- all resampling by 1x1/3x3 convolutions plus orthonormal Haar wavelet (de)composition;
- one model for all rates, conditioned on an integer quality level (written into the bitstream).

Choices where the paper is silent (all sizes configurable through :class:`PicoConfig`):

- analysis: n stages of [Haar -> conv1x1 -> IR blocks]; the latent y has the last stage's width at stride
  2^n (tiny: 3 stages 12/48/192, y at /8; paper-size: 4 stages 12/48/160/320, y at /16). Stages that keep
  all channels of their Haar step start as the identity, so the *untrained* analysis/synthesis pair is an
  orthonormal Haar-packet transform: the codec starts as a working block-transform coder (about 33-37 dB
  on Kodak crops) and training improves it. Synthesis mirrors the analysis with conv1x1 -> inverse Haar;
- hyper-encoder: two [Haar -> conv1x1] stages from y to z (stride 4x that of y);
- quality conditioning: per-level gain vectors on y (encoder gain, decoder inverse gain, as in
  "asymmetric gained" variable-rate models; initialised to quantization steps of 24 ... 3.4 pixel
  levels) and on z, plus per-level bias vectors in the first layer of the scale and context decoders and
  in the mu/q heads;
- z is coded with a zero-mean Gaussian per channel whose width is learned (a table index at export);
- sigma and q are bounded: sigma in [0.11, 64] (the entropy coder's scale table), q in [e^-3, e^3];
- inverted-residual blocks: conv1x1 (expand) -> ReLU -> depthwise 3x3 -> ReLU -> conv1x1 (project),
  residual, with learned input scale s_in and output scale s_out (initialised to 0.05);
- mu/q heads (one per phase): conv1x1 -> depthwise 3x3 -> ReLU -> conv1x1 on [prior, decoded phases].

The default config ("tiny") is about 13 kMAC/pixel for encode+decode (including the hyper-decoders) so
that it trains on one CPU core in well under an hour; ``PicoConfig.paper()`` is about 34 kMAC/pixel, in
the paper's 33-48 kMAC/pixel range.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from harness.codecs.pico_torch.config import SIGMA_MAX, SIGMA_MIN, PicoConfig
from harness.codecs.pico_torch.layers import (
    Analysis,
    ContextDecoder,
    InvertedResidual,
    ScaleDecoder,
    Synthesis,
    gaussian_bits,
    phase_masks,
    round_ste,
)


class PicoModel(nn.Module):
    """The whole codec network; see the module docstring."""

    def __init__(self, cfg: PicoConfig) -> None:
        super().__init__()
        self.cfg = cfg
        m = cfg.latent_channels
        self.analysis = Analysis(cfg)
        self.synthesis = Synthesis(cfg)
        self.scale_decoder = ScaleDecoder(cfg)
        self.context = ContextDecoder(cfg)
        # Gains: a larger encoder gain means a finer effective quantizer (higher quality).
        # y is in units of [0,1] pixels; a gain of 255/step makes a unit quantizer a step of ``step`` 8-bit
        # levels on the orthonormal coefficients.
        init = torch.log(255.0 / torch.tensor(cfg.init_steps))
        self.log_gain_enc = nn.Parameter(init.view(-1, 1).repeat(1, m))
        self.log_gain_dec = nn.Parameter(-init.view(-1, 1).repeat(1, m))
        self.log_gain_z = nn.Parameter((math.log(2.0) - init).view(-1, 1).repeat(1, cfg.z_channels))
        self.z_log_sigma = nn.Parameter(torch.zeros(cfg.z_channels))

    # The coding path (encode/decode of real bitstreams) lives in .coder; this is the training path.
    def encode_latents(self, x: torch.Tensor, level: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y, z = self.analysis(x)
        y = y * torch.exp(self.log_gain_enc[level])[:, :, None, None]
        z = z * torch.exp(self.log_gain_z[level])[:, :, None, None]
        return y, z

    def decode_latents(self, y_hat: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        return self.synthesis(y_hat * torch.exp(self.log_gain_dec[level])[:, :, None, None])

    def log_sigma(self, z_hat: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        return self.scale_decoder(z_hat, level).clamp(math.log(SIGMA_MIN), math.log(SIGMA_MAX))

    rate_proxy = "ste"  # "ste": rate of the rounded symbols (straight-through); "noise": additive U(-.5, .5)

    def _rate_proxy(self, v: torch.Tensor) -> torch.Tensor:
        if self.rate_proxy == "noise":
            return v + torch.empty_like(v).uniform_(-0.5, 0.5)
        return round_ste(v)

    def forward(self, x: torch.Tensor, level: torch.Tensor) -> dict[str, torch.Tensor]:
        """Training forward pass with straight-through rounding for the reconstruction and, by default,
        for the rate too. (Additive noise, the usual rate surrogate, makes the model learn scales near 0.3
        for coefficients that are really zero; with three latents per pixel at stride 8 those cost about
        0.14 bit each once actually coded, so this model trains the rate on the rounded symbols.)"""
        y, z = self.encode_latents(x, level)
        z_hat = round_ste(z)
        z_sigma = torch.exp(self.z_log_sigma).clamp(SIGMA_MIN, SIGMA_MAX).view(1, -1, 1, 1)
        z_bits = gaussian_bits(self._rate_proxy(z), z_sigma).sum(dim=(1, 2, 3))

        sigma = torch.exp(self.log_sigma(z_hat, level))
        prior = self.context.prior(z_hat, level)
        masks = phase_masks(y.shape[2], y.shape[3], y.device)
        known = torch.zeros_like(y)
        y_hat = torch.zeros_like(y)
        y_bits = torch.zeros(y.shape[0], device=y.device)
        for k, mask in enumerate(masks):
            mu, logq = self.context.mu_logq(k, prior, known if k else None, level)
            q = torch.exp(logq)
            s = (y - mu) / q
            y_bits = y_bits + (gaussian_bits(self._rate_proxy(s), sigma) * mask).sum(dim=(1, 2, 3))
            yk = q * round_ste(s) + mu
            y_hat = y_hat + yk * mask
            known = y_hat
        x_hat = self.decode_latents(y_hat, level)
        pixels = x.shape[2] * x.shape[3]
        return {"x_hat": x_hat, "bpp": (y_bits + z_bits) / pixels, "bpp_y": y_bits / pixels,
                "bpp_z": z_bits / pixels}

    @torch.no_grad()
    def fold_scales(self) -> None:
        for module in self.modules():
            if isinstance(module, InvertedResidual):
                module.fold()


def count_macs_per_pixel(model: PicoModel, size: int = 256) -> dict[str, float]:
    """Multiply-accumulates per input pixel of each part, counted with forward hooks on conv layers."""
    counts: dict[str, float] = {}
    hooks = []

    def make_hook(part: str):
        def hook(module: nn.Conv2d, inputs: Any, output: torch.Tensor) -> None:
            k = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
            counts[part] = counts.get(part, 0.0) + output.numel() * k

        return hook

    for part in ("analysis", "synthesis", "scale_decoder", "context"):
        for mod in getattr(model, part).modules():
            if isinstance(mod, nn.Conv2d):
                hooks.append(mod.register_forward_hook(make_hook(part)))
    try:
        with torch.no_grad():
            model(torch.rand(1, 3, size, size), torch.zeros(1, dtype=torch.long))
    finally:
        for h in hooks:
            h.remove()
    return {k: v / (size * size) for k, v in counts.items()}


def parameter_counts(model: PicoModel) -> dict[str, int]:
    """Parameters each side holds: the encoder needs the hyper-decoders too (for mu, q and sigma)."""
    def n(*modules: nn.Module) -> int:
        return sum(p.numel() for m in modules for p in m.parameters())

    hyper = n(model.scale_decoder, model.context)
    enc = n(model.analysis) + model.log_gain_enc.numel() + model.log_gain_z.numel() + model.z_log_sigma.numel()
    dec = n(model.synthesis) + model.log_gain_dec.numel() + model.z_log_sigma.numel()
    return {"encoder": enc + hyper, "decoder": dec + hyper, "total": sum(p.numel() for p in model.parameters())}
