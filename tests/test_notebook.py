"""notebooks/figures.ipynb runs clean on a real small run, in a real Jupyter kernel (nbclient)."""

from __future__ import annotations

import os

import nbformat
import pytest
from nbclient import NotebookClient

from harness.analysis import selection
from tests.conftest import REPO
from tests.runs import make_run

NOTEBOOK = REPO / "notebooks" / "figures.ipynb"


@pytest.mark.slow
def test_figures_notebook_executes_on_a_real_run(tmp_path, monkeypatch):
    run_dir = make_run(tmp_path, codecs=("jpeg", "jpeg-444"))
    figures = tmp_path / "figures"
    monkeypatch.setenv("HARNESS_RUN", str(run_dir))
    monkeypatch.setenv("HARNESS_ANCHOR", "jpeg")
    monkeypatch.setenv("HARNESS_FIGURES", str(figures))
    # The kernel must import this checkout's harness even where it is not installed.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", allow_errors=False,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    images = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    # Two RD figures per metric column (mean, per image), BD-rate bars, time vs BD-rate.
    metrics = len(selection.metric_columns(selection.load_run(run_dir)))
    assert metrics >= 1 and len(images) == 2 * metrics + 2
    for stem in ("rd_psnr_rgb", "rd_psnr_rgb_per_image", "bdrate", "time_vs_bdrate_psnr_rgb"):
        assert (figures / f"{stem}.png").stat().st_size > 2000 and (figures / f"{stem}.pdf").exists()
    assert "jpeg-444" in (run_dir / "report" / "report.md").read_text()
    assert (run_dir / "report" / "report.html").exists()
