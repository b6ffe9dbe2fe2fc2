#!/usr/bin/env python3
"""Write docker/requirements.lock: every package the harness needs, pinned at the version installed here.

Walks the installed distributions' requirements (environment markers evaluated, extras followed) from
pyproject.toml's dependencies and its `compressai` extra, plus the packages scripts/setup.sh installs with --no-deps, so the image
gets exactly the environment `scripts/setup.sh` made on this machine. Run: python3 docker/lock.py
"""

from __future__ import annotations

import importlib.metadata as md
import sys
import tomllib
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
# Beside pyproject's dependencies and its compressai extra: setuptools, the editable install's backend.
EXTRA_ROOTS = ["cvvdp", "compressai", "setuptools"]
NO_DEPS = {"cvvdp", "compressai"}  # installed --no-deps by scripts/setup.sh: their own pins are not followed


def roots() -> list[str]:
    """pyproject.toml's dependencies and its compressai extra (read from the file: the installed metadata of an
    editable install may be older), plus EXTRA_ROOTS."""
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["compressai"], *EXTRA_ROOTS]


def closure() -> dict[str, str]:
    pinned: dict[str, str] = {}
    todo: list[tuple[Requirement, bool, str]] = [
        (Requirement(r), Requirement(r).name not in NO_DEPS, "(root)") for r in roots()
    ]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        req, follow, parent = todo.pop()
        name = canonicalize_name(req.name)
        key = (name, frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = md.distribution(req.name)
        except md.PackageNotFoundError:
            print(f"not installed here, left out: {req} (required by {parent})", file=sys.stderr)
            continue
        pinned[name] = dist.version
        if not follow:
            continue
        for line in dist.requires or []:
            dep = Requirement(line)
            for extra in req.extras or {""}:
                env = {**default_environment(), "extra": extra}
                if dep.marker is None or dep.marker.evaluate(env):
                    todo.append((dep, canonicalize_name(dep.name) not in NO_DEPS, name))
                    break
    for name in NO_DEPS:
        pinned[name] = md.version(name)
    return pinned


def main() -> int:
    pinned = closure()
    lines = [f"{name}=={version}" for name, version in sorted(pinned.items())]
    header = (
        "# Written by docker/lock.py from the environment scripts/setup.sh made (Python 3.11, Debian 12).\n"
        "# The image installs exactly these, with --no-deps.\n"
    )
    out = Path(__file__).with_name("requirements.lock")
    out.write_text(header + "\n".join(lines) + "\n")
    print(f"{out}: {len(lines)} packages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
