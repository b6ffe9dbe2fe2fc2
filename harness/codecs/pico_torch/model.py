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
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

SIGMA_MIN = 0.11
SIGMA_MAX = 64.0
LOGQ_MIN = -3.0
LOGQ_MAX = 3.0
# Phases of the 2x2 latent grid in coding order (row parity, column parity).
PHASES = ((0, 0), (1, 1), (0, 1), (1, 0))


@dataclass
class PicoConfig:
    """All sizes of the network; stored inside every checkpoint."""

    stage_channels: tuple[int, ...] = (12, 48, 192)  # widths after each Haar step; the last one is y
    hyper_channels: int = 96  # intermediate width of the hyper-encoder (stride of y times 2)
    z_channels: int = 32  # z at 4x the stride of y
    blocks: tuple[int, ...] = (0, 1, 1)  # IR blocks per stage (encoder and decoder each)
    expansion: int = 2
    scale_width: int = 48  # scale-decoder width (integer path)
    context_width: int = 64  # context-decoder prior width at the stride of y
    head_width: int = 96  # mu/q head hidden width
    levels: int = 6
    lambdas: tuple[float, ...] = (0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483)
    # Initial quantization step of each level in 8-bit pixel units (sets the initial gains).
    init_steps: tuple[float, ...] = (24.0, 16.0, 11.0, 7.5, 5.0, 3.4)
    name: str = "tiny"

    def __post_init__(self) -> None:
        self.stage_channels = tuple(self.stage_channels)
        self.blocks = tuple(self.blocks)
        self.lambdas = tuple(float(v) for v in self.lambdas)
        self.init_steps = tuple(float(v) for v in self.init_steps)
        if len(self.lambdas) != self.levels or len(self.init_steps) != self.levels:
            raise ValueError(f"config has {self.levels} levels but {len(self.lambdas)} lambdas and "
                             f"{len(self.init_steps)} initial steps")
        if len(self.blocks) != len(self.stage_channels):
            raise ValueError("blocks needs one entry per stage")
        if 64 % self.z_stride:
            raise ValueError(f"z stride {self.z_stride} must divide the 64-px tile granularity")

    @property
    def stage_widths(self) -> tuple[int, ...]:
        return self.stage_channels

    @property
    def latent_channels(self) -> int:
        return self.stage_channels[-1]

    @property
    def y_stride(self) -> int:
        return 2 ** len(self.stage_channels)

    @property
    def z_stride(self) -> int:
        return 4 * self.y_stride

    @classmethod
    def paper(cls) -> PicoConfig:
        """Sizes in the paper's range (~34 kMAC/pixel encode+decode), y at /16; the parameter counts are
        smaller than the paper's 15.2M/9.6M because the paper does not say where its parameters sit."""
        return cls(stage_channels=(12, 48, 160, 320), hyper_channels=192, z_channels=64,
                   blocks=(0, 1, 2, 3), expansion=3, scale_width=96, context_width=128, head_width=192,
                   name="paper")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PicoConfig:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


# --- Haar wavelets ---------------------------------------------------------------------------------
_H = 0.5 * torch.tensor([[1.0, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]])


def haar_down(x: torch.Tensor) -> torch.Tensor:
    """Orthonormal 2x2 Haar analysis: (B, C, H, W) -> (B, 4C, H/2, W/2), channels c*4 + band."""
    b, c, h, w = x.shape
    u = F.pixel_unshuffle(x, 2).view(b, c, 4, h // 2, w // 2)
    return torch.einsum("kj,bcjhw->bckhw", _H.to(x), u).reshape(b, 4 * c, h // 2, w // 2)


def haar_up(x: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`haar_down` (the Haar matrix is symmetric and its own inverse)."""
    b, c4, h, w = x.shape
    u = x.view(b, c4 // 4, 4, h, w)
    p = torch.einsum("kj,bcjhw->bckhw", _H.to(x), u).reshape(b, c4, h, w)
    return F.pixel_shuffle(p, 2)


# --- blocks ------------------------------------------------------------------------------------------
class InvertedResidual(nn.Module):
    """x + s_out * project(relu(dw(relu(expand(s_in * x))))); the scales fold into the 1x1 weights."""

    def __init__(self, channels: int, expansion: int) -> None:
        super().__init__()
        hidden = channels * expansion
        self.s_in = nn.Parameter(torch.ones(channels))
        self.s_out = nn.Parameter(torch.full((channels,), 0.05))
        self.expand = nn.Conv2d(channels, hidden, 1)
        self.dw = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.project = nn.Conv2d(hidden, channels, 1)
        self.folded = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.folded else x * self.s_in.view(1, -1, 1, 1)
        h = self.project(F.relu(self.dw(F.relu(self.expand(h)))))
        return x + (h if self.folded else h * self.s_out.view(1, -1, 1, 1))

    @torch.no_grad()
    def fold(self) -> None:
        if self.folded:
            return
        self.expand.weight.mul_(self.s_in.view(1, -1, 1, 1))
        self.project.weight.mul_(self.s_out.view(-1, 1, 1, 1))
        self.project.bias.mul_(self.s_out)
        self.s_in.fill_(1.0)
        self.s_out.fill_(1.0)
        self.folded = True


def _blocks(channels: int, count: int, expansion: int) -> nn.Sequential:
    return nn.Sequential(*(InvertedResidual(channels, expansion) for _ in range(count)))


def _identity_init(conv: nn.Conv2d) -> None:
    """A square 1x1 convolution starts as the identity, so that Haar + identity is orthonormal."""
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[:, :, 0, 0] = torch.eye(conv.out_channels, conv.in_channels)
        conv.bias.zero_()


class Analysis(nn.Module):
    """Encoder with the hyper-encoder folded in: x in [0,1] -> (y at /2^n, z at /2^(n+2)).

    Each stage is [Haar -> conv1x1 -> IR blocks]; the last stage's width is the latent width. Where a
    stage keeps all 4x channels of the Haar step, its conv starts as the identity, so the untrained
    transform is an orthonormal Haar-packet transform (the codec starts as a working block-transform
    coder and training only has to improve it; this is what makes a CPU-hour of training useful).
    """

    def __init__(self, cfg: PicoConfig) -> None:
        super().__init__()
        widths = cfg.stage_widths
        self.down = nn.ModuleList()
        self.blocks = nn.ModuleList()
        previous = 3
        for i, width in enumerate(widths):
            conv = nn.Conv2d(4 * previous, width, 1)
            if width == 4 * previous:
                _identity_init(conv)
            self.down.append(conv)
            self.blocks.append(_blocks(width, cfg.blocks[i], cfg.expansion))
            previous = width
        m = widths[-1]
        self.h1 = nn.Conv2d(4 * m, cfg.hyper_channels, 1)
        self.h2 = nn.Conv2d(4 * cfg.hyper_channels, cfg.z_channels, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = x - 0.5
        for conv, blocks in zip(self.down, self.blocks):
            h = blocks(conv(haar_down(h)))
        y = h
        g = F.relu(self.h1(haar_down(y)))
        z = self.h2(haar_down(g))
        return y, z


class Synthesis(nn.Module):
    """Decoder: y_hat -> image in [0,1] (unclamped); the mirror of :class:`Analysis`."""

    def __init__(self, cfg: PicoConfig) -> None:
        super().__init__()
        widths = cfg.stage_widths
        self.blocks = nn.ModuleList()
        self.up = nn.ModuleList()
        outs = [3, *widths[:-1]]
        for i in reversed(range(len(widths))):
            self.blocks.append(_blocks(widths[i], cfg.blocks[i], cfg.expansion))
            conv = nn.Conv2d(widths[i], 4 * outs[i], 1)
            if widths[i] == 4 * outs[i]:
                _identity_init(conv)
            self.up.append(conv)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        h = y
        for blocks, conv in zip(self.blocks, self.up):
            h = haar_up(conv(blocks(h)))
        return h + 0.5


class ScaleDecoder(nn.Module):
    """z_hat -> log sigma at the stride of y (4x finer). Only ReLU, convolutions and Haar so that it quantizes to 8 bits.

    Layers: conv3x3 (+ level bias) -> ReLU -> [conv1x1 -> inverse Haar -> ReLU] x2 -> conv3x3 (+ level bias).
    """

    def __init__(self, cfg: PicoConfig) -> None:
        super().__init__()
        w = cfg.scale_width
        self.c1 = nn.Conv2d(cfg.z_channels, w, 3, padding=1)
        self.level_bias1 = nn.Parameter(torch.zeros(cfg.levels, w))
        self.c2 = nn.Conv2d(w, 4 * w, 1)
        self.c3 = nn.Conv2d(w, 4 * w, 1)
        self.c4 = nn.Conv2d(w, cfg.latent_channels, 3, padding=1)
        self.level_bias4 = nn.Parameter(torch.zeros(cfg.levels, cfg.latent_channels))

    def forward(self, z_hat: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.c1(z_hat) + self.level_bias1[level][:, :, None, None])
        h = F.relu(haar_up(self.c2(h)))
        h = F.relu(haar_up(self.c3(h)))
        return self.c4(h) + self.level_bias4[level][:, :, None, None]


class ContextDecoder(nn.Module):
    """z_hat -> prior P at the stride of y; per 2x2 phase k, P and the already decoded phases -> (mu, log q)."""

    def __init__(self, cfg: PicoConfig) -> None:
        super().__init__()
        w = cfg.context_width
        m = cfg.latent_channels
        self.c1 = nn.Conv2d(cfg.z_channels, w, 3, padding=1)
        self.level_bias = nn.Parameter(torch.zeros(cfg.levels, w))
        self.c2 = nn.Conv2d(w, 4 * w, 1)
        self.c3 = nn.Conv2d(w, 4 * w, 1)
        self.heads = nn.ModuleList()
        for k in range(len(PHASES)):
            inp = w + (m if k else 0)
            hw = cfg.head_width
            self.heads.append(nn.Sequential(nn.Conv2d(inp, hw, 1), nn.Conv2d(hw, hw, 3, padding=1, groups=hw),
                                            nn.ReLU(), nn.Conv2d(hw, 2 * m, 1)))
        self.head_level_bias = nn.Parameter(torch.zeros(cfg.levels, 2 * m))

    def prior(self, z_hat: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.c1(z_hat) + self.level_bias[level][:, :, None, None])
        h = F.relu(haar_up(self.c2(h)))
        return F.relu(haar_up(self.c3(h)))

    def mu_logq(self, k: int, prior: torch.Tensor, known: torch.Tensor | None,
                level: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        inp = prior if k == 0 else torch.cat([prior, known], dim=1)
        out = self.heads[k](inp) + self.head_level_bias[level][:, :, None, None]
        mu, logq = out.chunk(2, dim=1)
        return mu, logq.clamp(LOGQ_MIN, LOGQ_MAX)


def phase_masks(h: int, w: int, device: torch.device | None = None) -> list[torch.Tensor]:
    """One (1, 1, h, w) float mask per phase of the 2x2 grid, in coding order."""
    rows = torch.arange(h, device=device).view(-1, 1) % 2
    cols = torch.arange(w, device=device).view(1, -1) % 2
    return [((rows == r) & (cols == c)).float().view(1, 1, h, w) for r, c in PHASES]


def round_ste(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.round(x) - x).detach()


def _std_normal_cdf(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.erfc(-x * (2**-0.5))


def gaussian_bits(values: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """-log2 of the probability mass of the unit bin around ``values`` under N(0, sigma)."""
    v = values.abs()  # symmetric: use the upper tail for numerical accuracy
    p = _std_normal_cdf((0.5 - v) / sigma) - _std_normal_cdf((-0.5 - v) / sigma)
    return -torch.log2(p.clamp_min(1e-9))


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
