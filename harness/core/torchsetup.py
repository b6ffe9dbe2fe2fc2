"""Making torchvision importable next to a CPU-only torch, and finding the perceptual metrics' weights.

Two facts this module handles once, for every caller (call :func:`prepare_torch` before anything imports
torchvision or pyiqa):

- torchvision's PyPI wheels are CUDA builds. With the CPU build of torch their compiled ``_C`` library
  does not load, and ``import torchvision`` then dies in ``torchvision/_meta_registrations.py`` with
  "operator torchvision::nms does not exist" (pytorch/vision issues 9085, 9337), because it registers a
  fake kernel for an operator whose schema only ``_C`` declares. When ``_C`` does not load we declare the
  schemas of the two operators it registers that way (``nms`` and ``qnms``) with :mod:`torch.library`;
  the import then succeeds, and the operators stay unimplemented (torchvision's own ``_has_ops()`` is
  still False, so calling ``torchvision.ops.nms`` raises torchvision's clear error). The metrics only use
  torchvision's model definitions, never its compiled operators. Nothing in site-packages is touched.
- pyiqa fixes its weight cache when it is imported, from ``TORCH_HOME`` (``$TORCH_HOME/hub/pyiqa``), and
  torchvision's ImageNet weights live in ``$TORCH_HOME/hub/checkpoints``. With network access both
  download there on first use; offline, :func:`require_weights` names the missing file in one line
  instead of letting a download attempt hang or fail with a traceback.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import sys
from pathlib import Path

from harness.core.errors import one_line

_schema_library: object = None  # kept alive: a torch.library.Library unregisters its definitions when collected

# Files in the torch cache each perceptual metric needs, relative to $TORCH_HOME/hub.
WEIGHT_FILES: dict[str, tuple[str, ...]] = {
    "lpips": ("checkpoints/alexnet-owt-7be5be79.pth", "pyiqa/LPIPS_v0.1_alex-df73285e.pth"),
    "lpips-vgg": ("checkpoints/vgg16-397923af.pth", "pyiqa/LPIPS_v0.1_vgg-a78928a0.pth"),
    "dists": ("checkpoints/vgg16-397923af.pth", "pyiqa/DISTS_weights-f5e65c96.pth"),
}


class WeightsMissing(RuntimeError):
    """A weight file is not in the torch cache and could not be downloaded; the message is one line."""


def prepare_torch() -> None:
    """Make ``import torchvision`` work with this torch build. Idempotent; cheap after the first call."""
    global _schema_library
    if _schema_library is not None or "torchvision" in sys.modules:
        return
    import torch

    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return  # not installed: the caller's import reports that itself
    libraries = glob.glob(os.path.join(next(iter(spec.submodule_search_locations)), "_C.*")) + glob.glob(
        os.path.join(next(iter(spec.submodule_search_locations)), "_C*.so")
    )
    for path in libraries:
        try:
            torch.ops.load_library(path)
            _schema_library = True  # the real operators are there: nothing to declare
            return
        except (OSError, ImportError, RuntimeError):
            continue
    library = torch.library.Library("torchvision", "DEF")
    library.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    library.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _schema_library = library


def torch_home() -> Path:
    """The torch cache directory in force (``TORCH_HOME``, else torch's default ``~/.cache/torch``)."""
    explicit = os.environ.get("TORCH_HOME")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", os.path.join(os.path.expanduser("~"), ".cache"))
    return Path(xdg) / "torch"


def missing_weights(pyiqa_name: str) -> list[Path]:
    """Weight files of a pyiqa metric that are not in the torch cache."""
    hub = torch_home() / "hub"
    return [hub / relative for relative in WEIGHT_FILES.get(pyiqa_name, ()) if not (hub / relative).is_file()]


def create_pyiqa_metric(pyiqa_name: str, device: str = "cpu"):  # -> pyiqa InferenceModel
    """``pyiqa.create_metric(pyiqa_name)`` with the torchvision fix applied, pyiqa's chatter silenced and a
    one-line :class:`WeightsMissing` when a weight file is neither cached nor downloadable."""
    import contextlib
    import io

    prepare_torch()
    missing = missing_weights(pyiqa_name)
    import pyiqa

    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return pyiqa.create_metric(pyiqa_name, device=device)
    except Exception as exc:
        if missing:
            still = [p for p in missing if not p.is_file()]
            if still:
                raise WeightsMissing(
                    f"{pyiqa_name}: weight file {still[0]} is missing from the torch cache "
                    f"(TORCH_HOME={torch_home()}) and could not be downloaded "
                    f"({type(exc).__name__}: {one_line(exc, limit=160)})"
                ) from None
        raise


# --device for the torch metrics (LPIPS, DISTS, MS-SSIM, ColorVideoVDP): set by the command line in this
# variable so that worker processes, which inherit the environment, use the same device.
DEVICE_VARIABLE = "HARNESS_METRIC_DEVICE"
DEVICE_CHOICES = ("auto", "cpu", "cuda")


def metric_device(preference: str | None = None) -> str:
    """The torch device the metrics run on: ``cpu``, ``cuda`` (error if none is usable) or ``auto``
    (``cuda`` when torch sees a GPU, else ``cpu``); default from ``$HARNESS_METRIC_DEVICE``, else auto."""
    choice = (preference or os.environ.get(DEVICE_VARIABLE) or "auto").strip().lower()
    if choice not in DEVICE_CHOICES:
        raise ValueError(f"metric device {choice!r} is not one of {', '.join(DEVICE_CHOICES)}")
    if choice == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if choice == "cuda":
        raise RuntimeError(f"metric device cuda requested but torch {torch.__version__} sees no CUDA GPU")
    return "cpu"
