"""`iotad capture FILE` publishes its windows to the project's broker, as replay envelopes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console as RichConsole
from support.kafka import IsolatedSettings, consume_all
from support.packets import write_pcap
from support.traffic import http_burst, syn_scan, udp_flood

from iotad.cli.main import main
from iotad.console import Console
from iotad.errors import ExitCode
from iotad.schemas.messages import FlowBatch

pytestmark = pytest.mark.kafka


def test_capture_to_kafka(isolated_settings: IsolatedSettings, tmp_path: Path) -> None:
    settings = isolated_settings(partitions=2)
    packets = (
        syn_scan(300) + udp_flood(200, start=1_700_000_001.0) + http_burst(50, 1_700_000_002.0)
    )
    path = write_pcap(tmp_path / "ward.pcap", packets)
    out, err = io.StringIO(), io.StringIO()
    console = Console(out=RichConsole(file=out, width=200), err=RichConsole(file=err, width=200))
    code = main(
        [
            "capture",
            str(path),
            "--bootstrap",
            settings.kafka.bootstrap_servers,
            "--topic",
            settings.topics.flows,
            "--gateway",
            "gw-ward-7",
        ],
        console=console,
    )
    assert code == ExitCode.OK, err.getvalue()
    assert "60 rows" in out.getvalue() and "(60 written/acknowledged)" in out.getvalue()
    records = consume_all(settings.kafka.bootstrap_servers, settings.topics.flows, idle_s=3.0)
    ids: list[str] = []
    for key, value in records:
        batch = FlowBatch.model_validate_json(value)
        assert batch.gateway_id == "gw-ward-7" and set(batch.device_id) == {(key or b"").decode()}
        assert batch.src_ip is not None and batch.dst_ip is not None
        ids += [i or "" for i in batch.flow_id or []]
    assert sorted(ids, key=lambda i: int(i.split(":")[1])) == [f"ward:{i}" for i in range(60)]
