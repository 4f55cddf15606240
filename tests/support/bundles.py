"""Tiny but real model bundles for tests: scikit-learn → skl2onnx → iotad bundle files."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from iotad.schemas.bundle import load_bundle, open_session, write_bundle
from iotad.schemas.features import LAYOUT_FEATURES, FeatureLayout
from iotad.schemas.labels import Task, category_of_class
from iotad.schemas.manifest import BundleManifest, CanaryFile
from iotad.schemas.signing import TrustPolicy
from iotad.schemas.transform import FeatureTransform
from support.signing import suite_signer

ZERO_SHA = "0" * 64


def synthetic_rows(
    n: int, layout: FeatureLayout, classes: tuple[str, ...], seed: int = 0
) -> tuple[NDArray[np.float32], NDArray[np.str_]]:
    """Separable random rows: class i shifts the first few features by 3·i."""
    rng = np.random.default_rng(seed)
    width = len(LAYOUT_FEATURES[layout])
    y = rng.integers(0, len(classes), size=n)
    x = rng.normal(10.0, 2.0, size=(n, width))
    x[:, :4] += 3.0 * y[:, None]
    return x.astype(np.float32), np.asarray(classes)[y]


def make_tiny_bundle(
    dest: Path,
    *,
    classes: tuple[str, ...] = ("Attack", "Benign"),
    task: Task = Task.BINARY,
    layout: FeatureLayout = FeatureLayout.CIC39,
    version: str = "1",
    name: str = "tiny-lr",
    seed: int = 0,
    signed: bool = True,
) -> BundleManifest:
    """Train a logistic regression on synthetic rows and write it as a verified bundle, signed
    with the suite's key (:mod:`support.signing`) unless ``signed`` is false."""
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    raw_features = LAYOUT_FEATURES[layout]
    x, y = synthetic_rows(600, layout, classes, seed)
    mask = raw_features[:6]
    transform = FeatureTransform.fit(x, raw_features, mask)
    model = LogisticRegression(max_iter=500).fit(transform.apply(x), y)
    onnx_model = to_onnx(
        model,
        transform.apply(x[:1]),
        options={id(model): {"zipmap": False}},
        target_opset=17,
    )
    ordered = tuple(str(c) for c in model.classes_)
    probabilities = model.predict_proba(transform.apply(x[:5]))
    canary = CanaryFile(
        rows=x[:5].astype(float).tolist(),
        expected_classes=[ordered[i] for i in probabilities.argmax(axis=1)],
        expected_scores=probabilities.astype(float).tolist(),
    )
    scaler, feature_mask = transform.to_files()
    fields: dict[str, Any] = {
        "name": name,
        "version": version,
        "created_at": datetime(2026, 11, 26, tzinfo=UTC),
        "task": int(task),
        "model_kind": "lr",
        "classes": list(ordered),
        "category_map": "study",
        "class_categories": {c: category_of_class(c, task, "study").value for c in ordered},
        "input": {
            "layout": layout.value,
            "raw_features": list(raw_features),
            "onnx_input": onnx_model.graph.input[0].name,
        },
        "output": {"scores": "probabilities", "kind": "probability"},
        "decision": {"benign_classes": [c for c in ordered if c in ("Benign", "BenignTraffic")]},
        "opset": 17,
        "metrics": {"protocol": "holdout", "accuracy": 1.0, "macro_f1": 1.0, "test_rows": 5},
        "training": {
            "protocol": "holdout",
            "data_fingerprint": ZERO_SHA,
            "training_manifest_sha256": ZERO_SHA,
            "labels_present": {c: int((y == c).sum()) for c in ordered},
            "train_rows": len(y),
            "seed": seed,
            "code_version": "test",
        },
        "parity": {
            "rows": 5,
            "class_agreement": 1.0,
            "max_abs_score_diff": 0.0,
            "atol": 1e-4,
            "passed": True,
        },
    }
    manifest = write_bundle(
        dest,
        manifest_fields=fields,
        onnx_model=onnx_model.SerializeToString(),
        scaler=scaler,
        feature_mask=feature_mask,
        canary=canary,
        metrics={"note": "synthetic test bundle"},
        signer=suite_signer() if signed else None,
    )
    # A helper must never hand out a bundle that fails to verify.
    trust = TrustPolicy((suite_signer().public,), allow_unsigned=not signed)
    open_session(load_bundle(dest, trust))
    return manifest
