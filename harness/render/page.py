"""The one HTML shell every page of the viewer and the study app is filled into."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

SHELL = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{head}<title>{title}</title>
{styles}</head>
<body{attrs}>
{body}{scripts}</body>
</html>
"""


@dataclass(frozen=True)
class Page:
    """A page: its title, the stylesheets and scripts it loads (in order), the attributes of its ``<body>``
    and any further head lines; its body is a file of HTML (:meth:`fill`)."""

    title: str
    styles: tuple[str, ...] = ()
    scripts: tuple[str, ...] = ()
    attrs: str = ""
    head: str = ""

    def fill(self, body: str) -> str:
        """The whole page around the HTML ``body``."""
        return SHELL.format(
            head=self.head,
            title=escape(self.title),
            styles="".join(f'<link rel="stylesheet" href="{escape(s)}">\n' for s in self.styles),
            attrs=f" {self.attrs}" if self.attrs else "",
            body=body,
            scripts="".join(f'<script src="{escape(s)}"></script>\n' for s in self.scripts),
        )
