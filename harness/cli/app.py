"""The ``harness`` group: the built-in command groups, then the plug-ins' commands and options."""

from __future__ import annotations

import sys
from typing import Any

import click

from harness.cli import codecs, datasets, metrics, published, report, run, study, view
from harness.cli.common import say
from harness.cli.plugin import installed


class HarnessGroup(click.Group):
    """A click group that installs the plug-ins before it parses its first command line."""

    plugged = False

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        self.plug()
        return super().make_context(info_name, args, parent=parent, **extra)

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        """As click's, but a usage error is one line (``error: No such option: --x (see: harness run --help)``)."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            status = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            hint = f" (see: {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
            say(exc.format_message() + hint, "error:", "red")
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            say(exc.format_message(), "error:", "red")
            sys.exit(exc.exit_code)
        except click.Abort:
            say("interrupted", "error:", "red")
            sys.exit(130)
        sys.exit(status if isinstance(status, int) else 0)

    def plug(self) -> None:
        if self.plugged:
            return
        self.plugged = True
        plugins = installed()
        for command in plugins.commands:
            self.add_command(command)
        for hook in plugins.options:
            self.commands[hook.command].params.append(hook.option)


@click.group(cls=HarnessGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="harness")
def main() -> None:
    """Benchmark image codecs: run sweeps, compute metrics, report BD-rates and plot RD curves."""


for module in (run, codecs, metrics, datasets, report, published, view, study):
    for command in module.COMMANDS:
        main.add_command(command)
