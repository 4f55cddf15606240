"""Attack-burst recall: detection per burst, per-flow recall beside it."""

from __future__ import annotations

from iotad.demo.alert_log import OpenedIncident, SeenAlert
from iotad.demo.bursts import burst_results, burst_window, incident_timing, recall_by_category

T0 = 1_800_000_000_000
SCAN = burst_window("port scan", ["Recon-PortScan"], T0 + 10_000, T0 + 20_000,
                    frozenset({"203.0.113.20", "10.20.3.11"}))  # fmt: skip
FLOOD = burst_window("DoS flood", ["DoS-UDP_Flood", "DoS-SYN_Flood"], T0 + 30_000, T0 + 40_000,
                     frozenset({"203.0.113.60", "10.20.3.12"}))  # fmt: skip


def _alert(at_s: float, category: str, label: str) -> SeenAlert:
    return SeenAlert(T0 + int(at_s * 1000), category, "m@v1", label)


def test_a_burst_is_detected_by_an_alert_on_its_own_flows_in_its_window() -> None:
    alerts = [
        _alert(12.0, "DDoS", "Recon-PortScan"),  # detected, wrong category
        _alert(13.0, "Recon", "Recon-PortScan"),
        _alert(31.0, "DoS", "BenignTraffic"),  # a false alert during the flood: not the flood's
        _alert(47.0, "DoS", "DoS-UDP_Flood"),  # too late (end 40 s + 5 s slack)
    ]
    sent = {"Recon-PortScan": 10, "DoS-UDP_Flood": 6, "DoS-SYN_Flood": 4}
    opened = [
        OpenedIncident(T0 + 12_100, "DDoS", "10.20.3.11"),
        OpenedIncident(T0 + 12_200, "Recon", "203.0.113.20"),
        OpenedIncident(T0 + 12_300, "DoS", "10.20.3.99"),  # another host
        OpenedIncident(T0 + 2_000, "Recon", "203.0.113.20"),  # before the burst
    ]
    scan, flood = burst_results([SCAN, FLOOD], alerts, sent, opened, T0)
    assert scan.category == "Recon" and scan.detected and scan.first_alert_s == 2.0
    assert (scan.flows, scan.flows_alerted, scan.flows_named) == (10, 2, 1)
    assert scan.incidents_opened == 2 and (scan.start_s, scan.end_s) == (10.0, 20.0)
    assert flood.category == "DoS" and not flood.detected and flood.first_alert_s is None
    assert (flood.flows, flood.flows_alerted, flood.flows_named) == (10, 1, 1)  # per-flow recall
    assert flood.incidents_opened == 0
    # a longer slack counts the late alert
    assert burst_results([FLOOD], alerts, sent, opened, T0, slack_ms=8_000)[0].detected

    table = recall_by_category([scan, flood])
    assert table["Recon"]["burst_recall"] == 1.0 and table["Recon"]["flow_recall"] == 0.2
    assert table["DoS"]["burst_recall"] == 0.0 and table["DoS"]["flow_recall"] == 0.1


def test_a_burst_with_no_flow_sent_has_no_per_flow_recall() -> None:
    (result,) = burst_results([SCAN], [], {}, [], T0)
    assert not result.detected and result.flows == 0
    assert recall_by_category([result])["Recon"]["flow_recall"] is None


def test_incidents_are_split_into_during_and_outside_the_bursts() -> None:
    opened = [
        OpenedIncident(T0 + t, "DDoS", "10.20.3.11")
        for t in (1_000, 9_000, 10_000, 24_000, 26_000, 45_000, 46_000)
    ]
    timing = incident_timing([SCAN, FLOOD], opened, slack_ms=5_000)
    # during: 10 s, 24 s (the scan's end + 4 s) and 45 s (the flood's end + 5 s)
    assert timing == {
        "opened": 7, "during_bursts": 3, "outside_bursts": 4, "before_first_burst": 2,
    }  # fmt: skip
    assert incident_timing([], opened, 5_000)["before_first_burst"] == 0
