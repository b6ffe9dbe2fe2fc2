"""File names of published reconstructions: the stated rate in a name, the codec tokens, image keys."""

from __future__ import annotations

import re
from collections.abc import Iterable

from harness.published.config import PublishedSpec, norm_token

_RATE_RE = re.compile(
    r"^(?P<head>.*?)(?:[_\-]rate(?P<rate>\d+))?[_\-](?P<bpp>\d*\.?\d+)(?P<unit>bpp|bbp)?[_\-]?$",
    re.IGNORECASE,
)


class Tokens:
    """Codec tokens, longest first, so ``DCVC_RT`` is read as dcvc-rt before ``dcvc`` is tried."""

    def __init__(self, specs: Iterable[PublishedSpec]) -> None:
        pairs: dict[str, str] = {}
        for spec in specs:
            pairs.setdefault(norm_token(spec.name), spec.name)
            for token in spec.tokens:
                pairs.setdefault(norm_token(token), spec.name)
        self.pairs = sorted(pairs.items(), key=lambda kv: -len(kv[0]))

    def codec_of(self, word: str) -> str | None:
        key = norm_token(word)
        for token, name in self.pairs:
            if key == token:
                return name
        return None

    def split(self, head: str) -> tuple[str | None, str]:
        """``"kodim04_Splash"`` -> ("pico", "kodim04"); ``"DCVC_RT"`` -> ("dcvc-rt", "")."""
        key = norm_token(head)
        for token, name in self.pairs:
            if key == token:
                return name, ""
            if key.endswith("_" + token):
                return name, head[: len(head) - len(token) - 1]
            if key.startswith(token + "_"):
                return name, head[len(token) + 1:]
        return None, head


def parse_rate_name(stem: str) -> tuple[str, str | None, str] | None:
    """``"Splash_rate20_0.173bpp"`` -> ("Splash", "rate20", "0.173"); None when the name states no rate."""
    match = _RATE_RE.match(stem)
    if not match or not match.group("head"):
        return None
    if not match.group("unit") and "." not in match.group("bpp"):
        return None  # "target_2xds", "photo_12": a number, not a rate
    rate = match.group("rate")
    return match.group("head"), (f"rate{rate}" if rate else None), match.group("bpp")


def image_key_matches(key: str, image_name: str) -> bool:
    """A publisher's name for an image matches a dataset image's name when they are equal or the key is
    the name with dataset tags prepended (``kodak_kodim04`` ~ ``kodim04``); case and folders ignored."""
    key = key.replace("\\", "/").rsplit("/", 1)[-1].lower()
    name = image_name.replace("\\", "/").rsplit("/", 1)[-1].lower()
    return key == name or key.endswith("_" + name)
