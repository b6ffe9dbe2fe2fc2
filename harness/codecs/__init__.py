"""Registry of codec adapters.

Adding a codec is one module in this package that decorates its class with :func:`register` (usually a
few lines over a family base of :mod:`harness.codecs.families`), or one TOML definition in
``harness/codecs/definitions`` (see :mod:`harness.codecs.commandline`). Modules may also expose
``discover() -> Iterable[type[Codec]]`` for codecs defined by data.
"""

from __future__ import annotations

from harness.codecs.base import Codec, Contender
from harness.codecs.identity import CodecIdentity
from harness.codecs.values import (
    Availability,
    Bitstream,
    CodecError,
    CodecUnavailable,
    ColourChain,
    Knob,
    NoOutput,
    Outcome,
)
from harness.core.registry import Registry, parse_spec

__all__ = [
    "Availability",
    "Bitstream",
    "Codec",
    "CodecError",
    "NoOutput",
    "CodecUnavailable",
    "ColourChain",
    "Contender",
    "Knob",
    "Outcome",
    "CodecIdentity",
    "codec_class",
    "codec_name_of",
    "codec_of",
    "label_of",
    "codec_names",
    "get_codec",
    "parse_codec_spec",
    "register",
]

# Published reconstructions (harness.published) register here too: `--codecs pico` names them like codecs.
# Other packages add codecs through the `harness.codecs` entry-point group.
_CODECS: Registry[Contender] = Registry("codec", (__name__, "harness.published"), CodecError,
                                        skip={"base", "families", "ffmpeg_family", "identity", "pillow_family", "values"}, group="harness.codecs")
register = _CODECS.register


def codec_names() -> list[str]:
    return _CODECS.names()


def codec_class(name: str) -> type[Contender]:
    return _CODECS.get(name)


def parse_codec_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``"vvc:preset=slow:threads=1"`` -> ``("vvc", {"preset": "slow", "threads": "1"})``; a codec with a
    positional option also takes a bare first part (``"compressai:mbt2018"`` -> ``{"arch": "mbt2018"}``)."""
    name, _, rest = spec.strip().partition(":")
    first, _, tail = rest.partition(":")
    positional = codec_class(name).positional_option if first and "=" not in first else None
    if positional:
        name, options = parse_spec(f"{name}:{tail}" if tail else name, "codec", CodecError)
        return name, {positional: first, **options}
    return parse_spec(spec, "codec", CodecError)


def codec_name_of(label: str) -> str:
    """The codec name a codec string or results label starts with, without making the codec (labels of
    codecs no longer registered still have one)."""
    return label.strip().partition(":")[0]


def label_of(spec: str) -> str:
    """The results label of codec string ``spec`` (``avif:speed=2`` is ``avif`` while 2 is avif's default);
    ``spec`` itself when it names no codec here."""
    try:
        return get_codec(spec).label
    except CodecError:
        return spec


def get_codec(spec: str) -> Contender:
    """The contender a codec string names; the one place codec strings are parsed (its
    :attr:`~Contender.identity` is what jobs, rows and analyses carry from there on)."""
    name, options = parse_codec_spec(spec)
    return codec_class(name)(**options)


def codec_of(identity: CodecIdentity) -> Contender:
    """The contender of a codec identity, made with every option the identity resolved (a worker builds
    exactly what the plan keyed, without parsing a string)."""
    return codec_class(identity.name)(**dict(identity.options))
