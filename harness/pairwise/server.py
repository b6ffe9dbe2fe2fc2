"""The study's web app: Starlette, served by uvicorn.

Why Starlette: it is small (routing, static files, JSON responses, nothing else), well kept (Encode, the
base of FastAPI), and served by uvicorn, a production ASGI server, so the same command works for one person
on a laptop and for a room of colleagues on a LAN.

Every rater request carries the rater's session token (``Authorization: Bearer``) and acts only on that
rater's trials. A vote is acknowledged only after its transaction committed to the very file the study was
opened on (checked after the commit): a removed or replaced database answers 503 and is logged; a database
locked by another process answers 503 with ``Retry-After`` after at most :data:`BUSY_SECONDS`. Request
bodies are capped at :data:`MAX_BODY` bytes, malformed JSON is a 400 in one line, and no answer echoes
what the client sent. The study is blind: stimuli are fetched from per-trial random URLs, re-encoded as
uncompressed PNG (equal dimensions, equal byte sizes) and never cached or tagged.
"""

from __future__ import annotations

import functools
import json
import math
import re
import sys
import threading
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from harness.core.images import encode_png, load_image
from harness.pairwise import sessions
from harness.pairwise.db import CHOICES, DEGRADED, ORIGINAL, DatabaseBusy, DatabaseGone, StudyDB, StudyError
from harness.pairwise.select import Selector
from harness.render.page import Page

MAX_BODY = 16 * 1024
BUSY_SECONDS = 1.5
TRIAL_PATTERN = re.compile(r"[0-9a-f]{32}")
NO_STORE = {"Cache-Control": "no-store"}
Handler = Callable[[Request], Awaitable[Response]]
_REFERRER = '<meta name="referrer" content="no-referrer">\n'
# The app's pages: their bodies are pages/NAME, the rest is the shell of harness.render.page.
PAGES = {
    "study.html": Page("Image comparison study", ("/viewer/compare.css", "/static/study.css"),
                       ("/viewer/display.js", "/viewer/compare.js", "/static/study.js"), head=_REFERRER),
    "organizer.html": Page("Study progress", ("/static/organizer.css",), ("/static/organizer.js",), head=_REFERRER),
}


class Refused(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def static_dir() -> Path:
    return Path(str(resources.files("harness.pairwise") / "static"))


def page_response(name: str) -> Response:
    """The page ``name``: its body from ``pages/`` in the shell of :mod:`harness.render.page`."""
    body = resources.files("harness.pairwise").joinpath("pages", name).read_text(encoding="utf-8")
    return HTMLResponse(PAGES[name].fill(body), headers=NO_STORE)


def viewer_static_dir() -> Path:
    """The viewer's comparison component (compare.js, compare.css), reused as is."""
    return Path(str(resources.files("harness.render.viewer") / "static"))


@functools.lru_cache(maxsize=12)  # a few trials of three images; big pictures are megabytes each
def uncompressed_png(path: str) -> bytes:
    """The stimulus as a PNG stored without compression: its size depends only on its dimensions."""
    return encode_png(load_image(path).pixels, compress_level=0)


async def read_json(request: Request) -> dict[str, Any]:
    """The request's JSON object, read no further than :data:`MAX_BODY` bytes."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        raise Refused(413, f"request body over {MAX_BODY} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise Refused(413, f"request body over {MAX_BODY} bytes")
    try:
        data = json.loads(bytes(body))
    except (ValueError, RecursionError):
        raise Refused(400, "malformed JSON") from None
    if not isinstance(data, dict):
        raise Refused(400, "expected a JSON object")
    return data


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        return None
    return float(value)


def make_app(db: StudyDB) -> Starlette:
    db = StudyDB(db.folder, busy_seconds=BUSY_SECONDS).check().guard()
    selector = Selector(db)
    settings = selector.settings
    lock = threading.Lock()  # one selection at a time, so simultaneous raters see each other's pending pairs
    images = {r["name"]: r for r in db.images()}
    stimuli = {(r["image"], r["condition"]): r["path"] for r in db.stimuli()}
    meta = db.meta()

    def path_of(image: str, name: str) -> Path:
        if name in (ORIGINAL, DEGRADED):
            return db.folder / images[image][name]
        return db.folder / stimuli[(image, name)]

    def token_of(request: Request) -> str:
        header = request.headers.get("authorization", "")
        return header[7:].strip() if header.lower().startswith("bearer ") else ""

    def rater_of(request: Request) -> str:
        row = sessions.rater_of(db, token_of(request))
        if row is None:
            raise Refused(401, "no valid session: open the invitation link you were given")
        return str(row["id"])

    def guarded(handler: Handler) -> Handler:
        """Every endpoint answers in one line and never echoes what the client sent."""

        @functools.wraps(handler)
        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except Refused as exc:
                return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)
            except DatabaseGone as exc:
                print(f"harness study: {exc}", file=sys.stderr, flush=True)
                return JSONResponse({"error": "the study database is unavailable; nothing was saved"},
                                    status_code=503)
            except DatabaseBusy:
                return JSONResponse({"error": "the study database is busy; try again"}, status_code=503,
                                    headers={"Retry-After": "1"})
        return run

    def index(request: Request) -> Response:
        return page_response("study.html")

    def organizer_page(request: Request) -> Response:
        return page_response("organizer.html")

    async def study_info(request: Request) -> Response:
        return JSONResponse({"name": meta.get("name", db.folder.name), "mode": settings.mode, "ties": settings.ties,
                             "flicker_ms": settings.flicker_ms, "trials": settings.trials_per_rater,
                             "pause_every": settings.pause_every, "enrolment": settings.enrolment})

    async def new_session(request: Request) -> Response:
        if settings.enrolment != "open":
            raise Refused(403, "this study is by invitation: open the link you were given")
        _, token = await run_in_threadpool(sessions.new_rater, db, "open")
        return JSONResponse({"token": token}, headers=NO_STORE)

    async def next_trial(request: Request) -> Response:
        def work() -> dict[str, Any]:
            rater = rater_of(request)
            with lock:
                trial = selector.next_trial(rater)
            votes, _ = db.rater_counts(rater)
            progress = {"votes": votes, "total": settings.trials_per_rater}
            if trial is None:
                with db.connect() as conn:
                    code = conn.execute("SELECT completion FROM raters WHERE id = ?", (rater,)).fetchone()[0]
                reason = "complete" if votes >= settings.trials_per_rater else "ended"
                return {"done": True, "reason": reason, "code": code, **progress}
            keys = trial.keys or {}
            image = images[trial.image]
            return {"trial": trial.id, "width": image["width"], "height": image["height"], **progress,
                    **{side: f"/stimulus/{trial.id}/{key}" for side, key in keys.items()}}

        return JSONResponse(await run_in_threadpool(work), headers=NO_STORE)

    async def vote(request: Request) -> Response:
        body = await read_json(request)
        trial_id, choice = body.get("trial"), body.get("choice")
        if not isinstance(trial_id, str) or not TRIAL_PATTERN.fullmatch(trial_id):
            raise Refused(400, "trial: expected a trial id")
        if choice not in CHOICES or (choice == "tie" and not settings.ties):
            raise Refused(400, "choice: expected 'a' or 'b'" + (" or 'tie'" if settings.ties else ""))
        seconds = _number(body.get("seconds"))  # a clock the browser got wrong is no viewing time

        def commit() -> int:
            rater = rater_of(request)
            try:
                db.cast(trial_id, str(choice), seconds, rater=rater, min_seconds=settings.min_seconds)
            except (DatabaseBusy, DatabaseGone):
                raise
            except StudyError as exc:
                raise Refused(409 if "vote already" in str(exc) else 404, str(exc)) from None
            return db.rater_counts(rater)[0]  # committed, and the file checked, when cast returned

        votes = await run_in_threadpool(commit)
        return JSONResponse({"ok": True, "votes": votes, "total": settings.trials_per_rater})

    async def setup(request: Request) -> Response:
        body = await read_json(request)
        fields = ("screen_width", "screen_height", "device_pixel_ratio", "zoom", "view_width", "view_height")
        values = {k: v for k in fields if (v := _number(body.get(k))) is not None and v < 1e5}

        def store() -> None:
            sessions.record_setup(db, rater_of(request), values)

        await run_in_threadpool(store)
        return JSONResponse({"ok": True})

    async def stimulus(request: Request) -> Response:
        def find() -> bytes:
            rater = rater_of(request)
            trial = db.trial(request.path_params["trial"][:64])
            if trial is None or trial["rater"] != rater or not trial["keys"]:
                raise Refused(404, "no such stimulus")
            sides = {key: side for side, key in json.loads(trial["keys"]).items()}
            side = sides.get(request.path_params["key"][:64])
            if side is None:
                raise Refused(404, "no such stimulus")
            name = ORIGINAL if side == "original" else trial[side]
            return uncompressed_png(str(path_of(trial["image"], name)))

        return Response(await run_in_threadpool(find), media_type="image/png", headers=NO_STORE)

    async def organizer(request: Request) -> Response:
        from harness.pairwise.organizer import progress

        if not sessions.organizer_ok(db.folder, token_of(request)):
            raise Refused(401, "organizer token required")
        return JSONResponse(await run_in_threadpool(progress, db, selector), headers=NO_STORE)

    routes = [
        Route("/", index),
        Route("/organizer", organizer_page),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        Route("/api/study", guarded(study_info)),
        Route("/api/session", guarded(new_session), methods=["POST"]),
        Route("/api/next", guarded(next_trial)),
        Route("/api/vote", guarded(vote), methods=["POST"]),
        Route("/api/setup", guarded(setup), methods=["POST"]),
        Route("/api/organizer", guarded(organizer)),
        Route("/stimulus/{trial}/{key}", guarded(stimulus)),
        Mount("/static", app=StaticFiles(directory=static_dir()), name="static"),
        Mount("/viewer", app=StaticFiles(directory=viewer_static_dir()), name="viewer"),
    ]
    return Starlette(routes=routes)
