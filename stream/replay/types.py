"""What a replay is told (options) and what it reports (summary, rejections)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from iotad.errors import ConfigError
from iotad.schemas.features import FeatureLayout


class RejectReason(StrEnum):
    """Why a CSV row was not sent."""

    WRONG_COLUMN_COUNT = "wrong_column_count"
    EMPTY_VALUE = "empty_value"
    NON_NUMERIC = "non_numeric"
    NON_FINITE = "non_finite"
    UNKNOWN_LABEL = "unknown_label"
    MALFORMED_CSV = "malformed_csv"
    BLANK_LINE = "blank_line"


@dataclass(frozen=True)
class Rejection:
    """One refused row: the reason and what was wrong (column and value)."""

    reason: RejectReason
    detail: str


@dataclass(frozen=True)
class RejectedRow:
    """A refused row with where it came from, for the summary's examples."""

    path: Path
    line: int
    rejection: Rejection


@dataclass(frozen=True)
class CaptureFile:
    """A CICIoT2023 CSV file, inspected from its header.

    ``label_column`` is the index of ``label``/``Label`` when the file has one (MERGED and part
    files); per-class capture files have none and take ``path_label`` from their folder or name.
    """

    path: Path
    layout: FeatureLayout
    header: tuple[str, ...]
    label_column: int | None
    path_label: str | None
    stem: str

    @property
    def has_natural_pace(self) -> bool:
        """True for per-class captures: time-ordered windows whose length the row tells."""
        return self.label_column is None and self.layout is FeatureLayout.CIC39


@dataclass(frozen=True)
class ReplayOptions:
    """How to replay: where to, how fast, how much.

    ``rate`` (flows/s) and ``speedup`` (× natural pace) exclude each other; ``max_rate`` caps
    either (and an unpaced replay). ``batch`` ≤ 1 sends one ``iotad.flow.v1`` message per flow,
    more sends columnar ``iotad.flow_batch.v1`` envelopes of up to ``batch`` flows of one device.
    """

    topic: str
    gateway_id: str = "gw-replay"
    devices_per_file: int = 16
    batch: int = 0
    rate: float | None = None
    speedup: float | None = None
    max_rate: float | None = None
    limit: int | None = None
    loop: bool = False
    max_message_bytes: int = 4 * 1024 * 1024

    def __post_init__(self) -> None:
        checks = {
            "rate": self.rate,
            "speedup": self.speedup,
            "max_rate": self.max_rate,
        }
        for name, value in checks.items():
            if value is not None and not value > 0:
                raise ConfigError(f"replay {name} must be > 0, got {value}")
        if self.rate is not None and self.speedup is not None:
            raise ConfigError("give either --rate or --speedup, not both")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"replay limit must be ≥ 1, got {self.limit}")
        if self.devices_per_file < 1:
            raise ConfigError(f"devices_per_file must be ≥ 1, got {self.devices_per_file}")
        if self.batch < 0 or self.batch > 100_000:
            raise ConfigError(f"batch must be between 0 and 100000, got {self.batch}")

    @property
    def batched(self) -> bool:
        """True when flows go out in batch envelopes."""
        return self.batch > 1


@dataclass
class ReplaySummary:
    """What a replay did. ``sent`` counts flows acknowledged by Kafka."""

    files: int = 0
    passes: int = 0
    rows_read: int = 0
    produced: int = 0
    sent: int = 0
    messages: int = 0
    delivery_failures: int = 0
    first_delivery_error: str | None = None
    rejected: Counter[RejectReason] = field(default_factory=Counter)
    examples: list[RejectedRow] = field(default_factory=list)
    skipped_files: list[tuple[Path, str]] = field(default_factory=list)
    elapsed_s: float = 0.0
    stopped_by: str = "end of input"

    @property
    def rejected_total(self) -> int:
        """Rows refused, all reasons together."""
        return sum(self.rejected.values())

    @property
    def rate(self) -> float:
        """Achieved flows per second (sent / elapsed)."""
        return self.sent / self.elapsed_s if self.elapsed_s > 0 else 0.0


__all__ = [
    "CaptureFile",
    "RejectReason",
    "RejectedRow",
    "Rejection",
    "ReplayOptions",
    "ReplaySummary",
]
