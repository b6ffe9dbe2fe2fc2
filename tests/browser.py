"""Headless Chromium for tests: Debian's ``chromium`` driven by playwright (never a downloaded browser)."""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync",
         # Screens are sRGB here: screenshots then hold the PNGs' stored values.
         "--force-color-profile=srgb"]


@contextmanager
def chromium(width: int = 1280, height: int = 760, dpr: float = 1, touch: bool = False) -> Iterator[Any]:
    """A browser context with a fresh profile, device pixel ratio ``dpr`` (screenshots are in device pixels);
    ``touch``: a touch screen (mobile emulation is left off: the layout is the page's own)."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    try:
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, args=FLAGS,
                viewport={"width": width, "height": height}, device_scale_factor=dpr, has_touch=touch)
            try:
                yield context
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(page: Any) -> np.ndarray:
    """The viewport as an RGB array."""
    return np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB"))


def settle(page) -> None:
    """Every shown image loaded, decoded (decoding is asynchronous) and painted."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('#compare .hc-img')].filter(i => i.style.display !== 'none')"
        ".every(i => i.complete && i.naturalWidth > 0)")
    page.evaluate("() => Promise.all([...document.querySelectorAll('#compare .hc-img')]"
                  ".filter(i => i.style.display !== 'none').map(i => i.decode().catch(() => null)))"
                  ".then(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))))")


def rect(page, selector: str) -> list[float]:
    return page.eval_on_selector(selector, "e => { const r = e.getBoundingClientRect();"
                                           " return [r.left, r.top, r.right, r.bottom]; }")
