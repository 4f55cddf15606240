"""The values that flow through the scoring core, and the :class:`Scorer` interface.

Everything here is a plain, immutable value: the core never raises for bad input, it returns a
:class:`Rejected` carrying the dead-letter code and a readable message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from iotad.schemas.features import FeatureLayout
from iotad.schemas.labels import Category
from iotad.schemas.messages import DeadLetterCode, ModelRef


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One Kafka message as the worker read it: the bytes and where they came from."""

    value: bytes | None
    topic: str
    partition: int
    offset: int
    key: bytes | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    """Input that cannot be scored: why, and the bytes to keep in the dead-letter topic.

    ``index`` is the position of a single bad flow inside a batch envelope (``None`` when the
    whole message is refused); ``original`` then holds that flow re-encoded on its own.
    """

    code: DeadLetterCode
    message: str
    original: bytes
    index: int | None = None


EnvelopeKind = Literal["flow", "flow_batch"]


@dataclass(frozen=True, slots=True)
class Envelope:
    """A message that parsed as a JSON object of a known schema, not yet validated."""

    kind: EnvelopeKind
    document: Mapping[str, Any]
    original: bytes


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """The raw features a model needs, in the order its scaler expects them."""

    layout: FeatureLayout
    names: tuple[str, ...]
    name_set: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name_set", frozenset(self.names))


@dataclass(frozen=True, slots=True)
class FlowBlock:
    """Valid flows of one message (a single flow is a block of one), ready to vectorise.

    ``values`` holds the features in :class:`FeatureSpec` order: one row (``columnar=False``,
    a single flow) or one column per feature with a value per flow (``columnar=True``, a batch).
    ``index`` holds each flow's position inside its batch envelope, ``None`` for a single flow.
    ``src_ip`` / ``dst_ip`` hold each flow's hosts where the gateway sent them, else ``None``.
    """

    gateway_id: str
    device_id: Sequence[str]
    event_time_ms: Sequence[int]
    flow_id: Sequence[str | None] | None
    label: Sequence[str | None] | None
    values: Sequence[Sequence[float]]
    columnar: bool
    index: Sequence[int] | None
    src_ip: Sequence[str | None] | None = None
    dst_ip: Sequence[str | None] | None = None

    def __len__(self) -> int:
        return len(self.device_id)


@dataclass(frozen=True, slots=True)
class Validated:
    """What validation made of one message: the flows that can be scored and those refused."""

    block: FlowBlock | None
    rejected: tuple[Rejected, ...] = ()


class Scorer(Protocol):
    """Turns rows of raw features (bundle order, float32) into one score per class."""

    @property
    def model(self) -> ModelRef:
        """Which bundle scores (carried by every alert)."""
        ...

    @property
    def classes(self) -> tuple[str, ...]:
        """Class names in score-column order."""
        ...

    def scores(self, raw: NDArray[np.float32]) -> NDArray[np.float32]:
        """Scores of shape ``(rows, len(classes))``; each row sums to 1."""
        ...


@dataclass(frozen=True, slots=True)
class AlertRecord:
    """An alert ready to publish: Kafka key (the category), JSON value, and its event time."""

    category: Category
    key: bytes
    value: bytes
    event_time_ms: int


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    """A dead letter ready to publish (key = the source message's key), and what it is about."""

    code: DeadLetterCode
    key: bytes | None
    value: bytes
    source: InboundMessage
    index: int | None
    reason: str


__all__ = [
    "AlertRecord",
    "DeadLetterRecord",
    "Envelope",
    "EnvelopeKind",
    "FeatureSpec",
    "FlowBlock",
    "InboundMessage",
    "Rejected",
    "Scorer",
    "Validated",
]
