"""One open incident's state: what it counts, and how it is stored in the changelog.

Pure and synchronous (no Faust import). :class:`IncidentState` is mutable and owned by the
:class:`~iotad.stream.core.incident.IncidentBook`; :func:`encode_state` / :func:`decode_state`
turn it into the bytes the worker's Faust table keeps (and its changelog topic replays after a
restart).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from iotad.errors import SchemaError
from iotad.schemas.incidents import HostCount, HostRole
from iotad.schemas.messages import Severity

#: Bumped when the stored layout changes; a state of another version is refused, not guessed.
#: Version 1 had no ``opened`` flag (every stored incident had opened): it is read as opened.
STATE_VERSION = 2
READABLE_VERSIONS = frozenset({1, STATE_VERSION})
SEVERITY_ORDER: tuple[Severity, ...] = (
    Severity.LOW,
    Severity.MEDIUM,
    Severity.HIGH,
    Severity.CRITICAL,
)


def count_host(counts: dict[str, int], host: str | None, max_hosts: int) -> None:
    """Count ``host`` in a space-saving summary of at most ``max_hosts`` entries.

    When the summary is full, a new host replaces the least counted one and inherits its count
    plus one, so a frequent host is never undercounted and every count is an upper bound
    (Metwally et al., "Efficient computation of frequent and top-k elements", 2005).
    """
    if host is None:
        return
    if host in counts or len(counts) < max_hosts:
        counts[host] = counts.get(host, 0) + 1
        return
    smallest = min(counts, key=lambda h: (counts[h], h))
    counts[host] = counts.pop(smallest) + 1


def top_hosts(counts: dict[str, int], n: int) -> list[HostCount]:
    """The ``n`` most counted hosts, most first (ties by name, so the order is stable)."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:n]
    return [HostCount(host=h, alerts=c) for h, c in ranked]


@dataclass
class IncidentState:
    """Everything an open incident remembers.

    ``partition``/``last_offset`` are the alerts-topic position of the latest alert folded in:
    an alert at or before it (re-read after a restart) is not counted twice. ``buckets`` maps a
    time bucket (``window_ms // 12`` wide) to its alert count, over the last window only.
    """

    incident_id: str
    key: str
    gateway_id: str
    category: str
    host: str
    host_role: HostRole
    partition: int
    last_offset: int
    first_seen_ms: int
    last_seen_ms: int
    alerts: int = 0
    labels: dict[str, int] = field(default_factory=dict)
    severity: Severity = Severity.LOW
    peak_rate_per_min: float = 0.0
    buckets: dict[int, int] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)
    targets: dict[str, int] = field(default_factory=dict)
    devices: dict[str, int] = field(default_factory=dict)
    alert_ids: list[str] = field(default_factory=list)
    latest_alert_id: str = ""
    sequence: int = 0
    last_emitted_ms: int = 0
    dirty: bool = False
    #: False while the incident is pending (fewer than ``min_alerts`` in a window, no event yet).
    opened: bool = True

    def raise_severity(self, severity: Severity) -> None:
        """Keep the highest severity seen."""
        if SEVERITY_ORDER.index(severity) > SEVERITY_ORDER.index(self.severity):
            self.severity = severity


def encode_state(state: IncidentState) -> bytes:
    """The state as the JSON bytes stored in the incident table."""
    document: dict[str, Any] = asdict(state)
    document["buckets"] = {str(k): v for k, v in state.buckets.items()}
    document["version"] = STATE_VERSION
    return orjson.dumps(document)


def decode_state(raw: bytes) -> IncidentState:
    """The state stored by :func:`encode_state`.

    Raises
    ------
    SchemaError
        if the bytes are not a stored incident state of this version.
    """
    try:
        document = orjson.loads(raw)
        if not isinstance(document, dict):
            raise TypeError(f"expected an object, got {type(document).__name__}")
        version = document.pop("version", None)
        if version not in READABLE_VERSIONS:
            raise ValueError(
                f"state version {version!r}, this worker reads {sorted(READABLE_VERSIONS)}"
            )
        document["buckets"] = {int(k): int(v) for k, v in document["buckets"].items()}
        document["host_role"] = HostRole(document["host_role"])
        document["severity"] = Severity(document["severity"])
        return IncidentState(**document)
    except (orjson.JSONDecodeError, TypeError, ValueError, KeyError, AttributeError) as exc:
        raise SchemaError(f"not a stored incident state: {exc}") from exc


__all__ = [
    "SEVERITY_ORDER",
    "STATE_VERSION",
    "READABLE_VERSIONS",
    "IncidentState",
    "count_host",
    "decode_state",
    "encode_state",
    "top_hosts",
]
