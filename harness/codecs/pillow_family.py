"""The Pillow family: codecs in process through Pillow (``jpeg``, ``webp``, ``jpeg2000``, ``avif``); an adapter
states the format, the library it needs and the save settings for a point."""

from __future__ import annotations

import io
from abc import abstractmethod
from typing import Any, ClassVar

import numpy as np
from PIL import Image, features

from harness.codecs.base import (
    Availability,
    Bitstream,
    Codec,
    CodecError,
)
from harness.core.errors import one_line


class PillowCodec(Codec):
    """A codec in process through Pillow.

    Subclasses state ``pillow_format`` (``"WEBP"``), ``pillow_feature`` (what :func:`PIL.features.check`
    must find, e.g. ``"webp"`` or the codec ``"jpg"``), ``library`` (how the version reads) and
    :meth:`save_settings` for a point; :meth:`encode_params` and :meth:`payload_bytes` when the row
    records more than the settings or the file has a container.
    """

    display_name: ClassVar[str]
    pillow_format: ClassVar[str]
    pillow_feature: ClassVar[str]
    library: ClassVar[str]

    @abstractmethod
    def save_settings(self, point: float) -> dict[str, Any]:
        """Keyword arguments of ``Image.save`` for ``point``."""

    def encode_params(self, settings: dict[str, Any]) -> dict[str, Any]:
        return settings

    def recorded_params(self, point: float, size: tuple[int, int]) -> dict[str, Any] | None:
        return self.encode_params(self.save_settings(point))

    def arguments(self) -> dict[str, Any]:
        return {"save": self.save_settings(self.probe_point()), "format": self.pillow_format}

    def payload_bytes(self, data: bytes) -> int | None:
        return None

    def save(self, image: Image.Image, buffer: io.BytesIO, settings: dict[str, Any]) -> None:
        """Write ``image`` with ``settings``: Pillow's registered handler of ``pillow_format`` by default."""
        image.save(buffer, format=self.pillow_format, **settings)

    def check_availability(self) -> Availability:
        if not features.check(self.pillow_feature):
            return Availability(False, f"Pillow was built without {self.pillow_format} support")
        return Availability(True)

    def probe_version(self) -> str:
        return f"{self.library} {features.version(self.pillow_feature)} (Pillow {Image.__version__})"

    def encode(self, rgb: np.ndarray, point: float) -> Bitstream:
        settings = self.save_settings(point)
        buffer = io.BytesIO()
        try:
            self.save(Image.fromarray(rgb), buffer, settings)
        except (OSError, ValueError, RuntimeError) as exc:
            raise CodecError(f"{self.display_name} encode failed: {one_line(exc)}") from None
        data = buffer.getvalue()
        return Bitstream(data, payload_bytes=self.payload_bytes(data), params=self.encode_params(settings))

    def decode(self, data: bytes, size: tuple[int, int] | None = None) -> np.ndarray:
        """8-bit RGB; grey, palette or alpha output (which these encoders do not write from RGB) is
        converted, any other mode refused."""
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                if image.mode not in ("RGB", "RGBA", "L", "P"):
                    raise CodecError(f"{self.display_name} decode: got a {image.mode} image, expected RGB")
                return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
        except (OSError, SyntaxError, ValueError, RuntimeError) as exc:  # Pillow 13's AVIF: RuntimeError
            raise CodecError(f"{self.display_name} decode failed: {one_line(exc)}") from None
