"""A shortened `iotad demo` against the test session's broker: the demo path cannot rot.

Uses the committed default bundles (models/defaults.json) when present, else two tiny bundles.
"""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import psutil
import pytest
from rich.console import Console as RichConsole
from support.bundles import make_tiny_bundle

from iotad.console import Console
from iotad.demo.bundles import DEFAULTS_FILE, default_paths
from iotad.demo.runner import DemoRequest, DemoRun
from iotad.demo.scenario import Scenario
from iotad.schemas.labels import BENIGN_LABEL, Task
from iotad.settings import load_settings

pytestmark = [pytest.mark.kafka, pytest.mark.e2e]

MODELS = Path(__file__).resolve().parents[2] / "models"


def _bundles(tmp_path: Path) -> tuple[Path, Path]:
    if (MODELS / DEFAULTS_FILE).is_file():
        return default_paths(MODELS)
    classes = ("DDoS", "Recon", "Web", "Mirai", "Benign")
    first, second = tmp_path / "v1", tmp_path / "v2"
    make_tiny_bundle(first, classes=classes, task=Task.CATEGORY, version="v1")
    make_tiny_bundle(second, classes=classes, task=Task.CATEGORY, version="v2", seed=1)
    return first, second


def test_a_short_demo_alerts_swaps_accounts_and_cleans_up(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    first, second = _bundles(tmp_path)
    settings = load_settings(
        overrides={
            "demo": {
                "duration_s": 8.0, "rate": 250.0, "batch": 25, "bundle": first,
                "swap_bundle": second, "ready_timeout_s": 120.0, "drain_timeout_s": 60.0,
                # Early enough that a swap verified slowly on a busy machine (2.4 s seen) still
                # leaves the Mirai and DoS bursts, which the second model alerts on, after it.
                "swap_at": 0.25,
                # no online baseline: with one, the few flows after the swap of an 8 s run are
                # benign and normal for the gateway, so the swapped-in model would raise no
                # alert to check (online learning: tests/integration/test_baseline_worker.py)
                "baseline_learn_share": 0.0,
            },
        }
    )  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    console = Console(RichConsole(file=out, width=160), RichConsole(file=err, width=160))
    run = DemoRun(
        DemoRequest(settings, bootstrap=kafka_bootstrap, run_dir=tmp_path / "run"), console
    )
    summary = run.run()

    assert summary.ok, f"{summary.problems}\n{err.getvalue()[-3000:]}"
    assert len(summary.alerts_by_category) >= 2
    assert summary.swap.activated and summary.swap.before != summary.swap.after
    assert len(summary.alerts_by_model) == 2  # alerts from both models, none lost in the swap
    written = orjson.loads((tmp_path / "run" / "summary.json").read_bytes())
    packets = written["packets"]  # the built-in packet stage ran before the feed
    assert packets["builtin"] and packets["windows"] > 100
    assert packets["windows_delivered"] == packets["windows"]
    assert summary.accounting.lost == 0
    assert summary.accounting.sent == 2000 + packets["windows"]
    assert sum(summary.dead_letters_by_reason.values()) == 5
    assert written["ok"] and written["flows"]["lost"] == 0
    assert written["hot_swap"]["outcome"] == "activated"
    assert (tmp_path / "run" / "alerts.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "iotad demo summary" in out.getvalue() and "lost 0" in out.getvalue()
    incidents = written["incidents"]  # every alert folded, every incident message read back
    assert incidents["alerts"] == written["alerts_total"] and incidents["messages"] > 0
    assert incidents["messages_by_event"]["opened"] == incidents["incidents"]
    assert incidents["messages"] < incidents["alerts"]
    assert "per-flow alerts" in out.getvalue()
    bursts = written["bursts"]  # one row per attack burst, every burst flow counted in one
    assert [b["name"] for b in bursts["per_burst"]] == [s.name for s in Scenario().bursts()]
    attack_flows = sum(n for label, n in run.progress.by_label.items() if label != BENIGN_LABEL)
    assert sum(b["flows"] for b in bursts["per_burst"]) == attack_flows > 0
    assert bursts["incidents_opened"]["opened"] <= incidents["incidents"]
    assert "attack-burst recall" in out.getvalue()
    assert run.worker is not None and run.worker.pid is not None
    assert not psutil.pid_exists(run.worker.pid) or (
        psutil.Process(run.worker.pid).status() == psutil.STATUS_ZOMBIE
    )
