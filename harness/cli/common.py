"""Helpers every command shares: the two consoles, the one usage-error exit, comma lists, --device."""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Iterator
from typing import NoReturn

import click
from rich.console import Console
from rich.markup import escape
from rich.text import Text

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)


def split(value: str | None) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]``; None or "" -> []."""
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def floats(value: str | None, option: str, positive: bool = False) -> list[float] | None:
    """A comma-separated list of finite numbers (``positive``: above 0), or a one-line usage error naming
    the option and the value."""
    if not value:
        return None
    numbers = []
    for item in split(value):
        try:
            number = float(item)
        except ValueError:
            fail(f"{option} {value}: {item!r} is not a number (give comma-separated numbers, e.g. 30,50)")
        if not math.isfinite(number) or (positive and number <= 0):
            fail(f"{option} {value}: {item} is not a {'positive' if positive else 'finite'} number")
        numbers.append(number)
    return numbers


def say(message: str, label: str = "", style: str = "yellow", to: Console | None = None, colour: str = "") -> None:
    """One line (default: on stderr): ``label`` in ``style``, then the message (in ``colour`` if given), printed
    as is: its brackets are never read as markup."""
    head = f"[{style}]{escape(label)}[/{style}] " if label else ""
    text = f"[{colour}]{escape(message)}[/{colour}]" if colour else escape(message)
    (to or console).print(head + text, highlight=False)


def plain(*values: object) -> list[Text]:
    """Table cells shown as given (never read as markup); a :class:`Text` passes through with its style."""
    return [v if isinstance(v, Text) else Text(str(v)) for v in values]


def fail(message: str) -> NoReturn:
    """A usage or input error: one line on stderr, exit status 2."""
    say(message, "error:", "red")
    sys.exit(2)


@contextlib.contextmanager
def failing_on(*errors: type[Exception]) -> Iterator[None]:
    """Any of ``errors`` raised inside becomes :func:`fail` with its message."""
    try:
        yield
    except errors as exc:
        fail(str(exc))


def set_device(device: str | None) -> None:
    """--device for the torch metrics, through the environment so worker processes inherit it."""
    if device:
        from harness.core.torchsetup import DEVICE_VARIABLE

        os.environ[DEVICE_VARIABLE] = device


DEVICE_OPTION = click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None,
    help="Where the torch metrics (LPIPS, DISTS, MS-SSIM, ColorVideoVDP) run: auto (a CUDA GPU if torch sees "
         "one), cpu or cuda (default: $HARNESS_METRIC_DEVICE, else auto).")
