"""What a run compares, and the codec interface every adapter implements.

A :class:`Contender` is anything a run evaluates at operating points on images: it names itself, says
how it is built (version, availability), which knob sets its operating point and which colour chain it
codes in, and turns an image and a point into an :class:`Outcome` (a reconstruction and its rate). Its
capabilities are declared here, not probed: ``fixed_points`` (points that are data, not a knob to
search) and :meth:`Contender.problems` (what it could not use).

A :class:`Codec` is a contender that encodes RGB pixels into bytes and decodes bytes back into RGB
pixels; everything else (padding to sizes the codec accepts, timing, plausibility of the decoded image,
bpp accounting) lives here once, in :meth:`Codec.compress`. The family bases of
:mod:`harness.codecs.families` (ffmpeg, Pillow, command-line programs) sit between this and the
adapters. Published reconstructions (:mod:`harness.published.contender`) are contenders, not codecs.
"""

from __future__ import annotations

import functools
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from harness.core.pixelerror import error_gram, mse_of, psnr_db
from harness.core.process import ProgramNotFound

if TYPE_CHECKING:
    from harness.core.images import SourceImage


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
    # The reconstruction's error matrix against the original (harness.core.pixelerror.error_gram), from
    # the plausibility check; the PSNR metric reads it instead of passing over the pixels again.
    error_gram: np.ndarray | None = None


def pad_to_multiple(rgb: np.ndarray, multiple: int, minimum: int) -> np.ndarray:
    """Edge-replicate the right and bottom borders so both sides are multiples of ``multiple`` and at
    least ``minimum``; the harness crops the decoded image back, so bpp stays on the original pixels."""
    h, w = rgb.shape[:2]
    th = max(-(-h // multiple) * multiple, minimum)
    tw = max(-(-w // multiple) * multiple, minimum)
    if (th, tw) == (h, w):
        return rgb
    return np.pad(rgb, ((0, th - h), (0, tw - w), (0, 0)), mode="edge")


FLAT_CHECK_MIN_PIXELS = 64 * 64


def is_flat_decode(reconstruction: np.ndarray, original: np.ndarray) -> bool:
    """A decode that is a single colour over an input that is not: what broken decoders return for
    corrupt streams (mid-grey), and above the PSNR floor on low-contrast images. Tiny images are left
    alone: a few pixels may legitimately decode to one colour at the lowest rates."""
    if reconstruction.shape[0] * reconstruction.shape[1] < FLAT_CHECK_MIN_PIXELS:
        return False
    flat = reconstruction.reshape(-1, reconstruction.shape[-1])
    first = flat[0]
    # Nearly every decode differs from its first pixel somewhere in a coarse sample: answer that cheaply.
    if (flat[:: max(1, flat.shape[0] // 4096)] != first).any():
        return False
    # Judged per channel: a solid colour that is not grey, such as (200, 30, 40), spreads over the channels
    # together, not within any one of them.
    spread = original.reshape(-1, original.shape[-1]).astype(np.float64).std(axis=0)
    return bool((reconstruction == first).all()) and float(spread.max()) > 2.0


class Contender(ABC):
    """What a run evaluates: a codec, or published reconstructions. Subclasses set the class attributes.

    Options from a codec string (``name:key=value:key=value``) arrive as keyword arguments and must be
    recorded in the outcome's params so that they are part of the job key.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    knob: ClassVar[Knob]
    default_points: ClassVar[tuple[float, ...]]
    colour: ColourChain  # a class default; options may set an instance's (hevc:chroma=444)
    extension: ClassVar[str] = ".bin"  # of the files its bitstreams are kept in
    # The points are data (one per published reconstruction), not a knob: a rate-matched or --target-bpp
    # run evaluates them as they are instead of searching for a target bpp.
    fixed_points: ClassVar[bool] = False

    # Options a codec string may set, with their defaults, e.g. {"preset": "medium"} for ``vvc:preset=slow``.
    option_defaults: ClassVar[dict[str, str]] = {}
    # Allowed values of options that take one of a fixed set, checked when the codec is made.
    option_choices: ClassVar[dict[str, tuple[str, ...]]] = {}
    # The option a bare first part of the codec string sets (``compressai:mbt2018`` -> arch=mbt2018).
    positional_option: ClassVar[str | None] = None

    def __init__(self, **options: str) -> None:
        unknown = sorted(set(options) - set(self.option_defaults))
        if unknown:
            known = ", ".join(sorted(self.option_defaults)) or "none"
            raise CodecError(f"codec {self.name!r} has no option {unknown[0]!r} (options: {known})")
        self.options: dict[str, str] = dict(options)
        for key, allowed in self.option_choices.items():
            if self.option(key) not in allowed:
                raise CodecError(f"codec {self.name!r}: {key} must be one of {', '.join(allowed)}, "
                                 f"got {self.option(key)!r}")

    def option(self, key: str) -> str:
        return self.options.get(key, self.option_defaults[key])

    # --- description -------------------------------------------------------------------------------
    @property
    def label(self) -> str:
        """The codec string that names this configuration in results (name plus options)."""
        bare = self.positional_option
        head = [self.options[bare]] if bare and self.options.get(bare) else []
        rest = (f"{k}={v}" for k, v in sorted(self.options.items()) if not (k == bare and head))
        return ":".join([self.name, *head, *rest])

    @functools.cached_property
    def _availability(self) -> Availability:
        try:
            return self.check_availability()
        except (CodecUnavailable, ProgramNotFound) as exc:
            return Availability(False, str(exc))

    def availability(self) -> Availability:
        return self._availability

    @abstractmethod
    def check_availability(self) -> Availability:
        """Whether the codec can run here, with the reason when it cannot."""

    @functools.cached_property
    def _version(self) -> str:
        if not self.availability():
            return "unavailable"
        return self.probe_version()

    def version(self) -> str:
        """Encoder and decoder versions, e.g. ``"vvenc 1.15 / ffmpeg vvc n9.0.2"``."""
        return self._version

    @abstractmethod
    def probe_version(self) -> str: ...

    def points_for(self, image_name: str) -> list[float]:
        """Operating points to run on the image named ``image_name`` when the user gives none
        (published reconstructions have per-image points)."""
        return list(self.default_points)

    def problems(self) -> list[str]:
        """What the contender found but could not use (unreadable published files), one line each."""
        return []

    @abstractmethod
    def compress(self, image: SourceImage, point: float | None, keep_bitstream: bool = False) -> Outcome:
        """One image at one operating point: the reconstruction, its rate and the exact parameters.
        ``point`` is None for an image the contender has no point for (the error says why)."""

    def describe(self) -> dict[str, Any]:
        """A capability descriptor: what the contender is and what it can do (as codec-compare-gen keeps)."""
        ok = self.availability()
        return {
            "name": self.label,
            "description": self.description,
            "available": ok.ok,
            "reason": ok.reason,
            "version": self.version(),
            "knob": asdict(self.knob),
            "default_points": list(self.default_points),
            **self.colour.as_columns(),
        }


class Codec(Contender):
    """A codec adapter: encode and decode; :meth:`compress` does the rest once for all."""

    size_multiple: ClassVar[int] = 1  # e.g. 2 for 4:2:0 codecs that need even sizes
    min_size: ClassVar[int] = 1
    # A decode below this PSNR against the input is not a data point but a broken decode
    # (several decoders return garbage with exit status 0 on corrupt streams).
    implausible_psnr_db: ClassVar[float] = 10.0

    @abstractmethod
    def encode(self, rgb: np.ndarray, point: float) -> Bitstream:
        """Encode HxWx3 uint8 pixels (already padded to the codec's size rules)."""

    @abstractmethod
    def decode(self, data: bytes, size: tuple[int, int] | None = None) -> np.ndarray:
        """Decode a bitstream to HxWx3 uint8 pixels of the encoded (padded) size. ``size`` (height, width)
        is that size, for formats that do not carry it (raw YUV); None when the caller does not know it."""

    def compress(self, image: SourceImage, point: float | None, keep_bitstream: bool = False) -> Outcome:
        """Encode and decode one image at one operating point, with timing and sanity checks."""
        if point is None:
            raise CodecError(f"{self.label}: no operating point given for image {image.name}")
        rgb = image.pixels
        h, w = rgb.shape[:2]
        padded = pad_to_multiple(rgb, self.size_multiple, self.min_size)
        t0 = time.perf_counter()
        stream = self.encode(padded, point)
        t1 = time.perf_counter()
        decoded = self.decode(stream.data, padded.shape[:2])
        t2 = time.perf_counter()
        if decoded.shape != padded.shape or decoded.dtype != np.uint8:
            raise CodecError(
                f"decoder returned {decoded.shape} {decoded.dtype}, expected {padded.shape} uint8"
            )
        if stream.reconstruction is not None and not np.array_equal(stream.reconstruction, decoded):
            differ = int(np.count_nonzero(np.any(stream.reconstruction != decoded, axis=-1))) \
                if stream.reconstruction.shape == decoded.shape else -1
            raise CodecError(f"the encoder's reconstruction differs from the decoder's output "
                             f"({'shapes differ' if differ < 0 else f'{differ} pixels differ'}): encoder/decoder mismatch")
        recon = np.ascontiguousarray(decoded[:h, :w])
        # One pass over the pixels serves the plausibility check here and the PSNR metric later.
        gram = error_gram(recon, rgb)
        quality = psnr_db(mse_of(gram, h * w))
        if quality < self.implausible_psnr_db:
            raise CodecError(
                f"decoded image is implausible (PSNR {quality:.1f} dB against the input): corrupt stream?"
            )
        if is_flat_decode(recon, rgb):
            raise CodecError(f"decoded image is one flat colour {tuple(int(v) for v in recon[0, 0])} while the "
                             f"input is not (PSNR {quality:.1f} dB): corrupt stream?")
        pixels = h * w
        payload = stream.payload_bytes if stream.payload_bytes is not None else stream.file_bytes
        params = {**stream.params, **({"padded_to": list(padded.shape[:2])} if padded is not rgb else {})}
        return Outcome(
            reconstruction=recon,
            file_bytes=stream.file_bytes,
            payload_bytes=payload,
            bpp=stream.file_bytes * 8 / pixels,
            bpp_payload=payload * 8 / pixels,
            encode_seconds=t1 - t0,
            decode_seconds=t2 - t1,
            params=params,
            bitstream=stream.data if keep_bitstream else None,
            error_gram=gram,
        )
