"""Checkpoints of the unofficial PICO re-implementation: one ``torch.save`` file holding the config, the
weights, the integer scale decoder and z tables (once exported), and how the weights were trained.

Training checkpoints also carry the optimizer state and step so that training resumes; a checkpoint that
can code images must have been *exported* (:func:`harness.codecs.pico_torch.intscale.export`), because the
8-bit scale decoder and the entropy tables must be fixed numbers shared by encoder and decoder.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import torch

from harness.codecs.learned import read_torch_file
from harness.codecs.pico_torch.config import PicoConfig
from harness.codecs.pico_torch.model import PicoModel

FORMAT = "pico-torch-unofficial"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint cannot be used; str() is one line naming the file."""


def save_checkpoint(path: str | Path, model: PicoModel, *, extra: dict[str, Any] | None = None,
                    half: bool = False) -> None:
    """Write atomically (temporary file + rename) so an interrupted save never leaves a broken file."""
    path = Path(path)
    state = {k: (v.half() if half and v.is_floating_point() else v) for k, v in model.state_dict().items()}
    payload: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION,
                               "config": model.cfg.to_dict(), "model": state, "half": half,
                               "folded": any(getattr(m, "folded", False) for m in model.modules())}
    payload.update(extra or {})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(payload, tmp)
    os.replace(tmp, path)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    payload, data = read_torch_file(path, CheckpointError, "torch checkpoint")
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a pico-torch checkpoint (no format tag {FORMAT!r})")
    if payload.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {payload.get('format_version')} "
                              f"is not {FORMAT_VERSION}")
    payload["fingerprint"] = hashlib.sha256(data).hexdigest()
    return payload


def build_model(payload: dict[str, Any]) -> PicoModel:
    """The float model of a checkpoint (folded scales if it was saved folded)."""
    cfg = PicoConfig.from_dict(payload["config"])
    model = PicoModel(cfg)
    if payload.get("folded"):
        model.fold_scales()
    state = {k: v.float() if v.is_floating_point() else v for k, v in payload["model"].items()}
    model.load_state_dict(state)
    return model
