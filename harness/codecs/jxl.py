"""JPEG XL (VarDCT, XYB), three builds, named apart because their encoders and decoders differ:

``jxl`` (the default: the newest build here)
    libjxl 0.12 in process through PyPI ``pillow-jxl-plugin`` (its Rust bindings, jpegxl-rs, link libjxl
    statically). Its encoder takes libjxl's quality, not the distance: the distance knob is converted
    with the exact inverse of libjxl's ``JxlEncoderDistanceFromQuality`` (quality is a float, so every
    distance is reachable). No metadata is given, so no Exif box and no container.
``jxl-imagecodecs``
    In process through ``imagecodecs`` (libjxl 0.11).
``jxl-cjxl``
    Debian's ``cjxl``/``djxl`` 0.7 (2022). cjxl 0.7 reads PNG gAMA/cHRM chunks and changes the coded
    colour space, so it is fed a bare PNG (:func:`harness.core.images.encode_png`).

Knob: the butteraugli distance (0 = lossless, 1 = visually lossless, up to 25); option ``effort`` 1-9,
default 8: on Kodak crops (docs/codec-settings.md) effort 8 codes 3.0% fewer bits than libjxl's default 7
at equal RGB PSNR, effort 9 only 0.06% fewer again, at ~1.3x effort 8's time. The quick profile of
``harness run`` (no ``--codecs``) names ``jxl:effort=7``. The file is a bare codestream (no container: no metadata is given), so
file bytes = payload. Decoders of different libjxl versions differ by +-1 LSB: versions of both ends are
recorded. The rate floor is ~0.13 bpp on Kodak: JPEG XL cannot reach the lowest rates of the others.
From distance 10, libjxl 0.12 (``jxl``) codes the picture at half resolution (2x2 resampling; 0.11 does so
only from distance 20): better on SSIMULACRA2, worse on PSNR (docs/codec-settings.md).
"""

from __future__ import annotations

import functools
import math
import re
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from harness.codecs import register
from harness.codecs.base import (
    Availability,
    Bitstream,
    Codec,
    CodecError,
    ColourChain,
    Knob,
)
from harness.codecs.families import Command, ProgramCodec
from harness.core.errors import one_line
from harness.core.process import program_output, require_program

_EFFORTS = tuple(str(e) for e in range(1, 10))


class _Jxl(Codec):
    display_name: ClassVar[str]
    knob = Knob("distance", 0.0, 25.0, integer=False, quality_rises=False)
    # ~1.5 .. 0.15 bpp mean on Kodak (effort 7 and 8 alike); the rate floor is ~0.13 bpp
    default_points = (1.2, 1.8, 2.8, 4.2, 6.5, 11.0, 25.0)
    # XYB is a float space inside the codec; 8 bits are what goes in and comes out.
    colour = ColourChain("xyb", "n/a", 8, "444")
    extension = ".jxl"
    option_defaults: ClassVar[dict[str, str]] = {"effort": "8"}
    option_choices: ClassVar[dict[str, tuple[str, ...]]] = {"effort": _EFFORTS}

    def payload_bytes(self, data: bytes) -> int | None:
        """The whole file (a bare codestream), once checked to be one."""
        if not data.startswith(b"\xff\x0a"):
            raise CodecError(f"{self.display_name} encode: output is not a bare JPEG XL codestream "
                             f"(starts with {data[:4]!r})")
        return None


@register
class JxlCli(_Jxl, ProgramCodec):
    name = "jxl-cjxl"
    display_name = "JPEG XL (cjxl)"
    description = "JPEG XL, Debian cjxl/djxl 0.7, VarDCT (XYB)"

    def check_availability(self) -> Availability:
        require_program("cjxl", "libjxl-tools")
        require_program("djxl", "libjxl-tools")
        return Availability(True)

    def probe_version(self) -> str:
        def version(program: str) -> str:
            match = re.search(r"v(\d+\.\d+\.\d+)", program_output([program, "--version"]))
            return match.group(1) if match else "unknown"

        return f"cjxl {version('cjxl')} / djxl {version('djxl')}"

    def encode_command(self, point: float, size: tuple[int, int], workdir: Path) -> Command:
        return Command(["cjxl", self.input_file, self.stream_file, f"--distance={self.knob.clamp(point):g}",
                        f"--effort={self.option('effort')}", "--num_threads=1", "--quiet"])

    def decode_command(self, size: tuple[int, int] | None, workdir: Path) -> Command:
        return Command(["djxl", self.stream_file, self.decoded_file, "--bits_per_sample=8", "--num_threads=1",
                        "--quiet"])

    def encode_params(self, point: float) -> dict[str, Any]:
        return {"distance": self.knob.clamp(point), "effort": int(self.option("effort")), "threads": 1}


@register
class JxlImagecodecs(_Jxl):
    name = "jxl-imagecodecs"
    display_name = "JPEG XL (imagecodecs)"
    description = "JPEG XL, libjxl via imagecodecs (in process), VarDCT (XYB)"

    def check_availability(self) -> Availability:
        try:
            import imagecodecs
        except ImportError:
            return Availability(False, "Python package imagecodecs is not installed")
        jpegxl = getattr(imagecodecs, "JPEGXL", None)  # absent from builds without libjxl
        if jpegxl is None or not jpegxl.available:
            return Availability(False, "imagecodecs was built without JPEG XL")
        return Availability(True)

    def probe_version(self) -> str:
        import imagecodecs

        return f"{imagecodecs.jpegxl_version()} via imagecodecs {imagecodecs.__version__}"

    def recorded_params(self, point: float, size: tuple[int, int]) -> dict[str, Any]:
        return {"distance": self.knob.clamp(point), "effort": int(self.option("effort")), "threads": 1}

    def arguments(self) -> dict[str, Any]:
        return {"jpegxl_encode": self.recorded_params(self.probe_point(), (64, 64)), "jpegxl_decode": {"numthreads": 1}}

    def encode(self, rgb: np.ndarray, point: float) -> Bitstream:
        import imagecodecs

        distance = self.knob.clamp(point)
        effort = int(self.option("effort"))
        try:
            data = bytes(imagecodecs.jpegxl_encode(np.ascontiguousarray(rgb), distance=distance, effort=effort,
                                                   numthreads=1))
        except (imagecodecs.JpegxlError, ValueError) as exc:
            raise CodecError(f"{self.display_name} encode failed: {one_line(exc)}") from None
        return Bitstream(data, payload_bytes=self.payload_bytes(data), params=self.recorded_params(point, (0, 0)))

    def decode(self, data: bytes, size: tuple[int, int] | None = None) -> np.ndarray:
        import imagecodecs

        try:
            image = np.asarray(imagecodecs.jpegxl_decode(data, numthreads=1))
        except (imagecodecs.JpegxlError, ValueError) as exc:
            raise CodecError(f"{self.display_name} decode failed: {one_line(exc)}") from None
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise CodecError(f"{self.display_name} decode: got {image.shape} {image.dtype}, expected HxWx3 uint8")
        return image


def quality_for_distance(distance: float) -> float:
    """The libjxl quality whose ``JxlEncoderDistanceFromQuality`` is ``distance`` (0 < distance <= 25):
    ``0.1 + (100 - q) * 0.09`` from quality 30 up, ``53/3000 q^2 - 23/20 q + 25`` below."""
    if distance <= 6.4:
        return 100.0 - (distance - 0.1) / 0.09
    a, b, c = 53.0 / 3000.0, -23.0 / 20.0, 25.0 - distance
    return (-b - math.sqrt(max(b * b - 4 * a * c, 0.0))) / (2 * a)


@functools.lru_cache(maxsize=1)
def _pillow_jxl_libjxl() -> str:
    """The libjxl version the plugin's binary was built with (its Rust crate is named ``+libjxl-X``)."""
    import pillow_jxl

    for path in Path(pillow_jxl.__file__).parent.glob("pillow_jxl*.so"):
        match = re.search(rb"jpegxl-rs-[\d.]+\+libjxl-(\d+\.\d+\.\d+)", path.read_bytes())
        if match:
            return match.group(1).decode()
    return "unknown"


@register
class JxlPillow(_Jxl):
    name = "jxl"
    display_name = "JPEG XL"
    description = "JPEG XL, libjxl 0.12 via pillow-jxl-plugin (in process), VarDCT (XYB)"

    def check_availability(self) -> Availability:
        try:
            import pillow_jxl  # noqa: F401
        except ImportError:
            return Availability(False, "Python package pillow-jxl-plugin is not installed")
        return Availability(True)

    def probe_version(self) -> str:
        return f"libjxl {_pillow_jxl_libjxl()} via pillow-jxl-plugin {metadata.version('pillow-jxl-plugin')}"

    def _settings(self, point: float) -> dict[str, Any]:
        # The wheel's .pyi stub predates these keywords; its own Pillow plugin passes them all.
        return {"mode": "RGB", "lossless": False, "quality": quality_for_distance(self.knob.clamp(point)),
                "decoding_speed": 0, "effort": int(self.option("effort")), "use_container": False,
                "use_original_profile": False, "num_threads": 1}

    def recorded_params(self, point: float, size: tuple[int, int]) -> dict[str, Any]:
        settings = self._settings(point)
        return {"distance": self.knob.clamp(point), "quality": round(settings["quality"], 6),
                "effort": settings["effort"], "threads": 1}

    def arguments(self) -> dict[str, Any]:
        return {"encoder": self._settings(self.probe_point()), "decoder": {"num_threads": 1}}

    def encode(self, rgb: np.ndarray, point: float) -> Bitstream:
        from pillow_jxl import Encoder

        distance = self.knob.clamp(point)
        if distance <= 0:
            raise CodecError(f"{self.display_name}: distance 0 (lossless) is not a lossy point")
        height, width = rgb.shape[:2]
        encoder = Encoder(**self._settings(point))
        try:
            data = bytes(encoder(np.ascontiguousarray(rgb).tobytes(), width, height, jpeg_encode=False))
        except (ValueError, RuntimeError) as exc:  # its JxlException is a RuntimeError
            raise CodecError(f"{self.display_name} encode failed: {one_line(exc)}") from None
        return Bitstream(data, payload_bytes=self.payload_bytes(data), params=self.recorded_params(point, (0, 0)))

    def decode(self, data: bytes, size: tuple[int, int] | None = None) -> np.ndarray:
        from pillow_jxl import Decoder

        try:
            jpeg, info, pixels, _icc, _boxes = Decoder(num_threads=1)(data)
        except (ValueError, RuntimeError) as exc:
            raise CodecError(f"{self.display_name} decode failed: {one_line(exc)}") from None
        if jpeg or info.mode != "RGB":
            raise CodecError(f"{self.display_name} decode: got {info.mode} (jpeg={jpeg}), expected RGB")
        return np.frombuffer(pixels, np.uint8).reshape(info.height, info.width, 3)
