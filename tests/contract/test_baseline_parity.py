"""A gateway baseline learnt from the real benign rows: the served ONNX graph matches the native
model on real benign and attack rows, and the bundle's canary rows reproduce."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
from support.worker import real_rows, require_data

from iotad.baseline import BaselineConfig, fit_knn, learn_baseline
from iotad.baseline.fit import KnnBaseline
from iotad.schemas.baseline_bundle import load_baseline, open_baseline_session
from iotad.schemas.features import FEATURES_39, FeatureLayout
from iotad.stream.baseline_sources import csv_learning_rows

MERGED = "ciciot2023_merged39_sample.csv.gz"
ATTACKS = ["per_class/Mirai-udpplain", "per_class/Recon-PortScan", "per_class/XSS"]


def test_baseline_bundle_matches_the_native_model_on_real_rows(tmp_path: Path) -> None:
    benign = csv_learning_rows([require_data() / MERGED], benign_only=True).values
    assert len(benign) >= 50  # the MERGED sample's BENIGN rows
    attacks, _ = real_rows(ATTACKS, rows_per_file=300)
    dest, manifest = learn_baseline(
        benign, gateway_id="gw-real", layout=FeatureLayout.CIC39,
        config=BaselineConfig(), source=MERGED, dest_root=tmp_path, version="1",
    )  # fmt: skip
    session = open_baseline_session(load_baseline(dest))  # checksums, graph, canary
    native: KnnBaseline = fit_knn(
        benign[: manifest.training.train_rows], FEATURES_39, k=manifest.method.k,
        max_reference_rows=BaselineConfig().max_reference_rows, seed=manifest.training.seed,
    )  # fmt: skip
    rows = np.vstack([benign, attacks.astype(np.float64)])
    served, expected = session.scores(rows), native.scores(rows)
    assert np.abs(served - expected).max() <= manifest.parity.atol
    threshold = manifest.threshold.value
    assert np.mean((served >= threshold) == (expected >= threshold)) >= 0.999
    # a plain onnxruntime session on the saved scaler's output gives the same scores
    plain = ort.InferenceSession(str(dest / "model.onnx"), providers=["CPUExecutionProvider"])
    (out,) = plain.run(None, {"features": session.bundle.transform.apply(rows)})
    np.testing.assert_allclose(out.reshape(-1), served, atol=1e-6)
    # real floods are far outside the real benign rows
    assert np.mean(served[len(benign) : len(benign) + 300] >= threshold) > 0.9
