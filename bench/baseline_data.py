"""Real CICIoT2023 rows for the baseline benchmarks, as time-ordered runs with holdout parts.

A *run* is one per-class capture file, or the rows of one label in the MERGED sample (in file
order; MERGED rows that also occur in a per-class file are dropped). Rows with a non-finite
value are dropped and counted. Each run is split in order, never by random row:

* ``train``: the first 82 % — inside the holdout protocol's training part (its test part is
  the last 20 % of each run; the 2-point margin keeps rows the pipeline's de-duplication may
  have shifted on the training side);
* ``validation`` and ``test``: the first and second half of the last 18 %.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from iotad.schemas.features import FEATURES_39
from iotad.schemas.labels import BENIGN_LABEL, Category, canonical_label, category_of

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ciciot2023"
MERGED = "ciciot2023_merged39_sample.csv.gz"
HELD_OUT = 0.18


@dataclass(frozen=True)
class Run:
    """The rows of one capture (or one MERGED label), in time order."""

    source: str
    label: str
    rows: NDArray[np.float64]

    @property
    def category(self) -> Category:
        """The label's category (study map)."""
        return category_of(self.label)

    @property
    def benign(self) -> bool:
        """Whether this run is benign traffic."""
        return self.label == BENIGN_LABEL

    def part(self, name: str) -> NDArray[np.float64]:
        """``train``, ``validation``, ``test`` or ``held_out`` (validation + test) rows."""
        n = len(self.rows)
        held = max(2, round(n * HELD_OUT)) if n >= 5 else 0
        start, middle = n - held, n - held + held // 2
        bounds = {"train": (0, start), "validation": (start, middle), "test": (middle, n),
                  "held_out": (start, n)}  # fmt: skip
        lo, hi = bounds[name]
        return self.rows[lo:hi]


def _finite(frame: pd.DataFrame) -> NDArray[np.float64]:
    values = frame[list(FEATURES_39)].to_numpy(dtype=np.float64)
    return values[np.isfinite(values).all(axis=1)]


def load_runs(data: Path = DATA) -> list[Run]:
    """Every run under ``data`` (per-class files first, then MERGED labels)."""
    if not (data / MERGED).is_file():
        raise SystemExit(f"real CICIoT2023 rows not found at {data}")
    runs: list[Run] = []
    seen: set[bytes] = set()
    for path in sorted((data / "per_class").glob("*/*.csv.gz")):
        rows = _finite(pd.read_csv(path))
        seen.update(r.tobytes() for r in rows)
        runs.append(
            Run(
                f"per_class/{path.parent.name}/{path.name}", canonical_label(path.parent.name), rows
            )
        )
    merged = pd.read_csv(data / MERGED)
    for raw_label, group in merged.groupby("Label", sort=True):
        rows = _finite(group)
        rows = rows[[r.tobytes() not in seen for r in rows]]
        if len(rows):
            runs.append(Run(f"{MERGED}:{raw_label}", canonical_label(str(raw_label)), rows))
    return runs


def stack(runs: list[Run], part: str) -> tuple[NDArray[np.float64], list[str]]:
    """The rows of ``part`` of every run, and each row's label."""
    blocks = [(r.part(part), r.label) for r in runs]
    rows = np.vstack([b for b, _ in blocks if len(b)]) if blocks else np.empty((0, 39))
    labels = [label for b, label in blocks for _ in range(len(b))]
    return rows, labels


__all__ = ["DATA", "HELD_OUT", "Run", "load_runs", "stack"]
