"""The pure incident core: open, update (rate-limited), close, bounded state, stable ids."""

from __future__ import annotations

from collections import Counter

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.alerts import T0, make_alert

from iotad.errors import SchemaError
from iotad.schemas.incidents import CloseReason, HostRole, Incident, IncidentEvent
from iotad.schemas.messages import Alert, Severity
from iotad.stream.core.incident import (
    AlertPosition,
    IncidentBook,
    IncidentChanges,
    IncidentPolicy,
    fold,
    tick,
)
from iotad.stream.core.incident_state import count_host, decode_state, encode_state

POLICY = IncidentPolicy(
    window_ms=60_000, quiet_ms=30_000, update_every_ms=10_000, max_open=100, sample_alerts=3
)


def feed(
    book: IncidentBook, alerts: list[Alert], policy: IncidentPolicy = POLICY, partition: int = 0
) -> IncidentChanges:
    changes = IncidentChanges()
    for offset, alert in enumerate(alerts):
        fold(book, alert, AlertPosition(partition, offset), policy, changes)
    return changes


def test_first_alert_opens_and_later_ones_are_counted() -> None:
    book = IncidentBook()
    alerts = [make_alert(i, T0 + i * 100, src=f"10.0.1.{i % 3}") for i in range(20)]
    alerts[5] = make_alert(5, T0 + 500, label="DDoS-ACK_Fragmentation", severity=Severity.CRITICAL)
    changes = feed(book, alerts)
    assert [e.event for e in changes.events] == [IncidentEvent.OPENED]
    (state,) = book.open.values()
    assert state.alerts == 20
    assert state.labels == {"DDoS-SYN_Flood": 19, "DDoS-ACK_Fragmentation": 1}
    assert state.severity is Severity.CRITICAL
    assert state.first_seen_ms == T0 and state.last_seen_ms == T0 + 1900
    assert (state.host, state.host_role) == ("10.0.0.1", HostRole.TARGET)
    assert state.alert_ids == [a.alert_id for a in alerts[:3]]
    assert set(changes.written) == {state.key} and changes.folded == 20


def test_key_follows_target_for_floods_source_for_scans_device_without_addresses() -> None:
    book = IncidentBook()
    feed(
        book,
        [
            make_alert(0, T0, category="DDoS", src="10.0.0.5", dst="10.0.0.1"),
            make_alert(1, T0, category="DDoS", src="10.0.0.6", dst="10.0.0.1"),
            make_alert(2, T0, category="Recon", src="10.0.0.5", dst="10.0.0.2"),
            make_alert(3, T0, category="Recon", src="10.0.0.5", dst="10.0.0.3"),
            make_alert(4, T0, category="Web", src=None, dst=None, device="bed-7"),
            make_alert(5, T0, category="DDoS", gateway="gw-2"),
        ],
    )
    hosts = sorted(
        (s.gateway_id, s.category, s.host_role.value, s.host) for s in book.open.values()
    )
    assert hosts == [
        ("gw-1", "DDoS", "target", "10.0.0.1"),
        ("gw-1", "Recon", "source", "10.0.0.5"),
        ("gw-1", "Web", "device", "bed-7"),
        ("gw-2", "DDoS", "target", "10.0.0.1"),
    ]


def test_updates_are_rate_limited_under_a_flood() -> None:
    book = IncidentBook()
    # 10,000 alerts over 60 s: one opened, then one update per 10 s at most.
    alerts = [make_alert(i, T0 + i * 6) for i in range(10_000)]
    changes = feed(book, alerts)
    events = [e.event for e in changes.events]
    assert events[0] is IncidentEvent.OPENED
    assert events.count(IncidentEvent.UPDATED) == 5
    times = [e.emitted_at_ms for e in changes.events]
    assert all(b - a >= POLICY.update_every_ms for a, b in zip(times, times[1:], strict=False))
    assert [e.sequence for e in changes.events] == list(range(len(events)))
    # every alert so far is inside the 60-s window: the rate is the count per minute
    last = changes.events[-1]
    assert last.rate_per_min == pytest.approx(last.alerts, abs=1)
    assert last.alerts == pytest.approx(50_000 / 6, abs=5)


def test_tick_sends_a_pending_update_then_closes_after_the_quiet_period() -> None:
    book = IncidentBook()
    feed(book, [make_alert(i, T0 + i * 10) for i in range(50)])
    assert tick(book, T0 + 5_000, POLICY).events == []  # update interval not reached yet
    pending = tick(book, T0 + 10_000, POLICY)
    assert [e.event for e in pending.events] == [IncidentEvent.UPDATED]
    assert pending.events[0].alerts == 50
    assert tick(book, T0 + 25_000, POLICY).events == []  # nothing new, not quiet long enough
    closed = tick(book, T0 + 490 + 30_000, POLICY)
    (event,) = closed.events
    assert (event.event, event.close_reason, event.alerts) == (
        IncidentEvent.CLOSED,
        CloseReason.QUIET,
        50,
    )
    assert event.duration_ms == 490 and event.sequence == 2
    assert book.open == {} and list(closed.removed.values()) == [0]


def test_a_new_burst_after_close_is_a_new_incident() -> None:
    book = IncidentBook()
    first = feed(book, [make_alert(0, T0)]).events[0]
    tick(book, T0 + 30_000, POLICY)
    second = feed(book, [make_alert(1, T0 + 40_000)]).events[0]
    assert second.event is IncidentEvent.OPENED and second.incident_id != first.incident_id


def test_sliding_window_rate_and_peak() -> None:
    book = IncidentBook()
    policy = IncidentPolicy(window_ms=60_000, quiet_ms=600_000, update_every_ms=1)
    burst = [make_alert(i, T0 + i * 100) for i in range(600)]  # 600 in 60 s
    slow = [make_alert(600 + i, T0 + 60_000 + i * 6_000) for i in range(20)]  # 10/min
    changes = feed(book, burst + slow, policy)
    last = changes.events[-1]
    assert last.peak_rate_per_min == pytest.approx(600, rel=0.1)
    assert last.rate_per_min == pytest.approx(10, abs=2)


def test_re_read_alerts_are_not_counted_twice() -> None:
    book = IncidentBook()
    alerts = [make_alert(i, T0 + i) for i in range(30)]
    feed(book, alerts)
    again = IncidentChanges()
    for offset in range(10, 30):
        fold(book, alerts[offset], AlertPosition(0, offset), POLICY, again)
    assert again.skipped == 20 and again.folded == 0 and again.events == []
    assert next(iter(book.open.values())).alerts == 30


def test_incident_ids_are_deterministic_and_survive_a_state_round_trip() -> None:
    alerts = [make_alert(i, T0 + i * 50, dst=f"10.0.0.{i % 4}") for i in range(40)]
    one, two = IncidentBook(), IncidentBook()
    ids_one = {e.incident_id for e in feed(one, alerts).events}
    # the second book is restored from the encoded states half-way, as after a restart
    feed(two, alerts[:20])
    restored = IncidentBook.of([decode_state(encode_state(s)) for s in two.open.values()])
    changes = IncidentChanges()
    for offset in range(20, 40):
        fold(restored, alerts[offset], AlertPosition(0, offset), POLICY, changes)
    assert {s.incident_id for s in restored.open.values()} == ids_one
    assert {k: s.alerts for k, s in restored.open.items()} == {
        k: s.alerts for k, s in one.open.items()
    }
    assert changes.events == []  # all four were opened before the restart


def test_bounded_state_under_key_churn_closes_the_least_recently_seen() -> None:
    policy = IncidentPolicy(max_open=10, quiet_ms=10**9, update_every_ms=10**9)
    book = IncidentBook()
    alerts = [make_alert(i, T0 + i, dst=f"10.1.{i // 250}.{i % 250}") for i in range(1_000)]
    changes = feed(book, alerts, policy)
    assert len(book.open) == 10
    closed = [e for e in changes.events if e.event is IncidentEvent.CLOSED]
    assert len(closed) == 990 and {e.close_reason for e in closed} == {CloseReason.CAPACITY}
    assert changes.evicted == Counter({"DDoS": 990})
    assert {s.host for s in book.open.values()} == {f"10.1.3.{i}" for i in range(240, 250)}
    assert len(changes.removed) == 990 and set(changes.written) == set(book.open)


def test_one_burst_compresses_at_least_a_hundredfold() -> None:
    book = IncidentBook()
    policy = IncidentPolicy(window_ms=60_000, quiet_ms=120_000, update_every_ms=30_000)
    n = 20_000  # 60 s at 333 alerts/s, as in the demo's floods
    changes = feed(book, [make_alert(i, T0 + i * 3, src=f"10.9.{i % 200}.1") for i in range(n)])
    tick(book, T0 + 3 * n + 120_000, policy, changes)
    messages = len(changes.events)
    assert messages * 100 <= n, f"{messages} incident messages for {n} alerts"
    assert changes.events[-1].event is IncidentEvent.CLOSED
    assert changes.events[-1].alerts == n


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 3), st.integers(1, 20_000)),
        min_size=1,
        max_size=200,
    ),
    st.integers(1, 5),
    st.integers(1, 4),
)
def test_every_alert_is_accounted_for(
    steps: list[tuple[int, int, int]], max_open: int, min_alerts: int
) -> None:
    policy = IncidentPolicy(
        window_ms=10_000,
        quiet_ms=15_000,
        update_every_ms=3_000,
        max_open=max_open,
        min_alerts=min_alerts,
    )
    book, changes, now = IncidentBook(), IncidentChanges(), T0
    for n, (gateway, host, gap) in enumerate(steps):
        now += gap
        alert = make_alert(n, now, gateway=f"gw-{gateway}", dst=f"10.0.0.{host}")
        fold(book, alert, AlertPosition(0, n), policy, changes)
        tick(book, now, policy, changes)
        assert len(book.open) <= max_open
    tick(book, now + policy.quiet_ms, policy, changes)
    assert book.open == {}
    by_id: dict[str, list[Incident]] = {}
    for event in changes.events:
        by_id.setdefault(event.incident_id, []).append(event)
    opened = sum(events[-1].alerts for events in by_id.values())
    assert opened + changes.below_threshold == len(steps)
    if min_alerts == 1:
        assert changes.below_threshold == 0
    for events in by_id.values():
        assert [e.sequence for e in events] == list(range(len(events)))
        assert events[0].event is IncidentEvent.OPENED and events[-1].event is IncidentEvent.CLOSED
        counts = [e.alerts for e in events]
        assert counts == sorted(counts)


def test_stray_alerts_below_min_alerts_open_no_incident_and_are_counted() -> None:
    policy = IncidentPolicy(
        window_ms=60_000, quiet_ms=120_000, update_every_ms=30_000, min_alerts=3
    )
    book = IncidentBook()
    stray = [make_alert(i, T0 + i * 61_000, dst="10.0.0.7") for i in range(4)]  # one a window
    changes = IncidentChanges()
    for offset, alert in enumerate(stray):
        tick(book, alert.detected_at_ms, policy, changes)
        fold(book, alert, AlertPosition(0, offset), policy, changes)
    tick(book, T0 + 10 * 61_000, policy, changes)
    assert changes.events == [] and book.open == {}
    assert changes.below_threshold == 4
    assert len(changes.removed) == 1  # the pending incident's key, deleted from the table


def test_an_incident_opens_at_min_alerts_and_counts_its_first_alerts() -> None:
    policy = IncidentPolicy(
        window_ms=60_000, quiet_ms=120_000, update_every_ms=30_000, min_alerts=3
    )
    book = IncidentBook()
    alerts = [make_alert(i, T0 + i * 1_000) for i in range(5)]
    changes = feed(book, alerts[:2], policy)
    assert changes.events == [] and len(changes.written) == 1  # pending, stored in the table
    (pending,) = book.open.values()
    restored = decode_state(encode_state(pending))
    assert restored.opened is False and restored.alerts == 2
    changes = IncidentChanges()
    for offset, alert in enumerate(alerts[2:], start=2):
        fold(book, alert, AlertPosition(0, offset), policy, changes)
    (opened,) = changes.events
    assert opened.event is IncidentEvent.OPENED and opened.sequence == 0
    assert opened.alerts == 3 and opened.first_seen_ms == T0
    assert opened.alert_ids[0] == alerts[0].alert_id
    tick(book, T0 + 4_000 + 120_000, policy, changes)
    assert [e.event for e in changes.events] == [IncidentEvent.OPENED, IncidentEvent.CLOSED]
    assert changes.events[-1].alerts == 5 and changes.below_threshold == 0


def test_a_stored_version_1_state_is_read_as_opened() -> None:
    book = IncidentBook()
    feed(book, [make_alert(0, T0)])
    (state,) = book.open.values()
    document = orjson.loads(encode_state(state))
    document["version"] = 1
    del document["opened"]
    assert decode_state(orjson.dumps(document)).opened is True


def test_space_saving_counts_never_undercount_a_frequent_host() -> None:
    counts: dict[str, int] = {}
    for i in range(1_000):
        count_host(counts, "heavy" if i % 2 else f"rare-{i}", 8)
    assert len(counts) == 8 and counts["heavy"] >= 500


def test_a_corrupt_stored_state_is_refused_with_the_reason() -> None:
    with pytest.raises(SchemaError, match="not a stored incident state"):
        decode_state(b'{"version": 99}')
    with pytest.raises(SchemaError, match="not a stored incident state"):
        decode_state(b"\xff")
