"""Read and verify gateway baseline bundles (layout: :mod:`iotad.schemas.baseline_manifest`).

The same checks as a classifier bundle (:mod:`iotad.schemas.bundle`): every file against its
sha256, scaler and mask against the layout, the ONNX graph's names and width, and the canary rows'
recorded scores. :func:`bundle_kind` tells a baseline from a classifier by its manifest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from iotad.errors import ModelLoadError
from iotad.schemas.baseline_manifest import ANOMALOUS, NORMAL, BaselineManifest
from iotad.schemas.bundle import checked_session, parse_file, read_parts, verify_files
from iotad.schemas.manifest import MANIFEST_FILE, CanaryFile
from iotad.schemas.signing import TrustPolicy
from iotad.schemas.transform import FeatureTransform

BundleKind = Literal["classifier", "baseline"]


def bundle_kind(path: Path) -> BundleKind:
    """Whether the bundle at ``path`` is a classifier or a gateway baseline.

    Raises
    ------
    ModelLoadError
        if there is no readable manifest.
    """
    file = Path(path) / MANIFEST_FILE
    try:
        document = json.loads(file.read_bytes())
    except FileNotFoundError:
        raise ModelLoadError(f"not a bundle directory (no {MANIFEST_FILE}): {path}") from None
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{file}: unreadable manifest: {exc}") from exc
    kind = document.get("kind", "classifier") if isinstance(document, dict) else None
    if kind not in ("classifier", "baseline"):
        raise ModelLoadError(f"{file}: unknown bundle kind {kind!r}")
    return "baseline" if kind == "baseline" else "classifier"


@dataclass(frozen=True)
class BaselineBundle:
    """A baseline bundle read from disk whose files match their checksums."""

    path: Path
    manifest: BaselineManifest
    transform: FeatureTransform
    canary: CanaryFile
    model_bytes: bytes

    @property
    def model_sha256(self) -> str:
        """sha256 of ``model.onnx``: the identity alerts carry."""
        return self.manifest.sha256[self.manifest.files.model]


def load_baseline(path: Path, trust: TrustPolicy | None = None) -> BaselineBundle:
    """Read the baseline bundle at ``path`` and verify its files (and, with ``trust``, the
    manifest's signature, as for a classifier bundle).

    Raises
    ------
    ModelLoadError
        for a missing, malformed or changed file, a refused signature, or a classifier bundle.
    """
    path = Path(path)
    if not path.is_dir():
        raise ModelLoadError(f"not a bundle directory: {path}")
    if bundle_kind(path) != "baseline":
        raise ModelLoadError(f"{path} is a classifier bundle, not a gateway baseline")
    if trust is not None:
        trust.check(path, (path / MANIFEST_FILE).read_bytes())
    manifest = parse_file(BaselineManifest, path / MANIFEST_FILE)
    verify_files(path, manifest.reference, manifest.sha256)
    transform, canary = read_parts(
        path, manifest.reference, manifest.files, manifest.input.raw_features
    )
    return BaselineBundle(
        path, manifest, transform, canary, (path / manifest.files.model).read_bytes()
    )


class BaselineSession:
    """A verified baseline with its onnxruntime session: raw rows in, anomaly scores out."""

    def __init__(self, bundle: BaselineBundle, session: Any) -> None:
        self.bundle = bundle
        self.threshold = float(bundle.manifest.threshold.value)
        self._session = session
        self._input = bundle.manifest.input.onnx_input
        self._output = bundle.manifest.output.scores

    def scores(self, raw: NDArray[np.floating]) -> NDArray[np.float32]:
        """One anomaly score per row of raw features (``raw_features`` order), shape ``(rows,)``."""
        if len(raw) == 0:
            return np.empty(0, dtype=np.float32)
        model_input = self.bundle.transform.apply(raw)
        (output,) = self._session.run([self._output], {self._input: model_input})
        return np.asarray(output, dtype=np.float32).reshape(len(raw))


def open_baseline_session(bundle: BaselineBundle, *, intra_op_threads: int = 1) -> BaselineSession:
    """An onnxruntime session for ``bundle``, refused unless its canary rows reproduce.

    Raises
    ------
    ModelLoadError
        if the graph does not load, its names or width differ from the manifest, or a canary
        row's score or side of the threshold changed.
    """
    manifest = bundle.manifest
    session = checked_session(
        bundle.model_bytes,
        manifest.reference,
        onnx_input=manifest.input.onnx_input,
        scores_output=manifest.output.scores,
        mask_width=len(bundle.transform.mask),
        intra_op_threads=intra_op_threads,
    )
    scoring = BaselineSession(bundle, session)
    check_baseline_canary(scoring)
    return scoring


def canary_classes(scores: NDArray[np.floating], threshold: float) -> list[str]:
    """``anomalous`` for a score at or above ``threshold``, else ``normal``."""
    return [ANOMALOUS if s >= threshold else NORMAL for s in np.asarray(scores).tolist()]


def check_baseline_canary(scoring: BaselineSession) -> None:
    """Raise :class:`ModelLoadError` unless the canary rows give their recorded scores."""
    bundle = scoring.bundle
    canary = bundle.canary
    scores = scoring.scores(np.asarray(canary.rows, dtype=np.float32))
    expected = np.asarray(canary.expected_scores, dtype=np.float32).reshape(-1)
    classes = canary_classes(scores, scoring.threshold)
    wrong = sum(g != w for g, w in zip(classes, canary.expected_classes, strict=True))
    drift = float(np.abs(scores - expected).max()) if expected.shape == scores.shape else np.inf
    if wrong or drift > canary.atol:
        raise ModelLoadError(
            f"bundle {bundle.manifest.reference}: canary check failed ({wrong} of "
            f"{len(scores)} rows changed side of the threshold, max score drift {drift:.3g} "
            f"> atol {canary.atol:g})"
        )


__all__ = [
    "BaselineBundle",
    "BaselineSession",
    "BundleKind",
    "bundle_kind",
    "canary_classes",
    "check_baseline_canary",
    "load_baseline",
    "open_baseline_session",
]
