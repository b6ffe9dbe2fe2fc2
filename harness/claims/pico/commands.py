"""The PICO claim's command-line plug-in (entry point ``harness.plugins``: pico): ``harness train pico-torch``,
``harness run --pico-checkpoint`` and ``harness report --summary``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from harness.cli.common import fail, say
from harness.cli.plugin import Plugins, ReportDone
from harness.codecs import codec_name_of


def with_checkpoint(specs: Sequence[str], checkpoint: str | None) -> list[str]:
    """``--pico-checkpoint PATH``: the same as ``pico-torch:checkpoint=PATH`` on every pico-torch codec string
    that names no checkpoint of its own."""
    if not checkpoint:
        return list(specs)
    return [f"{s}:checkpoint={checkpoint}" if codec_name_of(s) == "pico-torch" and "checkpoint=" not in s else s
            for s in specs]


def print_summary(done: ReportDone, _flag: bool) -> dict[str, Path]:
    """``harness report --summary``: write ``summary.md`` (every codec against the anchor at equal bpp) and
    print it."""
    from rich.markdown import Markdown

    from harness.claims.pico.report import write_summary

    _, path = write_summary(done.run_dir, done.anchor, done.metrics, out_dir=done.out_dir)
    done.console.print(Markdown((path.parent / "summary-terminal.md").read_text()))
    return {"summary": path}


@click.command("train")
@click.argument("codec", type=click.Choice(["pico-torch"]))
@click.argument("data", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--output", required=True, type=click.Path(dir_okay=False),
              help="Checkpoint to write; training resumes from it if it exists. The exported (codable) "
                   "checkpoint is written next to it as NAME-export.pt.")
@click.option("--config", type=click.Choice(["tiny", "paper"]), default="tiny", show_default=True)
@click.option("--mse-steps", default=4000, show_default=True, type=int, help="Steps of the MSE stage.")
@click.option("--perceptual-steps", default=0, show_default=True, type=int,
              help="Steps of the perceptual stage (LPIPS, MS-SSIM, GAN, text and tiling losses).")
@click.option("--batch-size", default=8, show_default=True, type=int)
@click.option("--crop", default=128, show_default=True, type=int, help="Random crop size in pixels.")
@click.option("--lr", default=1e-3, show_default=True, type=float)
@click.option("--device", default="auto", show_default=True, help="auto (GPU when available), cpu, cuda, ...")
@click.option("--threads", default=1, show_default=True, type=int, help="CPU threads for torch.")
@click.option("--seed", default=0, show_default=True, type=int)
def train_command(codec: str, data: tuple[str, ...], output: str, config: str, mse_steps: int,
                  perceptual_steps: int, batch_size: int, crop: int, lr: float, device: str, threads: int,
                  seed: int) -> None:
    """Train the unofficial PICO re-implementation (pico-torch) on a folder of images."""
    from harness.codecs.pico_torch.checkpoint import CheckpointError
    from harness.training.pico_torch import TrainingError, TrainSettings, train

    settings = TrainSettings(data=list(data), output=output, config=config, mse_steps=mse_steps,
                             perceptual_steps=perceptual_steps, batch_size=batch_size, crop=crop, lr=lr,
                             device=device, threads=threads, seed=seed)
    try:
        exported = train(settings)
    except (TrainingError, CheckpointError) as exc:
        fail(str(exc))
    say(f"wrote {exported}")


def register(cli: Plugins) -> None:
    """Add the PICO claim's command and options to ``harness``."""
    cli.add_command(train_command)
    cli.add_option("run", click.Option(["--pico-checkpoint"], default=None, type=click.Path(dir_okay=False),
                                       help="Checkpoint for the pico-torch codec (same as "
                                            "pico-torch:checkpoint=PATH)."), with_checkpoint)
    cli.add_option("report", click.Option(["--summary"], is_flag=True,
                                          help="Also write summary.md: every codec against the anchor at equal bpp "
                                               "per image (PSNR vs perceptual metrics, JPEG XL), for anchors with "
                                               "one point per image such as published PICO."), print_summary)
