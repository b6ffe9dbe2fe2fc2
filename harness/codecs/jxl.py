"""JPEG XL (VarDCT, XYB), two builds, named apart because their encoders and decoders differ:

``jxl``
    Debian's ``cjxl``/``djxl`` 0.7. cjxl 0.7 reads PNG gAMA/cHRM chunks and changes the coded colour
    space, so it is fed a bare PNG (:func:`harness.core.images.encode_png`).
``jxl-imagecodecs``
    In process through ``imagecodecs`` (libjxl 0.11).

Knob: the butteraugli distance (0 = lossless, 1 = visually lossless, up to 25); option ``effort`` 1-9
(default 7, libjxl's default). The file is a bare codestream (no container: no metadata is given), so
file bytes = payload. Decoders of different libjxl versions differ by +-1 LSB: versions of both ends are
recorded. The rate floor is ~0.13 bpp on Kodak: JPEG XL cannot reach the lowest rates of the others.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import ClassVar

import numpy as np

from harness.codecs import register
from harness.codecs._tools import (
    read_png_rgb,
    require_program,
    run_tool,
    scaled_timeout,
    tool_output,
)
from harness.codecs.base import (
    Availability,
    Bitstream,
    Codec,
    CodecError,
    ColourChain,
    Knob,
)
from harness.core.images import encode_png

_EFFORTS = tuple(str(e) for e in range(1, 10))


class _JxlBase(Codec):
    knob = Knob("distance", 0.0, 25.0, integer=False, quality_rises=False)
    # ~1.5 .. 0.15 bpp mean on Kodak (effort 7); the rate floor is ~0.13 bpp
    default_points = (1.2, 1.8, 2.8, 4.2, 6.5, 11.0, 25.0)
    # XYB is a float space inside the codec; 8 bits are what goes in and comes out.
    colour = ColourChain("xyb", "n/a", 8, "444")
    extension = ".jxl"
    option_defaults: ClassVar[dict[str, str]] = {"effort": "7"}

    option_choices: ClassVar[dict[str, tuple[str, ...]]] = {"effort": _EFFORTS}


def _check_codestream(data: bytes, what: str) -> None:
    if not data.startswith(b"\xff\x0a"):
        raise CodecError(f"{what}: output is not a bare JPEG XL codestream (starts with {data[:4]!r})")


@register
class JxlCli(_JxlBase):
    name = "jxl"
    description = "JPEG XL, Debian cjxl/djxl 0.7, VarDCT (XYB)"

    def check_availability(self) -> Availability:
        require_program("cjxl", "libjxl-tools")
        require_program("djxl", "libjxl-tools")
        return Availability(True)

    def probe_version(self) -> str:
        def version(program: str) -> str:
            match = re.search(r"v(\d+\.\d+\.\d+)", tool_output([program, "--version"]))
            return match.group(1) if match else "unknown"

        return f"cjxl {version('cjxl')} / djxl {version('djxl')}"

    def encode(self, rgb: np.ndarray, point: float) -> Bitstream:
        distance = self.knob.clamp(point)
        args = ["cjxl", "in.png", "out.jxl", f"--distance={distance:g}", f"--effort={self.option('effort')}",
                "--num_threads=1", "--quiet"]
        with tempfile.TemporaryDirectory(prefix="harness-jxl-") as tmp:
            Path(tmp, "in.png").write_bytes(encode_png(rgb))
            run_tool(args, "JPEG XL encode", scaled_timeout(rgb.shape[0] * rgb.shape[1], 200), cwd=tmp)
            data = Path(tmp, "out.jxl").read_bytes()
        _check_codestream(data, "JPEG XL encode")
        params = {"distance": distance, "effort": int(self.option("effort")), "threads": 1, "command": args}
        return Bitstream(data, params=params)

    def decode(self, data: bytes) -> np.ndarray:
        args = ["djxl", "in.jxl", "out.png", "--bits_per_sample=8", "--num_threads=1", "--quiet"]
        with tempfile.TemporaryDirectory(prefix="harness-jxl-") as tmp:
            Path(tmp, "in.jxl").write_bytes(data)
            run_tool(args, "JPEG XL decode", scaled_timeout(len(data) * 8, 1.0), cwd=tmp)
            return read_png_rgb(Path(tmp, "out.png"), "JPEG XL decode")


@register
class JxlImagecodecs(_JxlBase):
    name = "jxl-imagecodecs"
    description = "JPEG XL, libjxl via imagecodecs (in process), VarDCT (XYB)"

    def check_availability(self) -> Availability:
        try:
            import imagecodecs
        except ImportError:
            return Availability(False, "Python package imagecodecs is not installed")
        if not getattr(imagecodecs, "JPEGXL", None) or not imagecodecs.JPEGXL.available:
            return Availability(False, "imagecodecs was built without JPEG XL")
        return Availability(True)

    def probe_version(self) -> str:
        import imagecodecs

        return f"{imagecodecs.jpegxl_version()} via imagecodecs {imagecodecs.__version__}"

    def encode(self, rgb: np.ndarray, point: float) -> Bitstream:
        import imagecodecs

        distance = self.knob.clamp(point)
        effort = int(self.option("effort"))
        try:
            data = bytes(imagecodecs.jpegxl_encode(np.ascontiguousarray(rgb), distance=distance, effort=effort,
                                                   numthreads=1))
        except (imagecodecs.JpegxlError, ValueError) as exc:
            raise CodecError(f"JPEG XL (imagecodecs) encode failed: {' '.join(str(exc).split())}") from None
        _check_codestream(data, "JPEG XL (imagecodecs) encode")
        return Bitstream(data, params={"distance": distance, "effort": effort, "threads": 1})

    def decode(self, data: bytes) -> np.ndarray:
        import imagecodecs

        try:
            image = np.asarray(imagecodecs.jpegxl_decode(data, numthreads=1))
        except (imagecodecs.JpegxlError, ValueError) as exc:
            raise CodecError(f"JPEG XL (imagecodecs) decode failed: {' '.join(str(exc).split())}") from None
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise CodecError(f"JPEG XL (imagecodecs) decode: got {image.shape} {image.dtype}, expected HxWx3 uint8")
        return image
