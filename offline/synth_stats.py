"""The statistics behind the synthetic generator, derived from the real rows (never rows).

``offline/data/cic46_class_stats.csv`` holds, for each of the 34 labels and each of the 46
part-file features, seven quantiles (0, 5, 25, 50, 75, 95, 100 %) and where they came from:

* ``csv46``: the label's own rows in the 46-column sample (when it has at least 5);
* ``cic39``: the label's per-class/MERGED rows, for the features both layouts share
  (``Duration`` ← ``Time_To_Live``, ``Srate`` ← ``Rate``); features whose units differ between
  the releases (``IAT``, ``Number``) and the part-file-only ones come from ``pooled46``;
* ``pooled46``: every row of the 46-column sample;
* ``pooled39``: every 39-column row, for a shared feature of a label with no rows at all.

``offline/data/cic46_class_rows.csv`` holds the class sizes of the full part-file release
(46,686,579 rows; Brute Force 16,282 and Web 21,611 rows, as STUDY_PROTOCOL.md says).

Regenerate with ``python -m iotad.offline.synth_stats ../shared/data/ciciot2023``; a test checks
the shipped table equals what this module derives from the shared rows.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from iotad.schemas.features import FEATURES_39, FEATURES_46
from iotad.schemas.labels import LABELS, canonical_label, label_from_path

logger = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
STATS_FILE = DATA_DIR / "cic46_class_stats.csv"
ROWS_FILE = DATA_DIR / "cic46_class_rows.csv"
QUANTILES: tuple[float, ...] = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)
QUANTILE_COLUMNS: tuple[str, ...] = tuple(f"q{round(q * 100):02d}" for q in QUANTILES)
MIN_OWN_ROWS = 5
#: Features of the 46-column layout taken from the 39-column rows, and their 39-column names.
FROM_39: dict[str, str] = {
    **{f: f for f in FEATURES_46 if f in FEATURES_39 and f not in ("IAT", "Number")},
    "Duration": "Time_To_Live",
    "Srate": "Rate",
}


def _quantiles(values: pd.Series) -> list[float]:
    finite = values.to_numpy(np.float64)
    finite = finite[np.isfinite(finite)]
    if not len(finite):
        return [0.0] * len(QUANTILES)
    return [float(f"{v:.7g}") for v in np.quantile(finite, QUANTILES)]


def load_real_rows(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The 46-column sample and every 39-column row (per-class tree and MERGED sample)."""
    rows46 = pd.read_csv(root / "ciciot2023_csv46_sample.csv")
    rows46["label"] = rows46["label"].map(canonical_label)
    frames = []
    for path in sorted((root / "per_class").glob("*/*.csv*")):
        frame = pd.read_csv(path)
        frame["label"] = label_from_path(path.relative_to(root / "per_class"))
        frames.append(frame)
    merged = pd.read_csv(root / "ciciot2023_merged39_sample.csv.gz")
    merged["label"] = merged.pop("Label").map(canonical_label)
    frames.append(merged)
    return rows46, pd.concat(frames, ignore_index=True)


def derive_statistics(root: Path) -> pd.DataFrame:
    """Per-label, per-feature quantiles of the 46-column layout (see the module docstring)."""
    rows46, rows39 = load_real_rows(root)
    pooled46 = {f: _quantiles(rows46[f]) for f in FEATURES_46}
    pooled39 = {f: _quantiles(rows39[f]) for f in FEATURES_39}
    records = []
    for label in LABELS:
        own46 = rows46[rows46["label"] == label]
        own39 = rows39[rows39["label"] == label]
        for feature in FEATURES_46:
            if len(own46) >= MIN_OWN_ROWS:
                source, values = "csv46", _quantiles(own46[feature])
            elif feature in FROM_39 and len(own39) >= MIN_OWN_ROWS:
                source, values = "cic39", _quantiles(own39[FROM_39[feature]])
            elif feature in FROM_39 and len(own46) == 0 and len(own39) == 0:
                source, values = "pooled39", pooled39[FROM_39[feature]]
            else:
                source, values = "pooled46", pooled46[feature]
            records.append([label, feature, source, *values])
    return pd.DataFrame(records, columns=["label", "feature", "source", *QUANTILE_COLUMNS])


def load_statistics() -> pd.DataFrame:
    """The shipped statistics table."""
    return pd.read_csv(STATS_FILE)


def load_class_rows() -> dict[str, int]:
    """Rows per label in the full part-file release."""
    table = pd.read_csv(ROWS_FILE)
    return {
        str(label): int(rows) for label, rows in zip(table["label"], table["rows"], strict=True)
    }


def main(argv: list[str] | None = None) -> int:
    """Write ``offline/data/cic46_class_stats.csv`` from the shared real rows."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="the shared data/ciciot2023 folder")
    args = parser.parse_args(argv)
    table = derive_statistics(args.root)
    table.to_csv(STATS_FILE, index=False)
    logger.info("wrote %s (%d rows)", STATS_FILE, len(table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = [
    "QUANTILES",
    "QUANTILE_COLUMNS",
    "ROWS_FILE",
    "STATS_FILE",
    "derive_statistics",
    "load_class_rows",
    "load_statistics",
    "main",
]
