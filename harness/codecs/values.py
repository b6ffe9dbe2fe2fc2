"""What codecs deal in: their errors, colour chain, knob, availability, bitstream and outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


class CodecError(RuntimeError):
    """An encode or decode failed; the message is one line and becomes the failed row's error."""


class NoOutput(CodecError):
    """The contender has nothing for this image (its authors published no reconstruction of it): the row
    says so with status "absent", which is not a failure."""


class CodecUnavailable(CodecError):
    """The codec cannot run on this machine (missing program, library or weights)."""


@dataclass(frozen=True)
class ColourChain:
    """How RGB pixels are represented inside the codec.

    matrix: "bt601", "bt709", "bt2020", "rgb" (coded directly), "xyb" (JPEG XL), "learned" (a network);
    range: "full", "limited" or "n/a"; subsampling: "444", "422", "420" or "n/a".
    """

    matrix: str
    range: str
    bit_depth: int
    subsampling: str

    def as_columns(self) -> dict[str, Any]:
        return {
            "colour_matrix": self.matrix,
            "colour_range": self.range,
            "bit_depth": self.bit_depth,
            "chroma_subsampling": self.subsampling,
        }


@dataclass(frozen=True)
class Knob:
    """The parameter that moves a codec along its rate-distortion curve."""

    name: str
    low: float
    high: float
    integer: bool = True
    quality_rises: bool = True  # False when a larger value means fewer bits (QP, distance)

    def clamp(self, value: float) -> float:
        value = min(max(value, self.low), self.high)
        return float(round(value)) if self.integer else float(value)


@dataclass(frozen=True)
class Availability:
    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


@dataclass
class Bitstream:
    """What an encoder produced: the file as it would be stored, and how much of it is coded payload."""

    data: bytes
    payload_bytes: int | None = None  # None: the whole file is payload
    params: dict[str, Any] = field(default_factory=dict)  # the exact encoder settings
    # The encoder's own reconstruction (HxWx3 uint8, the encoded size), when it writes one: the decoder's
    # output must equal it, or the encoder and decoder disagree and the point is not a data point.
    reconstruction: np.ndarray | None = field(default=None, repr=False)
    seconds: float | None = None  # the encoder's own timing of the encode (see Codec.timing), if it gives one

    @property
    def file_bytes(self) -> int:
        return len(self.data)


@dataclass
class Outcome:
    """One operating point of one codec on one image, before metrics."""

    reconstruction: np.ndarray  # HxWx3 uint8, the original's size
    file_bytes: int | None
    payload_bytes: int | None
    bpp: float  # from file bytes, on the original pixel count (or the stated rate for published data)
    bpp_payload: float | None
    encode_seconds: float | None
    decode_seconds: float | None
    params: dict[str, Any]
    rate_source: str = "measured"  # "measured" or "published" (the authors' own figure)
    bitstream: bytes | None = None
    padded_to: tuple[int, int] | None = None  # (height, width) the codec coded, when padded beyond the image
    # The reconstruction's error matrix against the original (harness.core.pixelerror.error_gram), from
    # the plausibility check; the PSNR metric reads it instead of passing over the pixels again.
    error_gram: np.ndarray | None = None
    timing: str | None = None  # what encode_seconds and decode_seconds measure (Codec.timing)
    # A published reconstruction larger than its original by codec padding, cropped from the top-left:
    # its size before ("720x440").
    padded_from: str | None = None
