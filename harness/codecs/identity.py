"""A codec's identity, parsed once from its string: name, every option resolved, build, configuration digest."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from harness.core.hashing import sha256_bytes


def configuration_digest(options: Mapping[str, str], colour: Mapping[str, Any], arguments: Mapping[str, Any]) -> str:
    """The digest of what makes a codec's bits besides the image and the point: every option (defaults
    spelled out), the colour chain and the exact arguments its adapter gives encoder and decoder."""
    data = {"options": dict(options), "colour": dict(colour), "arguments": dict(arguments)}
    return sha256_bytes(json.dumps(data, sort_keys=True, default=str).encode())[:16]


@dataclass(frozen=True)
class CodecIdentity:
    """What jobs, rows and analyses pass around instead of a codec string. ``label`` names the codec in
    results: its name and the options that differ from their defaults, so ``avif`` and ``avif:speed=2``
    (the default spelled out) are one codec with one set of rows."""

    name: str
    options: tuple[tuple[str, str], ...]  # every option, defaults spelled out, sorted by name
    defaults: tuple[tuple[str, str], ...]  # the defaults the options were resolved against
    version: str
    digest: str  # :func:`configuration_digest`
    positional: str | None = None  # the option a bare first part of the string sets (compressai:ARCH)

    @property
    def explicit(self) -> dict[str, str]:
        """The options that differ from their defaults."""
        defaults = dict(self.defaults)
        return {k: v for k, v in self.options if defaults.get(k) != v}

    @property
    def label(self) -> str:
        explicit = self.explicit
        bare = self.positional
        head = [explicit[bare]] if bare and explicit.get(bare) else []
        rest = (f"{k}={v}" for k, v in sorted(explicit.items()) if not (k == bare and head))
        return ":".join([self.name, *head, *rest])

    def key_fields(self) -> dict[str, Any]:
        """What a job key hashes of the codec."""
        return {"name": self.name, "options": dict(self.options), "version": self.version, "config": self.digest}

    def options_json(self) -> str:
        return json.dumps(dict(self.options), sort_keys=True)

    def __str__(self) -> str:
        return self.label
