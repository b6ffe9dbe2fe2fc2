"""The command line's plug-in API: packages add commands, and options with hooks on existing commands.

A plug-in is a function ``register(cli: Plugins)`` named by an entry point of the group ``harness.plugins``
(``[project.entry-points."harness.plugins"]`` in its pyproject.toml). It may call:

- ``cli.add_command(command)``: a new click command or group;
- ``cli.add_option(command, option, hook)``: a new option on an existing command; ``hook`` runs at that
  command's hook point when the option has a value (not None, not False): for ``run`` it is
  ``hook(specs, value) -> specs`` on the codec strings; for ``report`` it is ``hook(done, value)`` with a
  :class:`ReportDone`, and returns files it wrote to add to the report's list (``{name: path}``).

Plug-ins print and fail through ``harness.cli.common`` (``console``, ``out``, ``say``, ``fail``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import click

GROUP = "harness.plugins"
HOOKED_COMMANDS = ("run", "report")


@dataclass(frozen=True)
class ReportDone:
    """What ``harness report`` made, handed to its hooks."""

    run_dir: Path
    anchor: str
    metrics: list[str] | None
    out_dir: Path | None
    console: Any
    files: Mapping[str, Path]


@dataclass(frozen=True)
class OptionHook:
    command: str
    option: click.Option
    hook: Callable[..., Any]


@dataclass
class Plugins:
    """What the plug-ins added: commands, and options with their hooks."""

    commands: list[click.Command] = field(default_factory=list)
    options: list[OptionHook] = field(default_factory=list)

    def add_command(self, command: click.Command) -> None:
        self.commands.append(command)

    def add_option(self, command: str, option: click.Option, hook: Callable[..., Any]) -> None:
        if command not in HOOKED_COMMANDS:
            raise ValueError(f"plug-in option {option.name}: command {command!r} has no hook point "
                             f"(only {', '.join(HOOKED_COMMANDS)})")
        self.options.append(OptionHook(command, option, hook))

    def hooks(self, command: str, values: Mapping[str, Any]) -> list[tuple[Callable[..., Any], Any]]:
        """The hooks of ``command`` whose option has a value, with that value (from click's parameters)."""
        return [(h.hook, values.get(h.option.name or "")) for h in self.options
                if h.command == command and values.get(h.option.name or "") not in (None, False)]


def declared_plugins() -> dict[str, str]:
    """Entry points of the group ``harness.plugins``: the installed ones, and those this source tree's
    pyproject.toml declares (so a checkout run through PYTHONPATH has its own plug-ins before any reinstall)."""
    found = {ep.name: ep.value for ep in entry_points(group=GROUP)}
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    if pyproject.is_file():
        try:
            project = tomllib.loads(pyproject.read_text()).get("project", {})
        except (tomllib.TOMLDecodeError, OSError):
            project = {}
        found.update(project.get("entry-points", {}).get(GROUP, {}))
    return found


def load_plugins() -> Plugins:
    """Import and register every declared plug-in; one that fails to load is named on stderr and skipped."""
    import importlib

    from harness.cli.common import say

    plugins = Plugins()
    for name, target in sorted(declared_plugins().items()):
        module, _, attr = target.partition(":")
        try:
            register = getattr(importlib.import_module(module), attr or "register")
            register(plugins)
        except Exception as exc:  # noqa: BLE001 - a broken plug-in must not take the command line down
            say(f"plug-in {name} ({target}) not loaded: {type(exc).__name__}: {exc}", "warning:")
    return plugins


_installed: Plugins | None = None


def installed() -> Plugins:
    """The plug-ins of this process, loaded once."""
    global _installed
    if _installed is None:
        _installed = load_plugins()
    return _installed
