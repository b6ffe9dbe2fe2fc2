"""Static checks as tests, so the README's one test command covers them: `ruff check` over the checkout and
`mypy harness`, both configured in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def _check(args: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=600,
                          check=False)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-6000:]}{done.stderr[-2000:]}"


def test_ruff_check_passes() -> None:
    _check(["ruff", "check", "."])


def test_mypy_passes() -> None:
    _check(["mypy", "harness"])
