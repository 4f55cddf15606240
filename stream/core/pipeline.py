"""One batch of Kafka messages → alerts, dead letters and counts: the whole scoring core.

decode → validate → vectorise → score → decide → build alerts, for a batch at a time so that
the model runs once per batch. Synchronous and free of I/O: the Faust agent calls it (in a worker
thread) and publishes what it returns.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import orjson
from numpy.typing import NDArray

from iotad.schemas.labels import Category
from iotad.schemas.messages import DeadLetterCode, ModelRef
from iotad.stream.core.alert import (
    AlertContext,
    AlertThrottle,
    SeverityPolicy,
    ThrottleState,
    build_alerts,
)
from iotad.stream.core.baseline import (
    AnomalyVerdict,
    GatewayBaseline,
    row_gateways,
    score_baselines,
)
from iotad.stream.core.dead_letter import dead_letter
from iotad.stream.core.decide import combine, decide
from iotad.stream.core.decode import decode
from iotad.stream.core.model import ServingModel
from iotad.stream.core.types import (
    AlertRecord,
    DeadLetterRecord,
    FeatureSpec,
    FlowBlock,
    InboundMessage,
    Rejected,
)
from iotad.stream.core.validate import validate
from iotad.stream.core.vectorise import RowOrigin, vectorise


@dataclass(frozen=True)
class ScoringOptions:
    """Limits and policies of the core that do not change with the model."""

    max_message_bytes: int
    max_dead_letter_original_bytes: int
    severity: SeverityPolicy = field(default_factory=SeverityPolicy)
    throttle: AlertThrottle | None = None
    #: return the rows of gateways without a baseline (the worker learns baselines from them).
    collect_uncovered: bool = False


@dataclass
class BatchOutcome:
    """What one batch produced: messages to publish and counts for metrics."""

    model: ModelRef
    alerts: list[AlertRecord]
    dead_letters: list[DeadLetterRecord]
    messages: int
    scored: int
    benign: int
    uncertain: int
    suppressed: Counter[Category]
    score_seconds: float
    core_seconds: float
    #: flows a gateway baseline found normal (no alert).
    normal: int = 0
    #: flows per gateway that had no baseline (scored by the classifier alone).
    missing_baseline: dict[str, int] = field(default_factory=dict)
    #: with ``collect_uncovered``: those gateways' rows (raw features, the model's order).
    uncovered_rows: dict[str, NDArray[np.float32]] = field(default_factory=dict)
    baseline_seconds: float = 0.0

    @property
    def flows(self) -> int:
        """Flows seen: scored ones plus refused ones (a refused message counts once)."""
        return self.scored + len(self.dead_letters)


def _block_row(block: FlowBlock, position: int, spec: FeatureSpec, source: InboundMessage) -> bytes:
    """A flow of a block on its own, as ``iotad.flow.v1`` JSON (the message itself if single)."""
    if not block.columnar:
        return source.value or b""
    values = {name: column[position] for name, column in zip(spec.names, block.values, strict=True)}
    flow = {
        "schema": "iotad.flow.v1",
        "gateway_id": block.gateway_id,
        "device_id": block.device_id[position],
        "event_time_ms": block.event_time_ms[position],
        "flow_id": None if block.flow_id is None else block.flow_id[position],
        "src_ip": None if block.src_ip is None else block.src_ip[position],
        "dst_ip": None if block.dst_ip is None else block.dst_ip[position],
        "label": None if block.label is None else block.label[position],
        "features": values,
    }
    return orjson.dumps(flow)


def _refuse_out_of_range(
    matrix: NDArray[np.float32],
    origin: RowOrigin,
    blocks: Sequence[FlowBlock],
    sources: Sequence[InboundMessage],
    spec: FeatureSpec,
) -> tuple[NDArray[np.float32], RowOrigin, list[tuple[Rejected, InboundMessage]]]:
    """Drop rows that overflowed float32 (finite in JSON, ``inf`` as model input)."""
    finite = np.isfinite(matrix).all(axis=1)
    if finite.all():
        return matrix, origin, []
    refused = []
    for row in np.flatnonzero(~finite).tolist():
        b, pos = int(origin.block[row]), int(origin.position[row])
        block, source = blocks[b], sources[b]
        index = None if block.index is None else block.index[pos]
        refused.append(
            (
                Rejected(
                    DeadLetterCode.NON_FINITE_VALUE,
                    "a feature value is beyond the float32 range the model takes",
                    _block_row(block, pos, spec, source),
                    index=index,
                ),
                source,
            )
        )
    keep = np.flatnonzero(finite)
    return matrix[keep], RowOrigin(origin.block[keep], origin.position[keep]), refused


def process_batch(
    messages: Sequence[InboundMessage],
    model: ServingModel,
    options: ScoringOptions,
    *,
    now_ms: int,
    throttle_state: ThrottleState | None = None,
    baselines: Mapping[str, GatewayBaseline] | None = None,
) -> BatchOutcome:
    """Score a batch of flow messages with ``model`` and each gateway's baseline.

    Every message ends up in exactly one place per flow: an alert, the benign, uncertain or
    normal count, a throttled count, or a dead letter. Nothing raises for bad input. A gateway
    missing from ``baselines`` is decided by the classifier alone (``missing_baseline``).
    """
    began = time.perf_counter()
    refused: list[tuple[Rejected, InboundMessage]] = []
    blocks: list[FlowBlock] = []
    sources: list[InboundMessage] = []
    for message in messages:
        decoded = decode(message.value, max_bytes=options.max_message_bytes)
        if isinstance(decoded, Rejected):
            refused.append((decoded, message))
            continue
        validated = validate(decoded, model.spec)
        refused.extend((r, message) for r in validated.rejected)
        if validated.block is not None:
            blocks.append(validated.block)
            sources.append(message)
    matrix = vectorise(blocks, len(model.spec.names))
    origin = RowOrigin.of(blocks)
    matrix, origin, overflowed = _refuse_out_of_range(matrix, origin, blocks, sources, model.spec)
    refused.extend(overflowed)

    started = time.perf_counter()
    scores = model.scorer.scores(matrix)
    score_seconds = time.perf_counter() - started
    decisions = decide(scores, model.policy)
    started = time.perf_counter()
    verdict = score_baselines(matrix, model.spec.names, origin, blocks, baselines or {})
    baseline_seconds = time.perf_counter() - started
    decisions = combine(decisions, verdict)
    context = AlertContext(
        model=model.model,
        policy=model.policy,
        severity=options.severity,
        detected_at_ms=now_ms,
        throttle=options.throttle,
    )
    built = build_alerts(
        decisions.alert_rows,
        scores,
        decisions,
        origin,
        blocks,
        sources,
        context,
        throttle_state,
        verdict,
    )
    letters = [
        dead_letter(
            rejected,
            source,
            received_at_ms=now_ms,
            max_original_bytes=options.max_dead_letter_original_bytes,
        )
        for rejected, source in refused
    ]
    return BatchOutcome(
        model=model.model,
        alerts=built.records,
        dead_letters=letters,
        messages=len(messages),
        scored=len(matrix),
        benign=int(decisions.benign.sum()),
        uncertain=int(decisions.uncertain.sum()),
        suppressed=built.suppressed,
        score_seconds=score_seconds,
        core_seconds=time.perf_counter() - began,
        normal=0 if decisions.normal is None else int(decisions.normal.sum()),
        missing_baseline=dict(verdict.missing),
        uncovered_rows=_uncovered_rows(matrix, origin, blocks, verdict)
        if options.collect_uncovered
        else {},
        baseline_seconds=baseline_seconds,
    )


def _uncovered_rows(
    matrix: NDArray[np.float32],
    origin: RowOrigin,
    blocks: Sequence[FlowBlock],
    verdict: AnomalyVerdict,
) -> dict[str, NDArray[np.float32]]:
    """The rows of each gateway without a baseline, in batch order."""
    if not verdict.missing:
        return {}
    gateways, gateway_of_row = row_gateways(origin, blocks)
    return {g: matrix[gateway_of_row == i] for i, g in enumerate(gateways) if g in verdict.missing}


__all__ = ["BatchOutcome", "ScoringOptions", "process_batch"]
