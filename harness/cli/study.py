"""``harness study``: pairwise preference studies with people (plan, serve, score, report, votes)."""

from __future__ import annotations

import click
from rich.table import Table

from harness.cli.common import failing_on, out, plain, say, split


@click.group()
def study() -> None:
    """Pairwise preference studies with people: plan, serve, score, report, import and export votes."""


def _study_db(run_dir: str, name: str):
    from harness.pairwise.db import StudyDB, StudyError, study_dir

    with failing_on(StudyError):
        return StudyDB(study_dir(run_dir, name)).check()


@study.command("create")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("name")
@click.option("--codecs", default=None, help="Comma-separated codec labels or names (default: every codec of the run).")
@click.option("--images", default=None, help="Comma-separated image names (default: every image).")
@click.option("--points", default=None, help="Comma-separated points to keep (knob values, or the bpp labels of "
                                            "rate-matched codecs), e.g. 30,50.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Study settings (docs/study.md): trials_per_rater=60, pause_every=20, min_seconds=0.8, "
                   "golden_first=4, golden_every=8, ties=0, mode=pair|flicker|triplet, flicker_ms=500, "
                   "stop_width=0, budget=0, enrolment=invite|open.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the burn-in design.")
def study_create(run_dir: str, name: str, codecs: str | None, images: str | None, points: str | None,
                 settings: tuple[str, ...], seed: int) -> None:
    """Plan a study NAME on RUN_DIR: conditions CODEC@POINT, lossless PNGs and the SQLite plan under
    RUN_DIR/studies/NAME/."""
    from harness.pairwise.db import StudyError
    from harness.pairwise.plan import create_study
    from harness.pairwise.report import condition_info
    from harness.pairwise.settings import Settings

    with failing_on(StudyError):
        db = create_study(run_dir, name, codecs=split(codecs) or None, images=split(images) or None,
                          points=split(points) or None, settings=Settings().with_text(list(settings)), seed=seed,
                          progress=lambda line: say(line))
    info = condition_info(db)
    table = Table("condition", "codec", "point", "mean bpp", "images", title=f"study {name}")
    for row in info.itertuples():
        table.add_row(*plain(row.condition, row.codec, row.point, f"{row.bpp:.4f}", str(row.images)))
    out.print(table)
    say(f"wrote {db.path}")


@study.command("serve")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("name")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (see docs/study.md before serving on a network interface).")
@click.option("--port", default=8765, show_default=True, type=int)
def study_serve(run_dir: str, name: str, host: str, port: int) -> None:
    """Serve the study in a browser: one blind comparison at a time, every vote committed as it is cast."""
    import uvicorn

    from harness.pairwise.server import make_app
    from harness.pairwise.sessions import organizer_token

    db = _study_db(run_dir, name)
    say(f"study {name}: http://{host}:{port}/  (Ctrl-C stops; votes are saved as they are cast)")
    say(f"organizer: http://{host}:{port}/organizer#{organizer_token(db)}")
    uvicorn.run(make_app(db), host=host, port=port, log_level="warning")


@study.command("invite")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("name")
@click.option("--n", "count", default=1, show_default=True, type=int, help="Raters to invite.")
@click.option("--url", default="http://127.0.0.1:8765", show_default=True, help="The address raters will open.")
def study_invite(run_dir: str, name: str, count: int, url: str) -> None:
    """Print one invitation link per rater (each carries its own session token) and the organizer's link."""
    from harness.pairwise.db import StudyError
    from harness.pairwise.sessions import invite, links, organizer_token

    db = _study_db(run_dir, name)
    with failing_on(StudyError):
        made = invite(db, count)
    for (rater, _), link in zip(made, links(url, made)):
        click.echo(f"{rater}\t{link}")
    say(f"organizer: {url.rstrip('/')}/organizer#{organizer_token(db)}")


@study.command("score")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("name")
@click.option("--bootstrap", default=1000, show_default=True, type=int, help="Bootstrap refits for the intervals.")
@click.option("--golden-threshold", default=0.8, show_default=True, type=float,
              help="Raters who answer fewer golden questions right than this share are dropped.")
@click.option("--resample", type=click.Choice(["both", "raters", "images"]), default="both", show_default=True,
              help="What the bootstrap resamples: raters and images, or one of them (see docs/study.md).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--keep-unscreened", is_flag=True, help="Count raters who met no golden question (imported votes "
                                                      "from a study that had none).")
def study_score(run_dir: str, name: str, bootstrap: int, golden_threshold: float, resample: str, seed: int,
                keep_unscreened: bool) -> None:
    """Bradley-Terry Elo per condition with 95% bootstrap intervals; writes RUN/studies/NAME/elo.csv."""
    from harness.pairwise.db import StudyError
    from harness.pairwise.report import score_study, write_elo_csv

    db = _study_db(run_dir, name)
    with failing_on(StudyError):
        scores, table = score_study(db, bootstrap=bootstrap, golden_threshold=golden_threshold, seed=seed,
                                    resample=resample, require_golden=not keep_unscreened)
    path = write_elo_csv(table, db.folder / "elo.csv")
    shown = Table("condition", "bpp", "Elo", "95% low", "95% high", "votes",
                  title=f"study {name}: {scores.votes_used} votes")
    for row in table.itertuples():
        shown.add_row(*plain(row.condition, f"{row.bpp:.4f}", *(f"{v:.0f}" if v == v else "" for v in
                                                                (row.elo, row.low, row.high)), str(row.votes)))
    out.print(shown)
    for line in scores.extra.get("degenerate", []):  # type: ignore[attr-defined]
        say(f"warning: {line}")
    for rater in scores.dropped_raters:
        r = scores.raters.set_index("rater").loc[rater]
        say(f"dropped rater {rater}: {r.golden_right} of {r.golden} golden questions right"
            + (" (met none)" if r.golden == 0 else ""))
    say(f"wrote {path}")


@study.command("report")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("name")
@click.option("--anchor", default=None, help="Codec the perceptual BD-rates are against (default: the codec with "
                                            "the most conditions, VVC on a tie).")
@click.option("--bootstrap", default=1000, show_default=True, type=int)
@click.option("--golden-threshold", default=0.8, show_default=True, type=float)
@click.option("--format", "formats", default="png,pdf", show_default=True, help="Figure formats: png, pdf, svg.")
@click.option("--resample", type=click.Choice(["both", "raters", "images"]), default="both", show_default=True,
              help="What the bootstrap resamples: raters and images, or one of them (see docs/study.md).")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--keep-unscreened", is_flag=True, help="Count raters who met no golden question.")
def study_report(run_dir: str, name: str, anchor: str | None, bootstrap: int, golden_threshold: float,
                 formats: str, resample: str, seed: int, keep_unscreened: bool) -> None:
    """Elo vs bpp plot, Elo table, perceptual BD-rate (Elo as quality) with bootstrap intervals, and each
    metric's Kendall tau against the human ranking; writes elo.csv, bd.csv and report.md."""
    from rich.markdown import Markdown

    from harness.pairwise.db import StudyError
    from harness.pairwise.report import report_study

    db = _study_db(run_dir, name)
    with failing_on(StudyError):
        rep = report_study(db, anchor=anchor, bootstrap=bootstrap, golden_threshold=golden_threshold, seed=seed,
                           resample=resample, formats=split(formats), require_golden=not keep_unscreened)
    out.print(Markdown(rep.files["report"].read_text()))
    for path in rep.files.values():
        say(f"wrote {path}")


def _votes_csv_command(command: str):
    """A ``study`` command taking RUN_DIR NAME VOTES_CSV."""

    def wrap(function):
        for decorator in (click.argument("votes_csv", type=click.Path(dir_okay=False)), click.argument("name"),
                          click.argument("run_dir", type=click.Path(exists=True, file_okay=False)),
                          study.command(command)):
            function = decorator(function)
        return function

    return wrap


@_votes_csv_command("import")
def study_import(run_dir: str, name: str, votes_csv: str) -> None:
    """Add votes from a CSV with columns rater,image,a,b,choice,seconds (choice: a, b or tie)."""
    from harness.pairwise.db import StudyError
    from harness.pairwise.exchange import import_votes

    db = _study_db(run_dir, name)
    with failing_on(StudyError):
        count = import_votes(votes_csv, db)
    say(f"imported {count} votes into {db.path}")


@_votes_csv_command("export")
def study_export(run_dir: str, name: str, votes_csv: str) -> None:
    """Write every vote to a CSV with columns rater,image,a,b,choice,seconds."""
    from harness.pairwise.exchange import export_votes

    count = export_votes(_study_db(run_dir, name), votes_csv)
    say(f"wrote {count} votes to {votes_csv}")


COMMANDS = [study]
