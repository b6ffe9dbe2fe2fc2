"""The `harness` command line (click): one module per command group; plug-ins add the rest (plugin.py)."""

from harness.cli.app import main

__all__ = ["main"]
