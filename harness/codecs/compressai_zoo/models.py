"""CompressAI networks as real coders: load a zoo model or a user's checkpoint, and code images with
CompressAI's own ``compress()``/``decompress()`` and its compiled rANS coder (``compressai.ans``).

Images are padded (edge-replicated) to a multiple of 64 px, the stride of the hyper-latents of every zoo
model, and cropped back after decoding; the file holds the original size. The networks run on the CPU
with one intra-op thread, so the decoder computes exactly the scales (hence the entropy-coder indexes)
the encoder used.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.codecs.compressai_zoo.container import (
    Container,
    ContainerError,
    pack,
    unpack,
)
from harness.codecs.compressai_zoo.weights import WeightsError, zoo_weights
from harness.codecs.learned import one_thread_inference, read_torch_file, short_digest

PAD_MULTIPLE = 64
# Zoo architectures the codec offers, with their number of quality levels.
ZOO_QUALITIES: dict[str, int] = {
    "bmshj2018-factorized": 8,
    "bmshj2018-hyperprior": 8,
    "mbt2018-mean": 8,
    "mbt2018": 8,
    "cheng2020-anchor": 6,
    "cheng2020-attn": 6,
}


class CompressaiError(RuntimeError):
    """A model cannot be loaded or a file cannot be coded; str() is one line."""


def import_compressai() -> Any:
    """compressai, imported after torchvision has been made importable next to the CPU torch."""
    from harness.core.torchsetup import prepare_torch

    prepare_torch()
    try:
        import compressai  # type: ignore[import-untyped]
    except ImportError as exc:
        raise CompressaiError(f"compressai is not installed ({exc}); run bash scripts/setup.sh") from None
    return compressai


@dataclass
class LoadedModel:
    net: Any  # a compressai CompressionModel with its entropy tables built
    arch: str
    weights: str  # "mse", "ms-ssim" (zoo) or "checkpoint"
    quality: int  # 0 for a checkpoint
    model_id: bytes  # first 8 bytes of the weight file's SHA-256
    source: Path


def _architectures() -> dict[str, Any]:
    import_compressai()
    from compressai.zoo.image import model_architectures  # type: ignore[import-untyped]

    return dict(model_architectures)


def _build(arch: str, state: dict[str, Any], source: Path) -> Any:
    import_compressai()
    from compressai.zoo.pretrained import load_pretrained  # type: ignore[import-untyped]

    architectures = _architectures()
    if arch not in architectures:
        raise CompressaiError(f"{source}: unknown CompressAI architecture {arch!r} "
                              f"(known: {', '.join(sorted(architectures))})")
    try:
        net = architectures[arch].from_state_dict(load_pretrained(state)).eval()
    except (KeyError, RuntimeError) as exc:
        raise CompressaiError(f"{source}: weights do not fit {arch} ({' '.join(str(exc).split())[:150]})") from None
    net.update()  # builds the entropy tables only where the file does not carry them
    return net


def _read_torch(path: Path) -> tuple[Any, bytes]:
    payload, raw = read_torch_file(path, CompressaiError, "torch weight file")
    return payload, short_digest(raw)


@functools.lru_cache(maxsize=8)
def load_zoo(arch: str, metric: str, quality: int) -> LoadedModel:
    """A pretrained zoo model (its weights downloaded and checked on first use, see :mod:`.weights`)."""
    if arch not in ZOO_QUALITIES:
        raise CompressaiError(f"unknown CompressAI zoo architecture {arch!r} (known: {', '.join(ZOO_QUALITIES)})")
    if not 1 <= quality <= ZOO_QUALITIES[arch]:
        raise CompressaiError(f"{arch} has qualities 1..{ZOO_QUALITIES[arch]}, not {quality}")
    import_compressai()
    from compressai.zoo.image import model_urls  # type: ignore[import-untyped]

    try:
        path = zoo_weights(model_urls[arch][metric][quality])
    except (KeyError, WeightsError) as exc:
        message = str(exc) if isinstance(exc, WeightsError) else f"no published {metric} weights for {arch}"
        raise CompressaiError(message) from None
    state, model_id = _read_torch(path)
    return LoadedModel(_build(arch, state, path), arch, metric, quality, model_id, path)


@functools.lru_cache(maxsize=8)
def load_checkpoint(path: str, arch: str = "") -> LoadedModel:
    """A user's model: a state dict, or a dict with ``state_dict`` (and ``arch``, as
    :mod:`.train` writes it; CompressAI's example trainer writes ``state_dict`` only, so give the
    architecture then)."""
    source = Path(path)
    payload, model_id = _read_torch(source)
    state = payload.get("state_dict", payload) if isinstance(payload, dict) else None
    if not isinstance(state, dict):
        raise CompressaiError(f"{source}: holds no state dict")
    stored = payload.get("arch", "") if isinstance(payload, dict) else ""
    if arch and stored and arch != stored:
        raise CompressaiError(f"{source}: is a {stored} checkpoint, not {arch}")
    arch = arch or stored
    if not arch:
        raise CompressaiError(f"{source}: the file names no architecture; use compressai:ARCH:checkpoint=PATH")
    return LoadedModel(_build(arch, state, source), arch, "checkpoint", 0, model_id, source)


def encode(model: LoadedModel, rgb: np.ndarray) -> bytes:
    """HxWx3 uint8 pixels -> the bytes of a container file."""
    import torch
    import torch.nn.functional as F

    h, w = rgb.shape[:2]
    x = torch.from_numpy(np.array(rgb, dtype=np.uint8)).permute(2, 0, 1)[None].float() / 255.0
    ph, pw = -h % PAD_MULTIPLE, -w % PAD_MULTIPLE
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    with one_thread_inference():
        out = model.net.compress(x)
    strings = [list(group) for group in out["strings"]]
    return pack(Container(model.arch, model.weights, model.quality, model.model_id, w, h,
                          (int(out["shape"][0]), int(out["shape"][1])), strings))


def read_header(data: bytes) -> Container:
    try:
        return unpack(data)
    except ContainerError as exc:
        raise CompressaiError(str(exc)) from None


def model_for(container: Container, checkpoint: str | None = None) -> LoadedModel:
    """The model a file was written with: the zoo model it names, or ``checkpoint``."""
    if container.weights == "checkpoint":
        if not checkpoint:
            raise CompressaiError(f"file was written by a {container.arch} checkpoint "
                                  f"(model {container.model_id.hex()}); give that checkpoint to decode it")
        return load_checkpoint(str(Path(checkpoint).resolve()), container.arch)
    return load_zoo(container.arch, container.weights, container.quality)


def decode(model: LoadedModel, data: bytes) -> np.ndarray:
    """The bytes of a container file -> HxWx3 uint8 pixels of the original size."""
    import torch

    c = read_header(data)
    if (c.arch, c.weights, c.quality, c.model_id) != (model.arch, model.weights, model.quality, model.model_id):
        raise CompressaiError(f"file was written by {c.arch} {c.weights} q{c.quality} model {c.model_id.hex()}, "
                              f"not by the loaded {model.arch} {model.weights} q{model.quality} "
                              f"model {model.model_id.hex()}")
    try:
        with one_thread_inference():
            x_hat = model.net.decompress(c.strings, list(c.shape))["x_hat"]
    except (RuntimeError, ValueError, IndexError) as exc:
        raise CompressaiError(f"compressai file does not decode ({' '.join(str(exc).split())[:150]})") from None
    if x_hat.shape[-2] < c.height or x_hat.shape[-1] < c.width:
        raise CompressaiError(f"compressai file decodes to {x_hat.shape[-1]}x{x_hat.shape[-2]}, "
                              f"smaller than its stated {c.width}x{c.height}")
    pixels = (x_hat[0, :, :c.height, :c.width].clamp(0, 1) * 255).round().to(torch.uint8)
    return np.ascontiguousarray(pixels.permute(1, 2, 0).numpy())
