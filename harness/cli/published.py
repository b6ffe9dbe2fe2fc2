"""``harness published``: what the configured published reconstructions hold, and what is unusable."""

from __future__ import annotations

import click
from rich.table import Table

from harness.cli.common import out, plain, say


@click.command("published")
@click.option("--details", is_flag=True, help="List every file: codec, image, stated rate, where it was stated, path.")
def published_command(details: bool) -> None:
    """Published reconstructions (PICO and the codecs of its viewer): per codec, how many files are usable,
    listed but missing, or of the wrong size; every file that could not be used, once, with why."""

    from harness.published.config import ENV_DIRS, ENV_PICO
    from harness.published.index import current_index, survey

    config, index = current_index()
    if not config.sources:
        say(f"no published reconstructions configured: set {ENV_PICO} or {ENV_DIRS}")
    for source in config.sources:
        say(f"source {source.path} (from {source.origin}"
            + (f", untagged files are {source.default_codec})" if source.default_codec else ")"))
    status = survey(index)
    table = Table("codec", "images", "usable", "missing", "wrong size")
    for codec, st in status.items():
        images = {e.image_key for e in st.usable + st.missing} | {e.image_key for e, _, _ in st.wrong_size}
        table.add_row(*plain(codec, str(len(images)), str(len(st.usable)), str(len(st.missing)) if st.missing else "",
                             str(len(st.wrong_size)) if st.wrong_size else ""))
    out.print(table)
    # Paths are printed whole (soft_wrap): a user has to find the file to fix it.
    for st in status.values():
        for entry in st.missing:
            say(f"{entry.codec} {entry.image_key} at {entry.stated} bpp: {entry.path} "
                f"(listed in {entry.listed_in or 'its name'})", "missing:", "red")
        for entry, got, want in st.wrong_size:
            say(f"{entry.path} is {got[0]}x{got[1]}, the original is {want[0]}x{want[1]}", "wrong size:", "red")
    problems = list(config.problems) + list(index.problems)
    problems += [f"{codec} {key}: {line}" for (codec, key), lines in sorted(index.conflicts.items()) for line in lines]
    for line in problems:
        say(line, "not used:")
    if details:
        for entry in index.entries:
            # Tab-separated and unstyled, for reading and for tools (cut, awk).
            click.echo(f"{entry.codec}\t{entry.image_key}\t{entry.stated} bpp\t{entry.layout}\t{entry.rate_label}"
                       f"\t{entry.path}")
    total = sum(len(st.usable) for st in status.values())
    say(f"{total} usable reconstructions, {sum(len(st.missing) for st in status.values())} missing, "
        f"{sum(len(st.wrong_size) for st in status.values())} of the wrong size, {len(problems)} not used"
        + ("" if details else " (--details lists every file)"))


COMMANDS = [published_command]
