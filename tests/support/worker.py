"""Helpers for tests that run the scoring worker for real: a subprocess, its endpoints, real rows.

* :class:`WorkerProcess` starts ``iotad stream worker`` with a :class:`Settings` object passed as
  ``IOTAD_*`` environment variables, waits for ``/readyz``, reads ``/metrics``, and stops it with
  SIGTERM or SIGKILL.
* :func:`real_rows` reads genuine CICIoT2023 rows from ``<repo>/../shared/data/ciciot2023``;
  :func:`train_real_bundle` trains a small logistic regression on them and writes a bundle.
* :func:`flow_message` / :func:`batch_message` encode rows as ``iotad.flow.v1`` and
  ``iotad.flow_batch.v1`` messages.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from iotad.broker import free_port
from iotad.schemas.bundle import load_bundle, open_session, write_bundle
from iotad.schemas.features import FEATURES_39
from iotad.schemas.labels import (
    BENIGN_LABEL,
    Task,
    category_of_class,
)
from iotad.schemas.manifest import CanaryFile
from iotad.schemas.transform import FeatureTransform
from iotad.settings import Settings, child_environment
from iotad.stream.captures import read_captures
from support.signing import suite_signer

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ciciot2023"
ZERO_SHA = "0" * 64


def settings_env(settings: Settings) -> dict[str, str]:
    """The ``IOTAD_*`` variables that reproduce the kafka, topics and stream sections."""
    return {k: v for k, v in child_environment(settings).items() if k.startswith("IOTAD_")}


class WorkerProcess:
    """One ``iotad stream worker`` subprocess; its output goes to ``log_path``."""

    def __init__(self, settings: Settings, log_path: Path, *, bundle: Path | None = None) -> None:
        self.settings = settings
        self.port = settings.stream.web_port
        self.log_path = log_path
        env = child_environment(settings)
        command = [sys.executable, "-c", "from iotad.cli.main import run; run()"]
        command += ["stream", "worker"] + (["--bundle", str(bundle)] if bundle else [])
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(command, env=env, stdout=self._log, stderr=self._log)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the worker wrote."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def get(self, path: str) -> tuple[int, str] | None:
        """Status and body of ``GET path``, or ``None`` while nothing answers."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return int(r.status), r.read().decode()
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read().decode()
        except (urllib.error.URLError, OSError):
            return None

    def wait_ready(self, timeout_s: float = 90.0) -> dict[str, Any]:
        """Wait until ``/readyz`` says ready; its report."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"worker exited with {self.process.returncode}:\n{self.log_tail()}")
            answer = self.get("/readyz")
            if answer is not None and answer[0] == 200:
                return dict(orjson.loads(answer[1]))
            time.sleep(0.2)
        pytest.fail(f"worker not ready after {timeout_s}s:\n{self.log_tail()}")

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Every sample on ``/metrics``: (name, sorted labels) → value."""
        answer = self.get("/metrics")
        if answer is None or answer[0] != 200:
            return {}
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(answer[1])
            for s in family.samples
        }

    def metric(self, name: str, **labels: str) -> float:
        """One sample (0 when absent)."""
        return self.metrics().get((name, tuple(sorted(labels.items()))), 0.0)

    def wait_metric(self, name: str, at_least: float, timeout_s: float = 90.0) -> float:
        """Wait until metric ``name`` reaches ``at_least``; its value."""
        deadline = time.monotonic() + timeout_s
        value = 0.0
        while time.monotonic() < deadline:
            value = self.metric(name)
            if value >= at_least:
                return value
            if self.process.poll() is not None:
                pytest.fail(f"worker exited with {self.process.returncode}:\n{self.log_tail()}")
            time.sleep(0.2)
        pytest.fail(f"{name} is {value}, expected >= {at_least}:\n{self.log_tail()}")

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout_s: float = 60.0) -> int:
        """Send ``sig`` and wait for the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait(timeout_s)
            pytest.fail(f"worker ignored {sig.name} for {timeout_s}s:\n{self.log_tail()}")
        self._log.close()
        return code


def require_data() -> Path:
    """The real data folder, or skip the test with a clear message."""
    if not (DATA / "per_class").is_dir():
        pytest.skip(f"real CICIoT2023 rows not found at {DATA} (shared/ beside the repository)")
    return DATA


def real_rows(files: Sequence[str], rows_per_file: int) -> tuple[np.ndarray, np.ndarray]:
    """The first valid ``rows_per_file`` rows of each file (relative to the data folder)."""
    data = require_data()
    x, y, _ = read_captures([data / name for name in files], rows_per_file=rows_per_file)
    return x, y


def train_real_bundle(
    dest: Path, x: np.ndarray, y: np.ndarray, *, version: str = "1", name: str = "real-lr"
) -> Path:
    """A 34-label-task logistic regression on real rows, written, signed with the suite's key
    and verified as a bundle."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    transform = FeatureTransform.fit(x, FEATURES_39, FEATURES_39)
    features = transform.apply(x.astype(np.float32))
    model = LogisticRegression(max_iter=300, tol=1e-2).fit(features, y)
    onnx_model = to_onnx(
        model, features[:1], options={id(model): {"zipmap": False}}, target_opset=17
    )
    classes = [str(c) for c in model.classes_]
    probabilities = model.predict_proba(features[:5])
    canary = CanaryFile(
        rows=x[:5].astype(np.float32).astype(float).tolist(),
        expected_classes=[classes[i] for i in probabilities.argmax(axis=1)],
        expected_scores=probabilities.astype(float).tolist(),
        atol=1e-3,
    )
    scaler, mask = transform.to_files()
    fields: dict[str, Any] = {
        "name": name, "version": version, "created_at": datetime(2026, 11, 26, tzinfo=UTC),
        "task": 34, "model_kind": "lr", "classes": classes, "category_map": "study",
        "class_categories": {c: category_of_class(c, Task.LABEL, "study").value for c in classes},
        "input": {"layout": "cic39", "raw_features": list(FEATURES_39),
                  "onnx_input": onnx_model.graph.input[0].name},
        "output": {"scores": "probabilities", "kind": "probability"},
        "decision": {"benign_classes": [c for c in classes if c == BENIGN_LABEL]},
        "opset": 17,
        "metrics": {"protocol": "holdout", "accuracy": 0.0, "macro_f1": 0.0, "test_rows": 0},
        "training": {"protocol": "holdout", "data_fingerprint": ZERO_SHA,
                     "training_manifest_sha256": ZERO_SHA,
                     "labels_present": {c: int((y == c).sum()) for c in classes},
                     "train_rows": len(y), "seed": 0, "code_version": "test"},
        "parity": {"rows": 5, "class_agreement": 1.0, "max_abs_score_diff": 0.0,
                   "atol": 1e-3, "passed": True},
    }  # fmt: skip
    write_bundle(
        dest, manifest_fields=fields, onnx_model=onnx_model.SerializeToString(), scaler=scaler,
        feature_mask=mask, canary=canary, metrics={"note": "test bundle on real rows"},
        signer=suite_signer(),
    )  # fmt: skip
    open_session(load_bundle(dest))
    return dest


def flow_message(
    values: Sequence[float], label: str | None, flow_id: str, device: str, event_ms: int
) -> dict[str, Any]:
    """One ``iotad.flow.v1`` document."""
    return {
        "schema": "iotad.flow.v1",
        "gateway_id": "gw-test",
        "device_id": device,
        "event_time_ms": event_ms,
        "flow_id": flow_id,
        "label": label,
        "features": dict(zip(FEATURES_39, (float(v) for v in values), strict=True)),
    }


def batch_message(
    rows: np.ndarray, labels: Sequence[str | None], flow_ids: Sequence[str], event_ms: int
) -> dict[str, Any]:
    """One ``iotad.flow_batch.v1`` document (devices derived from the flow ids)."""
    n = len(rows)
    return {
        "schema": "iotad.flow_batch.v1",
        "gateway_id": "gw-test",
        "count": n,
        "device_id": [f"dev-{i % 8}" for i in range(n)],
        "event_time_ms": [event_ms] * n,
        "flow_id": list(flow_ids),
        "label": list(labels),
        "features": {name: rows[:, c].astype(float).tolist() for c, name in enumerate(FEATURES_39)},
    }


def encode(document: Mapping[str, Any]) -> bytes:
    """JSON bytes of a message document."""
    return orjson.dumps(document)


__all__ = [
    "DATA",
    "WorkerProcess",
    "batch_message",
    "encode",
    "flow_message",
    "free_port",
    "real_rows",
    "require_data",
    "settings_env",
    "train_real_bundle",
]
