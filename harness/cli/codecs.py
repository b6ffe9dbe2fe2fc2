"""``harness codecs``: every codec adapter, its availability, knob and colour; ``--check`` runs them."""

from __future__ import annotations

import sys

import click
from rich.table import Table
from rich.text import Text

from harness.cli.common import out, plain
from harness.codecs.base import Contender


def choices_text(choices: tuple[str, ...]) -> str:
    """``0, 1, ..., 10`` as ``0..10``; other choices listed."""
    if len(choices) > 2 and all(c.isdigit() for c in choices):
        numbers = [int(c) for c in choices]
        if numbers == list(range(numbers[0], numbers[-1] + 1)):
            return f"{numbers[0]}..{numbers[-1]}"
    return ", ".join(choices)


def options_text(codec: Contender) -> str:
    """Each option a codec string may set: ``key=default`` and, where fixed, ``(choices)``; the positional
    option (``compressai:ARCH``) is marked."""
    parts = []
    for key, default in sorted(codec.option_defaults.items()):
        choices = codec.option_choices.get(key)
        text = f"{key}={default or '-'}" + (f" ({choices_text(choices)})" if choices else "")
        parts.append(text + (" [positional]" if key == codec.positional_option else ""))
    return "\n".join(parts)


@click.command("codecs")
@click.option("--check", is_flag=True, help="Run every available codec on a small image and report bpp/PSNR sanity.")
def codecs_command(check: bool) -> None:
    """List every codec adapter, available or not, with its version or the reason it is unavailable."""
    from harness.codecs import codec_class, codec_names

    table = Table("codec", "available", "version / reason", "knob", "options (default, choices)", "colour",
                  "description")
    for name in codec_names():
        codec = codec_class(name)()
        ok = codec.availability()
        c = codec.colour
        table.add_row(*plain(name, "yes" if ok else Text("no", style="red"), codec.version() if ok else ok.reason,
                             f"{codec.knob.name} {codec.knob.low:g}..{codec.knob.high:g}", options_text(codec),
                             f"{c.matrix} {c.range} {c.bit_depth}-bit {c.subsampling}", codec.description))
    out.print(table)
    if check:
        from harness.codecs.selfcheck import check_codecs, default_check_image

        def num(value: float | None, digits: int) -> str:
            return "" if value is None else f"{value:.{digits}f}"

        rows = [r for r in check_codecs(default_check_image()) if r["status"] != "unavailable"]
        checks = Table("codec", "status", "low point", "bpp", "PSNR", "high point", "bpp", "PSNR", "s", "detail",
                       title="check on a 128x96 crop of astronaut.png (RGB PSNR, dB)")
        for r in rows:
            colour = {"ok": "green", "suspect": "yellow"}.get(r["status"], "red")
            checks.add_row(*plain(r["codec"], Text(r["status"], style=colour),
                                  num(r["low_point"], 0), num(r["low_bpp"], 3), num(r["low_psnr"], 2),
                                  num(r["high_point"], 0), num(r["high_bpp"], 3), num(r["high_psnr"], 2),
                                  num(r["seconds"], 1), r["detail"]))
        out.print(checks)
        sys.exit(1 if any(r["status"] != "ok" for r in rows) else 0)


COMMANDS = [codecs_command]
