"""The PICO network's parts: Haar wavelets, inverted-residual blocks, analysis, synthesis, the two decoders."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from harness.codecs.pico_torch.config import LOGQ_MAX, LOGQ_MIN, PHASES, PicoConfig

# --- Haar wavelets ---------------------------------------------------------------------------------
HAAR = 0.5 * torch.tensor([[1.0, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]])


def haar_down(x: torch.Tensor) -> torch.Tensor:
    """Orthonormal 2x2 Haar analysis: (B, C, H, W) -> (B, 4C, H/2, W/2), channels c*4 + band."""
    b, c, h, w = x.shape
    u = F.pixel_unshuffle(x, 2).view(b, c, 4, h // 2, w // 2)
    return torch.einsum("kj,bcjhw->bckhw", HAAR.to(x), u).reshape(b, 4 * c, h // 2, w // 2)


def haar_up(x: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`haar_down` (the Haar matrix is symmetric and its own inverse)."""
    b, c4, h, w = x.shape
    u = x.view(b, c4 // 4, 4, h, w)
    p = torch.einsum("kj,bcjhw->bckhw", HAAR.to(x), u).reshape(b, c4, h, w)
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
