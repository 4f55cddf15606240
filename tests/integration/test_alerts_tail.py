"""`iotad alerts tail` prints the alerts that were produced, and reports invalid messages."""

from __future__ import annotations

import io
import threading
import uuid

import orjson
import pytest
from rich.console import Console as RichConsole
from support.kafka import IsolatedSettings, produce

from iotad.cli.main import main
from iotad.console import Console
from iotad.errors import ConfigError, ExitCode
from iotad.schemas.incidents import Incident
from iotad.schemas.labels import Category
from iotad.schemas.messages import Alert, ClassProbability, ModelRef, Severity, SourceRef
from iotad.settings import Settings, load_settings
from iotad.stream.alerts_tail import (
    AlertRecord,
    TailOptions,
    alert_topics,
    decode_alert,
    parse_categories,
    tail_alerts,
)
from iotad.stream.core.incident import (
    AlertPosition,
    IncidentBook,
    IncidentChanges,
    IncidentPolicy,
    fold,
    tick,
)


def make_alert(i: int, category: str, label: str, severity: Severity) -> Alert:
    return Alert(
        alert_id=uuid.uuid4().hex,
        detected_at_ms=1_795_718_400_000 + i,
        event_time_ms=1_795_718_399_000 + i,
        gateway_id="gw-ward-3",
        device_id=f"pump-{i:02d}",
        flow_id=f"XSS:{i}",
        category=category,
        label=label,
        confidence=0.9,
        top_k=[ClassProbability(label=label, probability=0.9)],
        severity=severity,
        model=ModelRef(name="rf", version="7", sha256="a" * 64),
        source=SourceRef(topic="iotad.flows", partition=0, offset=i),
    )


ALERTS = [
    make_alert(0, "DDoS", "DDoS-UDP_Fragmentation", Severity.CRITICAL),
    make_alert(1, "Web", "XSS", Severity.HIGH),
    make_alert(2, "DDoS", "DDoS-ACK_Fragmentation", Severity.MEDIUM),
]


def _produce_alerts(settings: Settings) -> None:
    messages = [(a.category.encode(), a.model_dump_json().encode()) for a in ALERTS[:2]]
    messages.append((b"DDoS", b'{"schema": "iotad.alert.v1", "confidence": 3}'))
    messages.append((b"DDoS", ALERTS[2].model_dump_json().encode()))
    produce(settings.kafka.bootstrap_servers, settings.topics.alerts, messages)


def _cli(settings: Settings, *args: str) -> tuple[ExitCode, str, str]:
    out, err = io.StringIO(), io.StringIO()
    console = Console(
        out=RichConsole(file=out, soft_wrap=True), err=RichConsole(file=err, soft_wrap=True)
    )
    common = ["--bootstrap", settings.kafka.bootstrap_servers]
    if "--topic" not in args:
        common += ["--topic", settings.topics.alerts]
    code = main(["alerts", "tail", *common, *args], console=console)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.kafka
def test_tail_json_prints_every_valid_alert_and_reports_the_invalid_one(
    isolated_settings: IsolatedSettings,
) -> None:
    settings = isolated_settings(partitions=1)
    _produce_alerts(settings)
    code, out, err = _cli(settings, "--from-beginning", "--json", "--max", "3", "--timeout", "30")
    assert code == ExitCode.OK, err
    shown = [Alert.model_validate_json(line) for line in out.splitlines()]
    assert shown == ALERTS
    assert orjson.loads(out.splitlines()[0])["schema"] == "iotad.alert.v1"
    assert "invalid alert at" in err and "alert_id: Field required" in err
    assert "3 alerts shown, 1 invalid" in err


@pytest.mark.kafka
def test_tail_filters_by_category_and_prints_compact_lines(
    isolated_settings: IsolatedSettings,
) -> None:
    settings = isolated_settings(partitions=1)
    _produce_alerts(settings)
    code, out, err = _cli(settings, "--from-beginning", "--category", "ddos", "--timeout", "3")
    assert code == ExitCode.OK, err
    lines = out.splitlines()
    assert len(lines) == 2
    assert "CRITICAL" in lines[0] and "DDoS-UDP_Fragmentation" in lines[0]
    assert "gw-ward-3/pump-00" in lines[0] and "rf@7" in lines[0] and "0.90" in lines[0]
    assert "MEDIUM" in lines[1] and "XSS" not in out
    assert "1 of other categories" in err


@pytest.mark.kafka
def test_tail_follows_new_alerts_and_stops_on_request(isolated_settings: IsolatedSettings) -> None:
    settings = isolated_settings(partitions=2)
    seen: list[tuple[Alert, AlertRecord]] = []
    ready, stop = threading.Event(), threading.Event()

    def collect(alert: Alert, where: AlertRecord) -> None:
        seen.append((alert, where))
        if len(seen) == len(ALERTS):
            stop.set()

    options = TailOptions(topics=(settings.topics.alerts,), idle_timeout_s=60)
    follower = threading.Thread(
        target=tail_alerts,
        args=(settings, options, collect, lambda reason, where: None),
        kwargs={"stop": stop, "on_ready": ready.set},
    )
    follower.start()
    try:
        assert ready.wait(30)
        _produce_alerts(settings)
        follower.join(60)
    finally:
        stop.set()
        follower.join(10)
    assert sorted(a.alert_id for a, _ in seen) == sorted(a.alert_id for a in ALERTS)
    assert {where.topic for _, where in seen} == {settings.topics.alerts}


def test_categories_by_name_or_slug_and_their_topics() -> None:
    assert parse_categories(["ddos", "BruteForce"]) == {Category.DDOS, Category.BRUTE_FORCE}
    with pytest.raises(ConfigError, match="unknown alert categories \\['floods'\\]"):
        parse_categories(["floods"])
    plain = load_settings(overrides={"topics": {"per_category_alerts": False}})
    split = load_settings(overrides={"topics": {"per_category_alerts": True}})
    assert alert_topics(plain, frozenset({Category.DDOS})) == ("iotad.alerts",)
    assert alert_topics(split, frozenset({Category.DDOS, Category.WEB})) == (
        "iotad.alerts.ddos",
        "iotad.alerts.web",
    )
    assert alert_topics(split, frozenset()) == ("iotad.alerts",)


def test_decode_alert_names_what_is_wrong() -> None:
    assert decode_alert(ALERTS[0].model_dump_json().encode()) == ALERTS[0]
    assert decode_alert(b"not json").startswith("message: Invalid JSON")
    reason = decode_alert(b'{"schema": "iotad.alert.v1"}')
    assert isinstance(reason, str) and "alert_id: Field required" in reason and "more" in reason


def _incident_events() -> list[Incident]:
    """Opened, updated and closed events of one DDoS incident, made by the real core."""
    book, changes = IncidentBook(), IncidentChanges()
    policy = IncidentPolicy(update_every_ms=1_000, quiet_ms=5_000)
    for i in range(30):
        alert = make_alert(i * 100, "DDoS", "DDoS-UDP_Fragmentation", Severity.HIGH)
        alert = alert.model_copy(update={"src_ip": f"10.9.0.{i % 4}", "dst_ip": "10.20.3.1"})
        fold(book, alert, AlertPosition(0, i), policy, changes)
    tick(book, 1_795_718_400_000 + 2_900 + 5_000, policy, changes)
    return changes.events


@pytest.mark.kafka
def test_tail_incidents_prints_one_line_per_incident_event(
    isolated_settings: IsolatedSettings,
) -> None:
    settings = isolated_settings(partitions=1)
    events = _incident_events()
    produce(
        settings.kafka.bootstrap_servers,
        settings.topics.incidents,
        [(e.incident_id.encode(), e.model_dump_json().encode()) for e in events],
    )
    common = ["--from-beginning", "--incidents", "--topic", settings.topics.incidents]
    code, out, err = _cli(settings, *common, "--max", str(len(events)), "--timeout", "30")
    assert code == ExitCode.OK, err
    lines = out.splitlines()
    assert [line.split()[1] for line in lines] == [e.event.value.upper() for e in events]
    assert lines[0].split()[1:3] == ["OPENED", "#0"] and "1 alerts" in lines[0]
    assert "CLOSED (quiet)" in lines[-1] and "30 alerts (DDoS-UDP_Fragmentation 30)" in lines[-1]
    assert "gw-ward-3 target 10.20.3.1" in lines[-1] and "2.9s" in lines[-1]
    assert "src 10.9.0.0×8 10.9.0.1×8 10.9.0.2×7" in lines[-1]
    assert f"{len(events)} incidents shown, 0 invalid" in err
    code, out, _ = _cli(settings, *common, "--json", "--max", "1", "--timeout", "30")
    assert code == ExitCode.OK
    assert Incident.model_validate_json(out.splitlines()[0]) == events[0]
