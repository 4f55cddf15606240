"""Fixtures for the stream unit tests: tiny real bundles and flow-message builders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
from support.bundles import make_tiny_bundle, synthetic_rows
from support.signing import suite_public_key

from iotad.schemas.features import FEATURES_39, FeatureLayout
from iotad.schemas.labels import Task
from iotad.settings import StreamSettings
from iotad.stream.core import FeatureSpec, InboundMessage, ServingModel
from iotad.stream.loader import load_model

LABEL_CLASSES = ("BenignTraffic", "DDoS-ACK_Fragmentation", "Recon-PortScan", "XSS")


@pytest.fixture(scope="session")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real skl2onnx bundles: binary v1 and v2, a 4-label one, and a 46-feature one."""
    root = tmp_path_factory.mktemp("bundles")
    make_tiny_bundle(root / "binary-v1", version="1")
    make_tiny_bundle(root / "binary-v2", version="2", seed=1)
    make_tiny_bundle(root / "labels", classes=LABEL_CLASSES, task=Task.LABEL, name="tiny-34")
    make_tiny_bundle(root / "cic46", layout=FeatureLayout.CIC46, name="tiny-46")
    return {p.name: p for p in root.iterdir()}


@pytest.fixture(scope="session")
def stream_settings(tmp_path_factory: pytest.TempPathFactory) -> StreamSettings:
    """Worker settings with a private state dir, threshold 0 (every attack alerts), trusting the
    suite's signing key."""
    return StreamSettings(
        state_dir=tmp_path_factory.mktemp("state"),
        confidence_threshold=0.0,
        top_k=3,
        trusted_keys=(suite_public_key(),),
    )


@pytest.fixture(scope="session")
def label_model(bundles: dict[str, Path], stream_settings: StreamSettings) -> ServingModel:
    """The 4-label bundle, ready to serve."""
    return load_model(bundles["labels"], stream_settings).serving


@pytest.fixture
def spec39() -> FeatureSpec:
    """The 39-feature spec in release order."""
    return FeatureSpec(FeatureLayout.CIC39, FEATURES_39)


def flow_doc(values: Any, i: int = 0, **extra: Any) -> dict[str, Any]:
    """A single-flow document for a row of 39 values."""
    return {
        "schema": "iotad.flow.v1",
        "gateway_id": "gw-1",
        "device_id": f"dev-{i % 5}",
        "event_time_ms": 1_795_718_400_000 + i,
        "flow_id": f"f-{i}",
        "features": dict(zip(FEATURES_39, (float(v) for v in values), strict=True)),
        **extra,
    }


def batch_doc(rows: Any, start: int = 0) -> dict[str, Any]:
    """A batch envelope for a matrix of rows (39 columns)."""
    rows = np.asarray(rows, dtype=np.float64)
    n = len(rows)
    return {
        "schema": "iotad.flow_batch.v1",
        "gateway_id": "gw-1",
        "count": n,
        "device_id": [f"dev-{(start + i) % 5}" for i in range(n)],
        "event_time_ms": [1_795_718_400_000 + start + i for i in range(n)],
        "flow_id": [f"f-{start + i}" for i in range(n)],
        "label": [None] * n,
        "features": {name: rows[:, c].tolist() for c, name in enumerate(FEATURES_39)},
    }


MessageFactory = Callable[..., InboundMessage]


@pytest.fixture
def message() -> MessageFactory:
    """``message(value, offset=0, partition=0)``: an inbound Kafka message."""

    def make(value: bytes | dict[str, Any], offset: int = 0, partition: int = 0) -> InboundMessage:
        raw = value if isinstance(value, bytes) else orjson.dumps(value)
        return InboundMessage(raw, "flows", partition, offset, b"key")

    return make


@pytest.fixture(scope="session")
def label_rows() -> tuple[np.ndarray, np.ndarray]:
    """Separable synthetic rows for the 4-label bundle."""
    return synthetic_rows(200, FeatureLayout.CIC39, LABEL_CLASSES, seed=5)


@pytest.fixture
def make_flow() -> Callable[..., dict[str, Any]]:
    """``make_flow(values, i=0, **extra)``: a single-flow document."""
    return flow_doc


@pytest.fixture
def make_batch() -> Callable[..., dict[str, Any]]:
    """``make_batch(rows, start=0)``: a batch envelope document."""
    return batch_doc
