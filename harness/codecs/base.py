"""What a run compares, and the codec interface every adapter implements.

A :class:`Contender` is anything a run evaluates at operating points on images: it names itself, says
how it is built (version, availability), which knob sets its operating point and which colour chain it
codes in, and turns an image and a point into an :class:`Outcome` (a reconstruction and its rate). Its
capabilities are declared as class attributes with their defaults here, not probed (as libjxl's benchmark
codecs declare theirs): ``can_encode``, ``rate_search``, ``keeps_bitstream``, ``fixed_points``.

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
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from harness.codecs.identity import CodecIdentity, configuration_digest
from harness.codecs.values import Availability, Bitstream, CodecError, CodecUnavailable, ColourChain, Knob, Outcome
from harness.core.pixelerror import error_gram, mse_of, psnr_db
from harness.core.process import ProgramNotFound

if TYPE_CHECKING:
    from harness.core.images import SourceImage


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

    Options from a codec string (``name:key=value:key=value``) arrive as keyword arguments; with every
    default spelled out, the colour chain and :meth:`arguments` they make the contender's
    :attr:`identity`, which keys its jobs.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    knob: ClassVar[Knob]
    default_points: ClassVar[tuple[float, ...]]
    colour: ColourChain  # a class default; options may set an instance's (hevc:chroma=444)
    extension: ClassVar[str] = ".bin"  # of the files its bitstreams are kept in
    # Capabilities: what a run may ask of the contender. A Codec can all three; published data none.
    can_encode: ClassVar[bool] = False  # encode() and decode() work
    rate_search: ClassVar[bool] = False  # the knob may be searched for a target bpp (--target-bpp, --match)
    keeps_bitstream: ClassVar[bool] = False  # a row may keep its bitstream, and decode() gives its pixels again
    # The points are data (one per published reconstruction), not a knob: a rate-matched or --target-bpp
    # run evaluates them as they are instead of searching for a target bpp.
    fixed_points: ClassVar[bool] = False
    size_multiple: ClassVar[int] = 1  # e.g. 2 for 4:2:0 codecs that need even sizes
    min_size: ClassVar[int] = 1

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
        """The codec string that names this configuration in results: the name and the options that differ
        from their defaults (``avif:speed=2`` is ``avif`` while 2 is the default)."""
        return self.identity.label

    @functools.cached_property
    def identity(self) -> CodecIdentity:
        """The typed identity that jobs, rows and analyses carry (see :mod:`harness.codecs.identity`)."""
        options = {key: self.option(key) for key in self.option_defaults}
        try:
            arguments = self.arguments()
        except Exception as exc:  # noqa: BLE001 - an unavailable program: its rows fail and say why
            arguments = {"unresolved": type(exc).__name__}
        return CodecIdentity(
            name=self.name, options=tuple(sorted(options.items())),
            defaults=tuple(sorted(self.option_defaults.items())), version=self.version(),
            digest=configuration_digest(options, self.colour.as_columns(), arguments),
            positional=self.positional_option)

    def arguments(self) -> dict[str, Any]:
        """The exact arguments the adapter gives its encoder and decoder (at :meth:`probe_point` on a
        64x64 picture), beyond the options: part of the configuration digest, so a changed fixed argument
        gives new job keys. Default: nothing beyond the options."""
        return {}

    def probe_point(self) -> float:
        """The point at which :meth:`arguments` shows the encoder's command."""
        points = self.default_points or (self.knob.low,)
        return self.knob.clamp(points[len(points) // 2])

    def recorded_params(self, point: float, size: tuple[int, int]) -> dict[str, Any] | None:
        """The params an encode at ``point`` of a ``size`` (height, width) picture records, without
        encoding; None when the adapter cannot say. A resume compares a migrated row's params with these."""
        return None

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
    def compress(self, image: SourceImage, point: float | None, keep_bitstream: bool = False,
                 repeats: int = 1) -> Outcome:
        """One image at one operating point: the reconstruction, its rate and the exact parameters.
        ``point`` is None for an image the contender has no point for (the error says why); ``repeats``
        asks for timings as the median of that many runs (a contender that times nothing ignores it)."""

    def encode(self, rgb: np.ndarray, point: float) -> Bitstream:
        """Encode HxWx3 uint8 pixels (already padded to the size rules); only where ``can_encode``."""
        raise CodecError(f"{self.name} has no encoder")

    def decode(self, data: bytes, size: tuple[int, int] | None = None) -> np.ndarray:
        """Decode a bitstream to HxWx3 uint8 pixels; only where ``can_encode``."""
        raise CodecError(f"{self.name} has no decoder")

    def describe(self) -> dict[str, Any]:
        """A capability descriptor: what the contender is and what it can do (as codec-compare-gen keeps)."""
        ok = self.availability()
        return {
            "name": self.label,
            "options": dict(self.identity.options),
            "config": self.identity.digest,
            "description": self.description,
            "available": ok.ok,
            "reason": ok.reason,
            "version": self.version(),
            "knob": asdict(self.knob),
            "default_points": list(self.default_points),
            "option_choices": {k: list(v) for k, v in self.option_choices.items()},
            "capabilities": {"can_encode": self.can_encode, "rate_search": self.rate_search,
                             "keeps_bitstream": self.keeps_bitstream, "fixed_points": self.fixed_points},
            **self.colour.as_columns(),
        }


class Codec(Contender):
    """A codec adapter: encode and decode; :meth:`compress` does the rest once for all."""

    can_encode = rate_search = keeps_bitstream = True
    # A decode below this PSNR against the input is not a data point but a broken decode
    # (several decoders return garbage with exit status 0 on corrupt streams).
    implausible_psnr_db: ClassVar[float] = 10.0
    # What encode and decode seconds measure: "wall" (the wall clock around the call, in this process),
    # "ffmpeg-benchmark" (ffmpeg's own -benchmark CPU seconds of the coding, without the process's start-up),
    # or "process" (the wall clock of a program's run, its start-up included).
    timing: ClassVar[str] = "wall"

    @abstractmethod
    def encode(self, rgb: np.ndarray, point: float) -> Bitstream:
        """Encode HxWx3 uint8 pixels (already padded to the codec's size rules)."""

    @abstractmethod
    def decode(self, data: bytes, size: tuple[int, int] | None = None) -> np.ndarray:
        """Decode a bitstream to HxWx3 uint8 pixels of the encoded (padded) size. ``size`` (height, width)
        is that size, for formats that do not carry it (raw YUV); None when the caller does not know it."""

    def decode_timed(self, data: bytes, size: tuple[int, int] | None = None) -> tuple[np.ndarray, float | None]:
        """:meth:`decode`, with the decoder's own timing when it gives one (None: the caller's clock)."""
        return self.decode(data, size), None

    def _coded(self, padded: np.ndarray, point: float, repeats: int) -> tuple[Bitstream, np.ndarray, float, float]:
        """Encode and decode ``repeats`` times: the stream, the decoded pixels and the median encode and
        decode seconds. Every repeat must give the same bits and the same pixels."""
        encode_times, decode_times = [], []
        stream: Bitstream | None = None
        for i in range(repeats):
            t0 = time.perf_counter()
            again = self.encode(padded, point)
            elapsed = time.perf_counter() - t0
            encode_times.append(again.seconds if again.seconds is not None else elapsed)
            if stream is not None and again.data != stream.data:
                raise CodecError(f"encode {i + 1} of {repeats} gave different bits ({len(again.data)} bytes, the "
                                 f"first {len(stream.data)}): a timing repeat must code the same stream")
            stream = stream or again
        assert stream is not None
        decoded: np.ndarray | None = None
        for i in range(repeats):
            t0 = time.perf_counter()
            pixels, own = self.decode_timed(stream.data, padded.shape[:2])
            decode_times.append(own if own is not None else time.perf_counter() - t0)
            if decoded is not None and not np.array_equal(pixels, decoded):
                raise CodecError(f"decode {i + 1} of {repeats} gave different pixels: a timing repeat must decode "
                                 "the same picture")
            decoded = pixels if decoded is None else decoded
        assert decoded is not None
        return stream, decoded, float(np.median(encode_times)), float(np.median(decode_times))

    def compress(self, image: SourceImage, point: float | None, keep_bitstream: bool = False,
                 repeats: int = 1) -> Outcome:
        """Encode and decode one image at one operating point, with timing and sanity checks; with
        ``repeats``, the times are the median of that many encodes and decodes (bits and pixels identical)."""
        if point is None:
            raise CodecError(f"{self.label}: no operating point given for image {image.name}")
        rgb = image.pixels
        h, w = rgb.shape[:2]
        padded = pad_to_multiple(rgb, self.size_multiple, self.min_size)
        stream, decoded, encode_seconds, decode_seconds = self._coded(padded, point, max(1, repeats))
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
            encode_seconds=encode_seconds,
            decode_seconds=decode_seconds,
            params=params,
            bitstream=stream.data if keep_bitstream else None,
            padded_to=(padded.shape[0], padded.shape[1]) if padded is not rgb else None,
            error_gram=gram,
            timing=self.timing if repeats <= 1 else f"{self.timing}, median of {repeats}",
        )
