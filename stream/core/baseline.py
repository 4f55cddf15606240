"""Gateway baselines in the scoring core: which flows are unusual for their own gateway.

Pure and synchronous. A :class:`GatewayBaseline` wraps a verified baseline session; a batch's
rows are grouped by gateway and each group is scored by its gateway's baseline (one ONNX run per
gateway per batch). Rows of a gateway without a baseline are not covered: the decision falls back
to the classifier alone for them (:func:`iotad.stream.core.decide.combine`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from iotad.schemas.messages import ModelRef
from iotad.stream.core.types import FlowBlock
from iotad.stream.core.vectorise import RowOrigin


class AnomalyScorer(Protocol):
    """Raw feature rows (the baseline's ``raw_features`` order) → one anomaly score per row."""

    def scores(self, raw: NDArray[np.floating]) -> NDArray[np.float32]:
        """Scores of shape ``(rows,)``; higher is more unusual."""
        ...


@dataclass(frozen=True)
class GatewayBaseline:
    """One gateway's baseline as the core uses it.

    ``raw_features`` is the order the scorer takes; :meth:`columns_for` maps a classifier's
    feature order onto it.
    """

    gateway_id: str
    scorer: AnomalyScorer
    threshold: float
    model: ModelRef
    reference: str
    raw_features: tuple[str, ...]
    _columns: dict[tuple[str, ...], NDArray[np.intp] | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def columns_for(self, names: tuple[str, ...]) -> NDArray[np.intp] | None:
        """Column indices that reorder rows in ``names`` order to this baseline's (None: same).

        Raises
        ------
        ValueError
            if the baseline needs a feature ``names`` lacks.
        """
        if names not in self._columns:
            if names == self.raw_features:
                self._columns[names] = None
            else:
                position = {n: i for i, n in enumerate(names)}
                missing = [n for n in self.raw_features if n not in position]
                if missing:
                    raise ValueError(f"baseline {self.reference} needs features {missing[:6]}")
                self._columns[names] = np.array(
                    [position[n] for n in self.raw_features], dtype=np.intp
                )
        return self._columns[names]


@dataclass(frozen=True, slots=True)
class AnomalyVerdict:
    """Per row: covered by a baseline, its anomaly score (NaN if not covered), anomalous."""

    covered: NDArray[np.bool_]
    score: NDArray[np.float32]
    anomalous: NDArray[np.bool_]
    #: index into ``baselines`` of each row's baseline, -1 where not covered.
    baseline_index: NDArray[np.intp]
    baselines: tuple[GatewayBaseline, ...]
    #: gateways seen in the batch that have no baseline, with their flow counts.
    missing: Mapping[str, int]

    @classmethod
    def uncovered(cls, rows: int, missing: Mapping[str, int]) -> AnomalyVerdict:
        """No row has a baseline."""
        return cls(
            covered=np.zeros(rows, dtype=np.bool_),
            score=np.full(rows, np.nan, dtype=np.float32),
            anomalous=np.zeros(rows, dtype=np.bool_),
            baseline_index=np.full(rows, -1, dtype=np.intp),
            baselines=(),
            missing=missing,
        )


def row_gateways(
    origin: RowOrigin, blocks: Sequence[FlowBlock]
) -> tuple[list[str], NDArray[np.intp]]:
    """The distinct gateways of a batch and, per row, the index of its gateway in that list."""
    names: list[str] = []
    index: dict[str, int] = {}
    per_block = np.empty(len(blocks), dtype=np.intp)
    for b, block in enumerate(blocks):
        if block.gateway_id not in index:
            index[block.gateway_id] = len(names)
            names.append(block.gateway_id)
        per_block[b] = index[block.gateway_id]
    return names, per_block[origin.block] if len(blocks) else np.empty(0, dtype=np.intp)


def score_baselines(
    matrix: NDArray[np.float32],
    names: tuple[str, ...],
    origin: RowOrigin,
    blocks: Sequence[FlowBlock],
    baselines: Mapping[str, GatewayBaseline],
) -> AnomalyVerdict:
    """Score every row with its gateway's baseline (``matrix`` columns are in ``names`` order)."""
    rows = len(matrix)
    gateways, gateway_of_row = row_gateways(origin, blocks)
    # minlength: a gateway whose every row was refused (e.g. out of float32 range) counts 0
    counts = np.bincount(gateway_of_row, minlength=len(gateways))
    missing = {
        g: int(counts[i]) for i, g in enumerate(gateways) if g not in baselines and counts[i]
    }
    if not baselines or len(missing) == len(gateways):
        return AnomalyVerdict.uncovered(rows, missing)
    covered = np.zeros(rows, dtype=np.bool_)
    score = np.full(rows, np.nan, dtype=np.float32)
    anomalous = np.zeros(rows, dtype=np.bool_)
    baseline_index = np.full(rows, -1, dtype=np.intp)
    used: list[GatewayBaseline] = []
    for g, gateway in enumerate(gateways):
        baseline = baselines.get(gateway)
        if baseline is None:
            continue
        selected = np.flatnonzero(gateway_of_row == g)
        if len(selected) == 0:
            continue
        columns = baseline.columns_for(names)
        part = matrix[selected] if columns is None else matrix[np.ix_(selected, columns)]
        values = baseline.scorer.scores(part)
        covered[selected] = True
        score[selected] = values
        anomalous[selected] = values >= baseline.threshold
        baseline_index[selected] = len(used)
        used.append(baseline)
    return AnomalyVerdict(covered, score, anomalous, baseline_index, tuple(used), missing)


__all__ = ["AnomalyScorer", "AnomalyVerdict", "GatewayBaseline", "row_gateways", "score_baselines"]
