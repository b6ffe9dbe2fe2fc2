"""How fast the comparison site opens from file:// in Debian's Chromium: index load, comparison ready, size.

For a run's site (``harness view RUN`` first), and for a synthesised CLIC-size site made from it (``--clic``:
its data replicated to 428 images of ``--rows`` reconstructions each, every entry pointing at the run's
image files, so the data and the pages are CLIC-size while each comparison shows the run's pixels):

- index load: navigation start to the index page built (every image card and codec row in the page;
  thumbnails then load lazily as they scroll into view);
- comparison ready: navigation start to both sides' pixels decoded (body[data-ready], images complete),
  the RD chart drawn;
- size: bytes of pages + data (what the browser parses), and of the whole site folder.

    harness run --codecs jpeg,webp --dataset kodak --keep-reconstructions --results /tmp/r --run kodak
    harness view /tmp/r/kodak
    python benchmarks/viewer_load.py /tmp/r/kodak/viewer --clic /tmp/clic-site
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser import chromium


def _read(path: Path, variable: str) -> dict:
    text = path.read_text()
    return json.loads(text[text.index("= ", text.index(variable)) + 2:].rstrip().rstrip(";"))


def synthesise(site: Path, out: Path, images: int = 428, rows: int = 40) -> None:
    """A CLIC-size copy of ``site``'s pages and data: ``images`` images of ``rows`` rows each."""
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(site, out, ignore=shutil.ignore_patterns("data"), symlinks=True)
    index = _read(site / "data" / "index.js", "HARNESS_VIEWER_INDEX")
    pages = {}
    for entry in index["images"]:
        text = (site / "data" / "images" / f"{entry['slug']}.js").read_text()
        pages[entry["slug"]] = json.loads(text[text.index("] = ") + 4:].rstrip().rstrip(";"))
    sources = list(pages.values())
    (out / "data" / "images").mkdir(parents=True)
    entries = []
    for i in range(images):
        page = copy.deepcopy(sources[i % len(sources)])
        base = page["rows"]
        page["rows"] = [dict(base[j % len(base)], id=f"{j:04d}{base[j % len(base)]['id'][4:]}",
                             codec=f"{base[j % len(base)]['codec']}-{j // len(base)}") for j in range(rows)]
        slug = f"clic{i:04d}"
        page.update(image=slug, slug=slug)
        (out / "data" / "images" / f"{slug}.js").write_text(
            "window.HARNESS_VIEWER_PAGES = window.HARNESS_VIEWER_PAGES || {};\n"
            f"window.HARNESS_VIEWER_PAGES[{json.dumps(slug)}] = {json.dumps(page, separators=(',', ':'))};\n")
        entries.append({**index["images"][i % len(index["images"])], "image": slug, "slug": slug, "rows": rows,
                        "codecs": sorted({r["codec"] for r in page["rows"]})})
    codecs = sorted({c for e in entries for c in e["codecs"]})
    index.update(images=entries, codecs=[{"codec": c, "codec_name": None, "rate_source": None, "rows": images,
                                          "images": images, "bpp_min": None, "bpp_max": None} for c in codecs])
    (out / "data" / "index.js").write_text(f"window.HARNESS_VIEWER_INDEX = {json.dumps(index)};\n")


def measure(site: Path, repeats: int) -> dict[str, float]:
    index_ms, ready_ms = [], []
    image = _read(site / "data" / "index.js", "HARNESS_VIEWER_INDEX")["images"][-1]["image"]
    with chromium(1440, 900) as context:
        for _ in range(repeats):
            page = context.new_page()
            page.goto((site / "index.html").as_uri(), wait_until="commit")
            page.wait_for_function("() => performance.getEntriesByName('harness-index-ready').length > 0", polling=5)
            index_ms.append(page.evaluate("performance.getEntriesByName('harness-index-ready')[0].startTime"))
            page.close()
            page = context.new_page()
            page.goto((site / "view.html").as_uri() + f"#image={image}&mode=slider&zoom=1", wait_until="commit")
            page.wait_for_function(
                "() => document.body.dataset.ready && document.querySelector('#chart svg') && "
                "[...document.querySelectorAll('#compare .hc-img')].filter(i => i.style.display !== 'none')"
                ".every(i => i.complete && i.naturalWidth > 0)", polling=5)
            ready_ms.append(page.evaluate("performance.now()"))
            page.close()
    parsed = sum(p.stat().st_size for p in site.rglob("*") if p.is_file() and p.suffix in (".js", ".html", ".css"))
    total = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    return {"index_ms": statistics.median(index_ms), "ready_ms": statistics.median(ready_ms),
            "data_mb": parsed / 1e6, "site_mb": total / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, help="a site folder written by harness view")
    parser.add_argument("--clic", type=Path, help="also synthesise a CLIC-size site here and measure it")
    parser.add_argument("--rows", type=int, default=40, help="reconstructions per image of the CLIC-size site")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sites = [("run", args.site)]
    if args.clic:
        synthesise(args.site, args.clic, rows=args.rows)
        sites.append((f"CLIC-size (428 images x {args.rows} rows)", args.clic))
    print("| site | images | index load | comparison ready | pages + data | whole site |")
    print("|---|---|---|---|---|---|")
    for name, site in sites:
        images = len(_read(site / "data" / "index.js", "HARNESS_VIEWER_INDEX")["images"])
        m = measure(site, args.repeats)
        print(f"| {name} | {images} | {m['index_ms']:.0f} ms | {m['ready_ms']:.0f} ms | {m['data_mb']:.2f} MB | "
              f"{m['site_mb']:.1f} MB |")


if __name__ == "__main__":
    main()
