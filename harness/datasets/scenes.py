"""The PICO authors' release as a dataset: a folder in the layout of their comparison viewer.

The layout (their repository's ``assets/``): ``bpp_data.json`` (scene -> codec key -> bpp) beside or above
``<scene>/<codec key>.png``, where ``<scene>/reference.png`` (or ``Target.png``, ``target_*.png``) is the
original. Recognised from the repository's root, ``assets/``, ``assets/scenes/`` or a folder holding the
scenes and the manifest. The scenes' references are the originals, named like the images they are
(``kodak_kodim04`` -> ``kodim04``); the reconstructions are read by the published contenders from
:attr:`ScenesTree.manifest_root`; scenes without a reference are listed as having no original.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "bpp_data.json"
REFERENCE_NAMES = ("reference.png", "target.png")
REFERENCE_PATTERN = re.compile(r"^(reference|target)(_.*)?\.png$", re.IGNORECASE)
DATASET_TAGS = ("kodak_", "clic_", "clic2020_")


@dataclass(frozen=True)
class Scene:
    name: str  # the scene folder's name (``kodak_kodim04``)
    image: str  # the original's name in the harness (``kodim04``)
    reference: Path | None


@dataclass(frozen=True)
class ScenesTree:
    manifest_root: Path  # the folder holding bpp_data.json
    scenes_dir: Path
    scenes: tuple[Scene, ...]

    @property
    def name(self) -> str:
        """The release's name: its clone's folder (``ml-pico``), not ``assets`` or ``scenes``."""
        root = self.manifest_root.resolve()
        return root.parent.name if root.name in ("assets", "scenes") and root.parent.name else root.name

    @property
    def without_original(self) -> list[str]:
        return [s.name for s in self.scenes if s.reference is None]


def image_name(scene: str) -> str:
    """The original's name for a scene: dataset tags the authors prepend are dropped (``kodak_kodim04``)."""
    lower = scene.lower()
    for tag in DATASET_TAGS:
        if lower.startswith(tag) and len(scene) > len(tag):
            return scene[len(tag):]
    return scene


def _reference(scene_dir: Path) -> Path | None:
    files = sorted(p for p in scene_dir.iterdir() if p.is_file() and REFERENCE_PATTERN.match(p.name))
    exact = [p for p in files if p.name.lower() in REFERENCE_NAMES]
    chosen = exact or files
    return chosen[0] if chosen else None


def _locate(folder: Path) -> tuple[Path, Path] | None:
    """(folder holding the manifest, folder holding the scenes), or None when ``folder`` is not such a tree."""
    for manifest_root in (folder, folder / "assets", folder.parent):
        if not (manifest_root / MANIFEST).is_file():
            continue
        for scenes_dir in (manifest_root / "scenes", folder, manifest_root):
            if scenes_dir.is_dir() and any(p.is_dir() and any(p.glob("*.png")) for p in scenes_dir.iterdir()):
                return manifest_root, scenes_dir
    return None


def recognise(folder: Path) -> ScenesTree | None:
    """The authors' tree at ``folder``, or None when the folder has another layout."""
    if not folder.is_dir():
        return None
    found = _locate(folder)
    if found is None:
        return None
    manifest_root, scenes_dir = found
    scenes = tuple(Scene(d.name, image_name(d.name), _reference(d))
                   for d in sorted(scenes_dir.iterdir()) if d.is_dir() and any(d.glob("*.png")))
    if not any(s.reference for s in scenes):
        return None
    return ScenesTree(manifest_root, scenes_dir, scenes)
