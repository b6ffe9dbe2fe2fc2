"""Train a CompressAI image model on your own images; the checkpoint codes with ``compressai:checkpoint=PATH``.

    python -m harness.training.compressai FOLDER_OR_IMAGE... --output model.pt \\
        [--arch bmshj2018-hyperprior --n 128 --m 192 --steps 100000 --lmbda 0.0018 --crop 256 --batch 8]

Loss: CompressAI's ``RateDistortionLoss`` (lambda * 255^2 * MSE + bpp) with the auxiliary loss of the
entropy bottleneck's quantiles on its own optimizer, as CompressAI's example trainer does. The saved file
holds ``arch``, ``state_dict`` (with the entropy tables built by ``update()``) and the training settings.
Kodak and CLIC images are refused by name, so a model is never tested on what it learned from.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from harness.codecs.compressai_zoo.models import CompressaiError, import_compressai
from harness.training.images import IMAGE_SUFFIXES, TEST_SETS


@dataclass
class SmallTraining:
    arch: str = "bmshj2018-hyperprior"
    n: int = 128
    m: int = 192
    steps: int = 1000
    lmbda: float = 0.0067
    crop: int = 128
    batch: int = 8
    lr: float = 1e-4
    seed: int = 0


def load_images(sources: list[str], min_side: int) -> list[np.ndarray]:
    """RGB pixels of the image files in ``sources`` (files or folders, recursively)."""
    from harness.core.images import load_image

    files: list[Path] = []
    for source in sources:
        root = Path(source)
        if TEST_SETS.search(str(root.resolve())):
            raise CompressaiError(f"{root}: refusing to train on Kodak/CLIC test images")
        files += [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    images = [im for im in (load_image(f).pixels for f in files) if min(im.shape[:2]) >= min_side]
    if not images:
        raise CompressaiError(f"no training image of at least {min_side} px in {', '.join(sources)}")
    return images


def train_model(images: list[np.ndarray], output: str | Path, settings: SmallTraining) -> Path:
    """Train from scratch and write the checkpoint; returns its path."""
    import torch

    import_compressai()
    from compressai.losses import RateDistortionLoss  # type: ignore[import-untyped]
    from compressai.zoo.image import model_architectures  # type: ignore[import-untyped]

    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    cls = model_architectures[settings.arch]
    net = cls(settings.n) if settings.arch.startswith("cheng2020") else cls(settings.n, settings.m)
    aux_names = {name for name, _ in net.named_parameters() if name.endswith(".quantiles")}
    main_params = [p for name, p in net.named_parameters() if name not in aux_names]
    aux_params = [p for name, p in net.named_parameters() if name in aux_names]
    optimizer = torch.optim.Adam(main_params, lr=settings.lr)
    aux_optimizer = torch.optim.Adam(aux_params, lr=1e-3)
    criterion = RateDistortionLoss(lmbda=settings.lmbda)
    started = time.time()
    net.train()
    for _ in range(settings.steps):
        crops = np.empty((settings.batch, settings.crop, settings.crop, 3), dtype=np.uint8)
        for i in range(settings.batch):
            im = images[rng.integers(len(images))]
            y = rng.integers(0, im.shape[0] - settings.crop + 1)
            x = rng.integers(0, im.shape[1] - settings.crop + 1)
            crops[i] = im[y:y + settings.crop, x:x + settings.crop]
        batch = torch.from_numpy(crops).permute(0, 3, 1, 2).float() / 255.0
        optimizer.zero_grad()
        aux_optimizer.zero_grad()
        loss = criterion(net(batch), batch)["loss"]
        loss.backward()
        torch.nn.utils.clip_grad_norm_(main_params, 1.0)
        optimizer.step()
        net.aux_loss().backward()
        aux_optimizer.step()
    net.eval()
    net.update(force=True)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    torch.save({"format": "harness-compressai-checkpoint", "arch": settings.arch, "state_dict": net.state_dict(),
                "training": {**asdict(settings), "seconds": round(time.time() - started, 1),
                             "images": len(images)}}, tmp)
    tmp.replace(output)
    return output


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m harness.training.compressai")
    parser.add_argument("data", nargs="+")
    parser.add_argument("--output", required=True)
    for name, default in asdict(SmallTraining()).items():
        parser.add_argument(f"--{name}", type=type(default), default=default)
    args = vars(parser.parse_args(argv))
    data, output = args.pop("data"), args.pop("output")
    settings = SmallTraining(**args)
    print(train_model(load_images(data, settings.crop), output, settings))


if __name__ == "__main__":
    main()
