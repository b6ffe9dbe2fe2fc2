"""Registry of codec adapters.

Adding a codec is one module in this package that decorates its class with :func:`register`, or one
TOML definition in the project's top-level ``codecs/`` folder (see :mod:`harness.codecs.commandline`).
Modules may also expose ``discover() -> Iterable[type[Codec]]`` for codecs defined by data.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable

from harness.codecs.base import (
    Availability,
    Bitstream,
    Codec,
    CodecError,
    CodecUnavailable,
    ColourChain,
    Knob,
    Outcome,
)

__all__ = [
    "Availability",
    "Bitstream",
    "Codec",
    "CodecError",
    "CodecUnavailable",
    "ColourChain",
    "Knob",
    "Outcome",
    "register",
    "codec_names",
    "codec_class",
    "get_codec",
    "parse_codec_spec",
]

_REGISTRY: dict[str, type[Codec]] = {}
_loaded = False
_NOT_ADAPTERS = {"base"}


def register(cls: type[Codec]) -> type[Codec]:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    existing = _REGISTRY.get(cls.name)
    if existing is not None and existing is not cls:
        raise CodecError(f"two codecs are named {cls.name!r}: {existing.__module__} and {cls.__module__}")
    _REGISTRY[cls.name] = cls
    return cls


def _load_adapters() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for info in pkgutil.iter_modules(__path__):
        if info.name in _NOT_ADAPTERS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        discover = getattr(module, "discover", None)
        if callable(discover):
            for cls in discover():
                register(cls)


def codec_names() -> list[str]:
    _load_adapters()
    return sorted(_REGISTRY)


def codec_class(name: str) -> type[Codec]:
    _load_adapters()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise CodecError(f"unknown codec {name!r} (known: {', '.join(sorted(_REGISTRY))})") from None


def parse_codec_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``"vvc:preset=slow:threads=1"`` -> ``("vvc", {"preset": "slow", "threads": "1"})``."""
    name, *parts = spec.strip().split(":")
    options: dict[str, str] = {}
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise CodecError(f"codec string {spec!r}: option {part!r} is not key=value")
        options[key] = value
    return name, options


def get_codec(spec: str) -> Codec:
    name, options = parse_codec_spec(spec)
    return codec_class(name)(**options)


def all_codecs() -> Iterable[Codec]:
    for name in codec_names():
        yield codec_class(name)()
