"""Encoding images to pico-torch bitstreams and back (unofficial PICO re-implementation).

Per tile: analysis -> y, z; z_hat = round(z); sigma indices from the 8-bit integer scale decoder; the
context decoder gives mu and q phase by phase over the 2x2 grid; symbols s = round((y - mu) / q) are range
coded (constriction) with a zero-mean quantized Gaussian of scale ``SCALE_TABLE[index]``. The decoder
range-decodes every symbol first (it needs only z and the integer scale decoder), then rebuilds
y_hat = q * s + mu phase by phase and runs the synthesis.

Determinism: the entropy model is integer, so a bitstream always decodes to the same symbols. The float
networks (context decoder, synthesis) run in float32 on the CPU with one intra-op thread so that the
reduction order, and hence every float, is the same in every process on a machine; the tests decode in a
fresh process and compare hashes. Different CPUs or torch builds may differ in the last bits of mu/q or
of the synthesis output (never in the symbols), i.e. by at most a rounding step of a few pixels.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness.codecs.learned import one_thread_inference
from harness.codecs.pico_torch import bitstream, tiling
from harness.codecs.pico_torch.checkpoint import build_model, read_checkpoint
from harness.codecs.pico_torch.intscale import Z_MAX, IntScaleDecoder
from harness.codecs.pico_torch.layers import phase_masks
from harness.codecs.pico_torch.model import PicoModel
from harness.core.hashing import sha256_pixels

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_CHECKPOINT = WEIGHTS_DIR / "pico-torch-tiny.pt"


class PicoError(ValueError):
    """Encoding or decoding failed; str() is one line."""


class PicoCoder:
    """A loaded, exported checkpoint that encodes and decodes."""

    def __init__(self, checkpoint: str | Path) -> None:
        self.path = Path(checkpoint)
        payload = read_checkpoint(self.path)
        if "int_scale" not in payload:
            raise PicoError(f"{self.path}: checkpoint was not exported for coding (no integer scale decoder); "
                            "run the export step of training first")
        self.model: PicoModel = build_model(payload).eval()
        self.model.fold_scales()
        self.tables = payload["int_scale"]
        self.int_scale = IntScaleDecoder(self.tables)
        self.scale_table = self.tables["scale_table"].numpy().astype(np.float64)
        self.z_std = self.scale_table[self.tables["z_index"].numpy()]
        self.model_id = bytes.fromhex(payload["fingerprint"])[:8]
        self.info: dict[str, Any] = payload.get("info", {})
        self.levels = self.model.cfg.levels
        import constriction

        self._gauss = constriction.stream.model.QuantizedGaussian(-Z_MAX, Z_MAX)
        self._constriction = constriction

    # --- one tile ------------------------------------------------------------------------------------
    def _phase_loop(self, prior: torch.Tensor, level: torch.Tensor, y: torch.Tensor | None,
                    symbols: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Shared by encoder and decoder so that both compute mu, q and y_hat with the same operations."""
        shape = prior.shape[:1] + (self.model.cfg.latent_channels,) + prior.shape[2:]
        masks = phase_masks(shape[2], shape[3])
        y_hat = torch.zeros(shape)
        s_all = torch.zeros(shape) if symbols is None else symbols
        for k, mask in enumerate(masks):
            mu, logq = self.model.context.mu_logq(k, prior, y_hat if k else None, level)
            q = torch.exp(logq)
            if y is not None:
                s = torch.round((y - mu) / q).clamp(-Z_MAX, Z_MAX)
                s_all = s_all + s * mask
            y_hat = y_hat + (q * s_all + mu) * mask
        return s_all, y_hat

    def encode_tile(self, pixels: np.ndarray, level: int) -> bytes:
        x = torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1)[None].float() / 255.0
        lv = torch.tensor([level])
        y, z = self.model.encode_latents(x, lv)
        z_hat = torch.round(z).clamp(-Z_MAX, Z_MAX)
        z_int = z_hat.numpy().astype(np.int64)
        idx = self.int_scale(z_int, level)
        prior = self.model.context.prior(z_hat, lv)
        s, _ = self._phase_loop(prior, lv, y, None)
        enc = self._constriction.stream.queue.RangeEncoder()
        self._code(enc, z_int, s.numpy().astype(np.int64), idx)
        return enc.get_compressed().astype("<u4").tobytes()

    def _z_stds(self, shape: tuple[int, ...]) -> np.ndarray:
        return np.broadcast_to(self.z_std.reshape(1, -1, 1, 1), shape).ravel().astype(np.float64)

    def _code(self, enc: Any, z_int: np.ndarray, s_int: np.ndarray, idx: np.ndarray) -> None:
        zs = z_int.ravel().astype(np.int32)
        enc.encode(zs, self._gauss, np.zeros(zs.size), self._z_stds(z_int.shape))
        ys = s_int.ravel().astype(np.int32)
        enc.encode(ys, self._gauss, np.zeros(ys.size), self.scale_table[idx.ravel()])

    def decode_tile(self, payload: bytes, level: int, height: int, width: int) -> np.ndarray:
        words = np.frombuffer(payload, dtype="<u4").astype(np.uint32)
        dec = self._constriction.stream.queue.RangeDecoder(words)
        cz, m = self.model.cfg.z_channels, self.model.cfg.latent_channels
        zs, ys = self.model.cfg.z_stride, self.model.cfg.y_stride
        z_shape = (1, cz, height // zs, width // zs)
        z_int = dec.decode(self._gauss, np.zeros(int(np.prod(z_shape))), self._z_stds(z_shape))
        z_int = np.asarray(z_int, dtype=np.int64).reshape(z_shape)
        idx = self.int_scale(z_int, level)
        s = dec.decode(self._gauss, np.zeros(idx.size), self.scale_table[idx.ravel()])
        s = torch.from_numpy(np.asarray(s, dtype=np.float32).reshape(1, m, height // ys, width // ys))
        lv = torch.tensor([level])
        z_hat = torch.from_numpy(z_int.astype(np.float32))
        prior = self.model.context.prior(z_hat, lv)
        _, y_hat = self._phase_loop(prior, lv, None, s)
        x_hat = self.model.decode_latents(y_hat, lv)
        out = torch.round(x_hat.clamp(0, 1) * 255.0).to(torch.uint8)
        return out[0].permute(1, 2, 0).numpy()

    # --- whole images ---------------------------------------------------------------------------------
    def encode(self, rgb: np.ndarray, level: int, tiled: bool = True) -> bytes:
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise PicoError(f"pico-torch encodes HxWx3 uint8 images, got {rgb.shape} {rgb.dtype}")
        if not 0 <= int(level) < self.levels:
            raise PicoError(f"pico-torch quality level {level} is outside 0..{self.levels - 1}")
        h, w = rgb.shape[:2]
        core = tiling.TILE_CORE if tiled else 0
        margin = tiling.TILE_MARGIN if tiled else 0
        payloads = []
        with one_thread_inference():
            for tile in tiling.tiles(h, w, core):
                payloads.append(self.encode_tile(tiling.extract(rgb, tile, margin), int(level)))
        ty, tx = tiling.grid(h, w, core)
        header = bitstream.Header(w, h, int(level), core, margin, tx, ty, self.model_id)
        return bitstream.pack(header, payloads)

    def decode(self, data: bytes) -> np.ndarray:
        header, payloads = bitstream.unpack(data)
        if header.model_id != self.model_id:
            raise PicoError(f"bitstream was written with model {header.model_id.hex()}, but the checkpoint "
                            f"{self.path.name} is model {self.model_id.hex()}")
        if header.level >= self.levels:
            raise PicoError(f"bitstream quality level {header.level} is outside 0..{self.levels - 1}")
        if header.tiled and (header.tile_core != tiling.TILE_CORE or header.tile_margin != tiling.TILE_MARGIN):
            raise PicoError(f"unsupported tile geometry {header.tile_core}+{header.tile_margin}")
        if tiling.grid(header.height, header.width, header.tile_core) != (header.tiles_y, header.tiles_x):
            raise PicoError(f"tile grid {header.tiles_x}x{header.tiles_y} does not match the image size "
                            f"{header.width}x{header.height}")
        out = np.empty((header.height, header.width, 3), dtype=np.uint8)
        with one_thread_inference():
            for tile, payload in zip(tiling.tiles(header.height, header.width, header.tile_core), payloads):
                ch, cw = tiling.coded_shape(tile, header.tile_margin)
                decoded = self.decode_tile(payload, header.level, ch, cw)
                out[tile.y0:tile.y0 + tile.h, tile.x0:tile.x0 + tile.w] = tiling.crop(decoded, tile,
                                                                                      header.tile_margin)
        return out


@functools.lru_cache(maxsize=4)
def load_coder(checkpoint: str) -> PicoCoder:
    """One loaded model per checkpoint path and process."""
    return PicoCoder(checkpoint)


def image_hash(rgb: np.ndarray) -> str:
    return sha256_pixels(rgb)
