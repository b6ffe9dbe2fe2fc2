"""AVIF: one libavif front end, three AV1 encoders, and the older Debian build as a named variant.

``avif`` (the default: the newest build here)
    libavif 1.4 with libaom 3.14, in process through Pillow's own AVIF support; dav1d decodes.
``avif-svt``, ``avif-rav1e``
    The same libavif with SVT-AV1 and with rav1e, from PyPI ``pillow-avif-plugin`` (Pillow's wheel carries
    only libaom). The plugin is loaded without letting it replace Pillow's AVIF handlers, so ``avif``
    always runs Pillow's own build; decoding is Pillow's (dav1d) for all three.
``avif-avifenc``
    Debian's ``avifenc``/``avifdec`` (libavif 0.11, libaom 3.6 from 2023, dav1d), kept to compare builds.

Knob (all four): the AV1 quantizer 0-63 of libavif (``--min q --max q`` for avifenc; for the in-process
ones the libavif quality whose quantizer ``((100 - quality) * 63 + 50) // 100`` is exactly q), so the
same point means the same quantizer in every build. 4:2:0 is explicit (avifenc's default for PNG input
is 4:4:4); option ``yuv=444`` except for SVT-AV1. Tuned for PSNR: ``tune=psnr`` for aom (libavif 1.x
otherwise picks ``tune=ssim`` or libaom's ``tune=iq``), ``tune=1`` (PSNR) for SVT-AV1, ``tune=Psnr`` for
rav1e (its default is psycho-visual). One thread (libaom's output bytes depend on the thread count);
option ``speed`` 0-10 (libavif's scale; SVT-AV1 takes it as its preset): 2 for ``avif`` (measured, see
``docs/codec-settings.md``), libavif's default 6 for the others.

All code BT.601 full-range 8-bit Y'CbCr (the colr box says so) and are stored as a complete AVIF file;
the container adds ~280-350 bytes, so the payload (the ``mdat`` box contents) is recorded apart from the
file size.

Rate granularity: a quantizer step moves the rate by ~5-6% at mid rates, so matching a target bpp
within 2% is not always possible with libavif. libaom's one-pass VBR rate control (ffmpeg's
``libaom-av1 -b:v``, usage ``good``) does choose among all 256 qindex values, but it is a different
encoder configuration (not all-intra, not libavif) and is not wrapped here.
"""

from __future__ import annotations

import functools
import io
import os
import re
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

from PIL import AvifImagePlugin, Image

from harness.codecs import register
from harness.codecs.base import Availability, Codec, CodecError, ColourChain, Knob
from harness.codecs.families import Command, ProgramCodec
from harness.codecs.pillow_family import PillowCodec
from harness.core.isobmff import mdat_payload_bytes
from harness.core.process import program_output, require_program

# Pillow decodes AVIF with dav1d on os.cpu_count() threads by default; on a loaded 2-core machine a
# `--match` run hung in that decode (main thread waiting on a futex for half an hour, 36 s of CPU). One
# thread decodes a Kodak image in about 10 ms and gives the same pixels.
AvifImagePlugin.DEFAULT_MAX_THREADS = 1
_SUBSAMPLINGS = ("420", "444")
_SPEEDS = tuple(str(s) for s in range(11))


class _Avif(Codec):
    """What both builds share: options, the colour chain they imply, the payload inside the container."""

    display_name: ClassVar[str]
    option_defaults: ClassVar[dict[str, str]] = {"yuv": "420", "speed": "6"}
    option_choices: ClassVar[dict[str, tuple[str, ...]]] = {"yuv": _SUBSAMPLINGS, "speed": _SPEEDS}
    colour = ColourChain("bt601", "full", 8, "420")
    extension = ".avif"

    def __init__(self, **options: str) -> None:
        super().__init__(**options)
        self.colour = ColourChain("bt601", "full", 8, self.option("yuv"))

    def payload_bytes(self, data: bytes) -> int | None:
        try:
            return mdat_payload_bytes(data)
        except ValueError as exc:
            raise CodecError(f"{self.display_name} encode: output is not a valid AVIF file ({exc})") from None


@register
class AvifAvifenc(_Avif, ProgramCodec):
    name = "avif-avifenc"
    display_name = "AVIF (avifenc)"
    description = "AVIF, libaom 3.6 via Debian avifenc/avifdec 0.11, BT.601 full range 8-bit 4:2:0, tune=psnr"
    knob = Knob("q", 0, 63, integer=True, quality_rises=False)
    # ~1.5 .. 0.05 bpp mean on Kodak (speed 6, 4:2:0)
    default_points = (16.0, 24.0, 32.0, 40.0, 48.0, 56.0, 62.0)

    def check_availability(self) -> Availability:
        require_program("avifenc", "libavif-bin")
        require_program("avifdec", "libavif-bin")
        if "aom [enc" not in program_output(["avifenc", "--version"]):
            return Availability(False, "avifenc was built without the libaom encoder")
        return Availability(True)

    def probe_version(self) -> str:
        text = program_output(["avifenc", "--version"])
        libavif = re.search(r"Version: ([^\s,)]+)", text)
        aom = re.search(r"aom \[enc/dec\]:([^\s,)]+)", text)
        dav1d = re.search(r"dav1d \[dec\]:([^\s,)]+)", text)
        return (f"avifenc {libavif.group(1) if libavif else '?'} (aom {aom.group(1) if aom else '?'})"
                f" / avifdec (dav1d {dav1d.group(1) if dav1d else '?'})")

    def encode_command(self, point: float, size: tuple[int, int], workdir: Path) -> Command:
        q = str(int(self.knob.clamp(point)))
        return Command(["avifenc", "--jobs", "1", "--codec", "aom", "--speed", self.option("speed"),
                        "--min", q, "--max", q, "--yuv", self.option("yuv"), "--depth", "8", "--range", "full",
                        "--cicp", "1/13/6", "--advanced", "tune=psnr", self.input_file, self.stream_file])

    def decode_command(self, size: tuple[int, int] | None, workdir: Path) -> Command:
        return Command(["avifdec", "--jobs", "1", "--codec", "dav1d", "--depth", "8", self.stream_file,
                        self.decoded_file])

    def encode_params(self, point: float) -> dict[str, Any]:
        return {"q": int(self.knob.clamp(point)), "speed": int(self.option("speed")), "yuv": self.option("yuv"),
                "tune": "psnr", "threads": 1}


def _codec_versions(text: str) -> dict[str, str]:
    """libavif's "dav1d [dec]:1.5.3-0-g..., aom [enc]:3.14.1" -> {"dav1d": "1.5.3-0-g...", "aom": "3.14.1"}."""
    out = {}
    for part in text.split(", "):
        name, _, version = part.partition(" [")
        out[name] = version.partition(":")[2].split(" ")[0]
    return out


def _quality_for(quantizer: int) -> int:
    """The libavif quality whose quantizer, ``((100 - quality) * 63 + 50) // 100``, is ``quantizer``."""
    return next(q for q in range(101) if ((100 - q) * 63 + 50) // 100 == quantizer)


@functools.lru_cache(maxsize=1)
def _pillow_avif_plugin() -> ModuleType | None:
    """pillow-avif-plugin's save module, imported without letting it replace Pillow's AVIF handlers."""
    Image.init()
    tables = ("OPEN", "SAVE", "SAVE_ALL", "EXTENSION", "MIME")
    saved = {name: dict(getattr(Image, name)) for name in tables}
    ids = list(Image.ID)
    try:
        import pillow_avif.AvifImagePlugin as plugin  # type: ignore[import-untyped]
    except ImportError:
        return None
    finally:
        for name, table in saved.items():
            getattr(Image, name).clear()
            getattr(Image, name).update(table)
        Image.ID[:] = ids
    return plugin


class _Libavif(_Avif, PillowCodec):
    """libavif in process: Pillow's build for aom, pillow-avif-plugin's for the encoders Pillow lacks."""

    knob = Knob("q", 0, 63, integer=True, quality_rises=False)
    # ~1.5 .. 0.05 bpp mean on Kodak (speed 6, 4:2:0)
    default_points = (16.0, 24.0, 32.0, 40.0, 48.0, 56.0, 62.0)
    pillow_format = "AVIF"
    pillow_feature = "avif"
    encoder: ClassVar[str]  # libavif's codec name: aom, svt, rav1e
    advanced: ClassVar[dict[str, str]]  # codec-specific options: PSNR tuning

    def _module(self) -> Any:
        """The module whose ``_avif`` extension and ``_save`` encode with :attr:`encoder`."""
        if self.encoder == "aom":
            from PIL import AvifImagePlugin

            return AvifImagePlugin
        return _pillow_avif_plugin()

    def check_availability(self) -> Availability:
        available = super().check_availability()  # Pillow's AVIF decodes all three
        if not available:
            return available
        module = self._module()
        if module is None:
            return Availability(False, "Python package pillow-avif-plugin is not installed")
        if not module._avif.encoder_codec_available(self.encoder):
            return Availability(False, f"libavif of {module.__name__} has no {self.encoder} encoder")
        return Availability(True)

    def probe_version(self) -> str:
        from PIL import _avif as pillow_avif
        from PIL import features

        module = self._module()
        encoder = _codec_versions(module._avif.codec_versions()).get(self.encoder, "?")
        dav1d = _codec_versions(pillow_avif.codec_versions()).get("dav1d", "?")
        libavif = (features.version("avif") if self.encoder == "aom"
                   else ".".join(str(v) for v in module._avif.VERSION))
        source = (f"Pillow {Image.__version__}" if self.encoder == "aom"
                  else f"pillow-avif-plugin {metadata.version('pillow-avif-plugin')}")
        return f"libavif {libavif} ({self.encoder} {encoder}) via {source} / dav1d {dav1d} via Pillow"

    def save_settings(self, point: float) -> dict[str, Any]:
        return {"quality": _quality_for(int(self.knob.clamp(point))),
                "subsampling": {"420": "4:2:0", "444": "4:4:4"}[self.option("yuv")],
                "speed": int(self.option("speed")), "max_threads": 1, "codec": self.encoder, "range": "full",
                "autotiling": False, "advanced": dict(self.advanced)}

    def save(self, image: Image.Image, buffer: io.BytesIO, settings: dict[str, Any]) -> None:
        # The module's own handler, not whichever AVIF handler Pillow has registered last.
        if self.encoder == "svt":
            os.environ.setdefault("SVT_LOG", "1")  # errors only: SVT-AV1 prints a banner on stderr
        image.encoderinfo = dict(settings)
        self._module()._save(image, buffer, "")

    def encode_params(self, settings: dict[str, Any]) -> dict[str, Any]:
        return {"q": ((100 - settings["quality"]) * 63 + 50) // 100, **settings}


@register
class Avif(_Libavif):
    name = "avif"
    display_name = "AVIF"
    description = "AVIF, libaom 3.14 via Pillow's libavif 1.4, BT.601 full range 8-bit 4:2:0, tune=psnr"
    encoder = "aom"
    advanced: ClassVar[dict[str, str]] = {"tune": "psnr"}
    # speed 2: 9.0% fewer bits than libavif's default speed 6 at equal RGB PSNR on Kodak crops, speed 4
    # 6.3% (docs/codec-settings.md); the quick profile of `harness run` names avif:speed=6.
    option_defaults: ClassVar[dict[str, str]] = {"yuv": "420", "speed": "2"}


@register
class AvifSvt(_Libavif):
    name = "avif-svt"
    display_name = "AVIF (SVT-AV1)"
    description = "AVIF, SVT-AV1 via pillow-avif-plugin's libavif, BT.601 full range 8-bit 4:2:0, tune PSNR"
    encoder = "svt"
    advanced: ClassVar[dict[str, str]] = {"tune": "1"}
    option_choices: ClassVar[dict[str, tuple[str, ...]]] = {"yuv": ("420",), "speed": _SPEEDS}
    min_size = 4  # SVT-AV1 refuses pictures under 4x4


@register
class AvifRav1e(_Libavif):
    name = "avif-rav1e"
    display_name = "AVIF (rav1e)"
    description = "AVIF, rav1e via pillow-avif-plugin's libavif, BT.601 full range 8-bit 4:2:0, tune Psnr"
    encoder = "rav1e"
    advanced: ClassVar[dict[str, str]] = {"tune": "Psnr"}
