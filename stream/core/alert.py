"""Decisions → alert messages: severity policy, deterministic ids, optional throttling.

Everything here is pure: the throttle's memory is a :class:`ThrottleState` the caller owns and
passes in; nothing is global.

Severity (healthcare gateways; docs/alerts.md explains the reasoning): a compromised device
(Mirai) is ``critical``; credential attacks, spoofing and floods that can take a medical device
off the network are ``high``; web attacks ``medium``; reconnaissance ``low``. A binary model's
``Attack`` is ``medium``. When the model's confidence is below ``lower_below`` the severity drops
one level.
"""

from __future__ import annotations

import hashlib
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import orjson
from numpy.typing import NDArray

from iotad.schemas.labels import Category
from iotad.schemas.messages import ModelRef, Severity
from iotad.stream.core.baseline import AnomalyVerdict
from iotad.stream.core.decide import DecisionPolicy, Decisions, top_k
from iotad.stream.core.types import AlertRecord, FlowBlock, InboundMessage
from iotad.stream.core.vectorise import RowOrigin

_LEVELS: tuple[Severity, ...] = (Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)

DEFAULT_SEVERITY: Mapping[Category, Severity] = MappingProxyType(
    {
        Category.MIRAI: Severity.CRITICAL,
        Category.BRUTE_FORCE: Severity.HIGH,
        Category.SPOOFING: Severity.HIGH,
        Category.DDOS: Severity.HIGH,
        Category.DOS: Severity.HIGH,
        Category.WEB: Severity.MEDIUM,
        Category.ATTACK: Severity.MEDIUM,
        Category.UNKNOWN: Severity.MEDIUM,
        Category.RECON: Severity.LOW,
        Category.BENIGN: Severity.LOW,
    }
)


@dataclass(frozen=True)
class SeverityPolicy:
    """Severity of an alert from its category and the model's confidence."""

    by_category: Mapping[Category, Severity] = field(default_factory=lambda: DEFAULT_SEVERITY)
    lower_below: float = 0.6

    def severity(self, category: Category, confidence: float) -> Severity:
        """The severity of one alert.

        Examples
        --------
        >>> SeverityPolicy().severity(Category.DDOS, 0.95).value
        'high'
        >>> SeverityPolicy().severity(Category.DDOS, 0.55).value
        'medium'
        """
        level = _LEVELS.index(self.by_category.get(category, Severity.MEDIUM))
        if confidence < self.lower_below:
            level = max(level - 1, 0)
        return _LEVELS[level]


@dataclass
class ThrottleState:
    """What the throttle remembers between batches: per (gateway, device, category), the start
    of the current window and how many alerts it let through. Owned by the caller.

    ``windows`` is ordered by window start, oldest first; ``forgotten`` counts windows dropped
    before they expired because the table was full.
    """

    windows: OrderedDict[tuple[str, str, Category], tuple[int, int]] = field(
        default_factory=OrderedDict
    )
    forgotten: int = 0


@dataclass(frozen=True)
class AlertThrottle:
    """Let at most ``max_per_window`` alerts per device and category through per window.

    Flows beyond that are still scored and counted (``suppressed``); they just raise no alert.
    The state holds at most ``max_keys`` windows whatever keys arrive: when it is full, expired
    windows go first, then the oldest live ones (that key may then get one alert more than
    ``max_per_window`` in its window, never fewer).
    """

    window_ms: int
    max_per_window: int = 1
    max_keys: int = 100_000

    def __post_init__(self) -> None:
        if self.window_ms < 1 or self.max_per_window < 1 or self.max_keys < 1:
            raise ValueError(f"throttle window, limit and key table size must be >= 1: {self}")

    def admit(self, state: ThrottleState, key: tuple[str, str, Category], now_ms: int) -> bool:
        """Whether an alert for ``key`` at ``now_ms`` may be sent; updates ``state``.

        Examples
        --------
        >>> throttle, state = AlertThrottle(1000, max_keys=2), ThrottleState()
        >>> [throttle.admit(state, ("g", d, Category.DDOS), 0) for d in "aab"]
        [True, False, True]
        >>> throttle.admit(state, ("g", "c", Category.DDOS), 1), len(state.windows)
        (True, 2)
        """
        windows = state.windows
        current = windows.get(key)
        if current is not None and now_ms - current[0] < self.window_ms:
            start, sent = current
            if sent >= self.max_per_window:
                return False
            windows[key] = (start, sent + 1)
            return True
        if current is None and len(windows) >= self.max_keys:
            self._make_room(state, now_ms)
        # A new window: move the key to the end, so the table stays ordered by window start.
        windows.pop(key, None)
        windows[key] = (now_ms, 1)
        return True

    def _make_room(self, state: ThrottleState, now_ms: int) -> None:
        """Drop expired windows (oldest first), then live ones until a new key fits."""
        windows = state.windows
        while windows:
            start = next(iter(windows.values()))[0]
            expired = now_ms - start >= self.window_ms
            if not expired and len(windows) < self.max_keys:
                return
            state.forgotten += 0 if expired else 1
            windows.popitem(last=False)


@dataclass(frozen=True)
class AlertContext:
    """Everything an alert needs besides the flow: model, policies, detection time."""

    model: ModelRef
    policy: DecisionPolicy
    severity: SeverityPolicy
    detected_at_ms: int
    throttle: AlertThrottle | None = None


def alert_id(topic: str, partition: int, offset: int, index: int | None, model_sha256: str) -> str:
    """A 32-hex id that is the same whenever the same model scores the same source flow.

    A flow re-read after a restart gets the same id again, so consumers can drop duplicates.
    """
    source = f"{topic}\x1f{partition}\x1f{offset}\x1f{index}\x1f{model_sha256}".encode()
    return hashlib.blake2b(source, digest_size=16).hexdigest()


@dataclass(frozen=True)
class _AnomalyColumns:
    """Per alert row: Unknown or not, its anomaly score and its baseline (JSON-ready)."""

    unknown: list[bool]
    score: list[float | None]
    model: list[dict[str, str] | None]

    @classmethod
    def of(
        cls, rows: NDArray[np.intp], decisions: Decisions, verdict: AnomalyVerdict | None
    ) -> _AnomalyColumns:
        n = len(rows)
        unknown = [False] * n if decisions.unknown is None else decisions.unknown[rows].tolist()
        if verdict is None or not verdict.baselines:
            return cls(unknown, [None] * n, [None] * n)
        refs = [b.model.model_dump() for b in verdict.baselines]
        covered = verdict.covered[rows].tolist()
        scores = verdict.score[rows].tolist()
        which = verdict.baseline_index[rows].tolist()
        return cls(
            unknown,
            [s if c else None for s, c in zip(scores, covered, strict=True)],
            [refs[i] if i >= 0 else None for i in which],
        )


@dataclass
class BuiltAlerts:
    """The alerts of a batch and the ones the throttle held back, by category."""

    records: list[AlertRecord]
    suppressed: Counter[Category]


def build_alerts(
    rows: NDArray[np.intp],
    scores: NDArray[np.float32],
    decisions: Decisions,
    origin: RowOrigin,
    blocks: Sequence[FlowBlock],
    sources: Sequence[InboundMessage],
    context: AlertContext,
    throttle_state: ThrottleState | None = None,
    verdict: AnomalyVerdict | None = None,
) -> BuiltAlerts:
    """One alert (JSON ``iotad.alert.v1``, key = category) for each of ``rows``.

    ``blocks[origin.block[r]]`` holds flow ``r``, read from ``sources[origin.block[r]]``. With a
    baseline ``verdict``, alerts carry the flow's anomaly score and baseline, and rows in
    ``decisions.unknown`` get the category ``Unknown``.
    """
    throttle = context.throttle
    if throttle is not None and throttle_state is None:
        raise ValueError("an alert throttle needs the caller's ThrottleState")
    policy = context.policy
    model = context.model.model_dump()
    sha = context.model.sha256
    classes = policy.classes
    # Per-class constants, so the loop below does no enum or policy lookups per alert.
    names = [c.value for c in policy.categories]
    keys = [n.encode() for n in names]
    usual = [context.severity.severity(c, 1.0).value for c in policy.categories]
    doubtful = [context.severity.severity(c, 0.0).value for c in policy.categories]
    lower_below = context.severity.lower_below
    order, best = top_k(scores, rows, policy.top_k)
    top_classes, top_scores = order.tolist(), best.tolist()
    row_list = rows.tolist()
    block_of = origin.block[rows].tolist()
    position_of = origin.position[rows].tolist()
    top_of = decisions.top[rows].tolist()
    confidence_of = decisions.confidence[rows].tolist()
    anomaly = _AnomalyColumns.of(rows, decisions, verdict)
    unknown_key = Category.UNKNOWN.value.encode()
    unknown_usual = context.severity.severity(Category.UNKNOWN, 1.0).value
    records: list[AlertRecord] = []
    suppressed: Counter[Category] = Counter()
    for n in range(len(row_list)):
        b, pos, cls = block_of[n], position_of[n], top_of[n]
        block, source = blocks[b], sources[b]
        is_unknown = anomaly.unknown[n]
        category = Category.UNKNOWN if is_unknown else policy.categories[cls]
        device = block.device_id[pos]
        if (
            throttle is not None
            and throttle_state is not None
            and not throttle.admit(
                throttle_state, (block.gateway_id, device, category), context.detected_at_ms
            )
        ):
            suppressed[category] += 1
            continue
        confidence = confidence_of[n]
        index = None if block.index is None else block.index[pos]
        event_time = block.event_time_ms[pos]
        document = {
            "schema": "iotad.alert.v1",
            "alert_id": alert_id(source.topic, source.partition, source.offset, index, sha),
            "detected_at_ms": context.detected_at_ms,
            "event_time_ms": event_time,
            "gateway_id": block.gateway_id,
            "device_id": device,
            "flow_id": None if block.flow_id is None else block.flow_id[pos],
            "src_ip": None if block.src_ip is None else block.src_ip[pos],
            "dst_ip": None if block.dst_ip is None else block.dst_ip[pos],
            "category": category.value if is_unknown else names[cls],
            "label": None if is_unknown else policy.labels[cls],
            "confidence": confidence,
            "top_k": [
                {"label": classes[c], "probability": p}
                for c, p in zip(top_classes[n], top_scores[n], strict=True)
            ],
            "severity": unknown_usual
            if is_unknown
            else doubtful[cls]
            if confidence < lower_below
            else usual[cls],
            "model": model,
            "source": {
                "topic": source.topic,
                "partition": source.partition,
                "offset": source.offset,
                "index": index,
            },
            "ground_truth_label": None if block.label is None else block.label[pos],
            "anomaly_score": anomaly.score[n],
            "baseline": anomaly.model[n],
        }
        key = unknown_key if is_unknown else keys[cls]
        records.append(AlertRecord(category, key, orjson.dumps(document), event_time))
    return BuiltAlerts(records, suppressed)


__all__ = [
    "DEFAULT_SEVERITY",
    "AlertContext",
    "AlertThrottle",
    "BuiltAlerts",
    "SeverityPolicy",
    "ThrottleState",
    "alert_id",
    "build_alerts",
]
