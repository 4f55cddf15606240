"""Signed bundles mid-stream: every tampered bundle is refused while the old model keeps serving.

A worker trusting one key serves v1 while flows are fed. Five bundles derived from a good,
signed v2 are promoted one after the other (``--skip-verify``, so that the *worker* must catch
them): its graph changed (checksum), its manifest changed to match a new graph (signature), its
signature corrupted, its signature removed, and re-signed by a key the worker does not trust.
Each is refused with its own reason on the models topic, v1 keeps scoring, and then the good v2
swaps in. Every flow gets exactly one alert, from v1 until the swap and from v2 after it.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from support.bundles import make_tiny_bundle
from support.feeder import Feeder
from support.kafka import IsolatedSettings, consume_all
from support.signing import make_key
from support.worker import WorkerProcess, free_port, settings_env

from iotad.cli.main import main
from iotad.console import Console
from iotad.errors import ExitCode
from iotad.schemas.bundle import sha256_file
from iotad.schemas.control import ControlAction, ModelControl
from iotad.schemas.keys import load_signing_key
from iotad.schemas.labels import Task
from iotad.schemas.messages import Alert
from iotad.schemas.signing import SIGNATURE_FILE, sign_bundle
from iotad.settings import Settings

pytestmark = pytest.mark.kafka

CLASSES = ("DDoS", "Recon")  # no benign class: every flow raises an alert


def _tamper_graph(bundle: Path) -> None:
    graph = bytearray((bundle / "model.onnx").read_bytes())
    graph[len(graph) // 2] ^= 0xFF
    (bundle / "model.onnx").write_bytes(bytes(graph))


def _tamper_manifest(bundle: Path) -> None:
    """v1's graph, scaler, mask and canary rows, with the manifest's checksums updated to match:
    every check but the signature passes."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    for name in ("model.onnx", "scaler.json", "feature_mask.json", "canary.json"):
        shutil.copy(bundle.parent / "v1" / name, bundle / name)
        manifest["sha256"][name] = sha256_file(bundle / name)
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def _tamper_signature(bundle: Path) -> None:
    signature = json.loads((bundle / SIGNATURE_FILE).read_text())
    signature["signature"] = signature["signature"][::-1]
    (bundle / SIGNATURE_FILE).write_text(json.dumps(signature))


def _remove_signature(bundle: Path) -> None:
    (bundle / SIGNATURE_FILE).unlink()


def _sign_with_a_foreign_key(bundle: Path) -> None:
    sign_bundle(bundle, load_signing_key(make_key("rogue")[0]))


TAMPERED: dict[str, tuple[Callable[[Path], None], str]] = {
    "graph": (_tamper_graph, "model.onnx has sha256"),
    "manifest": (_tamper_manifest, "manifest.json changed after it was signed"),
    "signature": (_tamper_signature, "bad signature: the signature does not verify"),
    "unsigned": (_remove_signature, "unsigned (no manifest.sig)"),
    "foreign-key": (_sign_with_a_foreign_key, "which is not trusted"),
}


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("signed-swap")
    for version, seed in (("1", 0), ("2", 1)):
        make_tiny_bundle(root / f"v{version}", classes=CLASSES, task=Task.CATEGORY,
                         version=version, seed=seed)  # fmt: skip
    for name, (tamper, _) in TAMPERED.items():
        shutil.copytree(root / "v2", root / name)
        tamper(root / name)
    return {p.name: p for p in root.iterdir()}


def _cli(settings: Settings, monkeypatch: pytest.MonkeyPatch, *args: str) -> ExitCode:
    for key, value in settings_env(settings).items():
        monkeypatch.setenv(key, value)
    return main(list(args), console=Console())


def test_tampered_bundles_are_refused_mid_stream_and_nothing_is_lost(
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
        assert worker.wait_ready()["signed_by"] is not None
        feeder.start()
        worker.wait_metric("iotad_flows_scored_total", 200)
        for name in TAMPERED:
            code = _cli(settings, monkeypatch, "models", "promote", str(bundles[name]),
                        "--skip-verify", "--wait", "20")  # fmt: skip
            assert code == ExitCode.MODEL, name  # the worker refused it
            scored = worker.metric("iotad_flows_scored_total")
            worker.wait_metric("iotad_flows_scored_total", scored + 100)  # v1 keeps scoring
            assert worker.wait_ready()["model"]["version"] == "1", name
        code = _cli(settings, monkeypatch, "models", "promote", str(bundles["v2"]), "--wait", "20")
        assert code == ExitCode.OK
        swapped_at_ms = int(time.time() * 1000)
        worker.wait_metric(
            "iotad_flows_scored_total", worker.metric("iotad_flows_scored_total") + 100
        )
        feeder.halt.set()
        feeder.join(30)
        worker.wait_metric("iotad_flows_scored_total", len(feeder.sent))
        metrics = worker.metrics()
    finally:
        feeder.halt.set()
        assert worker.stop() == 0

    assert metrics[("iotad_model_swaps_total", (("outcome", "refused"),))] == len(TAMPERED)
    assert metrics[("iotad_model_swaps_total", (("outcome", "activated"),))] == 1
    assert metrics[("iotad_model_unsigned", ())] == 0

    bootstrap = settings.kafka.bootstrap_servers
    raw = consume_all(bootstrap, settings.topics.alerts, expected=len(feeder.sent))
    alerts = [Alert.model_validate_json(v) for _, v in raw]
    by_flow = {a.flow_id: a for a in alerts}
    assert len(alerts) == len(by_flow) == len(feeder.sent)  # nothing lost, nothing doubled
    assert set(by_flow) == set(feeder.sent)
    assert {a.model.version for a in alerts if a.event_time_ms > swapped_at_ms} == {"2"}
    assert {a.model.version for a in alerts} == {"1", "2"}

    events = [ModelControl.model_validate_json(v) for _, v in consume_all(
        bootstrap, settings.topics.models, idle_s=2)]  # fmt: skip
    requests = {e.event_id: Path(e.bundle_path).name for e in events
                if e.action is ControlAction.PROMOTE}  # fmt: skip
    refused = {requests[e.request_id or ""]: e.reason or "" for e in events
               if e.action is ControlAction.REFUSED}  # fmt: skip
    assert set(refused) == set(TAMPERED)
    for name, (_, reason) in TAMPERED.items():
        assert reason in refused[name], (name, refused[name])
