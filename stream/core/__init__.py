"""The scoring core: pure, synchronous functions with no Faust import.

decode (bytes → envelope | Rejected) → validate (schema, then the model's features) →
vectorise (float32, bundle order) → score (:class:`Scorer`) → decide → build alerts.
:func:`process_batch` runs them all over one batch of Kafka messages.
"""

from iotad.stream.core.alert import (
    AlertContext,
    AlertThrottle,
    SeverityPolicy,
    ThrottleState,
    alert_id,
    build_alerts,
)
from iotad.stream.core.dead_letter import dead_letter
from iotad.stream.core.decide import DecisionPolicy, Decisions, decide
from iotad.stream.core.decode import decode
from iotad.stream.core.model import ServingModel, feature_spec, serving_model
from iotad.stream.core.pipeline import BatchOutcome, ScoringOptions, process_batch
from iotad.stream.core.score import OnnxScorer
from iotad.stream.core.types import (
    AlertRecord,
    DeadLetterRecord,
    Envelope,
    FeatureSpec,
    FlowBlock,
    InboundMessage,
    Rejected,
    Scorer,
    Validated,
)
from iotad.stream.core.validate import validate
from iotad.stream.core.vectorise import RowOrigin, vectorise

__all__ = [
    "AlertContext",
    "AlertRecord",
    "AlertThrottle",
    "BatchOutcome",
    "DeadLetterRecord",
    "DecisionPolicy",
    "Decisions",
    "Envelope",
    "FeatureSpec",
    "FlowBlock",
    "InboundMessage",
    "OnnxScorer",
    "Rejected",
    "RowOrigin",
    "Scorer",
    "ScoringOptions",
    "ServingModel",
    "SeverityPolicy",
    "ThrottleState",
    "Validated",
    "alert_id",
    "build_alerts",
    "dead_letter",
    "decide",
    "decode",
    "feature_spec",
    "process_batch",
    "serving_model",
    "validate",
    "vectorise",
]
