"""Where published reconstructions are found: the environment, the TOML files, and the codecs they name."""

from __future__ import annotations

import importlib.resources
import os
import re
from dataclasses import dataclass
from pathlib import Path

from harness.codecs.base import ColourChain
from harness.core.toml import TomlReader

ENV_PICO = "HARNESS_PICO_DIR"
ENV_DIRS = "HARNESS_PUBLISHED_DIRS"
ENV_CONFIG = "HARNESS_PUBLISHED_CONFIG"
DEFAULT_CONFIG_DIR = Path(str(importlib.resources.files("harness.codecs") / "definitions" / "published"))

# A stated rate outside this range is a misread name (``DCVC_RT_287089bpp.png`` lost its "0."), not a rate.
MAX_PLAUSIBLE_BPP = 48.0


@dataclass(frozen=True)
class PublishedSpec:
    """A published codec: its harness name and the tokens that name it in viewers, files and manifests."""

    name: str
    tokens: tuple[str, ...]
    description: str
    colour: ColourChain


LEARNED_COLOUR = ColourChain("learned", "n/a", 8, "n/a")
UNKNOWN_COLOUR = ColourChain("unknown", "unknown", 8, "unknown")

# Codecs of the PICO paper's comparison viewer. The viewer's VVC and BPG are the authors' encodes, named
# ``-published`` so they never clash with (or pass for) our own ``vvc`` and ``hevc`` adapters.
BUILTIN: tuple[PublishedSpec, ...] = (
    PublishedSpec("pico", ("pico", "splash"),
                  "PICO (Apple): the authors' published reconstructions at their stated bpp", LEARNED_COLOUR),
    PublishedSpec("hific", ("hific",), "HiFiC: reconstructions published by the PICO authors", LEARNED_COLOUR),
    PublishedSpec("dcvc-rt", ("dcvc_rt", "dcvd_rt", "dcvc"),
                  "DCVC-RT (intra): reconstructions published by the PICO authors", LEARNED_COLOUR),
    PublishedSpec("vvc-published", ("vvc",),
                  "VVC as encoded and published by the PICO authors (their settings, not ours)", UNKNOWN_COLOUR),
    PublishedSpec("bpg-published", ("bpg",),
                  "BPG as encoded and published by the PICO authors", ColourChain("bt601", "full", 8, "420")),
)


def norm_token(token: str) -> str:
    return re.sub(r"[\s\-]+", "_", token.strip().lower())


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-") or "unnamed"



@dataclass(frozen=True)
class Source:
    path: Path
    default_codec: str | None = None  # codec of rate-bearing files whose name carries no codec token
    origin: str = ""  # which setting named this folder (for messages)


@dataclass(frozen=True)
class Config:
    sources: tuple[Source, ...]
    specs: tuple[PublishedSpec, ...]
    problems: tuple[str, ...] = ()
    # Stated rates corrected by the user: file name -> bpp (a ``[[rate]]`` table), for files whose name
    # misstates the rate (``DCVC_RT_287089bpp.png`` lost its "0.") or that no manifest lists.
    rates: tuple[tuple[str, float], ...] = ()


def _split_dirs(value: str) -> list[str]:
    return [part for part in value.split(os.pathsep) if part.strip()]


def add_folder(folder: Path) -> None:
    """Read published reconstructions from ``folder`` too (a dataset in the authors' layout), in this process
    and in the worker processes it starts, which inherit the environment."""
    current = _split_dirs(os.environ.get(ENV_DIRS, ""))
    path = str(Path(folder).resolve())
    if path not in current:
        os.environ[ENV_DIRS] = os.pathsep.join([*current, path])


def load_config(environ: dict[str, str] | None = None) -> Config:
    """Sources and codec specs from the environment and the TOML file. Never raises: a bad setting is
    a problem line that availability and ``harness published`` report."""
    env = os.environ if environ is None else environ
    sources: list[Source] = []
    problems: list[str] = []
    rates: dict[str, float] = {}
    specs = list(BUILTIN)
    for part in _split_dirs(env.get(ENV_PICO, "")):
        sources.append(Source(Path(part).expanduser(), "pico", ENV_PICO))
    for part in _split_dirs(env.get(ENV_DIRS, "")):
        codec, sep, folder = part.partition("=")
        if sep and codec and not os.path.exists(part):
            sources.append(Source(Path(folder).expanduser(), codec.strip(), ENV_DIRS))
        else:
            sources.append(Source(Path(part).expanduser(), None, ENV_DIRS))
    if env.get(ENV_CONFIG):
        config_files = [Path(env[ENV_CONFIG]).expanduser()]
        if not config_files[0].is_file():
            problems.append(f"{config_files[0]}: {ENV_CONFIG} names a file that does not exist")
            config_files = []
    else:
        config_files = sorted(DEFAULT_CONFIG_DIR.glob("*.toml")) if DEFAULT_CONFIG_DIR.is_dir() else []
    for config_path in config_files:
        r = TomlReader(config_path, ValueError)
        try:
            raw = r.read()
            r.check_keys(raw, {"codec", "source", "rate"})
            for table in r.tables(raw, "rate"):
                r.check_keys(table, {"file", "bpp"}, "rate.")
                bpp = float(r.get(table, "bpp", (int, float), "rate."))
                if not 0 < bpp <= MAX_PLAUSIBLE_BPP:
                    raise ValueError(f"{config_path}: [[rate]] bpp {bpp} is not a plausible rate")
                rates[Path(r.get(table, "file", str, "rate.")).name] = bpp
            for table in r.tables(raw, "codec"):
                r.check_keys(table, {"name", "tokens", "description"}, "codec.")
                name = r.get(table, "name", str, "codec.")
                if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*-published", name):
                    # The suffix keeps published data from ever passing for (or clashing with) an encoder.
                    problems.append(f"{config_path}: published codec name {name!r} must be lower-case and "
                                    "end in '-published'")
                    continue
                tokens = r.strings(table, "tokens", "codec.", ()) or (name,)
                specs.append(PublishedSpec(name, tuple(norm_token(t) for t in tokens),
                                           r.get(table, "description", str, "codec.", "published reconstructions"),
                                           UNKNOWN_COLOUR))
            for table in r.tables(raw, "source"):
                r.check_keys(table, {"path", "codec"}, "source.")
                where = Path(r.get(table, "path", str, "source.")).expanduser()
                if not where.is_absolute():
                    where = config_path.parent / where
                sources.append(Source(where, r.get(table, "codec", str, "source.", None), str(config_path)))
        except ValueError as exc:
            problems.append(str(exc))
    for source in sources:
        if not source.path.is_dir():
            problems.append(f"{source.path}: folder named by {source.origin} does not exist")
    return Config(tuple(sources), tuple(specs), tuple(problems), tuple(sorted(rates.items())))
