"""Stage ``export_onnx``: a trained model → a verified model bundle (``iotad.schemas.bundle``).

The bundle holds the ONNX graph (input: the scaled, masked float32 vector), the saved scaler and
feature mask (``dataset.transform``), canary rows, ``metrics.json`` (the full evaluation, the
parity result, the ONNX size) and ``manifest.json``.

**Parity gate.** Before the bundle is published, it is written to a staging directory and read
back through the stream worker's own path, :func:`~iotad.schemas.bundle.load_bundle` +
:func:`~iotad.schemas.bundle.open_session` (checksums, saved scaler + mask, onnxruntime, canary
check), and every held-out raw row (``dataset.raw_test``) is scored. The native model scores
``dataset.x_test``. Export fails, and publishes nothing, unless both give the same class on at
least ``min_class_agreement`` of the rows (a row whose native scores tie within ``score_atol``
agrees on either of the tied classes) and every class score agrees within ``score_atol``
(1e-4 by default, for every model kind; each manifest records the measured difference).
The manifest records the result.

**Signing.** Given a ``signer`` (``offline.signing_key``), the bundle's manifest is signed
(``manifest.sig``, :mod:`iotad.schemas.signing`) before the bundle appears at ``dest``, and the
final check reads it back as a worker that trusts only that key would.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from iotad.errors import DataError, ModelLoadError
from iotad.offline.artifacts import code_version, library_versions, staging
from iotad.offline.config import ExportConfig
from iotad.offline.models.onnx_graphs import OnnxGraph, to_onnx
from iotad.offline.models.parity import canary_file, compare_scores, serving_scores
from iotad.offline.models.scoring import native_scores
from iotad.offline.stages.evaluate import evaluation_to_dict
from iotad.offline.types import ModelEvaluation, TaskDataset, TrainedModel
from iotad.schemas.bundle import load_bundle, open_session, write_bundle
from iotad.schemas.keys import SigningKey
from iotad.schemas.labels import Category, category_of_class
from iotad.schemas.manifest import BundleManifest, CanaryFile, ParityResult
from iotad.schemas.signing import TrustPolicy

logger = logging.getLogger(__name__)


def bundle_version(data_fingerprint: str, created_at: datetime) -> str:
    """A sortable, unique version name: ``YYYYMMDDTHHMMSSmmmZ-<data fingerprint[:8]>``.

    Examples
    --------
    >>> bundle_version("ab" * 32, datetime(2026, 11, 26, 18, 39, 5, 250000, tzinfo=UTC))
    '20261126T183905250Z-abababab'
    """
    stamp = created_at.astimezone(UTC)
    return f"{stamp:%Y%m%dT%H%M%S}{stamp.microsecond // 1000:03d}Z-{data_fingerprint[:8]}"


def export_bundle(
    dataset: TaskDataset,
    model: TrainedModel,
    evaluation: ModelEvaluation,
    dest: Path,
    cfg: ExportConfig,
    expected: NDArray[np.float32] | None = None,
    signer: SigningKey | None = None,
) -> BundleManifest:
    """Convert ``model`` to ONNX and write the bundle directory ``dest`` if it passes parity.

    ``expected`` is the native model's scores on ``dataset.x_test`` when the caller already has
    them (evaluation computed the same ones); they are computed here otherwise. With ``signer``
    the bundle is signed.

    ``dest`` is the bundle directory itself (``models/<task>/<model>/<version>/``) and must not
    exist; its name is the bundle's version (see :func:`bundle_version` for a sortable one).

    Raises
    ------
    ModelLoadError
        if the bundle fails the parity gate or does not verify; nothing is left at ``dest``.
    DataError
        if the model belongs to another task or the test rows do not line up.
    """
    dest = Path(dest)
    if dest.exists():
        raise ModelLoadError(f"refusing to overwrite existing bundle {dest}")
    if model.task != dataset.task:
        raise DataError(
            f"{model.kind.value} was trained for the {int(model.task)}-class task, "
            f"not {int(dataset.task)}-class"
        )
    if len(dataset.raw_test) == 0 or len(dataset.raw_test) != len(dataset.x_test):
        raise DataError(
            f"{int(dataset.task)}-class dataset needs matching raw_test and x_test rows for the "
            f"parity check (has {len(dataset.raw_test)} and {len(dataset.x_test)})"
        )
    started = time.perf_counter()
    graph = to_onnx(
        model,
        dataset.x_test.shape[1],
        cfg.opset,
        max_forest_bytes=int(cfg.max_forest_onnx_mb * 1e6),
    )
    if expected is None:
        expected = native_scores(model, dataset.x_test)
    parts = _BundleParts(
        dataset, model, evaluation, graph, canary_file(dataset, model, expected, cfg)
    )
    dest.parent.mkdir(parents=True, exist_ok=True)
    parity = _staged_parity(dest, parts, expected, cfg)
    manifest = parts.write(dest, parity, signer)
    trust = TrustPolicy((signer.public,)) if signer is not None else None
    try:
        open_session(load_bundle(dest, trust))
    except ModelLoadError:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    logger.info(
        "exported %s (%.1f MB ONNX, parity: class agreement %.5f, max diff %.2g, %s) in %.1f s",
        manifest.reference,
        graph.size_bytes / 1e6,
        parity.class_agreement,
        parity.max_abs_score_diff,
        f"signed by key {signer.key_id}" if signer is not None else "unsigned",
        time.perf_counter() - started,
    )
    return manifest


@dataclass(frozen=True)
class _BundleParts:
    """Everything a bundle is made of but its parity result."""

    dataset: TaskDataset
    model: TrainedModel
    evaluation: ModelEvaluation
    graph: OnnxGraph
    canary: CanaryFile

    def write(
        self, dest: Path, parity: ParityResult, signer: SigningKey | None = None
    ) -> BundleManifest:
        scaler, mask = self.dataset.transform.to_files()
        fields = manifest_fields(
            self.dataset, self.model, self.evaluation, self.graph, parity, dest.name
        )
        return write_bundle(
            dest,
            manifest_fields=fields,
            onnx_model=self.graph.model,
            scaler=scaler,
            feature_mask=mask,
            canary=self.canary,
            metrics={
                **evaluation_to_dict(self.evaluation),
                "parity": parity.model_dump(),
                "onnx_bytes": self.graph.size_bytes,
            },
            signer=signer,
        )


def _staged_parity(
    dest: Path, parts: _BundleParts, expected: NDArray[np.float32], cfg: ExportConfig
) -> ParityResult:
    """Write the bundle beside ``dest``, score the raw test rows through it, then remove it."""
    dataset = parts.dataset
    what = f"export of {parts.model.kind.value} ({int(dataset.task)}-class)"
    hint = (
        "the ONNX graph or the saved scaler/mask does not reproduce the model; "
        "nothing was published"
    )
    pending = ParityResult(
        rows=len(expected),
        class_agreement=0.0,
        max_abs_score_diff=0.0,
        atol=cfg.score_atol,
        passed=False,
    )
    # A staging dir of the artifacts' kind, so one a killed export left behind is removed.
    with staging(dest.parent / f"{dest.name}.parity") as temp:
        try:
            staged = temp / "bundle"
            parts.write(staged, pending)
            try:
                served = serving_scores(staged, dataset.raw_test)
            except ModelLoadError as exc:
                raise ModelLoadError(f"{what} failed parity: {exc.message}", hint=hint) from exc
        finally:
            shutil.rmtree(temp, ignore_errors=True)
    parity = compare_scores(expected, served, cfg)
    if not parity.passed:
        raise ModelLoadError(
            f"{what} failed parity: bundle and native model agree on the class of "
            f"{parity.class_agreement:.4%} of {parity.rows} rows (need ≥ "
            f"{cfg.min_class_agreement:.4%}), max score difference "
            f"{parity.max_abs_score_diff:.3g} (atol {parity.atol:g})",
            hint=hint,
        )
    return parity


def manifest_fields(
    dataset: TaskDataset,
    model: TrainedModel,
    evaluation: ModelEvaluation,
    graph: OnnxGraph,
    parity: ParityResult,
    version: str,
) -> dict[str, Any]:
    """Every :class:`BundleManifest` field but ``files`` and ``sha256``."""
    task, category_map = dataset.task, dataset.category_map
    categories = {c: category_of_class(c, task, category_map) for c in model.classes}
    return {
        "name": f"{dataset.layout.value}-{int(task)}class-{model.kind.value}",
        "version": version,
        "created_at": datetime.now(UTC),
        "task": int(task),
        "model_kind": model.kind.value,
        "classes": list(model.classes),
        "category_map": category_map,
        "class_categories": {c: category.value for c, category in categories.items()},
        "input": {
            "layout": dataset.layout.value,
            "raw_features": list(dataset.transform.raw_features),
            "onnx_input": graph.input_name,
        },
        "output": {"scores": graph.scores_output, "kind": graph.output_kind},
        "decision": {
            "benign_classes": [c for c, cat in categories.items() if cat is Category.BENIGN]
        },
        "opset": graph.opset,
        "metrics": {
            "protocol": evaluation.protocol,
            "accuracy": evaluation.accuracy,
            "macro_f1": evaluation.macro_f1,
            "test_rows": evaluation.test_rows,
            "per_class_f1": {c: v["f1"] for c, v in evaluation.per_class.items()},
        },
        "training": {
            "protocol": dataset.protocol,
            "data_fingerprint": dataset.data_fingerprint,
            "training_manifest_sha256": dataset.training_manifest_sha256,
            "labels_present": dict(dataset.labels_present),
            "train_rows": len(dataset.y_train),
            "seed": dataset.seed,
            "code_version": code_version(),
            "library_versions": library_versions(),
        },
        "parity": parity.model_dump(),
    }


__all__ = ["bundle_version", "export_bundle", "manifest_fields"]
