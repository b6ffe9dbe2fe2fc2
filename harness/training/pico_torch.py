"""Training of the unofficial PICO re-implementation (``harness train pico-torch``).

Two stages, as the paper describes:

1. MSE stage: loss = lambda_level * 255^2 * MSE + bpp, the quality level drawn at random per crop;
2. perceptual stage: lambda_level * (w_mse * 255^2 * MSE + w_lpips * LPIPS + w_msssim * (1 - MS-SSIM)
   + w_gan * non-saturating GAN loss) + bpp + w_text * L1 inside a text mask + w_tile * multi-scale L1 of
   the low-pass seams of a crop coded as two independent tiles (see :mod:`.losses`).

Training data: folders of images (recursively) or image files. Every image is downscaled ``downscale`` times
(default 2) with a box filter: it washes out JPEG artifacts of wallpapers and brings their detail closer to
that of photographs; an image is reduced less where its short side would fall below 256 px. Multi-resolution
copies of one picture (``1920x1080.jpg`` next to
``3840x2160.jpg``, ``name_3840x2160.jpg``) are kept once, and random crops with flips are drawn from them.
Kodak and CLIC images are refused (by path and by the hashes of the harness's datasets).

Resumable: the output checkpoint holds the optimizer, the step and the RNG states; calling ``train`` again
with the same output continues where it stopped. Logs go to ``<output>.log.jsonl``.
"""

from __future__ import annotations

import json
import math
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from harness.codecs.pico_torch.checkpoint import (
    build_model,
    read_checkpoint,
    save_checkpoint,
)
from harness.codecs.pico_torch.config import PicoConfig
from harness.codecs.pico_torch.model import PicoModel
from harness.training.images import CropSampler, TrainingError, find_training_images, load_training_images


@dataclass
class TrainSettings:
    data: list[str]
    output: str
    config: str = "tiny"  # "tiny" or "paper"
    mse_steps: int = 4000
    perceptual_steps: int = 0
    batch_size: int = 8
    crop: int = 128
    lr: float = 1e-3
    lr_final: float = 1e-4
    seed: int = 0
    threads: int = 1
    device: str = "auto"
    save_every: int = 200
    log_every: int = 20
    w_mse: float = 1.0  # perceptual stage weights (see module docstring)
    w_lpips: float = 0.1
    w_msssim: float = 0.1
    w_gan: float = 0.005
    w_text: float = 4.0
    w_tile: float = 1.0
    text_fraction: float = 0.25
    export_calibration: int = 64
    gain_lr_mult: float = 10.0  # learning-rate factor of the per-level gains and biases (see _param_groups)
    downscale: int = 2  # box-filter factor; lowered per image so that its short side stays >= max(crop, 256)
    init_from: str = ""  # start a new run from the weights of this checkpoint (exported or not)
    lambdas: str = ""  # comma-separated lambdas of the levels; re-levels the weights (see relevel)
    extra: dict[str, Any] = field(default_factory=dict)



# --- training ------------------------------------------------------------------------------------------
def _lr_at(step: int, total: int, lr: float, lr_final: float) -> float:
    """Constant, then a cosine decay over the last 30% of the steps."""
    start = int(total * 0.7)
    if step < start:
        return lr
    t = (step - start) / max(1, total - start)
    return lr_final + 0.5 * (lr - lr_final) * (1 + math.cos(math.pi * min(1.0, t)))


def _param_groups(model: PicoModel, gain_lr_mult: float) -> list[dict[str, Any]]:
    """Two Adam groups. The per-level log gains and level biases are single numbers in a log domain that
    set each level's quantizer and scales; at the base rate Adam moves them by at most lr per step, so
    they would stay near their initial values for thousands of steps. They get ``gain_lr_mult`` x lr."""
    fast: list[torch.nn.Parameter] = []
    slow: list[torch.nn.Parameter] = []
    for name, p in model.named_parameters():
        (fast if name.startswith("log_gain") or "level_bias" in name or name == "z_log_sigma" else slow).append(p)
    return [{"params": slow, "lr_mult": 1.0}, {"params": fast, "lr_mult": gain_lr_mult}]


_LEVEL_PARAMS = ("log_gain_enc", "log_gain_dec", "log_gain_z", "level_bias")


@torch.no_grad()
def relevel(model: PicoModel, lambdas: tuple[float, ...]) -> PicoModel:
    """The model with new per-level lambdas. Every per-level parameter (gains, level biases) of a new level is
    interpolated linearly in log(lambda) between the old levels, and extrapolated along the nearest two
    beyond them, so that a trained model moves to another rate range without starting over."""
    old = torch.log(torch.tensor(model.cfg.lambdas, dtype=torch.float64))
    new = torch.log(torch.tensor(lambdas, dtype=torch.float64))
    if len(old) < 2:
        raise TrainingError("re-levelling needs a model with at least two levels")
    cfg = PicoConfig.from_dict({**model.cfg.to_dict(), "levels": len(lambdas), "lambdas": tuple(lambdas),
                                "init_steps": tuple(float(model.cfg.init_steps[0]) for _ in lambdas)})
    lo = torch.searchsorted(old, new).clamp(1, len(old) - 1) - 1
    t = ((new - old[lo]) / (old[lo + 1] - old[lo])).float()
    state = model.state_dict()
    for name, value in state.items():
        if any(key in name for key in _LEVEL_PARAMS) and value.shape[0] == len(old):
            view = t.view(-1, *([1] * (value.dim() - 1)))
            state[name] = value[lo] + view * (value[lo + 1] - value[lo])
    out = PicoModel(cfg)
    if any(getattr(m, "folded", False) for m in model.modules()):
        out.fold_scales()
    out.load_state_dict(state)
    return out


def _select_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def train(settings: TrainSettings, progress: bool = True) -> Path:
    """Train (or resume) and return the path of the exported checkpoint."""
    torch.set_num_threads(max(1, settings.threads))
    device = _select_device(settings.device)
    out = Path(settings.output)
    log_path = out.with_name(out.name + ".log.jsonl")
    paths = find_training_images(settings.data)
    min_side = max(settings.crop, 256)  # the export's calibration crops are 256 px
    images = load_training_images(paths, min_side, settings.downscale)

    cfg = PicoConfig.paper() if settings.config == "paper" else PicoConfig()
    model = PicoModel(cfg)
    step = 0
    resume: dict[str, Any] | None = None
    if out.exists():
        resume = read_checkpoint(out)
        model = build_model(resume)
        step = int(resume.get("train", {}).get("step", 0))
    elif settings.init_from:
        model = build_model(read_checkpoint(settings.init_from))
    if settings.lambdas:
        lambdas_wanted = tuple(float(v) for v in settings.lambdas.split(","))
        if lambdas_wanted != model.cfg.lambdas:
            model = relevel(model, lambdas_wanted)
    cfg = model.cfg
    model.to(device).train()
    opt = torch.optim.Adam(_param_groups(model, settings.gain_lr_mult), lr=settings.lr)
    sampler = CropSampler(images, settings.crop, settings.seed + step)
    random.seed(settings.seed + step)
    torch.manual_seed(settings.seed + step)

    stage2 = None
    total = settings.mse_steps + settings.perceptual_steps
    if resume is not None and "optimizer" in resume.get("train", {}):
        try:
            opt.load_state_dict(resume["train"]["optimizer"])
        except ValueError:  # saved by a version with one parameter group: restart Adam's moments
            print("optimizer state has other parameter groups; starting a fresh optimizer", file=sys.stderr)
    lambdas = torch.tensor(cfg.lambdas, device=device)
    history: dict[str, list[float]] = defaultdict(list)
    t_start = time.time()
    log = log_path.open("a")
    log.write(json.dumps({"event": "start", "step": step, "settings": settings.__dict__, "images": len(images),
                          "files": [str(p) for p in paths], "device": str(device),
                          "time": time.strftime("%Y-%m-%dT%H:%M:%S")}) + "\n")
    log.flush()

    bar = None
    if progress:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(TextColumn("[bold]pico-torch[/] {task.fields[stage]}"), BarColumn(),
                       TextColumn("{task.completed}/{task.total}"), TextColumn("{task.fields[info]}"),
                       TimeRemainingColumn(), disable=not sys.stderr.isatty())
        task = bar.add_task("train", total=total, completed=step, stage="", info="")
        bar.start()

    def save() -> None:
        state = {"step": step, "optimizer": opt.state_dict(), "settings": settings.__dict__}
        if stage2 is not None:
            state["discriminator"] = stage2.state_dict()
        save_checkpoint(out, model, extra={"train": state})

    try:
        while step < total:
            lr = _lr_at(step if step < settings.mse_steps else step - settings.mse_steps,
                        settings.mse_steps if step < settings.mse_steps else settings.perceptual_steps,
                        settings.lr if step < settings.mse_steps else settings.lr * 0.3, settings.lr_final)
            for group in opt.param_groups:
                group["lr"] = lr * group.get("lr_mult", 1.0)
            x = sampler.batch(settings.batch_size).to(device)
            level = torch.randint(0, cfg.levels, (x.shape[0],), device=device)
            if step < settings.mse_steps:
                stage = "mse"
                outp = model(x, level)
                mse = ((outp["x_hat"] - x) ** 2).mean(dim=(1, 2, 3))
                loss = (lambdas[level] * 255**2 * mse + outp["bpp"]).mean()
                terms = {"mse": mse.mean().item()}
            else:
                stage = "perceptual"
                if stage2 is None:
                    from harness.training.pico_losses import PerceptualStage

                    stage2 = PerceptualStage(model, settings, device)
                    if resume is not None and "discriminator" in resume.get("train", {}):
                        stage2.load_state_dict(resume["train"]["discriminator"])
                loss, outp, terms = stage2.step_loss(x, level, lambdas)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if stage2 is not None and stage == "perceptual":
                stage2.discriminator_step(x, outp["x_hat"].detach())
            step += 1
            history["loss"].append(loss.item())
            history["bpp"].append(outp["bpp"].mean().item())
            for k, v in terms.items():
                history[k].append(v)
            if step % settings.log_every == 0 or step == total:
                row: dict[str, Any] = {k: float(np.mean(v)) for k, v in history.items()}
                if "mse" in row:
                    row["psnr"] = 10 * math.log10(1 / max(row["mse"], 1e-12))
                row.update({"event": "step", "step": step, "stage": stage, "lr": lr,
                            "elapsed_s": round(time.time() - t_start, 1)})
                log.write(json.dumps(row) + "\n")
                log.flush()
                history.clear()
                if bar is not None:
                    bar.update(task, completed=step, stage=stage,
                               info=f"loss {row['loss']:.3f} bpp {row['bpp']:.3f} psnr {row.get('psnr', 0):.2f}")
            if step % settings.save_every == 0:
                save()
        save()
    finally:
        if bar is not None:
            bar.stop()
        log.close()

    from harness.codecs.pico_torch.intscale import export

    final = out.with_name(out.stem + "-export" + out.suffix)
    calib = CropSampler(images, 256, settings.seed + 12345).batch(settings.export_calibration)
    export(model.cpu().eval(), final, calib, info={"training": settings.__dict__,
                                                   "training_files": [str(p) for p in paths]})
    return final


def main(argv: list[str] | None = None) -> None:
    """Minimal command line (the harness CLI wraps :func:`train` with the same options)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m harness.training.pico_torch")
    parser.add_argument("data", nargs="+")
    parser.add_argument("--output", required=True)
    for name, default in TrainSettings.__dataclass_fields__.items():
        if name in ("data", "output", "extra"):
            continue
        value = default.default
        parser.add_argument("--" + name.replace("_", "-"), type=type(value), default=value)
    args = vars(parser.parse_args(argv))
    settings = TrainSettings(**args)
    print(train(settings))


if __name__ == "__main__":
    main()
