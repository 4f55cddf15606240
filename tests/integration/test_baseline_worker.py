"""Gateway baselines in a real worker against the real broker.

* A baseline promoted for gateway A (``iotad models promote`` of a baseline bundle): A's benign
  flows do not alert even though the classifier calls every flow an attack; A's floods alert
  with their anomaly score. Gateway B has none: the classifier alone decides, the worker logs it
  once and counts B's flows in ``iotad_baseline_missing_flows_total{gateway="gw-b"}``.
* Online learning (``stream.baseline.learn_flows``): gateway C's first flows are learnt from,
  and from then on C's benign flows are quiet.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import orjson
import pytest
from support.bundles import make_tiny_bundle
from support.kafka import IsolatedSettings, consume_all, produce
from support.signing import make_key, suite_signer
from support.worker import WorkerProcess, free_port, require_data, settings_env

from iotad.baseline import BaselineConfig, learn_baseline
from iotad.cli.main import main
from iotad.console import Console
from iotad.errors import ExitCode, ModelLoadError
from iotad.schemas.features import FEATURES_39, FeatureLayout
from iotad.schemas.keys import load_public_key
from iotad.schemas.labels import Task
from iotad.schemas.messages import Alert
from iotad.schemas.signing import SIGNATURE_FILE, SignatureState, check_signature
from iotad.settings import Settings
from iotad.stream.baseline_state import BaselineStore
from iotad.stream.baselines import load_gateway_baseline

pytestmark = pytest.mark.kafka

CLASSES = ("DDoS", "Recon")  # no benign class: the classifier alone alerts on every flow
RATE = FEATURES_39.index("Rate")


def _benign(n: int, seed: int) -> np.ndarray:
    """A ward's normal: every feature varies a little around the same profile."""
    profile = np.random.default_rng(0).lognormal(3.0, 0.3, size=(1, 39))
    return profile * np.random.default_rng(seed).lognormal(0.0, 0.1, size=(n, 39))


def _flood(n: int, seed: int) -> np.ndarray:
    rows = _benign(n, seed)
    rows[:, RATE] *= 1000.0
    return rows


def _send(settings: Settings, gateway: str, rows: np.ndarray, tag: str) -> list[str]:
    ids = [f"{gateway}-{tag}-{i}" for i in range(len(rows))]
    now = int(time.time() * 1000)
    documents = [
        {"schema": "iotad.flow.v1", "gateway_id": gateway, "device_id": f"dev-{i % 4}",
         "event_time_ms": now, "flow_id": flow_id,
         "features": dict(zip(FEATURES_39, row.tolist(), strict=True))}
        for i, (flow_id, row) in enumerate(zip(ids, rows, strict=True))
    ]  # fmt: skip
    produce(
        settings.kafka.bootstrap_servers,
        settings.topics.flows,
        ((gateway.encode(), orjson.dumps(d)) for d in documents),
    )
    return ids


def _alerts(settings: Settings, expected: int) -> list[Alert]:
    raw = consume_all(settings.kafka.bootstrap_servers, settings.topics.alerts, expected=expected)
    return [Alert.model_validate_json(v) for _, v in raw]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("classifier") / "v1"
    make_tiny_bundle(dest, classes=CLASSES, task=Task.CATEGORY)
    return dest


def test_promoted_baseline_quiets_its_gateway_and_the_other_falls_back(
    isolated_settings: IsolatedSettings,
    classifier: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = isolated_settings(
        stream={"web_port": free_port(), "confidence_threshold": 0.0, "batch_size": 100}
    )
    unsigned, _ = learn_baseline(
        _benign(400, seed=1), gateway_id="gw-a", layout=FeatureLayout.CIC39,
        config=BaselineConfig(target_far=0.01), source="test", dest_root=tmp_path / "unsigned",
    )  # fmt: skip
    bundle, _ = learn_baseline(
        _benign(400, seed=1), gateway_id="gw-a", layout=FeatureLayout.CIC39,
        config=BaselineConfig(target_far=0.01), source="test", dest_root=tmp_path / "gw-a",
        signer=suite_signer(),
    )  # fmt: skip
    worker = WorkerProcess(settings, tmp_path / "worker.log", bundle=classifier)
    try:
        worker.wait_ready()
        for key, value in settings_env(settings).items():
            monkeypatch.setenv(key, value)
        refused = main(["models", "promote", str(unsigned), "--wait", "0"], console=Console())
        assert refused == ModelLoadError("").exit_code  # a promoted baseline must be signed
        promoted = main(["models", "promote", str(bundle), "--wait", "20"], console=Console())
        assert promoted == ExitCode.OK
        assert worker.metric("iotad_gateways_with_baseline") == 1
        benign_a, flood_a = _benign(300, seed=2), _flood(20, seed=3)
        benign_ids = _send(settings, "gw-a", benign_a, "benign")
        flood_ids = _send(settings, "gw-a", flood_a, "flood")
        b_ids = _send(settings, "gw-b", _benign(100, seed=4), "benign")
        worker.wait_metric("iotad_flows_scored_total", 420)
        metrics = worker.metrics()
        log = worker.log_path.read_text(errors="replace")
    finally:
        assert worker.stop() == 0

    # what the bundle itself says about A's flows, computed here
    session = load_gateway_baseline(bundle).baseline
    expected_benign = {i for i, s in zip(benign_ids, session.scorer.scores(benign_a), strict=True)
                       if s >= session.threshold}  # fmt: skip
    assert len(expected_benign) <= 0.03 * len(benign_ids)
    expected = len(expected_benign) + len(flood_ids) + len(b_ids)
    alerts = _alerts(settings, expected)
    by_gateway = {g: {a.flow_id: a for a in alerts if a.gateway_id == g} for g in ("gw-a", "gw-b")}
    assert set(by_gateway["gw-a"]) == expected_benign | set(flood_ids)
    for a in by_gateway["gw-a"].values():
        assert a.anomaly_score is not None and a.anomaly_score >= session.threshold
        assert a.baseline == session.model
    assert set(by_gateway["gw-b"]) == set(b_ids)  # the classifier alone: every flow alerts
    assert all(a.anomaly_score is None and a.baseline is None for a in by_gateway["gw-b"].values())
    assert metrics[("iotad_baseline_missing_flows_total", (("gateway", "gw-b"),))] == 100
    assert ("iotad_baseline_missing_flows_total", (("gateway", "gw-a"),)) not in metrics
    assert metrics[("iotad_gateways_without_baseline", ())] == 1
    assert metrics[("iotad_normal_flows_total", ())] == len(benign_ids) - len(expected_benign)
    assert log.count("gateway gw-b has no baseline") == 1
    assert "gw-a has no baseline" not in log
    recorded = BaselineStore(settings.stream.state_dir).read().gateways
    assert recorded["gw-a"].active.path == str(bundle.resolve())


def test_worker_learns_a_baseline_online_from_a_gateways_first_flows(
    isolated_settings: IsolatedSettings, classifier: Path, tmp_path: Path
) -> None:
    learn = 400
    settings = isolated_settings(
        stream={"web_port": free_port(), "confidence_threshold": 0.0, "batch_size": 100,
                "baseline": {"learn_flows": learn, "target_far": 0.01}},
    )  # fmt: skip
    worker = WorkerProcess(settings, tmp_path / "worker.log", bundle=classifier)
    try:
        worker.wait_ready()
        _send(settings, "gw-c", _benign(learn, seed=5), "learning")
        worker.wait_metric("iotad_gateways_with_baseline", 1)
        benign_c, flood_c = _benign(200, seed=6), _flood(10, seed=7)
        benign_ids = _send(settings, "gw-c", benign_c, "benign")
        flood_ids = _send(settings, "gw-c", flood_c, "flood")
        worker.wait_metric("iotad_flows_scored_total", learn + 210)
        metrics = worker.metrics()
        log = worker.log_path.read_text(errors="replace")
    finally:
        assert worker.stop() == 0

    recorded = BaselineStore(settings.stream.state_dir).read().gateways["gw-c"].active
    assert Path(recorded.path).is_relative_to(settings.stream.baseline_dir)
    session = load_gateway_baseline(Path(recorded.path)).baseline
    flagged = {i for i, s in zip(benign_ids, session.scorer.scores(benign_c), strict=True)
               if s >= session.threshold}  # fmt: skip
    assert len(flagged) <= 0.05 * len(benign_ids)
    alerts = _alerts(settings, learn + len(flagged) + len(flood_ids))
    after = {a.flow_id for a in alerts if "-learning-" not in (a.flow_id or "")}
    assert after == flagged | set(flood_ids)
    assert "learning its baseline from its first 400 flows" in log
    assert "learnt in" in log and "now deciding with baseline" in log
    assert metrics[("iotad_baselines_installed_total", (("origin", "learnt"),))] == 1
    assert metrics[("iotad_baseline_missing_flows_total", (("gateway", "gw-c"),))] == learn


def test_baseline_learn_cli_from_the_topic_and_from_csv(
    isolated_settings: IsolatedSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = isolated_settings()
    for key, value in settings_env(settings).items():
        monkeypatch.setenv(key, value)
    _send(settings, "gw-t", _benign(300, seed=8), "learning")
    _send(settings, "gw-other", _flood(50, seed=9), "other")
    out = tmp_path / "gw-t" / "v1"
    code = main(["baseline", "learn", "--gateway", "gw-t", "--from-topic", "--from-beginning",
                 "--max-flows", "300", "--learn-s", "60", "--out", str(out)],
                console=Console())  # fmt: skip
    assert code == ExitCode.OK
    manifest = load_gateway_baseline(out).manifest
    assert manifest.gateway_id == "gw-t" and manifest.version == "v1"
    assert manifest.training.train_rows == 225 and manifest.threshold.held_back_rows == 75
    assert not (out / SIGNATURE_FILE).exists()  # no key given: unsigned, with a warning
    merged = require_data() / "ciciot2023_merged39_sample.csv.gz"
    private, public = make_key("tests")
    code = main(["baseline", "learn", "--gateway", "gw-real", "--csv", str(merged),
                 "--benign-only", "--out", str(tmp_path / "gw-real" / "v1"),
                 "--signing-key", str(private)],
                console=Console())  # fmt: skip
    assert code == ExitCode.OK
    signed = tmp_path / "gw-real" / "v1"
    raw_manifest = (signed / "manifest.json").read_bytes()
    check = check_signature(signed, raw_manifest, [load_public_key(public)])
    assert check.state is SignatureState.SIGNED
    real = load_gateway_baseline(signed).manifest
    assert real.training.train_rows + real.threshold.held_back_rows == 55  # the BENIGN rows
    assert "benign rows of" in real.training.source
