"""Command-line codec definitions: the real ffmpeg-backed definition end to end, path safety, availability
reasons, one-line errors for malformed definitions, and the shipped reference-software definitions."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

from harness.codecs import CodecError, get_codec
from harness.codecs.commandline import CommandLineCodec, codec_class, discover
from harness.codecs.definition import DefinitionError, codecs_dirs, definition_files, load_definition, render
from tests.conftest import REPO, codec_or_skip, kodak_crop

CODECS = REPO / "harness" / "codecs" / "definitions"


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0**2 / mse))


def _ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


MINIMAL = """
name = "{name}"
[knob]
name = "qp"
low = 0
high = 63
quality_rises = false
default_points = [32]
[colour]
matrix = "bt709"
range = "full"
bit_depth = 10
subsampling = "420"
[programs]
{programs}
[encode]
command = ["{{encoder}}", "{{input}}", "{{bitstream}}"]
[decode]
command = ["{{encoder}}", "{{bitstream}}", "{{output}}"]
{extra}
"""


def minimal(name: str = "toy", programs: str = 'encoder = { names = ["toy-enc"] }', extra: str = "") -> str:
    return MINIMAL.format(name=name, programs=programs, extra=extra)


# --- the ffmpeg-backed definition, for real -----------------------------------------------------------

def test_vvenc_yuv_codes_a_kodak_crop() -> None:
    codec = get_codec("vvenc-yuv")
    assert codec.availability(), codec.availability().reason
    assert codec.version().startswith("ffmpeg ")
    image = kodak_crop(height=96, width=128)
    hi, lo = codec.compress(image, 22), codec.compress(image, 42)
    for outcome in (hi, lo):
        assert outcome.reconstruction.shape == image.pixels.shape
        assert outcome.bpp == outcome.file_bytes * 8 / (96 * 128)
    # Measured: QP 22 -> 0.61 bpp, 41.6 dB; QP 42 -> ~0.1 bpp, ~33 dB (the colour round trip alone is 51.6 dB).
    assert 38 < psnr(hi.reconstruction, image.pixels) < 46
    assert 28 < psnr(lo.reconstruction, image.pixels) < psnr(hi.reconstruction, image.pixels)
    assert 0.3 < hi.bpp < 1.2 and 0.03 < lo.bpp < hi.bpp
    assert hi.params["qp"] == 22 and hi.params["preset"] == "fast"
    assert hi.params["encode_command"][-1] == "{bitstream}"  # temp paths are not recorded
    # The bitstream is a real VVC stream: Annex-B start code.
    stream = codec.encode(image.pixels, 32).data
    assert stream[:3] == b"\0\0\1" or stream[:4] == b"\0\0\0\1"


def test_pipeline_matches_ffmpegs_own_decode() -> None:
    # The decoded YUV file is read back correctly: decoding the same stream with ffmpeg straight to RGB
    # (its own YUV->RGB, a different implementation) lands within conversion differences of ours.
    import subprocess

    codec = get_codec("vvenc-yuv")
    image = kodak_crop(height=64, width=96)
    stream = codec.encode(image.pixels, 27).data
    ours = codec.decode(stream, (64, 96))
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "s.266"
        src.write_bytes(stream)
        out = subprocess.run([_ffmpeg(), "-v", "error", "-i", str(src), "-vf",
                              "scale=in_range=full:in_color_matrix=bt709:flags=accurate_rnd+full_chroma_int",
                              "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    theirs = np.frombuffer(out, np.uint8).reshape(64, 96, 3)
    assert psnr(ours, theirs) > 38


def test_paths_with_spaces_and_quotes(tmp_path, monkeypatch) -> None:
    odd = tmp_path / "it's a \"dir\" with spaces; $(echo no) `x`"
    odd.mkdir()
    ffmpeg = odd / "ff mpeg's"
    shutil.copy(_ffmpeg(), ffmpeg)
    temp = tmp_path / "tmp 'quoted' \"too\""
    temp.mkdir()
    monkeypatch.setenv("HARNESS_FFMPEG", str(ffmpeg))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    codec = get_codec("vvenc-yuv")
    assert codec.availability()
    image = kodak_crop(height=64, width=96)
    outcome = codec.compress(image, 32)
    assert psnr(outcome.reconstruction, image.pixels) > 30
    assert outcome.params["encode_command"][0] == "ff mpeg's"
    assert not list(temp.iterdir())  # temp folders are cleaned up


def test_encoder_failure_is_one_line_with_the_status() -> None:
    codec = get_codec("vvenc-yuv:preset=nonsense")
    with pytest.raises(CodecError) as err:
        codec.encode(kodak_crop(height=64, width=96).pixels, 32)
    message = str(err.value)
    assert message.startswith("vvenc-yuv encoder exited with status") and "\n" not in message


def test_corrupt_or_foreign_streams_fail() -> None:
    codec = get_codec("vvenc-yuv")
    pixels = kodak_crop(height=64, width=96).pixels
    stream = codec.encode(pixels, 32).data
    with pytest.raises(CodecError, match="no picture size"):
        get_codec("vvenc-yuv").decode(stream)  # raw YUV carries no picture size: the caller must give it
    # Decoding depends on nothing an encode left behind: another instance, given the size, decodes the same.
    assert np.array_equal(get_codec("vvenc-yuv").decode(stream, (64, 96)), codec.decode(stream, (64, 96)))
    assert psnr(codec.decode(stream, (64, 96)), pixels) > 30
    truncated = stream[: len(stream) // 2]
    with pytest.raises(CodecError):
        codec.decode(truncated, (64, 96))


# --- availability ---------------------------------------------------------------------------------

def test_missing_program_is_unavailable_with_the_reason(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("HARNESS_TOY_DIR", raising=False)
    defn = load_definition(_write(tmp_path, "toy.toml", minimal(
        programs='encoder = { names = ["no-such-encoder-xyz"], env = "HARNESS_TOY_DIR" }')))
    ok = codec_class(defn)().availability()
    assert not ok and ok.reason == "no-such-encoder-xyz not found on PATH and $HARNESS_TOY_DIR is not set"
    empty = tmp_path / "empty build"
    empty.mkdir()
    monkeypatch.setenv("HARNESS_TOY_DIR", str(empty))
    ok = codec_class(defn)().availability()
    assert not ok and f"not found in $HARNESS_TOY_DIR={empty}" in ok.reason
    with pytest.raises(CodecError, match="no-such-encoder-xyz"):
        codec_class(defn)().encode(np.zeros((32, 32, 3), np.uint8), 32)


def test_env_folder_search_finds_cmake_layouts_and_data_files(tmp_path, monkeypatch) -> None:
    # VTM/ECM CMake builds put programs in bin/umake/<compiler>/<arch>/release/; cfg/ sits in the checkout.
    checkout = tmp_path / "VVCSoftware VTM"
    release = checkout / "bin" / "umake" / "gcc-12.2" / "x86_64" / "release"
    release.mkdir(parents=True)
    (checkout / "cfg").mkdir()
    (checkout / "cfg" / "enc.cfg").write_text("QP : 32\n")
    for name in ("toy-enc",):
        (release / name).write_text("#!/bin/sh\necho 'Toy Encoder Version 1.2'\n")
        (release / name).chmod(0o755)
    text = minimal(programs='encoder = { names = ["toy-enc"], env = "TOY_DIR" }',
                   extra='[files]\ncfg = { path = "cfg/enc.cfg", env = "TOY_DIR" }\n'
                         '[[version]]\nlabel = "Toy"\ncommand = ["{encoder}"]\npattern = "Version (\\\\S+)"\n'
                         'required = true\n')
    text = text.replace('command = ["{encoder}", "{input}", "{bitstream}"]',
                        'command = ["{encoder}", "-c", "{cfg}", "{input}", "{bitstream}"]')
    defn = load_definition(_write(tmp_path, "toy.toml", text))
    monkeypatch.setenv("TOY_DIR", str(checkout))
    codec = codec_class(defn)()
    assert codec.availability(), codec.availability().reason
    assert codec.version().startswith("Toy 1.2 [toy.toml ")
    # Without the variable, the cfg is still found upwards from a program found on PATH.
    monkeypatch.delenv("TOY_DIR")
    monkeypatch.setenv("PATH", f"{release}{os.pathsep}{os.environ['PATH']}")
    assert codec_class(defn)().availability()


def test_env_naming_an_executable_finds_its_sibling_and_the_checkout(tmp_path, monkeypatch) -> None:
    # $HARNESS_VTM_DIR set to the EncoderApp binary instead of the checkout: DecoderApp beside it and cfg/
    # upwards from it are found, rather than failing later on a missing cfg.
    checkout = tmp_path / "vtm"
    release = checkout / "bin" / "umake" / "gcc-12.2" / "x86_64" / "release"
    release.mkdir(parents=True)
    (checkout / "cfg").mkdir()
    (checkout / "cfg" / "enc.cfg").write_text("QP : 32\n")
    for name in ("toy-enc", "toy-dec"):
        (release / name).write_text("#!/bin/sh\necho 'Toy Version 1.2'\n")
        (release / name).chmod(0o755)
    text = minimal(programs='encoder = { names = ["toy-enc"], env = "TOY_DIR" }\n'
                            'decoder = { names = ["toy-dec"], env = "TOY_DIR" }',
                   extra='[files]\ncfg = { path = "cfg/enc.cfg", env = "TOY_DIR" }\n')
    text = text.replace('command = ["{encoder}", "{bitstream}", "{output}"]',
                        'command = ["{decoder}", "-c", "{cfg}", "{bitstream}", "{output}"]')
    codec = codec_class(load_definition(_write(tmp_path, "toy.toml", text)))()
    monkeypatch.setenv("TOY_DIR", str(release / "toy-enc"))
    programs, files = codec._resolve()
    assert programs == {"encoder": release / "toy-enc", "decoder": release / "toy-dec"}
    assert files == {"cfg": checkout / "cfg" / "enc.cfg"}
    (release / "toy-dec").unlink()
    ok = codec_class(codec.definition)().availability()
    assert not ok and ok.reason == f"toy-dec not found beside $TOY_DIR={release / 'toy-enc'}"


LOSSLESS = """
name = "{name}"
format = "yuv"
size_multiple = 2
[knob]
name = "level"
low = 0
high = 1
quality_rises = true
default_points = [1]
[colour]
matrix = "bt709"
range = "full"
bit_depth = 10
subsampling = "420"
[programs]
ffmpeg = {{ names = ["ffmpeg"], provider = "imageio_ffmpeg:get_ffmpeg_exe" }}
[encode]
command = ["{{ffmpeg}}", "-hide_banner", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p10le",
           "-video_size", "{{width}}x{{height}}", "-i", "{{input}}",
           "-map", "0", "-c:v", "ffv1", "-f", "nut", "-y", "{{bitstream}}",
           "-map", "0", {recon_filter}"-f", "rawvideo", "-pix_fmt", "yuv420p10le", "-y", "{{reconstruction}}"]
[decode]
command = ["{{ffmpeg}}", "-hide_banner", "-loglevel", "error", "-i", "{{bitstream}}",
           "-f", "rawvideo", "-pix_fmt", "yuv420p10le", "-y", "{{output}}"]
"""


def test_encoder_reconstruction_must_equal_the_decoders_output(tmp_path) -> None:
    # FFV1 is lossless, so the input is the encoder's true reconstruction: it matches the decoder's output.
    # The same encoder reporting a reconstruction one code value off (as a mismatched decoder would) fails.
    image = kodak_crop()
    good = codec_class(load_definition(_write(tmp_path, "good.toml", LOSSLESS.format(name="good", recon_filter=""))))()
    outcome = good.compress(image, 1)
    assert np.array_equal(outcome.reconstruction, good.decode(good.encode(image.pixels, 1).data, (64, 96)))
    text = LOSSLESS.format(name="bad", recon_filter='"-vf", "lutyuv=y=val+4", ')
    bad = codec_class(load_definition(_write(tmp_path, "bad.toml", text)))()
    with pytest.raises(CodecError, match="encoder's reconstruction differs from the decoder's output"):
        bad.compress(image, 1)


def test_required_version_guards_against_the_wrong_program(tmp_path, monkeypatch) -> None:
    # VTM and ECM both ship EncoderApp: a definition refuses a program that does not identify as its own.
    monkeypatch.setenv("TOY_FFMPEG", _ffmpeg())
    text = minimal(programs='encoder = { names = ["ffmpeg"], env = "TOY_FFMPEG" }',
                   extra='[[version]]\nlabel = "VTM"\ncommand = ["{encoder}", "-version"]\n'
                         'pattern = "VTM Encoder Version (\\\\S+)"\nrequired = true\n')
    ok = codec_class(load_definition(_write(tmp_path, "toy.toml", text)))().availability()
    assert not ok and "does not identify as VTM" in ok.reason


# --- malformed definitions ------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("name = \"x\"\n[knob\nname = 1\n", "invalid TOML"),
    (minimal().replace('"{bitstream}"]\n[decode]', '"{bitstrem}"]\n[decode]'), "unknown placeholder {bitstrem}"),
    ("bogus = 1\n" + minimal(), "unknown key bogus"),
    (minimal() + "\nbogus = 1\n", "unknown key decode.bogus"),
    (minimal().replace("high = 63", "high = 10"), "default_points value 32"),
    (minimal().replace('subsampling = "420"', 'subsampling = "411"'), "unsupported chroma subsampling"),
    (minimal().replace('matrix = "bt709"', 'matrix = "xyz"'), "unknown colour matrix"),
    (minimal().replace("[encode]", "[encodex]"), "unknown key encodex"),
    (minimal().replace('quality_rises = false\n', ''), "missing key knob.quality_rises"),
    ("timeout = 60\ntimeout_per_mp = 100\n" + minimal(), "not both"),
])
def test_malformed_definition_is_one_line_naming_the_file(tmp_path, text: str, expected: str) -> None:
    path = _write(tmp_path, "bad codec.toml", text)
    with pytest.raises(DefinitionError) as err:
        load_definition(path)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and expected in message and "\n" not in message


def test_time_limits_scale_and_leave_the_version_alone(tmp_path) -> None:
    """timeout_per_mp scales the encoder's limit with the picture (AVM's CTC speed needs minutes per crop);
    the definition's hash, part of every job key, ignores time limits (they change no bitstream) but not
    the command."""
    plain = load_definition(_write(tmp_path, "toy.toml", minimal()))
    scaled = load_definition(_write(tmp_path, "toy2.toml", "timeout_per_mp = 30000   # slow\n" + minimal()))
    fixed = load_definition(_write(tmp_path, "toy3.toml", "timeout = 45\n" + minimal()))
    other = load_definition(_write(tmp_path, "toy4.toml", minimal().replace('"{input}"', '"-v", "{input}"')))
    assert plain.sha256 == scaled.sha256 == fixed.sha256 != other.sha256
    assert codec_class(scaled)().encode_timeout(768 * 512) == pytest.approx(600 + 30000 * 0.393216)
    assert codec_class(plain)().encode_timeout(768 * 512) == pytest.approx(600 + 3600 * 0.393216)
    assert codec_class(fixed)().encode_timeout(768 * 512) == 45


def test_discover_lists_broken_files_as_unavailable(tmp_path, monkeypatch) -> None:
    _write(tmp_path, "good.toml", minimal(name="good"))
    _write(tmp_path, "broken.toml", "name = 'broken'\n[knob]\nlow = \n")
    _write(tmp_path, "published.toml", "[[source]]\npath = 'x'\n")  # another adapter's config: not ours
    monkeypatch.setenv("HARNESS_CODECS_DIR", str(tmp_path))
    assert codecs_dirs() == [tmp_path]
    assert [p.name for p in definition_files()] == ["broken.toml", "good.toml"]
    classes = {cls.name: cls for cls in discover()}
    assert set(classes) == {"good", "broken"}
    ok = classes["broken"]().availability()
    assert not ok and ok.reason.startswith(f"{tmp_path / 'broken.toml'}: invalid TOML") and "\n" not in ok.reason
    assert issubclass(classes["good"], CommandLineCodec)


def test_render_is_plain_substitution() -> None:
    assert render("--qp={point:03d} {{x}}", {"point": 7}) == "--qp=007 {x}"
    with pytest.raises((KeyError, ValueError)):  # no attribute access into Python objects
        render("{point.__class__}", {"point": 1})


# --- the shipped definitions ----------------------------------------------------------------------

SHIPPED = ["vtm", "vtm-420", "ecm", "ecm-420", "avm", "jpeg-ai", "vvenc-yuv"]


def test_every_shipped_definition_loads() -> None:
    names = {load_definition(p).name for p in sorted(CODECS.glob("*.toml")) if p.name != "published.toml"}
    assert set(SHIPPED) <= names


def _command(name: str, step: str) -> list[str]:
    defn = load_definition(CODECS / f"{name}.toml")
    codec = codec_class(defn)()
    values = codec._static_values({k: Path(f"/opt/{k}") for k in defn.programs},
                                  {k: Path(f"/src/{f.path}") for k, f in defn.files.items()})
    values.update(input="/w/input.yuv", bitstream="/w/stream.bin", output="/w/decoded.yuv",
                  reconstruction="/w/recon.yuv", workdir="/w", width=768, height=512, point=32)
    return [render(a, values) for a in (defn.encode if step == "encode" else defn.decode)]


@pytest.mark.parametrize("name", ["vtm", "vtm-420", "ecm", "ecm-420"])
def test_jvet_command_lines(name: str) -> None:
    chroma = "420" if name.endswith("-420") else "444"
    enc = _command(name, "encode")
    # VTM's option parser takes a long option's value only as --Name=value ("--Name value" sets Name=1).
    assert all("=" in a for a in enc if a.startswith("--"))
    cfg = "encoder_intra_ecm.cfg" if name.startswith("ecm") else "encoder_intra_vtm.cfg"
    assert enc[:3] == ["/opt/encoder", "-c", f"/src/cfg/{cfg}"]
    pairs = dict(zip(enc[3::2], enc[4::2]))
    # The encoder writes its reconstruction; the harness compares it with the decoder's output.
    assert pairs["-i"] == "/w/input.yuv" and pairs["-b"] == "/w/stream.bin" and pairs["-o"] == "/w/recon.yuv"
    # The 4:4:4 common test conditions read cfg/444/yuv444.cfg (BDPCM on) after the all-intra cfg.
    assert (pairs.get("-c") == "/src/cfg/444/yuv444.cfg") == (chroma == "444")
    assert (pairs["-wdt"], pairs["-hgt"], pairs["-f"], pairs["-q"]) == ("768", "512", "1", "32")
    for flag in ("--InputBitDepth=10", f"--InputChromaFormat={chroma}", f"--ChromaFormatIDC={chroma}",
                 "--InternalBitDepth=10", "--OutputBitDepth=10", "--ConformanceWindowMode=1"):
        assert flag in enc
    assert _command(name, "decode") == ["/opt/decoder", "-b", "/w/stream.bin", "-o", "/w/decoded.yuv",
                                        "-d", "10"]


def test_avm_and_jpeg_ai_command_lines() -> None:
    enc = _command("avm", "encode")
    for flag in ("--codec=av2", "--end-usage=q", "--qp=32", "--limit=1", "--kf-max-dist=0", "--i420",
                 "--input-bit-depth=10", "--bit-depth=10", "--width=768", "--height=512", "--obu",
                 "--output=/w/stream.bin"):
        assert flag in enc
    assert enc[-1] == "/w/input.yuv"
    assert _command("avm", "decode")[-1] == "/w/stream.bin"
    assert _command("jpeg-ai", "encode")[1:] == ["-m", "src.reco.coders.encoder", "/w/input.yuv", "/w/stream.bin",
                                                 "--set_target_bpp", "32"]


# --- harness codecs --check --------------------------------------------------------------------------

def test_check_codecs_reports_sanity(tmp_path, monkeypatch) -> None:
    from harness.codecs.selfcheck import check_codecs, default_check_image

    image = default_check_image()
    assert image.pixels.shape == (96, 128, 3)
    rows = {r["codec"]: r for r in check_codecs(image, ["vvenc-yuv", "jpeg", "vtm"])}
    vvenc = rows["vvenc-yuv"]
    assert vvenc["status"] == "ok", vvenc["detail"]
    assert (vvenc["low_point"], vvenc["high_point"]) == (47, 22)  # QP: the largest value is the lowest quality
    assert vvenc["high_bpp"] > vvenc["low_bpp"] > 0 and vvenc["high_psnr"] > vvenc["low_psnr"] > 20
    assert rows["jpeg"]["status"] == "ok" and rows["jpeg"]["low_point"] < rows["jpeg"]["high_point"]
    if rows["vtm"]["status"] != "ok":
        assert rows["vtm"]["status"] == "unavailable" and "EncoderApp" in rows["vtm"]["detail"]


def test_check_flags_a_codec_whose_pipeline_is_wrong(tmp_path) -> None:
    # The vvenc-yuv definition with a range conversion slipped in before the encoder (as a wrong
    # full/limited flag would do): it still "works", but colours come back wrong, ~6 dB below JPEG.
    from harness.codecs.selfcheck import check_codec, default_check_image, main

    text = (CODECS / "vvenc-yuv.toml").read_text().replace('name = "vvenc-yuv"', 'name = "wrong-range"')
    text = text.replace('"-c:v", "libvvenc"', '"-vf", "scale=in_range=tv:out_range=pc", "-c:v", "libvvenc"')
    assert "out_range=pc" in text
    defn = load_definition(_write(tmp_path, "wrong-range.toml", text))
    row = check_codec(codec_class(defn)(), default_check_image())
    assert row["status"] == "suspect" and "below JPEG 4:4:4" in row["detail"], row
    assert main(["vvenc-yuv"]) == 0


# --- the reference software itself, where it is installed (HARNESS_VTM_DIR, HARNESS_ECM_DIR, ...) ------

@pytest.mark.slow
@pytest.mark.parametrize("name", ["vtm", "vtm-420", "ecm", "ecm-420", "avm", "jpeg-ai"])
def test_reference_software_when_installed(name: str) -> None:
    codec = codec_or_skip(name)
    image = kodak_crop(height=48, width=64)
    low, high = sorted(codec.default_points)[1], sorted(codec.default_points)[-2]
    if not codec.knob.quality_rises:
        low, high = high, low
    worse, better = codec.compress(image, low), codec.compress(image, high)
    # VTM-23.13, 96x128 crop: QP 22 -> 0.44 bpp 41.4 dB (4:4:4), QP 47 -> 0.074 bpp 30.3 dB.
    assert 0 < worse.bpp < better.bpp < 4
    assert 25 < psnr(worse.reconstruction, image.pixels) < psnr(better.reconstruction, image.pixels) < 55
