"""``harness view``: the comparison site of a run, written or served."""

from __future__ import annotations

import sys

import click

from harness.cli.common import fail, out, say


@click.command("view")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Site folder (default: RUN/viewer).")
@click.option("--serve", is_flag=True,
              help="Serve the site on this machine; image files are made when first requested.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port for --serve (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address --serve binds.")
@click.option("--jobs", "-j", default=1, show_default=True, type=int, help="Worker processes making image files.")
@click.option("--detail-maps", is_flag=True,
              help="Also make every row's invented/lost-detail maps (seconds each; --serve makes them on request).")
def view_command(run_dir: str, out_dir: str | None, serve: bool, port: int, host: str, jobs: int,
                 detail_maps: bool) -> None:
    """A self-contained comparison site of a run's reconstructions (slider, flip, side by side, zoom,
    difference maps, every row's numbers), opened from file:// or served with --serve."""
    import time

    from harness.render.viewer import ViewerError, write_site

    started = time.perf_counter()
    try:
        result = write_site(run_dir, out_dir, jobs=jobs, lazy=serve, detail_maps=detail_maps)
    except ViewerError as exc:
        fail(str(exc))
    seconds = time.perf_counter() - started
    for line in result.errors:
        say(line, "not made:", "red")
    plan = result.plan
    rows = sum(len(page["rows"]) for page in plan.pages.values())
    say(f"{len(plan.pages)} images, {rows} reconstructions ({len(plan.not_shown)} rows not shown); "
        f"{result.files} files, {result.bytes / 1e6:.1f} MB in {seconds:.1f} s -> {result.out_dir}")
    if not serve:
        out.print((result.out_dir / "index.html").resolve().as_uri(), highlight=False)
        sys.exit(1 if result.errors else 0)
    from harness.render.viewer.server import make_server

    try:
        server = make_server(plan, result.out_dir, host=host, port=port)
    except OSError as exc:
        fail(f"cannot serve on {host}:{port}: {exc.strerror or exc}")
    bound_host, bound_port = str(server.server_address[0]), server.server_address[1]
    out.print(f"serving http://{bound_host}:{bound_port}/index.html (Ctrl-C stops)", highlight=False)
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


COMMANDS = [view_command]
