"""Helpers every command shares: the two consoles, the one usage-error exit, comma lists, --device."""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import click
from rich.console import Console
from rich.markup import escape

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def split(value: str | None) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``; None or "" -> []."""
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def floats(value: str | None, option: str) -> list[float] | None:
    """A comma-separated list of numbers, or a usage error naming the option."""
    if not value:
        return None
    try:
        return [float(v) for v in split(value)]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated numbers, got {value!r}", param_hint=option) from None


def say(message: str, label: str = "", style: str = "yellow") -> None:
    """One line on stderr, ``label`` styled; the message is printed as is (brackets are never read as markup)."""
    head = f"[{style}]{escape(label)}[/{style}] " if label else ""
    console.print(head + escape(message), highlight=False)


def fail(message: str) -> NoReturn:
    """A usage or input error: one line on stderr, exit status 2."""
    say(message, "error:", "red")
    sys.exit(2)


def set_device(device: str | None) -> None:
    """--device for the torch metrics, through the environment so worker processes inherit it."""
    if device:
        from harness.core.torchsetup import DEVICE_VARIABLE

        os.environ[DEVICE_VARIABLE] = device


DEVICE_OPTION = click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None,
    help="Where the torch metrics (LPIPS, DISTS, MS-SSIM, ColorVideoVDP) run: auto (a CUDA GPU if torch sees "
         "one), cpu or cuda (default: $HARNESS_METRIC_DEVICE, else auto).")
