"""The PICO network's sizes (:class:`PicoConfig`) and the bounds of its entropy-model parameters."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

SIGMA_MIN = 0.11
SIGMA_MAX = 64.0
LOGQ_MIN = -3.0
LOGQ_MAX = 3.0
# Phases of the 2x2 latent grid in coding order (row parity, column parity).
PHASES = ((0, 0), (1, 1), (0, 1), (1, 0))


@dataclass
class PicoConfig:
    """All sizes of the network; stored inside every checkpoint."""

    stage_channels: tuple[int, ...] = (12, 48, 192)  # widths after each Haar step; the last one is y
    hyper_channels: int = 96  # intermediate width of the hyper-encoder (stride of y times 2)
    z_channels: int = 32  # z at 4x the stride of y
    blocks: tuple[int, ...] = (0, 1, 1)  # IR blocks per stage (encoder and decoder each)
    expansion: int = 2
    scale_width: int = 48  # scale-decoder width (integer path)
    context_width: int = 64  # context-decoder prior width at the stride of y
    head_width: int = 96  # mu/q head hidden width
    levels: int = 6
    lambdas: tuple[float, ...] = (0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483)
    # Initial quantization step of each level in 8-bit pixel units (sets the initial gains).
    init_steps: tuple[float, ...] = (24.0, 16.0, 11.0, 7.5, 5.0, 3.4)
    name: str = "tiny"

    def __post_init__(self) -> None:
        self.stage_channels = tuple(self.stage_channels)
        self.blocks = tuple(self.blocks)
        self.lambdas = tuple(float(v) for v in self.lambdas)
        self.init_steps = tuple(float(v) for v in self.init_steps)
        if len(self.lambdas) != self.levels or len(self.init_steps) != self.levels:
            raise ValueError(f"config has {self.levels} levels but {len(self.lambdas)} lambdas and "
                             f"{len(self.init_steps)} initial steps")
        if len(self.blocks) != len(self.stage_channels):
            raise ValueError("blocks needs one entry per stage")
        if 64 % self.z_stride:
            raise ValueError(f"z stride {self.z_stride} must divide the 64-px tile granularity")

    @property
    def stage_widths(self) -> tuple[int, ...]:
        return self.stage_channels

    @property
    def latent_channels(self) -> int:
        return self.stage_channels[-1]

    @property
    def y_stride(self) -> int:
        return 2 ** len(self.stage_channels)

    @property
    def z_stride(self) -> int:
        return 4 * self.y_stride

    @classmethod
    def paper(cls) -> PicoConfig:
        """Sizes in the paper's range (~34 kMAC/pixel encode+decode), y at /16; the parameter counts are
        smaller than the paper's 15.2M/9.6M because the paper does not say where its parameters sit."""
        return cls(stage_channels=(12, 48, 160, 320), hyper_channels=192, z_channels=64,
                   blocks=(0, 1, 2, 3), expansion=3, scale_width=96, context_width=128, head_width=192,
                   name="paper")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PicoConfig:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})
