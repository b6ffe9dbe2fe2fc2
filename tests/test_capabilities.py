"""Declared capabilities (what a run may ask of a contender) and `harness codecs` showing every option with
its default and choices."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.codecs import CodecError, codec_class, codec_names, get_codec
from harness.codecs.base import Codec
from harness.codecs.selfcheck import checked
from harness.published import config as published
from tests.conftest import SHARED


def test_codecs_can_everything_published_data_nothing():
    classes = {name: codec_class(name) for name in codec_names()}
    for name, cls in classes.items():
        declared = (cls.can_encode, cls.rate_search, cls.keeps_bitstream)
        assert declared == ((True,) * 3 if issubclass(cls, Codec) else (False,) * 3), name
        assert cls.fixed_points == (not issubclass(cls, Codec)), name
    assert not classes["pico"].can_encode and classes["jpeg"].can_encode
    pico = get_codec("pico")
    with pytest.raises(CodecError, match="pico has no decoder"):
        pico.decode(b"\x00")
    assert pico.describe()["capabilities"] == {"can_encode": False, "rate_search": False,
                                               "keeps_bitstream": False, "fixed_points": True}


def test_codec_check_leaves_out_published_data(monkeypatch):
    """`harness codecs --check` encodes; configured published data (available, no default points) are not
    checked rather than reported as failed."""
    monkeypatch.setenv(published.ENV_PICO, str(SHARED / "datasets" / "ml-pico-scenes"))
    assert get_codec("pico").availability()
    assert "jpeg" in checked() and not {"pico", "hific", "dcvc-rt"} & set(checked())


def test_codecs_command_shows_options_with_defaults_and_choices():
    result = CliRunner().invoke(main, ["codecs"], env={"COLUMNS": "400"}, terminal_width=400)
    assert result.exit_code == 0, result.output
    lines: dict[str, str] = {}  # codec -> its row's text, continuation lines included
    codec = ""
    for line in (line for line in result.output.splitlines() if line.count("│") > 5):
        codec = line.split("│")[1].strip() or codec
        lines[codec] = lines.get(codec, "") + line
    assert "speed=2 (0..10)" in lines["avif"] and "yuv=420 (420, 444)" in lines["avif"]
    assert "preset=medium (faster, fast, medium, slow, slower)" in lines["vvc"]
    assert "arch=- [positional]" in lines["compressai"]
    # Text with brackets is shown as written, not taken for markup.
    assert "[[source]]" in result.output
