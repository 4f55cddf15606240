"""The demo's packet stage: its report, and the CLI's refusal of contradictory options."""

from __future__ import annotations

import io
from collections import Counter

from rich.console import Console as RichConsole

from iotad.cli.main import main
from iotad.console import Console
from iotad.demo.alert_log import SeenAlert
from iotad.demo.packet_stage import PACKET_GATEWAY_ID, PacketStage
from iotad.errors import ExitCode


def test_the_report_counts_only_alerts_on_packet_windows() -> None:
    stage = PacketStage(("w.pcap",), True, 3000, Counter({"ipv6": 2}), 300, 300)
    alerts = [
        SeenAlert(1, "Recon", "v1", None, PACKET_GATEWAY_ID, "10.20.3.66"),
        SeenAlert(2, "Recon", "v1", None, PACKET_GATEWAY_ID, "10.20.3.66"),
        SeenAlert(3, "DDoS", "v1", None, PACKET_GATEWAY_ID, "10.20.3.1"),
        SeenAlert(4, "DDoS", "v1", "DDoS-UDP_Flood", "gw-demo-synthetic", None),
    ]
    report = stage.to_json(alerts)
    assert report["alerts_by_category"] == {"Recon": 2, "DDoS": 1}
    assert report["alerts_by_source_host"] == {"10.20.3.66": 2, "10.20.3.1": 1}
    assert report["windows"] == report["windows_delivered"] == 300
    assert report["packets_skipped"] == {"ipv6": 2}


def test_pcap_with_no_packets_is_refused() -> None:
    err = io.StringIO()
    console = Console(out=RichConsole(file=io.StringIO()), err=RichConsole(file=err, width=200))
    code = main(["demo", "--pcap", "ward.pcap", "--no-packets"], console=console)
    assert code == ExitCode.CONFIG
    assert "drop --no-packets" in err.getvalue()
