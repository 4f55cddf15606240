"""Learn a gateway's baseline from benign flows and write it as a verified baseline bundle.

:func:`learn_baseline` splits the learning flows in arrival order — the first part is fitted on,
the last ``held_back_fraction`` only sets the threshold — fits (:mod:`iotad.baseline.fit`),
builds the ONNX graph (:mod:`iotad.baseline.graph`), checks the graph against the native model
on every row (parity), records canary rows, writes the bundle atomically and reads it back
through the worker's own path (:func:`~iotad.schemas.baseline_bundle.open_baseline_session`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from iotad.baseline.fit import KnnBaseline, Threshold, far_threshold, fit_knn
from iotad.baseline.graph import INPUT_NAME, OPSET, OUTPUT_NAME, knn_to_onnx
from iotad.errors import DataError, ModelLoadError
from iotad.schemas.baseline_bundle import canary_classes, load_baseline, open_baseline_session
from iotad.schemas.baseline_manifest import BaselineManifest
from iotad.schemas.bundle import inference_session, write_bundle
from iotad.schemas.features import LAYOUT_FEATURES, FeatureLayout
from iotad.schemas.keys import SigningKey
from iotad.schemas.manifest import CanaryFile, ParityResult

PARITY_ATOL = 1e-3
CANARY_ROWS = 8
_LIBRARIES = ("iotad", "numpy", "onnx", "onnxruntime")


@dataclass(frozen=True)
class BaselineConfig:
    """How a baseline is learnt (``stream.baseline`` settings or ``iotad baseline learn`` flags)."""

    target_far: float = 0.01
    held_back_fraction: float = 0.25
    k: int = 3
    max_reference_rows: int = 256
    seed: int = 42


def _versions() -> dict[str, str]:
    found = {}
    for name in _LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def safe_name(gateway_id: str) -> str:
    """A gateway id as a bundle name or directory name: characters other than letters, digits,
    ``.``, ``_`` and ``-`` become ``-``.

    Examples
    --------
    >>> safe_name("ward 3/gw:1")
    'ward-3-gw-1'
    """
    return re.sub(r"[^A-Za-z0-9._-]", "-", gateway_id).lstrip(".") or "gateway"


def split_learning(
    raw: NDArray[np.floating], held_back_fraction: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The first flows to fit on and the last ones to set the threshold on (arrival order).

    Raises
    ------
    DataError
        if either part would be empty.
    """
    values = np.asarray(raw, dtype=np.float64)
    held = int(round(len(values) * held_back_fraction))
    if held < 1 or held >= len(values):
        raise DataError(
            f"{len(values)} learning flows cannot be split into fitting and held-back parts "
            f"(held_back_fraction {held_back_fraction})"
        )
    return values[: len(values) - held], values[len(values) - held :]


def _parity(
    model: KnnBaseline,
    onnx_bytes: bytes,
    rows: NDArray[np.float64],
    threshold: float,
    reference: str,
) -> tuple[ParityResult, NDArray[np.float32]]:
    session = inference_session(onnx_bytes, reference)
    (onnx_out,) = session.run([OUTPUT_NAME], {INPUT_NAME: model.transform.apply(rows)})
    served = np.asarray(onnx_out, dtype=np.float32).reshape(-1)
    native = model.scores(rows)
    # which side of the threshold, for rows clear of it (within atol either side is noise)
    clear = np.abs(native - threshold) > PARITY_ATOL
    same_side = (served >= threshold) == (native >= threshold)
    agreement = float(np.mean(same_side[clear])) if clear.any() else 1.0
    diff = float(np.abs(served - native).max())
    passed = agreement >= 0.999 and diff <= PARITY_ATOL
    result = ParityResult(
        rows=len(rows),
        class_agreement=agreement,
        max_abs_score_diff=diff,
        atol=PARITY_ATOL,
        passed=passed,
    )
    return result, served


def _canary(rows: NDArray[np.float64], served: NDArray[np.float32], threshold: float) -> CanaryFile:
    """Up to :data:`CANARY_ROWS` rows spread over the scores, none close to the threshold."""
    clear = np.flatnonzero(np.abs(served - threshold) > 10 * PARITY_ATOL)
    if len(clear) == 0:
        clear = np.arange(len(rows))
    order = clear[np.argsort(served[clear], kind="stable")]
    pick = order[
        np.unique(np.linspace(0, len(order) - 1, min(CANARY_ROWS, len(order))).astype(int))
    ]
    return CanaryFile(
        rows=[[float(v) for v in rows[i]] for i in pick],
        expected_classes=canary_classes(served[pick], threshold),
        expected_scores=[[float(served[i])] for i in pick],
        atol=PARITY_ATOL,
    )


def learn_baseline(
    raw: NDArray[np.floating],
    *,
    gateway_id: str,
    layout: FeatureLayout,
    config: BaselineConfig,
    source: str,
    dest_root: Path,
    version: str | None = None,
    signer: SigningKey | None = None,
) -> tuple[Path, BaselineManifest]:
    """Learn, verify and write the baseline of ``gateway_id`` from benign ``raw`` rows.

    ``raw`` holds the layout's features in :data:`~iotad.schemas.features.LAYOUT_FEATURES`
    order, in arrival order. The bundle goes to ``dest_root/<version>`` (signed with ``signer``
    when given, like a classifier bundle); the version defaults to
    the creation time plus a hash of the graph.

    Raises
    ------
    DataError
        for too few or non-finite flows.
    ModelLoadError
        if the ONNX graph disagrees with the native model, or the written bundle does not verify.
    """
    features = LAYOUT_FEATURES[layout]
    fitting, held_back = split_learning(raw, config.held_back_fraction)
    model = fit_knn(
        fitting,
        features,
        k=config.k,
        max_reference_rows=config.max_reference_rows,
        seed=config.seed,
    )
    threshold: Threshold = far_threshold(model.scores(held_back), config.target_far)
    onnx_bytes = knn_to_onnx(model)
    created = datetime.now(UTC)
    version = version or f"{created:%Y%m%dT%H%M%SZ}-{hashlib.sha256(onnx_bytes).hexdigest()[:8]}"
    name = f"baseline-{safe_name(gateway_id)}"
    every = np.concatenate([fitting, held_back])
    parity, served = _parity(model, onnx_bytes, every, threshold.value, f"{name}@{version}")
    if not parity.passed:
        raise ModelLoadError(
            f"baseline {name}@{version}: ONNX and native scores differ (max "
            f"{parity.max_abs_score_diff:.3g}, agreement {parity.class_agreement:.4f})"
        )
    scaler, mask = model.transform.to_files()
    fields: dict[str, Any] = {
        "name": name,
        "version": version,
        "created_at": created,
        "gateway_id": gateway_id,
        "input": {"layout": layout, "raw_features": list(features), "onnx_input": INPUT_NAME},
        "output": {"scores": OUTPUT_NAME},
        "method": {"k": model.k, "reference_rows": len(model.references)},
        "threshold": {
            "value": threshold.value,
            "target_far": threshold.target_far,
            "held_back_rows": threshold.held_back_rows,
            "held_back_far": threshold.held_back_far,
            "resolution": threshold.resolution,
        },
        "opset": OPSET,
        "training": {
            "source": source,
            "train_rows": len(fitting),
            "seed": config.seed,
            "code_version": _versions()["iotad"],
            "library_versions": _versions(),
        },
        "parity": parity,
    }
    metrics = {
        "held_back_scores": {
            "min": float(served[len(fitting) :].min()),
            "max": float(served[len(fitting) :].max()),
            "median": float(np.median(served[len(fitting) :])),
        },
        "threshold": threshold.value,
        "held_back_far": threshold.held_back_far,
    }
    dest = Path(dest_root) / version
    manifest = write_bundle(
        dest,
        manifest_fields=fields,
        onnx_model=onnx_bytes,
        scaler=scaler,
        feature_mask=mask,
        canary=_canary(every, served, threshold.value),
        metrics=metrics,
        manifest_type=BaselineManifest,
        signer=signer,
    )
    open_baseline_session(load_baseline(dest))
    return dest, manifest


__all__ = ["BaselineConfig", "learn_baseline", "safe_name", "split_learning"]
