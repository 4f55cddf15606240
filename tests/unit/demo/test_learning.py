"""The demo's learning phase: how many flows, and the false-alert figure of its summary."""

from __future__ import annotations

from iotad.demo.fidelity import FidelityRow
from iotad.demo.learning import learning_flows, with_online_baseline
from iotad.demo.scenario import DEFAULT_TIMELINE, Scenario, Segment
from iotad.demo.summary import Accounting, DemoSummary, SwapReport
from iotad.settings import load_settings


def test_learning_takes_a_share_of_the_first_benign_stretch_only() -> None:
    settings = load_settings(overrides={"demo": {"duration_s": 60, "rate": 1000}})
    first = DEFAULT_TIMELINE[0]
    assert not first.attacks
    expected = int(60_000 * (first.end - first.start) * settings.demo.baseline_learn_share)
    assert learning_flows(settings, Scenario()) == expected < 60_000 * first.end
    attacked_first = Scenario(
        (Segment("burst", 0.0, 0.5, (("DDoS-ICMP_Flood", 1.0),), 0.5, ("d",), attacker="192.0.2.1"),
         Segment("benign", 0.5, 1.0)),
    )  # fmt: skip
    assert learning_flows(settings, attacked_first) == 0
    off = load_settings(overrides={"demo": {"baseline_learn_share": 0.0}})
    assert learning_flows(off, Scenario()) == 0
    learning = with_online_baseline(settings, 2880)
    assert (
        learning.stream.baseline.learn_flows == 2880 and settings.stream.baseline.learn_flows == 0
    )


def test_summary_reports_false_alerts_on_benign_flows() -> None:
    fidelity = (
        FidelityRow("BenignTraffic", "Benign", 1000, {"not alerted": 990, "DDoS": 6, "Unknown": 4}),
        FidelityRow("DDoS-ICMP_Flood", "DDoS", 100, {"DDoS": 99, "not alerted": 1}),
    )
    summary = DemoSummary(
        run_dir="r", data="synthetic", synthetic=True, started_at="t", options={}, machine={},
        phases_s={}, accounting=Accounting(1100, 0, 1100, 0), alerts_by_category={},
        alerts_by_model={}, benign=0, uncertain=0, dead_letters_by_reason={},
        expected_dead_letters={}, latency_ms={}, swap=SwapReport("activated"), fidelity=fidelity,
    )  # fmt: skip
    assert summary.benign_false_alerts == (10, 1000)
    assert summary.to_json()["benign_false_alerts"] == {"alerted": 10, "flows": 1000, "rate": 0.01}
