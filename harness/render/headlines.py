"""What a report opens with when its run answers it (bits at equal quality, bits to reach a quality target),
and its section at a single-point anchor's own rates, as Markdown; HTML through markdown-it."""

from __future__ import annotations

from harness.analysis.comparison import Report
from harness.analysis.equal_quality import headline_markdown
from harness.analysis.equal_rate import EqualRate
from harness.analysis.transparency import transparency_markdown
from harness.render.verdicts import verdict_table


def headlines(report: Report) -> list[str]:
    """The opening sections (Markdown lines), or none."""
    parts = []
    if report.equal_quality is not None:
        parts += ["## Bits at equal quality", "", headline_markdown(report.equal_quality), ""]
    if report.targets_reached:
        parts += ["## Quality targets", "", transparency_markdown(report.targets_reached), ""]
    return parts


def equal_rate_markdown(anchor: str, er: EqualRate) -> str:
    """Every codec at a single-point anchor's own rates: how it is compared, and the verdict table."""
    return (f"{anchor} has one point per image: each codec is compared at {anchor}'s rate on the "
            f"{len(er.common)} image(s) all codecs share - on its own RD curve (interpolated) where it has one, "
            "else where it is, with its rate gap (the legend below the table explains its cells). "
            "`harness report --summary` gives the per-image details.\n\n" + verdict_table(er))


def markdown_html(text: str) -> str:
    import markdown_it

    return markdown_it.MarkdownIt().enable("table").render(text) if text.strip() else ""
