"""One batch of Kafka messages → alerts, dead letters and counts: the whole scoring core.

decode → validate → vectorise → score → decide → build alerts, for a batch at a time so that
the model runs once per batch. Synchronous and free of I/O: the Faust agent calls it (in a worker
thread) and publishes what it returns.

No input can fail a batch. Expected bad input comes back from decode/validate as a
:class:`Rejected`; anything a message still makes them raise (a parser or validator bug, a
``RecursionError``, a ``MemoryError`` on one huge message) becomes an ``internal_error`` dead
letter for that message alone, logged with its offset. Only the model (``Scorer.scores``) may
raise for a whole batch: that is infrastructure, not input. A batch whose messages hold more than
``max_batch_bytes`` is scored in slices of at most that many bytes, so the documents parsed at one
time stay bounded whatever ``stream.batch_size`` is.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
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
from iotad.stream.core.limits import StructureLimits
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

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoringOptions:
    """Limits and policies of the core that do not change with the model."""

    max_message_bytes: int
    max_dead_letter_original_bytes: int
    severity: SeverityPolicy = field(default_factory=SeverityPolicy)
    throttle: AlertThrottle | None = None
    limits: StructureLimits = field(default_factory=StructureLimits)
    #: Messages of one batch are scored in slices of at most this many bytes (None: one slice).
    max_batch_bytes: int | None = None
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

    def add(self, other: BatchOutcome) -> None:
        """Fold the outcome of the batch's next slice into this one."""
        self.alerts.extend(other.alerts)
        self.dead_letters.extend(other.dead_letters)
        self.messages += other.messages
        self.scored += other.scored
        self.benign += other.benign
        self.uncertain += other.uncertain
        self.suppressed.update(other.suppressed)
        self.score_seconds += other.score_seconds
        self.core_seconds += other.core_seconds
        self.normal += other.normal
        for gateway, flows in other.missing_baseline.items():
            self.missing_baseline[gateway] = self.missing_baseline.get(gateway, 0) + flows
        for gateway, rows in other.uncovered_rows.items():
            held = self.uncovered_rows.get(gateway)
            self.uncovered_rows[gateway] = rows if held is None else np.concatenate([held, rows])
        self.baseline_seconds += other.baseline_seconds


def _internal_error(stage: str, exc: BaseException, raw: bytes, source: InboundMessage) -> Rejected:
    """A message that made the core raise: logged with its offset, dead-lettered alone."""
    logger.error(
        "%s raised %s on %s[%d]@%d; dead-lettering that message",
        stage,
        type(exc).__name__,
        source.topic,
        source.partition,
        source.offset,
        exc_info=exc,
        extra={"topic": source.topic, "partition": source.partition, "offset": source.offset},
    )
    text = str(exc)[:200]
    return Rejected(
        DeadLetterCode.INTERNAL_ERROR,
        f"{stage} failed on this message with {type(exc).__name__}: {text} (a defect of the "
        "worker, not necessarily of the message; the worker log has the trace)",
        raw,
    )


def _admit(
    message: InboundMessage, model: ServingModel, options: ScoringOptions
) -> tuple[FlowBlock | None, Sequence[Rejected]]:
    """Decode and validate one message; whatever it raises refuses that message only."""
    stage = "decode"
    try:
        decoded = decode(message.value, max_bytes=options.max_message_bytes, limits=options.limits)
        if isinstance(decoded, Rejected):
            return None, (decoded,)
        stage = "validate"
        validated = validate(decoded, model.spec)
    except Exception as exc:  # noqa: BLE001 - becomes a dead letter with the reason, and is logged
        return None, (_internal_error(stage, exc, message.value or b"", message),)
    return validated.block, validated.rejected


def _vectorise_each(
    blocks: list[FlowBlock], sources: list[InboundMessage], width: int
) -> tuple[NDArray[np.float32], list[tuple[Rejected, InboundMessage]]]:
    """Vectorise block by block after a failure, refusing (and dropping) the blocks that fail.

    ``blocks`` and ``sources`` are reduced in place to the blocks that vectorised.
    """
    parts: list[NDArray[np.float32]] = []
    refused: list[tuple[Rejected, InboundMessage]] = []
    kept: list[tuple[FlowBlock, InboundMessage]] = []
    for block, source in zip(blocks, sources, strict=True):
        try:
            parts.append(vectorise([block], width))
        except Exception as exc:  # noqa: BLE001 - becomes a dead letter with the reason, and is logged
            refused.append((_internal_error("vectorise", exc, source.value or b"", source), source))
            continue
        kept.append((block, source))
    blocks[:] = [b for b, _ in kept]
    sources[:] = [s for _, s in kept]
    matrix = np.concatenate(parts) if parts else np.empty((0, width), dtype=np.float32)
    return matrix, refused


def _slices(
    messages: Sequence[InboundMessage], budget: int | None
) -> Iterator[Sequence[InboundMessage]]:
    """Consecutive slices of ``messages`` of at most ``budget`` bytes (one message at least)."""
    if budget is None:
        yield messages
        return
    start, used = 0, 0
    for i, message in enumerate(messages):
        size = len(message.value or b"")
        if i > start and used + size > budget:
            yield messages[start:i]
            start, used = i, 0
        used += size
    if start < len(messages) or not messages:
        yield messages[start:]


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
    normal count, a throttled count, or a dead letter. Nothing raises for bad input, whatever it
    is; only the model itself may raise. A gateway missing from ``baselines`` is decided by the
    classifier alone (``missing_baseline``).
    """
    first, *rest = _slices(messages, options.max_batch_bytes)
    known = baselines or {}
    outcome = _process_slice(first, model, options, now_ms, throttle_state, known)
    for part in rest:
        outcome.add(_process_slice(part, model, options, now_ms, throttle_state, known))
    return outcome


def _process_slice(
    messages: Sequence[InboundMessage],
    model: ServingModel,
    options: ScoringOptions,
    now_ms: int,
    throttle_state: ThrottleState | None,
    baselines: Mapping[str, GatewayBaseline],
) -> BatchOutcome:
    began = time.perf_counter()
    refused: list[tuple[Rejected, InboundMessage]] = []
    blocks: list[FlowBlock] = []
    sources: list[InboundMessage] = []
    for message in messages:
        block, rejected = _admit(message, model, options)
        refused.extend((r, message) for r in rejected)
        if block is not None:
            blocks.append(block)
            sources.append(message)
    width = len(model.spec.names)
    try:
        matrix = vectorise(blocks, width)
    except Exception:  # noqa: BLE001 - retried block by block; each failing block is logged
        matrix, failed = _vectorise_each(blocks, sources, width)
        refused.extend(failed)
    origin = RowOrigin.of(blocks)
    matrix, origin, overflowed = _refuse_out_of_range(matrix, origin, blocks, sources, model.spec)
    refused.extend(overflowed)

    started = time.perf_counter()
    scores = model.scorer.scores(matrix)
    score_seconds = time.perf_counter() - started
    decisions = decide(scores, model.policy)
    started = time.perf_counter()
    verdict = score_baselines(matrix, model.spec.names, origin, blocks, baselines)
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
