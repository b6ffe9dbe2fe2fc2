"""Losses of the perceptual training stage (unofficial PICO re-implementation).

Per step, each crop of (crop - 8) x (crop - 16) pixels is cut into two side-by-side tiles exactly as the
coder tiles images (each tile extended by a 4-pixel margin taken from its neighbour, edge-replicated at
the crop border), the two tiles are coded independently, cropped back and stitched. On the stitched image:

- distortion: lambda_level * (w_mse * 255^2 * MSE + w_lpips * LPIPS-Alex + w_msssim * (1 - MS-SSIM));
- GAN: non-saturating loss of a small patch discriminator, weight w_gan (the discriminator trains in
  :meth:`PerceptualStage.discriminator_step`);
- text fidelity: w_text * L1 inside a text mask. The paper uses a text detector's mask on real images; here
  text is rendered onto a fraction of the crops (DejaVu fonts, random strings, sizes and colours) and the
  mask is the renderer's own (dilated glyph coverage), i.e. a perfect detector on synthetic text;
- tiling artifacts: w_tile * multi-scale L1 between 4x4, 8x8 and 16x16 average-pooled reconstruction and
  original, which measures low-frequency differences such as brightness steps at the tile seam;
- rate: bits of both tiles over the stitched pixels.

LPIPS comes from pyiqa (weights in the torch cache, see harness.core.torchsetup); MS-SSIM from pytorch_msssim
with 3 scales and a 7-px window (the crops are too small for 5 scales).
"""

from __future__ import annotations

import random
import string
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from harness.codecs.pico_torch.model import PicoModel

MARGIN = 4


class PatchDiscriminator(nn.Module):
    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * width, 4 * width, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(4 * width, 1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x * 2 - 1)


def split_tiles(x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """(B,3,H,W) -> (2B,3,H+8,W/2+8): left and right tile with a 4-px margin on every side."""
    w = x.shape[3]
    half = w // 2
    padded = F.pad(x, (MARGIN, MARGIN, MARGIN, MARGIN), mode="replicate")
    left = padded[:, :, :, 0:half + 2 * MARGIN]
    right = padded[:, :, :, half:w + 2 * MARGIN]
    return torch.cat([left, right], dim=0), half


def stitch(tiles: torch.Tensor, half: int) -> torch.Tensor:
    b = tiles.shape[0] // 2
    core = tiles[:, :, MARGIN:-MARGIN, MARGIN:MARGIN + half]
    return torch.cat([core[:b], core[b:]], dim=3)


def render_text(batch: torch.Tensor, fraction: float, rng: random.Random) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw random text onto ``fraction`` of the crops; returns the crops and the (B,1,H,W) text masks."""
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    fonts = ["DejaVuSans.ttf", "DejaVuSerif.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf"]
    out = batch.clone()
    masks = torch.zeros(batch.shape[0], 1, batch.shape[2], batch.shape[3])
    for i in range(batch.shape[0]):
        if rng.random() >= fraction:
            continue
        h, w = batch.shape[2], batch.shape[3]
        cover = Image.new("L", (w, h), 0)
        draw = ImageDraw.Draw(cover)
        try:
            font: ImageFont.FreeTypeFont | ImageFont.ImageFont = ImageFont.truetype(rng.choice(fonts),
                                                                                    rng.randint(9, 22))
        except OSError:
            font = ImageFont.load_default()
        for _ in range(rng.randint(1, 4)):
            text = "".join(rng.choice(string.ascii_letters + string.digits + " .,") for _ in range(rng.randint(4, 14)))
            draw.text((rng.randint(-10, w - 10), rng.randint(-5, h - 10)), text, fill=255, font=font)
        alpha = torch.from_numpy(np.asarray(cover, dtype=np.float32) / 255.0)
        colour = torch.rand(3, 1, 1)
        out[i] = out[i] * (1 - alpha) + colour * alpha
        dilated = np.asarray(cover.filter(ImageFilter.MaxFilter(5)), dtype=np.float32) / 255.0
        masks[i, 0] = torch.from_numpy((dilated > 0).astype(np.float32))
    return out, masks


def multiscale_lowpass_l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    loss = a.new_zeros(a.shape[0])
    for k in (4, 8, 16):
        loss = loss + (F.avg_pool2d(a, k, ceil_mode=True) - F.avg_pool2d(b, k, ceil_mode=True)).abs().mean(dim=(1, 2, 3))
    return loss


class PerceptualStage:
    """Loss terms and discriminator of the perceptual stage."""

    def __init__(self, model: PicoModel, settings: Any, device: torch.device) -> None:
        from harness.core.torchsetup import create_pyiqa_metric

        self.model = model
        self.s = settings
        self.device = device
        lpips = create_pyiqa_metric("lpips", device=str(device))
        self.lpips_net = lpips.net.eval()
        for p in self.lpips_net.parameters():
            p.requires_grad_(False)
        self.disc = PatchDiscriminator().to(device)
        self.disc_opt = torch.optim.Adam(self.disc.parameters(), lr=1e-4, betas=(0.5, 0.999))
        self.rng = random.Random(settings.seed)

    def _crop(self, x: torch.Tensor) -> torch.Tensor:
        # Sizes that make each tile (with margins) a multiple of 64 for the network's total stride.
        h = (x.shape[2] // 64) * 64 - 2 * MARGIN
        w = ((x.shape[3] // 2) // 64) * 64 * 2 - 4 * MARGIN
        return x[:, :, :h, :w]

    def step_loss(self, x: torch.Tensor, level: torch.Tensor,
                  lambdas: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, float]]:
        from pytorch_msssim import ms_ssim

        x = self._crop(x)
        x, text_mask = render_text(x.cpu(), self.s.text_fraction, self.rng)
        x, text_mask = x.to(self.device), text_mask.to(self.device)
        tiles, half = split_tiles(x)
        out = self.model(tiles, torch.cat([level, level]))
        x_hat = stitch(out["x_hat"], half)
        b = x.shape[0]
        bits = out["bpp"] * tiles.shape[2] * tiles.shape[3]
        bpp = (bits[:b] + bits[b:]) / (x.shape[2] * x.shape[3])

        mse = ((x_hat - x) ** 2).mean(dim=(1, 2, 3))
        lp = self.lpips_net(x_hat.clamp(0, 1), x, normalize=True).view(-1)
        weights = [0.0448, 0.2856, 0.3001]
        msssim = ms_ssim(x_hat.clamp(0, 1), x, data_range=1.0, size_average=False, win_size=7,
                         weights=[w / sum(weights) for w in weights])
        gan = F.softplus(-self.disc(x_hat)).mean(dim=(1, 2, 3))
        text = ((x_hat - x).abs() * text_mask).sum(dim=(1, 2, 3)) / (3 * text_mask.sum(dim=(1, 2, 3)) + 1)
        tile = multiscale_lowpass_l1(x_hat, x)
        s = self.s
        distortion = s.w_mse * 255**2 * mse + s.w_lpips * lp + s.w_msssim * (1 - msssim) + s.w_gan * gan
        loss = (lambdas[level] * distortion + bpp + s.w_text * text + s.w_tile * tile).mean()
        terms = {"mse": mse.mean().item(), "lpips": lp.mean().item(), "msssim": msssim.mean().item(),
                 "gan": gan.mean().item(), "text_l1": text.mean().item(), "tile_l1": tile.mean().item()}
        return loss, {"x_hat": x_hat, "bpp": bpp}, terms

    def discriminator_step(self, x: torch.Tensor, x_hat: torch.Tensor) -> None:
        # x_hat is the stitched reconstruction of the cropped input; compare like with like.
        x = self._crop(x)
        real = self.disc(x)
        fake = self.disc(x_hat.clamp(0, 1))
        loss = F.softplus(-real).mean() + F.softplus(fake).mean()
        self.disc_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.disc_opt.step()

    def state_dict(self) -> dict[str, Any]:
        return {"disc": self.disc.state_dict(), "disc_opt": self.disc_opt.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.disc.load_state_dict(state["disc"])
        self.disc_opt.load_state_dict(state["disc_opt"])
