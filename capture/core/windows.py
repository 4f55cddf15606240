"""Per-packet rows → one feature row per window of ``Number`` consecutive packets.

CIC computed a row per packet and published the mean of every ``Number`` consecutive rows
(10, or 100 for the flood captures). Most columns are that mean; the rest follow from the
identities every real row satisfies (``../shared/data/ciciot2023/PROVENANCE.md``): the flag
counts are the window's sums, ``Tot sum``/``Min``/``Max``/``Std`` are over the window's frame
sizes, ``AVG`` = ``Tot size`` = ``Tot sum / Number``, ``Variance`` = ``Std²``, and
``Protocol Type`` is the window's most frequent protocol number (ties: the smaller number).
The definitions, column by column, are in docs/capture.md.
"""

from __future__ import annotations

import numpy as np

from iotad.capture.core.packet_columns import COLUMN, INDICATORS
from iotad.capture.core.types import F64
from iotad.schemas.features import FeatureLayout

_MEANS_39 = (
    ("Header_Length", "Header_Length"),
    ("Time_To_Live", "Time_To_Live"),
    ("Rate", "Rate"),
    ("IAT", "IAT"),
)
_MEANS_46 = (
    ("Header_Length", "flow_octets"),
    ("Duration", "Time_To_Live"),
    ("Rate", "flow_rate"),
    ("Srate", "Srate"),
    ("Drate", "Drate"),
    ("flow_duration", "flow_duration"),
    ("IAT", "IAT"),
)
_FLAGS_39 = ("fin", "syn", "rst", "psh", "ack", "ece", "cwr")
_COUNTS_39 = ("ack", "syn", "fin", "rst")
_COUNTS_46 = ("ack", "syn", "fin", "urg", "rst")


def mode_per_row(values: np.ndarray) -> np.ndarray:
    """The most frequent value of each row of a 2-D array (ties: the smallest value)."""
    ordered = np.sort(values, axis=1)
    width = ordered.shape[1]
    new_run = np.ones(ordered.shape, dtype=bool)
    new_run[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    position = np.arange(width)
    run_start = np.maximum.accumulate(np.where(new_run, position, 0), axis=1)
    best = (position - run_start + 1).argmax(axis=1)
    mode: np.ndarray = ordered[np.arange(len(ordered)), best]
    return mode


def aggregate(packets: F64, number: int, layout: FeatureLayout) -> dict[str, F64]:
    """The windows of ``packets`` (rows × per-packet columns; rows a multiple of ``number``)."""
    cube = packets.reshape(-1, number, packets.shape[1])

    def column(name: str) -> F64:
        return cube[:, :, COLUMN[name]]

    out: dict[str, F64] = {}
    means = _MEANS_39 if layout is FeatureLayout.CIC39 else _MEANS_46
    for name, source in means:
        out[name] = column(source).mean(axis=1)
    out["Protocol Type"] = mode_per_row(column("Protocol Type"))
    for flag in _FLAGS_39:
        out[f"{flag}_flag_number"] = column(f"{flag}_flag_number").mean(axis=1)
    counts = _COUNTS_39 if layout is FeatureLayout.CIC39 else _COUNTS_46
    for flag in counts:
        out[f"{flag}_count"] = column(f"{flag}_flag_number").sum(axis=1)
    for name in INDICATORS:
        out[name] = column(name).mean(axis=1)
    out.update(_sizes(column("size"), number, layout))
    return out


def _sizes(size: F64, number: int, layout: FeatureLayout) -> dict[str, F64]:
    total = size.sum(axis=1)
    average = total / number
    spread = size - average[:, None]
    squares = (spread * spread).sum(axis=1)
    std = np.sqrt(squares / (number - 1)) if number > 1 else np.zeros(len(size))
    out = {
        "Tot sum": total,
        "Min": size.min(axis=1),
        "Max": size.max(axis=1),
        "AVG": average,
        "Std": std,
        "Tot size": average,
        "Number": np.full(len(size), float(number)),
    }
    if layout is FeatureLayout.CIC39:
        out["Variance"] = std * std
        return out
    # The 46-column release's two-stream columns, as CIC's extractor computed them: its
    # "incoming" and "outgoing" lists both received every packet (docs/capture.md).
    population = squares / number
    out["Magnitue"] = np.sqrt(2.0 * average)
    out["Radius"] = np.sqrt(2.0 * population)
    out["Covariance"] = population
    out["Variance"] = (population > 0).astype(np.float64)
    out["Weight"] = np.full(len(size), float(number * number))
    return out


__all__ = ["aggregate", "mode_per_row"]
