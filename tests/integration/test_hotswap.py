"""Hot swap mid-stream: promote a second bundle while flows flow; refuse a corrupted one.

Nothing may be lost across a swap, every alert after it must carry the new model, and a bundle
that fails verification must be refused (with an event on the models topic) while the old
model keeps serving. The CLI (`iotad models promote|rollback`) drives it, as an operator would.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from support.bundles import make_tiny_bundle
from support.feeder import Feeder
from support.kafka import IsolatedSettings, consume_all
from support.signing import suite_signer
from support.worker import WorkerProcess, free_port, settings_env

from iotad.cli.main import main
from iotad.console import Console
from iotad.errors import ExitCode
from iotad.schemas.bundle import sha256_file
from iotad.schemas.control import ControlAction, ModelControl
from iotad.schemas.labels import Task
from iotad.schemas.messages import Alert
from iotad.schemas.signing import sign_bundle
from iotad.settings import Settings
from iotad.stream.state import ActiveBundleStore

pytestmark = pytest.mark.kafka

CLASSES = ("DDoS", "Recon")  # no benign class: every flow raises an alert


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("swap-bundles")
    for version, seed in (("1", 0), ("2", 1)):
        make_tiny_bundle(root / f"v{version}", classes=CLASSES, task=Task.CATEGORY,
                         version=version, seed=seed)  # fmt: skip
    corrupted = root / "v3-corrupted"
    shutil.copytree(root / "v2", corrupted)
    canary = json.loads((corrupted / "canary.json").read_text())
    canary["expected_scores"] = [list(reversed(s)) for s in canary["expected_scores"]]
    (corrupted / "canary.json").write_text(json.dumps(canary))
    manifest = json.loads((corrupted / "manifest.json").read_text())
    manifest["version"] = "3"
    manifest["sha256"]["canary.json"] = sha256_file(corrupted / "canary.json")
    (corrupted / "manifest.json").write_text(json.dumps(manifest))
    sign_bundle(corrupted, suite_signer())  # signed, so the canary check is what refuses it
    return {p.name: p for p in root.iterdir()}


def _cli(settings: Settings, monkeypatch: pytest.MonkeyPatch, *args: str) -> ExitCode:
    for key, value in settings_env(settings).items():
        monkeypatch.setenv(key, value)
    return main(list(args), console=Console())


def test_promote_mid_stream_then_refuse_a_corrupted_bundle_then_rollback(
    isolated_settings: IsolatedSettings,
    bundles: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = isolated_settings(
        partitions=2,
        stream={"web_port": free_port(), "confidence_threshold": 0.0, "batch_size": 50,
                "batch_within_s": 0.02},
    )  # fmt: skip
    worker = WorkerProcess(settings, tmp_path / "worker.log", bundle=bundles["v1"])
    feeder = Feeder(settings, CLASSES)
    try:
        assert worker.wait_ready()["model"]["version"] == "1"
        feeder.start()
        worker.wait_metric("iotad_flows_scored_total", 200)

        assert (
            _cli(settings, monkeypatch, "models", "promote", str(bundles["v2"]), "--wait", "20")
            == ExitCode.OK
        )
        swapped_at_ms = int(time.time() * 1000)
        worker.wait_metric(
            "iotad_flows_scored_total", worker.metric("iotad_flows_scored_total") + 200
        )

        code = _cli(settings, monkeypatch, "models", "promote", str(bundles["v3-corrupted"]),
                    "--skip-verify", "--wait", "20")  # fmt: skip
        assert code == ExitCode.MODEL  # the worker refused it
        refused_at_ms = int(time.time() * 1000)
        worker.wait_metric(
            "iotad_flows_scored_total", worker.metric("iotad_flows_scored_total") + 200
        )
        assert worker.wait_ready()["model"]["version"] == "2"

        feeder.halt.set()
        feeder.join(30)
        worker.wait_metric("iotad_flows_scored_total", len(feeder.sent))
        assert _cli(settings, monkeypatch, "models", "rollback", "--wait", "20") == ExitCode.OK
        metrics = worker.metrics()
    finally:
        feeder.halt.set()
        assert worker.stop() == 0

    state = ActiveBundleStore(settings.stream.state_dir).read()
    assert state.active is not None and state.active.model.version == "2"

    bootstrap = settings.kafka.bootstrap_servers
    raw = consume_all(bootstrap, settings.topics.alerts, expected=len(feeder.sent))
    alerts = [Alert.model_validate_json(v) for _, v in raw]
    by_flow = {a.flow_id: a for a in alerts}
    assert len(alerts) == len(by_flow) == len(feeder.sent)  # nothing lost, nothing doubled
    assert set(by_flow) == set(feeder.sent)
    sequence: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for a in alerts:
        sequence[a.source.partition].append((a.source.offset, a.model.version))
    for partition, seen in sequence.items():
        versions = [v for _, v in sorted(seen)]
        switch = versions.index("2")
        assert set(versions[:switch]) == {"1"} and set(versions[switch:]) == {"2"}, partition
    after_swap = [a for a in alerts if a.event_time_ms > swapped_at_ms]
    assert after_swap and {a.model.version for a in after_swap} == {"2"}
    assert {a.model.version for a in alerts if a.event_time_ms > refused_at_ms} == {"2"}
    assert {a.model.version for a in alerts} == {"1", "2"}

    raw = consume_all(bootstrap, settings.topics.models, idle_s=2)
    events = [ModelControl.model_validate_json(v) for _, v in raw]
    actions = [e.action for e in events]
    assert actions.count(ControlAction.ACTIVATED) == 2  # the promote of v2 and the rollback
    refused = next(e for e in events if e.action is ControlAction.REFUSED)
    assert "canary check failed" in (refused.reason or "")
    assert refused.request_id == next(
        e.event_id for e in events if e.action is ControlAction.PROMOTE and "v3" in e.bundle_path
    )
    assert metrics[("iotad_model_swaps_total", (("outcome", "refused"),))] == 1
    assert np.isclose(metrics[("iotad_model_swaps_total", (("outcome", "activated"),))], 2)
