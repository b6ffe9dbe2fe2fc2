"""The command line's plug-ins: a package installed beside harness adds commands and hooked options."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
KODIM23 = REPO.parent / "shared" / "datasets" / "kodak" / "kodim23.png"

PLUGIN = '''
import click

from harness.cli.common import console, fail
from harness.cli.plugin import Plugins


@click.command("hello")
@click.argument("name")
def hello(name):
    """Greets."""
    if name == "nobody":
        fail("nobody to greet [[source]]")
    console.print(f"hello {name}")


def also(specs, value):
    return [*specs, value]


def register(cli: Plugins) -> None:
    cli.add_command(hello)
    cli.add_option("run", click.Option(["--also"], default=None, help="One more codec string."), also)
'''


def _install(site: Path, entry: str) -> None:
    """A package as pip leaves it: the module and its dist-info with an entry point of harness.plugins."""
    info = site / "hello_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (site / "hello_plugin.py").write_text(PLUGIN)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: hello-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[harness.plugins]\nhello = {entry}\n")


def _cli(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(site)])}
    return subprocess.run([sys.executable, "-m", "harness.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def test_a_plugin_package_adds_a_command_and_an_option_with_its_hook(tmp_path):
    site = tmp_path / "site"
    _install(site, "hello_plugin:register")
    listed = _cli(site, "--help", cwd=tmp_path)
    assert listed.returncode == 0 and re.search(r"^\s+hello\s+Greets", listed.stdout, re.M), listed.stdout
    greeted = _cli(site, "hello", "world", cwd=tmp_path)
    assert (greeted.returncode, greeted.stderr.strip()) == (0, "hello world")
    refused = _cli(site, "hello", "nobody", cwd=tmp_path)
    assert (refused.returncode, refused.stderr.strip()) == (2, "error: nobody to greet [[source]]")
    # --also is an option of `run` now, and its hook adds a codec to the run.
    done = _cli(site, "run", "--codecs", "jpeg", "--also", "webp", "--points", "50", "--dataset", str(KODIM23),
                "--results", "r", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = pd.read_parquet(tmp_path / "r" / "kodim23" / "results.parquet")
    assert sorted(rows["codec"]) == ["jpeg", "webp"]


def test_a_broken_plugin_is_named_once_and_the_rest_works(tmp_path):
    site = tmp_path / "site"
    _install(site, "no_such_module:register")
    done = _cli(site, "--help", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stderr.count("plug-in hello (no_such_module:register) not loaded: ModuleNotFoundError") == 1
    assert re.search(r"^\s+run\s+Encode", done.stdout, re.M) and re.search(r"^\s+train\s", done.stdout, re.M)


def test_the_pico_claim_plugs_in_its_command_and_options(tmp_path):
    site = tmp_path / "empty"
    site.mkdir()
    assert "--summary" in _cli(site, "report", "--help", cwd=tmp_path).stdout
    assert "checkpoint to write" in _cli(site, "train", "--help", cwd=tmp_path).stdout.lower()
    # --pico-checkpoint reaches the codec string through its hook (the file does not exist: a failed row).
    done = _cli(site, "run", "--codecs", "pico-torch,jpeg", "--pico-checkpoint", str(tmp_path / "none.pt"), "--points",
                "50", "--dataset", str(KODIM23), "--results", "r", "--allow-unavailable", cwd=tmp_path)
    assert f"pico-torch:checkpoint={tmp_path / 'none.pt'} is unavailable" in done.stderr
    rows = pd.read_parquet(tmp_path / "r" / "kodim23" / "results.parquet")
    assert sorted(rows["codec"]) == ["jpeg", f"pico-torch:checkpoint={tmp_path / 'none.pt'}"]


def test_nothing_generic_imports_the_claims():
    pattern = re.compile(r"^\s*(from|import)\s+harness\.claims|import_module\(.harness\.claims", re.M)
    offenders = [str(p.relative_to(REPO)) for p in (REPO / "harness").rglob("*.py")
                 if "claims" not in p.relative_to(REPO / "harness").parts[:1] and pattern.search(p.read_text())]
    assert offenders == []
