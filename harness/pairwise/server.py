"""The study's web app: Starlette, served by uvicorn.

Why Starlette: it is small (routing, static files, JSON and file responses, nothing else), well kept
(Encode, the base of FastAPI), and served by uvicorn, a production ASGI server, so the same command works
for one person on a laptop and for a room of colleagues on a LAN. Its plain ``def`` endpoints run in a
thread pool; every request opens its own short SQLite connection, and each vote is one committed
transaction before the answer goes back.

The study is blind: the browser never learns which condition it shows. Images are fetched as
``/stimulus/TRIAL/a|b|original``, and the server maps the trial to the files.
"""

from __future__ import annotations

import math
import re
import secrets
import threading
from importlib import resources
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from harness.pairwise.db import DEGRADED, ORIGINAL, StudyDB, StudyError
from harness.pairwise.select import Selector

RATER_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,40}")


def static_dir() -> Path:
    return Path(str(resources.files("harness.pairwise") / "static"))


def viewer_static_dir() -> Path:
    """The viewer's comparison component (compare.js, compare.css), reused as is."""
    return Path(str(resources.files("harness.render.viewer") / "static"))


def make_app(db: StudyDB) -> Starlette:
    db.check()
    selector = Selector(db)
    lock = threading.Lock()  # one selection at a time, so simultaneous raters see each other's pending pairs
    images = {r["name"]: r for r in db.images()}
    stimuli = {(r["image"], r["condition"]): r["path"] for r in db.stimuli()}
    meta = db.meta()

    def path_of(image: str, name: str) -> Path:
        if name == ORIGINAL:
            return db.folder / images[image]["original"]
        if name == DEGRADED:
            return db.folder / images[image]["degraded"]
        return db.folder / stimuli[(image, name)]

    def index(request: Request) -> Response:
        return FileResponse(static_dir() / "study.html", headers={"Cache-Control": "no-store"})

    def study_info(request: Request) -> Response:
        return JSONResponse({"name": meta.get("name", db.folder.name), "images": len(images),
                             "conditions": len({c for _, c in stimuli})})

    def new_rater(request: Request) -> Response:
        return JSONResponse({"rater": "r-" + secrets.token_hex(4)})

    def next_trial(request: Request) -> Response:
        rater = request.query_params.get("rater", "")
        if not RATER_PATTERN.fullmatch(rater):
            return JSONResponse({"error": "rater id: 1-40 letters, digits, '-' or '_'"}, status_code=400)
        with lock:
            trial = selector.next_trial(rater)
        votes, _ = db.rater_counts(rater)
        image = images[trial.image]
        return JSONResponse({
            "trial": trial.id, "width": image["width"], "height": image["height"], "votes": votes,
            "a": f"/stimulus/{trial.id}/a", "b": f"/stimulus/{trial.id}/b",
            "original": f"/stimulus/{trial.id}/original",
        }, headers={"Cache-Control": "no-store"})

    async def vote(request: Request) -> Response:
        try:
            body = await request.json()
            trial_id, choice = str(body["trial"]), str(body["choice"])
            seconds = body.get("seconds")
            seconds = None if seconds is None else float(seconds)
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error": "expected JSON {trial, choice, seconds}"}, status_code=400)
        if seconds is not None and not (math.isfinite(seconds) and seconds >= 0):
            seconds = None  # a clock the browser got wrong is no response time

        def commit() -> int:
            cast = db.cast(trial_id, choice, seconds)  # committed when this returns
            return db.rater_counts(cast.rater)[0]

        try:
            votes = await run_in_threadpool(commit)
        except StudyError as exc:
            status = 409 if "has a vote already" in str(exc) else 400
            return JSONResponse({"error": str(exc)}, status_code=status)
        return JSONResponse({"ok": True, "votes": votes})

    def stimulus(request: Request) -> Response:
        trial = db.trial(request.path_params["trial"])
        side = request.path_params["side"]
        if trial is None or side not in ("a", "b", "original"):
            return JSONResponse({"error": "no such stimulus"}, status_code=404)
        name = ORIGINAL if side == "original" else trial[side]
        return FileResponse(path_of(trial["image"], name), media_type="image/png",
                            headers={"Cache-Control": "private, max-age=3600"})

    routes = [
        Route("/", index),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        Route("/api/study", study_info),
        Route("/api/rater", new_rater, methods=["POST"]),
        Route("/api/next", next_trial),
        Route("/api/vote", vote, methods=["POST"]),
        Route("/stimulus/{trial}/{side}", stimulus),
        Mount("/static", app=StaticFiles(directory=static_dir()), name="static"),
        Mount("/viewer", app=StaticFiles(directory=viewer_static_dir()), name="viewer"),
    ]
    return Starlette(routes=routes)
