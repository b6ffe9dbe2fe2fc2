"""``harness datasets list|fetch|verify``."""

from __future__ import annotations

import sys

import click
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from harness.cli.common import console, fail, failing_on, out, plain, say


@click.group()
def datasets() -> None:
    """List, fetch and verify datasets."""


@datasets.command("list")
def datasets_list() -> None:
    """Known datasets and whether they are on this machine."""
    from harness.datasets import dataset_definitions, local_root

    table = Table("dataset", "aliases", "local", "licence", "description")
    seen = set()
    for definition in dataset_definitions().values():
        if definition.name in seen:
            continue
        seen.add(definition.name)
        root = local_root(definition)
        table.add_row(*plain(definition.name, ", ".join(definition.aliases), str(root) if root else "-",
                             definition.licence, definition.description))
    out.print(table)


@datasets.command("fetch")
@click.argument("names", nargs=-1, required=True)
def datasets_fetch(names: tuple[str, ...]) -> None:
    """Download datasets into the cache and check their sha256."""
    from rich.progress import DownloadColumn, TransferSpeedColumn

    from harness.datasets import DatasetError, fetch

    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  console=console) as progress:
        def factory(label: str, total: int | None):
            task = progress.add_task(label, total=total)
            return lambda n: progress.update(task, advance=n)

        for name in names:
            with failing_on(DatasetError):
                root = fetch(name, factory)
            say(f"{name}: {root}")


@datasets.command("verify")
@click.argument("names", nargs=-1, required=True)
def datasets_verify(names: tuple[str, ...]) -> None:
    """Check the sha256 of every file of local datasets against their definitions."""
    from harness.datasets import dataset_definitions, local_root, verify_files

    definitions = dataset_definitions()
    bad = 0
    for name in names:
        if name not in definitions:
            fail(f"{name}: unknown dataset")
        root = local_root(definitions[name])
        if root is None:
            say(f"{name}: not on this machine")
            bad += 1
            continue
        problems = verify_files(definitions[name], root, strict=True)
        for line in problems:
            say(line, colour="red")
        bad += bool(problems)
        if not problems:
            say(f"{name}: ok ({root})")
    sys.exit(1 if bad else 0)


COMMANDS = [datasets]
