"""Serving a comparison site on this machine, making each image file when it is first requested.

For a CLIC-size run (hundreds of 2-3 MP images, tens of reconstructions each) writing every file first
takes long; served, the site starts as soon as its pages and data are written, and opening an image's
page makes only the files that page shows (the two sides, then the original or a difference map when
asked for). Files made are kept in the site folder, so the next request, or a later static build, reuses
them. Binds 127.0.0.1 by default: the site is for the person at this machine.
"""

from __future__ import annotations

import threading
import urllib.parse
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from harness.render.viewer.assets import make_asset
from harness.render.viewer.site import SitePlan


class _Handler(SimpleHTTPRequestHandler):
    plan: SitePlan
    site: Path
    locks: dict[str, threading.Lock]
    guard: threading.Lock

    def do_GET(self) -> None:
        relative = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
        asset = self.plan.assets.get(relative)
        if asset is not None and not (self.site / relative).is_file():
            with self.guard:
                lock = self.locks.setdefault(relative, threading.Lock())
            with lock:
                try:
                    make_asset(asset, self.site)
                except Exception as exc:  # noqa: BLE001 - one file failed: say why, keep serving
                    self.send_error(500, f"{relative}: {type(exc).__name__}: {' '.join(str(exc).split())}")
                    return
        super().do_GET()

    def end_headers(self) -> None:
        # Page data change when the site is rebuilt; image files are named by content.
        if not self.path.startswith(("/img/", "/thumbs/")):
            self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def make_server(plan: SitePlan, site: Path, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """An HTTP server of the site folder ``site`` (port 0: any free port; see ``server_address``)."""
    handler = type("SiteHandler", (_Handler,), {"plan": plan, "site": Path(site), "locks": {},
                                                 "guard": threading.Lock()})
    server = ThreadingHTTPServer((host, port), partial(handler, directory=str(site)))
    server.daemon_threads = True
    return server
