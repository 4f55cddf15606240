"""The parity check of a bundle against its native model, and the bundle's canary rows.

Both sides are compared as per-class scores from :func:`iotad.schemas.outputs.class_scores`:
the native model's (:mod:`iotad.offline.models.scoring`) and the bundle's through the stream
worker's own path (``load_bundle`` + ``open_session``: checksums, saved scaler + mask,
onnxruntime).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from iotad.offline.config import ExportConfig
from iotad.offline.types import TaskDataset, TrainedModel
from iotad.schemas.bundle import load_bundle, open_session
from iotad.schemas.manifest import CanaryFile, ParityResult

#: Raw rows scored per onnxruntime call during the parity check (bounds memory).
PARITY_CHUNK = 65_536


def serving_scores(bundle_dir: Path, raw: NDArray[np.floating]) -> NDArray[np.float32]:
    """Class scores of raw rows through the stream worker's path: load, verify, transform, ORT."""
    session = open_session(load_bundle(bundle_dir))
    parts = [session.scores(raw[i : i + PARITY_CHUNK]) for i in range(0, len(raw), PARITY_CHUNK)]
    if not parts:
        return np.zeros((0, len(session.bundle.manifest.classes)), dtype=np.float32)
    return np.concatenate(parts)


def compare_scores(
    expected: NDArray[np.floating], served: NDArray[np.floating], cfg: ExportConfig
) -> ParityResult:
    """The parity result of ``served`` scores against the native ``expected`` ones."""
    if expected.shape != served.shape or len(expected) == 0:
        return ParityResult(
            rows=max(len(expected), 1),
            class_agreement=0.0,
            max_abs_score_diff=float("inf"),
            atol=cfg.score_atol,
            passed=False,
        )
    agreement = float(np.mean(agreeing_rows(expected, served, cfg.score_atol)))
    diff = float(np.abs(expected.astype(np.float64) - served).max())
    passed = agreement >= cfg.min_class_agreement and diff <= cfg.score_atol
    return ParityResult(
        rows=len(expected),
        class_agreement=agreement,
        max_abs_score_diff=diff,
        atol=cfg.score_atol,
        passed=passed,
    )


def agreeing_rows(
    expected: NDArray[np.floating], served: NDArray[np.floating], atol: float
) -> NDArray[np.bool_]:
    """Rows whose served top class is a top class of the native scores (ties within ``atol``).

    A forest's votes can tie exactly (say 50 trees for each of two classes); float32 sums in a
    different order then break the tie either way, and both answers are the native model's.
    """
    picked = np.take_along_axis(expected, served.argmax(axis=1)[:, None], axis=1)[:, 0]
    agreeing: NDArray[np.bool_] = picked >= expected.max(axis=1) - atol
    return agreeing


def canary_rows(scores: NDArray[np.floating], count: int, margin: float) -> NDArray[np.intp]:
    """Up to ``count`` test rows to use as canaries: clear winners, covering many classes.

    A row qualifies when its best class beats the runner-up by at least ``margin`` (so float
    rounding on another machine cannot flip it); rows are taken one per predicted class in turn,
    earliest first. Falls back to the clearest rows when too few qualify.
    """
    ordered = np.sort(scores, axis=1)
    gap = ordered[:, -1] - ordered[:, -2] if scores.shape[1] > 1 else ordered[:, -1]
    winners = scores.argmax(axis=1)
    clear = np.flatnonzero(gap >= margin)
    queues = [list(clear[winners[clear] == c]) for c in np.unique(winners[clear])]
    chosen: list[int] = []
    while len(chosen) < count and any(queues):
        for queue in queues:
            if queue and len(chosen) < count:
                chosen.append(int(queue.pop(0)))
    if len(chosen) < count:
        rest = [int(i) for i in np.argsort(-gap, kind="stable") if int(i) not in set(chosen)]
        chosen += rest[: count - len(chosen)]
    return np.asarray(chosen, dtype=np.intp)


def canary_file(
    dataset: TaskDataset, model: TrainedModel, expected: NDArray[np.float32], cfg: ExportConfig
) -> CanaryFile:
    """Canary rows (raw test rows) with the native model's classes and scores."""
    picked = canary_rows(expected, cfg.canary_rows, margin=10 * cfg.score_atol)
    scores = expected[picked]
    return CanaryFile(
        rows=dataset.raw_test[picked].astype(float).tolist(),
        expected_classes=[model.classes[i] for i in scores.argmax(axis=1)],
        expected_scores=scores.astype(float).tolist(),
        atol=cfg.score_atol,
    )


__all__ = [
    "PARITY_CHUNK",
    "agreeing_rows",
    "canary_file",
    "canary_rows",
    "compare_scores",
    "serving_scores",
]
