"""The one registry pattern: classes registered by name from the modules of a package, loaded on first use.

Codecs and metrics each keep a :class:`Registry`; an adapter module decorates its class with the
registry's :meth:`Registry.register`, and may expose ``discover() -> Iterable[type]`` for classes defined
by data (the TOML command-line codecs) and ``find(name) -> type | None`` for classes too costly to list
(codecs named only inside published folders). Other packages plug in through an entry-point group
(``harness.codecs``, ``harness.metrics``): each entry point names a class, a module, or a function
returning classes, and is loaded with the package modules.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import pkgutil
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any, ClassVar, Generic, Protocol, TypeVar


class Named(Protocol):
    name: ClassVar[str]


T = TypeVar("T", bound=Named)


class Registry(Generic[T]):
    """Classes by ``cls.name``, filled by importing every module of the ``packages`` (except ``skip`` and
    names starting with ``_``) and the entry points of ``group`` the first time a name is asked for."""

    def __init__(self, kind: str, packages: str | tuple[str, ...], error: Callable[[str], Exception],
                 skip: Iterable[str] = (), group: str | None = None) -> None:
        self.kind = kind
        self.packages = (packages,) if isinstance(packages, str) else packages
        self.error = error
        self.skip = set(skip)
        self.group = group
        self._classes: dict[str, type[T]] = {}
        self._finders: list[Callable[[str], type[T] | None]] = []
        self._loaded = False

    def register(self, cls: type[T]) -> type[T]:
        """Class decorator: make ``cls`` available under ``cls.name``; two classes may not share a name."""
        existing = self._classes.get(cls.name)
        if existing is not None and existing is not cls:
            raise self.error(f"two {self.kind}s are named {cls.name!r}: {existing.__module__} and {cls.__module__}")
        self._classes[cls.name] = cls
        return cls

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for name in self.packages:
            package = importlib.import_module(name)
            for info in pkgutil.iter_modules(package.__path__):
                if info.name in self.skip or info.name.startswith("_"):
                    continue
                self._add_module(importlib.import_module(f"{name}.{info.name}"))
        if self.group:
            for entry in importlib.metadata.entry_points(group=self.group):
                self._add_plugin(entry)

    def _add_module(self, module: ModuleType) -> None:
        discover = getattr(module, "discover", None)
        if callable(discover):
            for cls in discover():
                self.register(cls)
        find = getattr(module, "find", None)
        if callable(find):
            self._finders.append(find)

    def _add_plugin(self, entry: importlib.metadata.EntryPoint) -> None:
        """An entry point of another package: a class (registered), a module (its decorators registered
        its classes; its ``discover``/``find`` are used), or a function returning classes."""
        where = f"entry point {entry.name} = {entry.value} ({self.group})"
        try:
            loaded: Any = entry.load()
        except (ImportError, AttributeError) as exc:  # a broken plug-in says which
            raise self.error(f"{where}: cannot be loaded: {type(exc).__name__}: {exc}") from None
        if isinstance(loaded, ModuleType):
            self._add_module(loaded)
            return
        classes = [loaded] if isinstance(loaded, type) else list(loaded()) if callable(loaded) else None
        if classes is None or not all(isinstance(c, type) and isinstance(getattr(c, "name", None), str)
                                      for c in classes):
            raise self.error(f"{where}: names neither a {self.kind} class, a module nor a function returning them")
        for cls in classes:
            self.register(cls)

    def names(self) -> list[str]:
        self._load()
        return sorted(self._classes)

    def classes(self) -> list[type[T]]:
        self._load()
        return [self._classes[name] for name in sorted(self._classes)]

    def get(self, name: str) -> type[T]:
        self._load()
        if name not in self._classes:
            for find in self._finders:
                found = find(name)
                if found is not None:
                    return self.register(found)
        try:
            return self._classes[name]
        except KeyError:
            raise self.error(f"unknown {self.kind} {name!r} (known: {', '.join(sorted(self._classes))})") from None


def parse_spec(spec: str, kind: str, error: Callable[[str], Exception]) -> tuple[str, dict[str, str]]:
    """A registry name with options: ``"vvc:preset=slow:threads=1"`` -> ``("vvc", {"preset": "slow",
    "threads": "1"})`` (codec strings, metric strings); ``error`` says which option is not key=value."""
    name, *parts = spec.strip().split(":")
    options: dict[str, str] = {}
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise error(f"{kind} string {spec!r}: option {part!r} is not key=value")
        options[key] = value
    return name, options
