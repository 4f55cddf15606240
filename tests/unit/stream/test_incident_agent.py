"""The incident service between the core and Faust: table mirror, changelog, restore, metrics.

The table and the producer are small fakes here (the real broker, table and changelog recovery
are exercised by tests/integration/test_incidents.py): what is tested is that every change of
the book reaches the table and its changelog on the alert's partition, that a tombstone
follows a close, and that a restore rebuilds exactly the owned partitions' incidents.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from support.alerts import T0, make_alert

from iotad.schemas.incidents import Incident, IncidentEvent
from iotad.settings import IncidentSettings, load_settings
from iotad.stream.core.incident_state import decode_state
from iotad.stream.incident_agent import IncidentService, incident_policy
from iotad.stream.metrics import WorkerMetrics


@dataclass
class FakeTable:
    data: dict[bytes, bytes] = field(default_factory=dict)
    changelog: list[tuple[int, bytes, bytes | None]] = field(default_factory=list)

    def send_changelog(self, partition: int, key: bytes, value: bytes | None) -> Any:
        self.changelog.append((partition, key, value))
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


@dataclass
class FakePublisher:
    published: list[tuple[str, bytes | None, bytes]] = field(default_factory=list)

    async def publish(self, topic: str, records: Any) -> list[Any]:
        self.published.extend((topic, k, v) for k, v in records)
        return []


@dataclass
class FakeMessage:
    topic: str
    partition: int
    offset: int


@dataclass
class FakeEvent:
    value: bytes
    message: FakeMessage


@dataclass
class FakeRuntime:
    settings: Any
    topics: Any
    metrics: WorkerMetrics


@dataclass
class FakeApp:
    rebalancing: bool = False


def make_service(**incidents: Any) -> tuple[IncidentService, FakeTable, FakePublisher]:
    settings = load_settings(
        overrides={"incidents": {"quiet_s": 30, "update_every_s": 10, **incidents}}
    )
    runtime = FakeRuntime(settings, settings.topics, WorkerMetrics(lambda: {}))
    table, publisher = FakeTable(), FakePublisher()
    service = IncidentService(FakeApp(), runtime, table)  # type: ignore[arg-type]
    service.publisher = publisher  # type: ignore[assignment]
    return service, table, publisher


def events(n: int, partition: int, *, start: int = 0, **alert: Any) -> list[FakeEvent]:
    return [
        FakeEvent(
            make_alert(start + i, T0 + (start + i) * 10, **alert).model_dump_json().encode(),
            FakeMessage("iotad.alerts", partition, start + i),
        )
        for i in range(n)
    ]


def metric(service: IncidentService, name: str, **labels: str) -> float:
    value = service.runtime.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_a_batch_writes_each_changed_incident_once_on_its_partition() -> None:
    service, table, publisher = make_service()
    batch = events(50, 1) + events(20, 0, start=50, category="Recon", src="10.0.0.77")
    asyncio.run(service.fold_batch(batch))
    assert len(table.changelog) == 2  # one write per incident, not one per alert
    by_partition = {p: decode_state(v) for p, _, v in table.changelog if v is not None}
    assert by_partition[1].alerts == 50 and by_partition[0].alerts == 20
    assert by_partition[0].host == "10.0.0.77"
    assert {k: v for _, k, v in table.changelog} == table.data
    opened = [Incident.model_validate_json(v) for _, _, v in publisher.published]
    assert [e.event for e in opened] == [IncidentEvent.OPENED] * 2
    assert {k for _, k, _ in publisher.published} == {e.incident_id.encode() for e in opened}
    assert metric(service, "iotad_incident_alerts_total", outcome="folded") == 70
    assert metric(service, "iotad_incidents_open") == 2
    assert metric(service, "iotad_incident_events_total", event="opened", category="DDoS") == 1


def test_invalid_alerts_are_counted_and_skipped_not_fatal() -> None:
    service, table, _ = make_service()
    bad = FakeEvent(b'{"schema": "iotad.alert.v1"}', FakeMessage("iotad.alerts", 0, 99))
    asyncio.run(service.fold_batch([bad, *events(3, 0)]))
    assert metric(service, "iotad_incident_alerts_total", outcome="invalid") == 1
    assert metric(service, "iotad_incident_alerts_total", outcome="folded") == 3


def test_a_quiet_close_deletes_the_key_with_a_tombstone() -> None:
    service, table, publisher = make_service()

    async def run() -> None:
        await service.fold_batch(events(5, 1))
        await service.tick(T0 + 40 + 30_000)

    asyncio.run(run())
    assert table.data == {}
    partition, key, value = table.changelog[-1]
    assert (partition, value) == (1, None)
    closed = Incident.model_validate_json(publisher.published[-1][2])
    assert closed.event is IncidentEvent.CLOSED and closed.alerts == 5
    assert metric(service, "iotad_incidents_open") == 0
    assert metric(service, "iotad_incidents_per_minute") == 2


def test_restore_rebuilds_the_owned_partitions_and_drops_unreadable_states() -> None:
    service, table, _ = make_service()
    asyncio.run(service.fold_batch(events(5, 0) + events(5, 1, start=5, dst="10.0.0.2")))
    table.data[b'["junk"]'] = b"not a state"
    fresh, _, _ = make_service()
    fresh.table = table
    fresh.restore({1})
    (state,) = fresh.book.open.values()
    assert (state.partition, state.alerts, state.host) == (1, 5, "10.0.0.2")
    assert b'["junk"]' not in table.data
    assert metric(fresh, "iotad_incident_restore_errors_total") == 1
    # a re-read of what was already counted changes nothing
    asyncio.run(fresh.fold_batch(events(5, 1, start=5, dst="10.0.0.2")))
    assert next(iter(fresh.book.open.values())).alerts == 5
    assert metric(fresh, "iotad_incident_alerts_total", outcome="skipped") == 5


def test_forget_drops_revoked_partitions_and_tick_waits_out_a_rebalance() -> None:
    service, table, publisher = make_service()
    asyncio.run(service.fold_batch(events(5, 0) + events(5, 1, start=5, dst="10.0.0.2")))
    service.forget({0})
    assert {s.partition for s in service.book.open.values()} == {1}
    assert all(decode_state(v).partition == 1 for v in table.data.values())
    service.app.rebalancing = True
    assert asyncio.run(service.tick(T0 + 10**9)) == []
    assert len(service.book.open) == 1


def test_policy_from_settings_is_in_milliseconds() -> None:
    policy = incident_policy(IncidentSettings(window_s=30, quiet_s=90, update_every_s=5))
    assert (policy.window_ms, policy.quiet_ms, policy.update_every_ms) == (30_000, 90_000, 5_000)


def test_the_agent_table_and_timer_are_registered_on_an_app(tmp_path: Any) -> None:
    import faust

    from iotad.stream.incident_agent import TABLE_NAME, register_incident_agent
    from iotad.stream.topics import alerts_topic

    settings = load_settings(
        overrides={"topics": {"partitions": 3}, "stream": {"state_dir": str(tmp_path)}}
    )
    runtime = FakeRuntime(settings, settings.topics, WorkerMetrics(lambda: {}))
    # faust-streaming has no memory:// transport; the app is never started, so nothing connects
    app = faust.App("iotad-test", broker="kafka://127.0.0.1:9", datadir=str(tmp_path))
    tasks_before = len(app._app_tasks)
    service = register_incident_agent(app, runtime, alerts_topic(app, settings.topics))  # type: ignore[arg-type]
    table = app.tables[TABLE_NAME]
    assert service.table is table
    assert table.partitions == 3  # the alerts topic's partitions: co-partitioned
    assert table.changelog_topic.get_topic_name() == f"iotad-test-{TABLE_NAME}-changelog"
    assert "iotad.incidents" in {agent.name for agent in app.agents.values()}
    agent = next(a for a in app.agents.values() if a.name == "iotad.incidents")
    assert agent.channel.get_topic_name() == settings.topics.alerts
    assert len(app._app_tasks) == tasks_before + 1  # the timer that closes quiet incidents
