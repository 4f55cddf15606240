"""Summary accounting: lost and duplicated units, problems, per-second series, fidelity tally."""

from __future__ import annotations

from pathlib import Path

import orjson

from iotad.demo.alert_log import SeenAlert
from iotad.demo.bursts import burst_results, burst_window
from iotad.demo.fidelity import NOT_ALERTED, tally
from iotad.demo.summary import (
    Accounting,
    DemoSummary,
    IncidentTally,
    SwapReport,
    alerts_per_second,
    counts,
    model_versions,
)


def test_accounting() -> None:
    exact = Accounting(sent=1000, bad_sent=5, scored=1000, dead_letters=5)
    assert (exact.expected, exact.accounted, exact.lost, exact.duplicates) == (1005, 1005, 0, 0)
    short = Accounting(sent=1000, bad_sent=5, scored=990, dead_letters=4)
    assert short.lost == 11 and short.duplicates == 0
    repeated = Accounting(sent=1000, bad_sent=5, scored=1020, dead_letters=5)
    assert repeated.lost == 0 and repeated.duplicates == 20
    assert exact.to_json()["lost"] == 0


def _summary(**changes: object) -> DemoSummary:
    fields: dict[str, object] = {
        "run_dir": "/tmp/run",
        "data": "SYNTHETIC",
        "synthetic": True,
        "started_at": "2026-11-26T00:00:00+00:00",
        "options": {},
        "machine": {"cores": 2},
        "phases_s": {"feed": 10.0, "total": 20.0},
        "accounting": Accounting(sent=100, bad_sent=2, scored=100, dead_letters=2),
        "alerts_by_category": {"DDoS": 30, "Web": 5},
        "alerts_by_model": {"v1": 20, "v2": 15},
        "benign": 50,
        "uncertain": 15,
        "dead_letters_by_reason": {"undecodable": 1, "missing_features": 1},
        "expected_dead_letters": {"missing_features": 1, "undecodable": 1},
        "latency_ms": {"p50": 40.0, "p99": 120.0},
        "swap": SwapReport("activated", 5.0, 0.8, "m@v1", "m@v2", "host:1"),
        "fidelity": tally({"XSS": 10}, [("XSS", "Web")] * 5),
    }
    fields.update(changes)
    return DemoSummary(**fields)  # type: ignore[arg-type]


def test_a_clean_run_has_no_problems_and_round_trips(tmp_path: Path) -> None:
    summary = _summary()
    assert summary.ok and summary.problems == []
    written = orjson.loads(summary.write(tmp_path / "summary.json").read_bytes())
    assert written["schema"] == "iotad.demo_summary.v1" and written["ok"] is True
    assert written["flows"]["lost"] == 0 and written["alerts_total"] == 35
    assert written["hot_swap"]["outcome"] == "activated"
    assert written["fidelity"][0]["share"] == 0.5


def test_problems_name_what_went_wrong() -> None:
    lossy = _summary(accounting=Accounting(sent=100, bad_sent=2, scored=97, dead_letters=2))
    assert lossy.problems == ["3 sent units were never accounted for"]
    no_swap = _summary(swap=SwapReport("refused", 5.0, reason="canary check failed"))
    assert "hot swap did not complete (refused)" in no_swap.problems[0]
    wrong_letters = _summary(dead_letters_by_reason={"undecodable": 2})
    assert "differ from the bad messages" in wrong_letters.problems[0]
    stopped = _summary(interrupted=True, accounting=Accounting(100, 2, 90, 2))
    assert stopped.problems == [
        "interrupted before the end; 10 sent units were not accounted for yet"
    ]
    assert not stopped.ok


def test_alerts_per_second_and_counts() -> None:
    series = alerts_per_second(
        [0, 999, 1000, 5000, -5], ["DDoS", "DDoS", "Web", "Web", "Web"], 0, 3
    )
    assert series == {"DDoS": [2, 0, 0], "Web": [0, 1, 0]}
    assert counts({"a": 2.0, "b": 0.0}) == {"a": 2}
    assert model_versions(["v2", "v1", "v2"]) == {"v2": 2, "v1": 1}


def test_tally_counts_not_alerted_flows_and_benign_success() -> None:
    rows = {r.category: r for r in tally(
        {"BenignTraffic": 100, "XSS": 20, "SqlInjection": 10, "Recon-PortScan": 5},
        [("BenignTraffic", "Recon")] * 10 + [("XSS", "Web")] * 15 + [("SqlInjection", "Recon")] * 2,
    )}  # fmt: skip
    assert rows["Benign"].outcomes == {"Recon": 10, NOT_ALERTED: 90}
    assert rows["Benign"].share == 0.9
    assert rows["Web"].flows == 30 and rows["Web"].detected == 15
    assert rows["Web"].outcomes[NOT_ALERTED] == 13
    assert rows["Recon"].share == 0.0 and rows["Recon"].outcomes == {NOT_ALERTED: 5}


def test_incidents_report_the_compression_of_alerts_into_messages(tmp_path: Path) -> None:
    tally = IncidentTally(
        alerts=19_000, messages_by_event={"opened": 40, "updated": 150}, incidents=40
    )
    assert tally.messages == 190 and tally.compression == 100.0
    written = orjson.loads(_summary(incidents=tally).write(tmp_path / "s.json").read_bytes())
    assert written["incidents"] == {
        "alerts": 19_000, "messages": 190, "incidents": 40, "compression": 100.0,
        "messages_by_event": {"opened": 40, "updated": 150},
    }  # fmt: skip
    assert IncidentTally(5, {}, 0).compression is None
    assert orjson.loads(_summary().write(tmp_path / "t.json").read_bytes())["incidents"] is None


T0 = 1_800_000_000_000
_SCAN = burst_window("port scan", ["Recon-PortScan"], T0 + 10_000, T0 + 20_000,
                     frozenset({"203.0.113.20"}))  # fmt: skip


def test_the_summary_writes_the_bursts(tmp_path: Path) -> None:
    results = burst_results([_SCAN], [SeenAlert(T0 + 11_000, "Recon", "m@v1", "Recon-PortScan")],
                            {"Recon-PortScan": 4}, [], T0)  # fmt: skip
    written = orjson.loads(
        _summary(bursts=results, burst_slack_ms=5_000).write(tmp_path / "s.json").read_bytes()
    )
    assert written["bursts"]["per_burst"][0]["detected"] is True
    assert written["bursts"]["by_category"]["Recon"]["flow_recall"] == 0.25
    assert orjson.loads(_summary().write(tmp_path / "t.json").read_bytes())["bursts"] is None
