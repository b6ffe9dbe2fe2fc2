"""The current answer to the PICO question, measured on the authors' published scenes and written into
``docs/pico.md`` (between its ``answer`` markers) by one command::

    TORCH_HOME=$PWD/../shared/weights/torch_home python3 -m harness.claims.pico.answer \
        --scenes ../shared/datasets/ml-pico-scenes [--image kodim04]

The scenes folder is read as the authors' release (:mod:`harness.datasets.scenes`): the references are the
originals, PICO and its published rivals the contenders; our encoders run at PICO's bpp per image and are then
searched until their curves bracket PICO's value of every metric (``--match pico``), so the section gives bits
at equal quality first and every metric at exactly PICO's rate after it. The run is
resumable (``--results``): a second call encodes nothing and recomputes only metrics that failed (e.g.
LPIPS without its weights: offline, point ``TORCH_HOME`` at a torch cache that has them); the docs section
is rewritten from its table.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

PUBLISHED = ("pico", "hific", "dcvc-rt", "vvc-published", "bpg-published")
OURS = ("vvc", "hevc", "avif", "jxl", "jpeg")
METRICS = ("psnr", "ms_ssim", "lpips", "dists")
START, END = "<!-- answer:start -->", "<!-- answer:end -->"


def run(scenes: Path, results: Path, codecs: Sequence[str] = (*PUBLISHED, *OURS),
        metrics: Sequence[str] = METRICS, jobs: int = 1, images: Sequence[str] = ()) -> Path:
    from harness.codecs import get_codec
    from harness.datasets import resolve_dataset
    from harness.published.config import add_folder
    from harness.run.executors import execute_local
    from harness.run.store import RunStore
    from harness.run.sweep import run_sweep

    dataset = resolve_dataset(str(scenes))  # the authors' tree: references are the originals
    if dataset.published_root is None:
        raise SystemExit(f"{scenes}: not a folder in the layout of the PICO authors' release (bpp_data.json)")
    add_folder(dataset.published_root)
    if images:  # a subset of the scenes, by their originals' names
        unknown = sorted(set(images) - {ref.name for ref in dataset.images})
        if unknown:
            raise SystemExit(f"{scenes}: no scene with an original named {', '.join(unknown)}")
        dataset = replace(dataset, images=tuple(ref for ref in dataset.images if ref.name in images))
    store = RunStore(results / "pico-scenes")
    run_sweep(store, dataset, [get_codec(c) for c in codecs], match="pico", metrics=tuple(metrics), n_jobs=jobs,
              executor=execute_local, argv=sys.argv, retry_failed=True)
    return store.run_dir


def answer_markdown(run_dir: Path) -> str:
    """The docs section: the verdict table and the rates, from the run's table."""
    from harness.analysis.equal_quality import equal_quality, headline_markdown
    from harness.analysis.selection import load_run, superseded_note
    from harness.claims.pico.report import equal_rate, verdict_table

    df = load_run(run_dir)
    result = equal_rate(df, "pico")
    versions = (df[df["status"] == "ok"].drop_duplicates("codec").set_index("codec")["codec_version"].astype(str))
    measured = (f"Measured {time.strftime('%Y-%m-%d')} on the {len(result.common)} shared scenes "
                f"({', '.join(result.common)}); metrics read at exactly PICO's bpp for our encoders.")
    quality = equal_quality(df, "pico", result.metrics)
    lines = [measured, "", headline_markdown(quality), "",
             "At PICO's own rate (each metric read at exactly PICO's bpp):", "",
             verdict_table(result), ""]
    counts = result.pairs.groupby("codec")["image"].nunique()
    if (counts != len(result.common)).any():
        lines += ["On each codec's own images (" + ", ".join(f"{c} {n}" for c, n in counts.items()) + "):", "",
                  verdict_table(result, result.full_summary), ""]
    lines += ["Rates (PICO's bpp; our encoders' nearest real encode; published gaps):", ""]
    p = result.pairs.sort_values(["image", "codec"])
    lines.append("| image | PICO bpp | codec | nearest encode / published bpp | how |")
    lines.append("|---|---|---|---|---|")
    for r in p.itertuples():
        lines.append(f"| {r.image} | {r.anchor_bpp:.4g} | {r.codec} | {r.nearest_bpp:.4g} ({r.nearest_gap:+.1%}) "
                     f"| {r.how} |")
    lines += ["", "Encoder builds: " + "; ".join(f"{c} {v}" for c, v in versions.items() if c in OURS) + "."]
    if (superseded := superseded_note(df)) is not None:
        lines += ["", superseded]
    return "\n".join(lines)


def rewrite_docs(doc: Path, section: str) -> None:
    text = doc.read_text()
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"{doc}: no {START} ... {END} section to rewrite")
    doc.write_text(pattern.sub(lambda _: f"{START}\n{section}\n{END}", text))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", type=Path, default=Path("../shared/datasets/ml-pico-scenes"))
    parser.add_argument("--results", type=Path, default=Path("results/pico-answer"))
    parser.add_argument("--docs", type=Path, default=Path("docs/pico.md"))
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--image", action="append", default=[],
                        help="Only this scene's original (e.g. kodim04); repeat for more. Default: every scene.")
    args = parser.parse_args(argv)
    run_dir = run(args.scenes, args.results, jobs=args.jobs, images=args.image)
    section = answer_markdown(run_dir)
    rewrite_docs(args.docs, section)
    print(section)


if __name__ == "__main__":
    main()
