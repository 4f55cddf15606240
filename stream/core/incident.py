"""Alerts → incidents: the pure fold and tick behind the incidents topic.

Pure and synchronous (no Faust import, no clock): :func:`fold` takes one alert and the
:class:`IncidentBook` it updates, and uses the alert's ``detected_at_ms`` as the time;
:func:`tick` takes ``now_ms`` explicitly. Both return :class:`IncidentChanges`: the
``iotad.incident.v1`` events to publish and the states to write to (or delete from) the table.

An incident's key is (gateway, category, host role, host). The host is the flows' *target*
(``dst_ip``) for floods, web, brute-force and spoofing attacks, where many sources hit one
victim, and their *source* (``src_ip``) for scans and Mirai, where one host reaches many; when the
alert carries no such address, the gateway's ``device_id`` stands in. Lifecycle:

* the first alert of a key starts a *pending* incident; it **opens** (event ``opened``,
  sequence 0, counting every alert since the first) once ``min_alerts`` of its alerts fall within
  one ``window_ms``. A pending incident whose key stays below that closes silently after
  ``window_ms`` without an alert: a stray alert stays a per-flow alert on the alerts topic and
  pages nobody (``min_alerts = 1`` opens on every first alert);
* later alerts are counted; an ``updated`` event goes out at most once per
  ``update_every_ms`` (from :func:`fold` when an alert arrives late enough, else from
  :func:`tick` when changes are pending), so a flood costs one message per interval;
* an incident with no alert for ``quiet_ms`` is **closed** by :func:`tick` (reason ``quiet``); a
  new key when ``max_open`` incidents are open closes the least recently seen one first (reason
  ``capacity``), which bounds the state under key churn.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

import orjson

from iotad.schemas.incidents import CloseReason, HostRole, Incident, IncidentEvent
from iotad.schemas.labels import Category
from iotad.schemas.messages import Alert
from iotad.stream.core.incident_state import IncidentState, count_host, top_hosts

#: Rates are summed over this many buckets of ``window_ms / WINDOW_BUCKETS`` each.
WINDOW_BUCKETS = 12
#: Categories whose incidents follow the flows' source host (one host reaching many).
SOURCE_CATEGORIES: frozenset[str] = frozenset({Category.RECON.value, Category.MIRAI.value})


@dataclass(frozen=True)
class IncidentPolicy:
    """How alerts are aggregated (the ``incidents`` settings, in milliseconds)."""

    window_ms: int = 60_000
    quiet_ms: int = 120_000
    update_every_ms: int = 30_000
    max_open: int = 10_000
    max_hosts: int = 64
    top_hosts: int = 5
    sample_alerts: int = 5
    min_alerts: int = 1
    source_categories: frozenset[str] = SOURCE_CATEGORIES

    @property
    def bucket_ms(self) -> int:
        """Width of one rate bucket."""
        return max(1, self.window_ms // WINDOW_BUCKETS)


@dataclass(frozen=True)
class AlertPosition:
    """Where an alert was read: its partition and offset on the alerts topic."""

    partition: int
    offset: int


@dataclass
class IncidentBook:
    """The open incidents of one worker, least recently seen first (owned by the caller)."""

    open: dict[str, IncidentState] = field(default_factory=dict)

    @classmethod
    def of(cls, states: list[IncidentState]) -> IncidentBook:
        """A book holding ``states`` (restored from the table), least recently seen first."""
        ordered = sorted(states, key=lambda s: (s.last_seen_ms, s.key))
        return cls({s.key: s for s in ordered})


@dataclass
class IncidentChanges:
    """What a fold or tick changed: events to publish, states to store or delete."""

    events: list[Incident] = field(default_factory=list)
    written: dict[str, IncidentState] = field(default_factory=dict)
    #: key → the table partition its tombstone goes to.
    removed: dict[str, int] = field(default_factory=dict)
    folded: int = 0
    skipped: int = 0
    #: Alerts of pending incidents that closed without opening (below ``min_alerts``).
    below_threshold: int = 0
    evicted: Counter[str] = field(default_factory=Counter)

    def write(self, state: IncidentState) -> None:
        """Store ``state`` (cancels a pending delete of its key)."""
        self.removed.pop(state.key, None)
        self.written[state.key] = state

    def remove(self, state: IncidentState) -> None:
        """Delete ``state``'s key (cancels a pending write of it)."""
        self.written.pop(state.key, None)
        self.removed[state.key] = state.partition


def incident_key(alert: Alert, policy: IncidentPolicy) -> tuple[str, str, HostRole]:
    """``(key, host, role)`` of the incident ``alert`` belongs to (see the module docstring).

    The key is a JSON array ``[gateway, category, role, host]``, the incident table's key.
    """
    if alert.category in policy.source_categories:
        address, role = alert.src_ip, HostRole.SOURCE
    else:
        address, role = alert.dst_ip, HostRole.TARGET
    if address is None:
        address, role = alert.device_id, HostRole.DEVICE
    key = orjson.dumps([alert.gateway_id, alert.category, role.value, address]).decode()
    return key, address, role


def incident_id(key: str, first_alert_id: str) -> str:
    """A 32-hex id from the key and the first alert's id: the same after a replay."""
    return hashlib.sha256(f"{key}\n{first_alert_id}".encode()).hexdigest()[:32]


def fold(
    book: IncidentBook,
    alert: Alert,
    position: AlertPosition,
    policy: IncidentPolicy,
    changes: IncidentChanges | None = None,
) -> IncidentChanges:
    """Count ``alert`` into its incident, opening one if needed; updates ``book``.

    An alert at or before the position of the latest one folded into its incident (re-read
    after a restart) is skipped, not counted twice.
    """
    changes = changes if changes is not None else IncidentChanges()
    key, host, role = incident_key(alert, policy)
    now = alert.detected_at_ms
    state = book.open.get(key)
    if (
        state is not None
        and position.partition == state.partition
        and position.offset <= state.last_offset
    ):
        changes.skipped += 1
        return changes
    if state is not None:
        del book.open[key]  # re-inserted below: the book stays least recently seen first
        _absorb(state, alert, position, policy)
        if not state.opened:
            _open_when_due(state, now, policy, changes)
        elif now - state.last_emitted_ms >= policy.update_every_ms:
            _emit(state, IncidentEvent.UPDATED, now, policy, changes)
    else:
        while len(book.open) >= policy.max_open:
            _close(book, next(iter(book.open.values())), CloseReason.CAPACITY, now, policy, changes)
        state = IncidentState(
            incident_id=incident_id(key, alert.alert_id),
            key=key,
            gateway_id=alert.gateway_id,
            category=alert.category,
            host=host,
            host_role=role,
            partition=position.partition,
            last_offset=position.offset,
            first_seen_ms=now,
            last_seen_ms=now,
            opened=False,
        )
        _absorb(state, alert, position, policy)
        _open_when_due(state, now, policy, changes)
    book.open[key] = state
    changes.write(state)
    changes.folded += 1
    return changes


def tick(
    book: IncidentBook,
    now_ms: int,
    policy: IncidentPolicy,
    changes: IncidentChanges | None = None,
) -> IncidentChanges:
    """Close incidents quiet for ``quiet_ms`` and send updates that waited for the interval."""
    changes = changes if changes is not None else IncidentChanges()
    for state in list(book.open.values()):
        if not state.opened:
            if now_ms - state.last_seen_ms >= policy.window_ms:
                _close(book, state, CloseReason.QUIET, now_ms, policy, changes)
        elif now_ms - state.last_seen_ms >= policy.quiet_ms:
            _close(book, state, CloseReason.QUIET, now_ms, policy, changes)
        elif state.dirty and now_ms - state.last_emitted_ms >= policy.update_every_ms:
            _emit(state, IncidentEvent.UPDATED, now_ms, policy, changes)
            changes.write(state)
    return changes


def _absorb(
    state: IncidentState, alert: Alert, position: AlertPosition, policy: IncidentPolicy
) -> None:
    now = alert.detected_at_ms
    state.partition, state.last_offset = position.partition, position.offset
    state.alerts += 1
    label = alert.label or alert.category
    state.labels[label] = state.labels.get(label, 0) + 1
    state.raise_severity(alert.severity)
    state.first_seen_ms = min(state.first_seen_ms, now)
    state.last_seen_ms = max(state.last_seen_ms, now)
    bucket = now // policy.bucket_ms
    state.buckets[bucket] = state.buckets.get(bucket, 0) + 1
    state.peak_rate_per_min = max(state.peak_rate_per_min, rate_per_min(state, now, policy))
    count_host(state.sources, alert.src_ip, policy.max_hosts)
    count_host(state.targets, alert.dst_ip, policy.max_hosts)
    count_host(state.devices, alert.device_id, policy.max_hosts)
    if len(state.alert_ids) < policy.sample_alerts:
        state.alert_ids.append(alert.alert_id)
    state.latest_alert_id = alert.alert_id
    state.dirty = True


def _open_when_due(
    state: IncidentState, now_ms: int, policy: IncidentPolicy, changes: IncidentChanges
) -> None:
    """Open a pending incident once ``min_alerts`` of its alerts are within the window."""
    rate_per_min(state, now_ms, policy)  # drops the buckets older than the window
    if sum(state.buckets.values()) >= policy.min_alerts:
        state.opened = True
        _emit(state, IncidentEvent.OPENED, now_ms, policy, changes)


def rate_per_min(state: IncidentState, now_ms: int, policy: IncidentPolicy) -> float:
    """Alerts per minute over the window ending at ``now_ms`` (drops older buckets)."""
    oldest = max(now_ms, state.last_seen_ms) // policy.bucket_ms - (WINDOW_BUCKETS - 1)
    for bucket in [b for b in state.buckets if b < oldest]:
        del state.buckets[bucket]
    return sum(state.buckets.values()) * 60_000 / policy.window_ms


def _emit(
    state: IncidentState,
    event: IncidentEvent,
    now_ms: int,
    policy: IncidentPolicy,
    changes: IncidentChanges,
    reason: CloseReason | None = None,
) -> None:
    samples = list(state.alert_ids)
    if state.latest_alert_id and state.latest_alert_id not in samples:
        samples.append(state.latest_alert_id)
    changes.events.append(
        Incident(
            incident_id=state.incident_id,
            event=event,
            sequence=state.sequence,
            emitted_at_ms=max(now_ms, 0),
            gateway_id=state.gateway_id,
            category=state.category,
            host=state.host,
            host_role=state.host_role,
            first_seen_ms=state.first_seen_ms,
            last_seen_ms=state.last_seen_ms,
            duration_ms=state.last_seen_ms - state.first_seen_ms,
            alerts=state.alerts,
            labels=dict(state.labels),
            severity=state.severity,
            rate_per_min=rate_per_min(state, now_ms, policy),
            peak_rate_per_min=state.peak_rate_per_min,
            window_s=policy.window_ms / 1000,
            top_sources=top_hosts(state.sources, policy.top_hosts),
            top_targets=top_hosts(state.targets, policy.top_hosts),
            top_devices=top_hosts(state.devices, policy.top_hosts),
            alert_ids=samples,
            close_reason=reason,
        )
    )
    state.sequence += 1
    state.last_emitted_ms = now_ms
    state.dirty = False


def _close(
    book: IncidentBook,
    state: IncidentState,
    reason: CloseReason,
    now_ms: int,
    policy: IncidentPolicy,
    changes: IncidentChanges,
) -> None:
    """Close ``state``: a ``closed`` event if it opened, silently (counted) if still pending."""
    del book.open[state.key]
    changes.remove(state)
    if not state.opened:
        changes.below_threshold += state.alerts
        return
    _emit(state, IncidentEvent.CLOSED, now_ms, policy, changes, reason)
    if reason is CloseReason.CAPACITY:
        changes.evicted[state.category] += 1


__all__ = [
    "SOURCE_CATEGORIES",
    "WINDOW_BUCKETS",
    "AlertPosition",
    "IncidentBook",
    "IncidentChanges",
    "IncidentPolicy",
    "fold",
    "incident_id",
    "incident_key",
    "tick",
]
