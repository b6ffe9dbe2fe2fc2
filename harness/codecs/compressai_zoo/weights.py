"""Pretrained CompressAI weights: the published file, downloaded once into the cache and checked.

CompressAI publishes its zoo as ``<root>/<name>-<hash>.pth.tar``, where ``<hash>`` is the first hex digits
of the file's SHA-256 (torch.hub's convention). :func:`zoo_weights` finds the file in the cache
(``$HARNESS_CACHE/compressai`` or the user cache dir), downloads it on first use from CompressAI's server
(or from ``$HARNESS_COMPRESSAI_URL``, a mirror with the same file names), and accepts it only when its
SHA-256 starts with the published digits. Offline, a missing file is named in one line with the folder to
put it in.
"""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.request
from pathlib import Path

import platformdirs

from harness.core.hashing import sha256_file

PUBLISHED_ROOT = "https://compressai.s3.amazonaws.com/models/v1"
_HASHED_NAME = re.compile(r"-([0-9a-f]{8,64})\.[\w.]+$")


class WeightsError(RuntimeError):
    """A weight file is missing, unreachable or not the published one; str() is one line."""


def cache_dir() -> Path:
    root = os.environ.get("HARNESS_CACHE") or platformdirs.user_cache_dir("harness")
    return Path(root) / "compressai"


def published_hash(file_name: str) -> str:
    """The SHA-256 prefix a published file name carries (``...-7eb97409.pth.tar`` -> ``7eb97409``)."""
    match = _HASHED_NAME.search(file_name)
    if not match:
        raise WeightsError(f"{file_name}: the file name carries no published hash")
    return match.group(1)


def fetch(url: str, expected_prefix: str, folder: Path, timeout: float = 60.0) -> Path:
    """The file ``url`` names, in ``folder``: downloaded when absent, kept only if its SHA-256 starts with
    ``expected_prefix``."""
    name = url.rsplit("/", 1)[-1]
    target = folder / name
    if target.is_file():
        if sha256_file(target).startswith(expected_prefix):
            return target
        raise WeightsError(f"{target}: SHA-256 does not start with the published {expected_prefix}; "
                           f"delete it to download it again")
    folder.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, partial.open("wb") as out:
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        partial.unlink(missing_ok=True)
        reason = getattr(exc, "reason", None) or exc
        raise WeightsError(f"weights {name} are not in {folder} and cannot be downloaded from {url} "
                           f"({' '.join(str(reason).split())}); put the file there") from None
    actual = sha256_file(partial)
    if not actual.startswith(expected_prefix):
        partial.unlink(missing_ok=True)
        raise WeightsError(f"{url}: downloaded file has SHA-256 {actual[:16]}..., not the published "
                           f"{expected_prefix}; not kept")
    os.replace(partial, target)
    return target


def zoo_weights(published_url: str) -> Path:
    """The cached, checked file of one zoo model (``published_url`` from CompressAI's table)."""
    name = published_url.rsplit("/", 1)[-1]
    base = os.environ.get("HARNESS_COMPRESSAI_URL", "").rstrip("/")
    url = f"{base}/{name}" if base else published_url
    return fetch(url, published_hash(name), cache_dir())
