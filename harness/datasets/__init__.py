"""Datasets: named definitions in ``harness/datasets/definitions/``, or any folder/glob/file.

A definition (TOML) gives name, description, licence, homepage and either ``[[files]]`` (name, url,
sha256), ``[[archives]]`` (url, bytes, sha256; image members are extracted), ``package`` (files that
install with a Python package) or ``generator`` ("module:function" that writes the images itself).

Where a named dataset is looked for, in order: ``$HARNESS_DATA/<name>/`` (a folder you already have, used
without network), then the download cache (``$HARNESS_CACHE`` or the user cache dir). ``harness datasets
fetch NAME`` downloads into the cache with a progress bar and checks every sha256 it knows.
"""

from __future__ import annotations

import glob as globlib
import importlib
import importlib.resources
import importlib.util
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from harness.core.errors import one_line
from harness.core.hashing import sha256_file
from harness.core.images import SUPPORTED_SUFFIXES
from harness.core.toml import TomlReader
from harness.datasets import scenes
from harness.datasets.files import (
    MANIFEST,
    Archive,
    DatasetError,
    ImageRef,
    ProgressFactory,
    download,
    extract_archive,
    folder_images,
    is_image_file,
    replace_folder,
    skipped_line,
)


@dataclass(frozen=True)
class DatasetFile:
    name: str
    sha256: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class DatasetDefinition:
    name: str
    description: str = ""
    licence: str = ""
    homepage: str = ""
    aliases: tuple[str, ...] = ()
    files: tuple[DatasetFile, ...] = ()
    archives: tuple[Archive, ...] = ()
    package: str | None = None
    package_dir: str = ""
    generator: str | None = None
    # Keyword argument of the generator -> name of a dataset whose folder it receives (e.g. the originals).
    generator_inputs: dict[str, str] = field(default_factory=dict)
    source: Path | None = None

    @property
    def known_hashes(self) -> dict[str, str]:
        return {f.name: f.sha256 for f in self.files if f.sha256}


@dataclass(frozen=True)
class Dataset:
    name: str
    images: tuple[ImageRef, ...]
    root: Path | None = None
    definition: DatasetDefinition | None = field(default=None, compare=False)
    # What a folder held that is not an image of the dataset: kind of entry -> how many.
    skipped: dict[str, int] = field(default_factory=dict, compare=False)
    # A folder in the layout of the PICO authors' release: where its published reconstructions are.
    published_root: Path | None = field(default=None, compare=False)

    @property
    def skipped_line(self) -> str:
        """``"3 skipped: 1 .gif (not a supported still format), 1 dangling link, ..."``, or ""."""
        return skipped_line(self.skipped)


def definitions_dir() -> Path:
    override = os.environ.get("HARNESS_DATASETS_DIR")
    return Path(override) if override else Path(str(importlib.resources.files("harness.datasets") / "definitions"))


def cache_dir() -> Path:
    return Path(os.environ.get("HARNESS_CACHE", platformdirs.user_cache_dir("harness"))) / "datasets"


_DEFINITION_KEYS = {"name", "description", "licence", "homepage", "aliases", "files", "archives", "package",
                    "package_dir", "generator", "generator_inputs"}


def load_definition(path: Path) -> DatasetDefinition:
    """Read and check one dataset definition; :class:`DatasetError` (one line, names the file) otherwise."""
    r = TomlReader(path, DatasetError)
    raw = r.read()
    r.check_keys(raw, _DEFINITION_KEYS)
    try:
        definition = DatasetDefinition(
            name=r.get(raw, "name", str),
            description=r.get(raw, "description", str, default=""),
            licence=r.get(raw, "licence", str, default=""),
            homepage=r.get(raw, "homepage", str, default=""),
            aliases=r.strings(raw, "aliases", default=()) or (),
            files=tuple(DatasetFile(**f) for f in r.tables(raw, "files")),
            archives=tuple(Archive(**a) for a in r.tables(raw, "archives")),
            package=r.get(raw, "package", str, default=None),
            package_dir=r.get(raw, "package_dir", str, default=""),
            generator=r.get(raw, "generator", str, default=None),
            generator_inputs=dict(r.table(raw, "generator_inputs")),
            source=path,
        )
    except TypeError as exc:
        raise r.fail(f"unexpected key in a [[files]] or [[archives]] table ({exc})") from None
    _check_definition(definition, r)
    return definition


def _check_definition(definition: DatasetDefinition, r: TomlReader) -> None:
    """Definitions may come from any folder (``HARNESS_DATASETS_DIR``): nothing in one may write outside
    the dataset's folder or run code other than the harness's own."""
    for f in definition.files:
        parts = Path(f.name).parts
        if not f.name or Path(f.name).is_absolute() or ".." in parts or "\\" in f.name:
            raise r.fail(f"file name {f.name!r} must be a relative path inside the dataset's folder")
    if definition.generator is not None:
        module, _, function = definition.generator.partition(":")
        if not function or not (module == "harness" or module.startswith("harness.")):
            raise r.fail(f"generator {definition.generator!r}: only the harness's own generators "
                         "(harness.<module>:<function>) may run")
    if definition.package is not None and not definition.package.isidentifier():
        raise r.fail(f"package {definition.package!r} must be the name of an installed top-level package")
    if Path(definition.package_dir).is_absolute() or ".." in Path(definition.package_dir).parts:
        raise r.fail(f"package_dir {definition.package_dir!r} must be a relative path inside the package")


_WARNED: set[str] = set()


def dataset_definitions() -> dict[str, DatasetDefinition]:
    """Every definition by name and by alias. A definition that cannot be read is one warning naming its
    file (once per process), and the others still work."""
    found: dict[str, DatasetDefinition] = {}
    for path in sorted(definitions_dir().glob("*.toml")):
        try:
            definition = load_definition(path)
        except DatasetError as exc:
            if str(exc) not in _WARNED:
                _WARNED.add(str(exc))
                print(f"warning: dataset definition skipped: {exc}", file=sys.stderr, flush=True)
            continue
        for key in (definition.name, *definition.aliases):
            found[key] = definition
    return found


def _package_root(definition: DatasetDefinition) -> Path:
    # Located, not imported: a definition never makes the harness run a module's code.
    spec = importlib.util.find_spec(definition.package or "")
    if spec is None or not spec.submodule_search_locations:
        raise DatasetError(f"dataset {definition.name!r}: package {definition.package!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations))).resolve() / definition.package_dir


def local_root(definition: DatasetDefinition) -> Path | None:
    """Where a named dataset already is on this machine, or None."""
    if definition.package:
        return _package_root(definition)
    candidates = []
    if os.environ.get("HARNESS_DATA"):
        for key in (definition.name, *definition.aliases):
            candidates.append(Path(os.environ["HARNESS_DATA"]) / key)
    candidates.append(cache_dir() / definition.name)
    for candidate in candidates:
        if candidate.is_dir() and any(is_image_file(p) for p in candidate.rglob("*")):
            return candidate
    return None


def incomplete_extraction(definition: DatasetDefinition, root: Path) -> str | None:
    """Why the cache's copy of an archive dataset is not a complete extraction (its record, written last,
    is missing), or None. Copies in ``$HARNESS_DATA`` are the user's and are taken as they are."""
    if definition.archives and root == cache_dir() / definition.name and not (root / MANIFEST).is_file():
        return (f"{root}: dataset {definition.name!r} was not completely extracted (no record of its files, "
                f"{MANIFEST}): run `harness datasets fetch {definition.name}` to repair it")
    return None


def _images_of(definition: DatasetDefinition, root: Path) -> tuple[tuple[ImageRef, ...], dict[str, int]]:
    if definition.files and not definition.archives:
        refs = []
        for f in definition.files:
            path = root / f.name
            if not path.is_file():
                raise DatasetError(f"{path}: file of dataset {definition.name!r} is missing")
            refs.append(ImageRef(Path(f.name).stem, path))
        return tuple(refs), {}
    return folder_images(root)


def resolve_dataset(spec: str, verify: bool = True) -> Dataset:
    """A dataset by name (definition), or a folder, glob or single image file given as a path."""
    definitions = dataset_definitions()
    if spec in definitions:
        definition = definitions[spec]
        root = local_root(definition)
        if root is None and definition.generator:
            root = generate(definition)
        if root is None:
            raise DatasetError(
                f"dataset {definition.name!r} is not on this machine: run `harness datasets fetch "
                f"{definition.name}` or set HARNESS_DATA to a folder containing {definition.name}/"
            )
        incomplete = incomplete_extraction(definition, root)
        if incomplete:
            raise DatasetError(incomplete)
        if verify:
            problems = verify_files(definition, root)
            if problems:
                raise DatasetError(problems[0])
        images, skipped = _images_of(definition, root)
        return Dataset(definition.name, images, root, definition, skipped)
    path = Path(spec).expanduser()
    if path.is_dir() and (tree := scenes.recognise(path)) is not None:
        # The authors' release: each scene's reference is the original, its reconstructions the published
        # contenders (read from the manifest's folder); a scene without a reference has no original.
        refs = tuple(ImageRef(s.image, s.reference) for s in tree.scenes if s.reference is not None)
        missing = tree.without_original
        return Dataset(tree.name, refs, path, skipped={f"scene with no original ({', '.join(missing)})": len(missing)}
                       if missing else {}, published_root=tree.manifest_root)
    if path.is_dir():
        images, skipped = folder_images(path)
        if not images:
            also = f"; {skipped_line(skipped)}" if skipped else ""
            raise DatasetError(f"{path}: folder contains no image files ({', '.join(SUPPORTED_SUFFIXES)}){also}")
        return Dataset(path.name, images, path, skipped=skipped)
    if path.is_file():
        return Dataset(path.stem, (ImageRef(path.stem, path),), path.parent)
    matches = sorted(Path(p) for p in globlib.glob(spec, recursive=True) if is_image_file(Path(p)))
    if matches:
        names = [p.stem for p in matches]
        if len(set(names)) != len(names):
            raise DatasetError(f"{spec}: glob matches several images with the same name")
        return Dataset(Path(spec).parent.name or "glob", tuple(ImageRef(p.stem, p) for p in matches))
    known = ", ".join(sorted({d.name for d in definitions.values()}))
    raise DatasetError(f"{spec}: no such dataset, folder, file or matching glob (known datasets: {known})")


def verify_files(definition: DatasetDefinition, root: Path, strict: bool = False) -> list[str]:
    """One line per file whose sha256 differs from the definition's or from the hash recorded when its
    archive was extracted, and per such file that is absent. With ``strict`` (``datasets verify``), an
    archive dataset's folder without that record (a partial or hand-made copy) is a problem too: its
    completeness cannot be checked."""
    problems = []
    expected_files = dict(definition.known_hashes)
    complete_list = bool(definition.files) and not definition.archives
    if definition.archives:
        manifest = root / MANIFEST
        if manifest.is_file():
            try:
                recorded = json.loads(manifest.read_text())
            except (OSError, ValueError) as exc:
                return [f"{manifest}: unreadable record of extracted files ({one_line(exc)})"]
            expected_files = {**recorded, **expected_files}
            complete_list = True
        elif strict:
            problems.append(f"{root}: no record of the extracted files ({MANIFEST}); completeness cannot be "
                            f"checked: run `harness datasets fetch {definition.name}` into the cache to extract "
                            "and record them")
    for name, expected in sorted(expected_files.items()):
        path = root / name
        if not path.is_file():
            if complete_list:
                problems.append(f"{path}: missing")
            continue
        actual = sha256_file(path)
        if actual != expected:
            problems.append(f"{path}: sha256 {actual[:16]}... differs from the expected {expected[:16]}...")
    return problems


def fetch(name: str, progress: ProgressFactory | None = None) -> Path:
    """Download a named dataset into the cache (skipping files already there and correct)."""
    definitions = dataset_definitions()
    if name not in definitions:
        raise DatasetError(f"{name}: unknown dataset (known: {', '.join(sorted(definitions))})")
    definition = definitions[name]
    existing = local_root(definition)
    if existing is not None and not incomplete_extraction(definition, existing) and not verify_files(definition, existing):
        return existing
    if definition.package:
        raise DatasetError(f"dataset {name!r} installs with the Python package {definition.package!r}")
    if definition.generator:
        return generate(definition)
    root = cache_dir() / definition.name
    # Archives are extracted into a temporary folder put in place at the end: all or nothing.
    build = root.with_name(f".{root.name}.partial") if definition.archives else root
    if definition.archives:
        shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True, exist_ok=True)
    for archive in definition.archives:
        zip_path = cache_dir() / "archives" / Path(archive.url).name
        if not (zip_path.is_file() and sha256_file(zip_path) == archive.sha256):
            download(archive.url, zip_path, archive.sha256, progress)
        extract_archive(zip_path, archive, build)
    for f in definition.files:
        target = build / f.name
        if f.url and not (target.is_file() and (not f.sha256 or sha256_file(target) == f.sha256)):
            download(f.url, target, f.sha256, progress)
    problems = verify_files(definition, build)
    if problems:
        raise DatasetError(problems[0])
    if build != root:
        replace_folder(build, root)
    return root


def generate(definition: DatasetDefinition) -> Path:
    """Run a dataset's generator into the cache (once; the output is deterministic)."""
    root = cache_dir() / definition.name
    if root.is_dir() and any(is_image_file(p) for p in root.rglob("*")):
        return root
    module_name, _, function_name = (definition.generator or "").partition(":")
    function = getattr(importlib.import_module(module_name), function_name)
    inputs = {key: resolve_dataset(name).root for key, name in definition.generator_inputs.items()}
    tmp = root.with_name(root.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    function(tmp, **inputs)
    os.replace(tmp, root)
    return root
