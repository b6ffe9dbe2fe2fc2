"""A study's settings: what each rater sees and when the study ends, stored in its ``meta`` table."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from harness.pairwise.db import StudyError

MODES = ("pair", "flicker", "triplet")


@dataclass(frozen=True)
class Settings:
    trials_per_rater: int = 60  # golden questions included; then the end page and its completion code
    pause_every: int = 20  # a break is offered after every N votes (0: none)
    min_seconds: float = 0.8  # votes faster than this are flagged and left out of scoring
    golden_first: int = 4  # every rater's first golden question comes at a random one of the first N (0: none)
    golden_every: int = 8  # then one at a random position in every further block of N trials (0: none)
    ties: bool = False  # offer "no visible difference" (scored with Davidson's Bradley-Terry with ties)
    mode: str = "pair"  # pair (flip A/B by hand), flicker (A/B alternate automatically), triplet
    flicker_ms: int = 500  # the flicker period's half: each image stays this long
    stop_width: float = 0.0  # stop once every neighbouring pair's 95% Elo difference interval is narrower (0: off)
    budget: int = 0  # stop after this many counted votes (0: off)
    enrolment: str = "invite"  # invite (links from `harness study invite`) or open (the page issues sessions)

    def check(self) -> Settings:
        if self.mode not in MODES:
            raise StudyError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if self.enrolment not in ("invite", "open"):
            raise StudyError(f"enrolment must be invite or open, got {self.enrolment!r}")
        if self.trials_per_rater < 1 or min(self.pause_every, self.min_seconds, self.golden_first, self.golden_every) < 0:
            raise StudyError("trials_per_rater must be >= 1; pause_every, min_seconds, golden_first, golden_every >= 0")
        if not 100 <= self.flicker_ms <= 5000:
            raise StudyError(f"flicker period must be 100-5000 ms, got {self.flicker_ms}")
        return self

    def with_text(self, pairs: list[str]) -> Settings:
        """These settings with ``KEY=VALUE`` pairs applied (``trials_per_rater=40``, ``mode=flicker``)."""
        meta = self.to_meta()
        for pair in pairs:
            key, _, value = pair.partition("=")
            key = key.strip().replace("-", "_")
            if key not in meta or not value:
                raise StudyError(f"--set {pair[:60]!r}: expected KEY=VALUE with KEY one of {', '.join(meta)}")
            meta[key] = value.strip()
        try:
            return Settings.from_meta(meta).check()
        except ValueError as exc:
            if isinstance(exc, StudyError):
                raise
            raise StudyError(f"--set: {exc}") from None

    def to_meta(self) -> dict[str, str]:
        return {k: str(int(v) if isinstance(v, bool) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_meta(cls, meta: dict[str, str]) -> Settings:
        values: dict[str, object] = {}
        for f in fields(cls):
            if f.name in meta:
                kind = type(getattr(cls, f.name))
                values[f.name] = bool(int(meta[f.name])) if kind is bool else kind(meta[f.name])
        return cls(**values)  # type: ignore[arg-type]
