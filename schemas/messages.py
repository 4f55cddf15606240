"""The messages on the product's Kafka topics, as pydantic models.

These models are the single source of truth: the JSON Schema files next to this module
(``flow.v1.json`` …) are generated from them by ``python -m iotad.schemas.export`` and a test fails
when a committed file differs from what the models generate. Validation runs in pydantic's compiled
core (``Model.model_validate_json(raw_bytes)``).

Times are epoch milliseconds (UTC). Feature values must be finite numbers: JSON has no NaN or
infinity, and a flow carrying one is rejected.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from iotad.schemas.features import FeatureName

FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
EpochMillis = Annotated[int, Field(ge=0, description="Milliseconds since the Unix epoch, UTC.")]
Identifier = Annotated[str, Field(min_length=1, max_length=128)]
HostAddress = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="An IPv4/IPv6 address (or a host name) as the gateway saw it.",
    ),
]


class _Message(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        allow_inf_nan=False,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )


class Flow(_Message):
    """One flow-feature record from a gateway (topic ``iotad.flows``)."""

    model_config = ConfigDict(
        title="iotad flow v1",
        json_schema_extra={
            "description": "One CICIoT2023 flow-feature window from a gateway. `features` uses "
            "the exact CICIoT2023 column names of either layout (39-column per-class/MERGED or "
            "46-column part files); the scoring model decides which layout it needs."
        },
    )

    schema_id: Literal["iotad.flow.v1"] = Field(default="iotad.flow.v1", alias="schema")
    gateway_id: Identifier
    device_id: Identifier
    event_time_ms: EpochMillis
    flow_id: Identifier | None = None
    src_ip: HostAddress | None = Field(
        default=None, description="Source host of the flow or window, where known."
    )
    dst_ip: HostAddress | None = Field(
        default=None, description="Destination host of the flow or window, where known."
    )
    features: dict[FeatureName, FiniteFloat] = Field(min_length=1)
    label: str | None = Field(
        default=None,
        description="Ground-truth label, carried for evaluation only; never used to score.",
    )


class FlowBatch(_Message):
    """Many flows in one Kafka message, column by column (topic ``iotad.flows``).

    Columnar: one list per feature and per metadata field, all of length ``count``. It encodes and
    decodes several times faster than a list of row objects (``bench/message_format.py``).
    """

    model_config = ConfigDict(
        title="iotad flow batch v1",
        json_schema_extra={
            "description": "A batch of flows from one gateway in columnar form: every list has "
            "`count` entries, entry i of each list belongs to flow i."
        },
    )

    schema_id: Literal["iotad.flow_batch.v1"] = Field(default="iotad.flow_batch.v1", alias="schema")
    gateway_id: Identifier
    count: int = Field(ge=1, le=100_000)
    device_id: list[Identifier]
    event_time_ms: list[EpochMillis]
    flow_id: list[Identifier | None] | None = None
    src_ip: list[HostAddress | None] | None = None
    dst_ip: list[HostAddress | None] | None = None
    label: list[str | None] | None = None
    features: dict[FeatureName, list[FiniteFloat]] = Field(min_length=1)

    @model_validator(mode="after")
    def _columns_have_count_entries(self) -> FlowBatch:
        lengths = {"device_id": len(self.device_id), "event_time_ms": len(self.event_time_ms)}
        optional = {
            "flow_id": self.flow_id,
            "src_ip": self.src_ip,
            "dst_ip": self.dst_ip,
            "label": self.label,
        }
        lengths.update((name, len(col)) for name, col in optional.items() if col is not None)
        lengths.update((f"features.{name}", len(col)) for name, col in self.features.items())
        wrong = {name: n for name, n in lengths.items() if n != self.count}
        if wrong:
            shown = ", ".join(f"{k}={v}" for k, v in list(wrong.items())[:5])
            raise ValueError(f"count is {self.count} but these columns differ: {shown}")
        return self


class Severity(StrEnum):
    """How urgently an alert needs a person."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class ClassProbability(_Message):
    """One entry of an alert's top-k."""

    label: str
    probability: Annotated[float, Field(ge=0.0, le=1.0)]


class ModelRef(_Message):
    """Which bundle produced an alert."""

    name: str
    version: str
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class SourceRef(_Message):
    """Where the scored flow was read from."""

    topic: str
    partition: Annotated[int, Field(ge=0)]
    offset: Annotated[int, Field(ge=0)]
    index: Annotated[int, Field(ge=0)] | None = Field(
        default=None, description="Position of the flow inside a batch envelope; null if single."
    )


class Alert(_Message):
    """An attack verdict on one flow (topic ``iotad.alerts``, key = category)."""

    model_config = ConfigDict(
        title="iotad alert v1",
        json_schema_extra={
            "description": "An attack detected in one flow. Mapping to ECS/OCSF: docs/alerts.md."
        },
    )

    schema_id: Literal["iotad.alert.v1"] = Field(default="iotad.alert.v1", alias="schema")
    alert_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    detected_at_ms: EpochMillis
    event_time_ms: EpochMillis
    gateway_id: Identifier
    device_id: Identifier
    flow_id: Identifier | None = None
    src_ip: HostAddress | None = Field(default=None, description="Source host, where known.")
    dst_ip: HostAddress | None = Field(default=None, description="Destination host, where known.")
    category: str = Field(description="Attack category, e.g. DDoS, Recon, Web (the Kafka key).")
    label: str | None = Field(default=None, description="Fine-grained label if the model has one.")
    confidence: Annotated[float, Field(ge=0.0, le=1.0)]
    top_k: list[ClassProbability] = Field(min_length=1)
    severity: Severity
    model: ModelRef
    source: SourceRef
    ground_truth_label: str | None = Field(
        default=None, description="The label the flow carried, if any (evaluation only)."
    )
    anomaly_score: FiniteFloat | None = Field(
        default=None,
        description="How far the flow lies from its gateway's benign baseline (higher is more "
        "unusual; it alerts at or above the baseline's threshold); null when the gateway has "
        "no baseline.",
    )
    baseline: ModelRef | None = Field(
        default=None, description="The gateway's baseline bundle that scored the flow, if any."
    )


class DeadLetterCode(StrEnum):
    """Why a message could not be scored."""

    UNDECODABLE = "undecodable"
    OVERSIZED = "oversized"
    UNSUPPORTED_SCHEMA = "unsupported_schema"
    SCHEMA_VIOLATION = "schema_violation"
    NON_FINITE_VALUE = "non_finite_value"
    MISSING_FEATURES = "missing_features"
    UNEXPECTED_FEATURES = "unexpected_features"
    NESTING_TOO_DEEP = "nesting_too_deep"
    ARRAY_TOO_LONG = "array_too_long"
    INTERNAL_ERROR = "internal_error"


class DeadLetter(_Message):
    """A message the worker refused, with the reason (topic ``iotad.flows.dlq``)."""

    model_config = ConfigDict(
        title="iotad dead letter v1",
        json_schema_extra={
            "description": "An input message that could not be scored, kept with its bytes."
        },
    )

    schema_id: Literal["iotad.dead_letter.v1"] = Field(
        default="iotad.dead_letter.v1", alias="schema"
    )
    error_code: DeadLetterCode
    error_message: str
    source: SourceRef
    received_at_ms: EpochMillis
    original_b64: str = Field(
        description="The refused bytes, base64. For one bad flow inside a batch envelope, the "
        "flow re-encoded as a single iotad.flow.v1 message (or the raw columns if that fails)."
    )
    original_size: Annotated[int, Field(ge=0)]


__all__ = [
    "Alert",
    "ClassProbability",
    "DeadLetter",
    "DeadLetterCode",
    "EpochMillis",
    "FiniteFloat",
    "Flow",
    "FlowBatch",
    "HostAddress",
    "ModelRef",
    "Severity",
    "SourceRef",
]
