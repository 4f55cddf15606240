"""CSV row → feature values and label, or the reason the row is refused (pure, no I/O).

Checks, in this order, and the first failure is the row's reason: the row has as many fields
as the header (``wrong_column_count``); then, column by column in the layout's order, a value
is present (``empty_value``), a number (``non_numeric``) and finite (``non_finite``: ``inf`` and
``nan`` are refused, JSON cannot carry them); finally the label column, when the file has one,
names one of the 34 labels (``unknown_label``).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence

from iotad.errors import SchemaError
from iotad.schemas.features import LAYOUT_FEATURES
from iotad.schemas.labels import canonical_label
from iotad.stream.replay.types import CaptureFile, Rejection, RejectReason

#: A parsed row: feature values in the layout's order, and the canonical label (if known).
ParsedRow = tuple[list[float], str | None]


class RowParser:
    """Parses the rows of one capture file (column positions are worked out once)."""

    def __init__(self, capture: CaptureFile) -> None:
        self.names: tuple[str, ...] = LAYOUT_FEATURES[capture.layout]
        position = {name: i for i, name in enumerate(capture.header)}
        self._columns = [position[name] for name in self.names]
        self._pick: Callable[[list[str]], Sequence[str]] = (
            _whole if self._columns == list(range(len(capture.header))) else _picker(self._columns)
        )
        self._width = len(capture.header)
        self._label_column = capture.label_column
        self._fixed_label = capture.path_label
        self._labels: dict[str, str] = {}
        self._iat = self.names.index("IAT")
        self._number = self.names.index("Number")

    def parse(self, fields: list[str]) -> ParsedRow | Rejection:
        """The row's values and label, or a :class:`Rejection` saying what is wrong."""
        if len(fields) != self._width:
            return Rejection(
                RejectReason.WRONG_COLUMN_COUNT,
                f"{len(fields)} fields, the header has {self._width}",
            )
        try:  # fast path: every value converts; which one failed is worked out below
            values = list(map(float, self._pick(fields)))
        except ValueError:
            return self._first_bad_value(fields)
        if not all(map(math.isfinite, values)):
            return self._first_bad_value(fields)
        if self._label_column is None:
            return values, self._fixed_label
        return self._with_label(values, fields[self._label_column])

    def _first_bad_value(self, fields: list[str]) -> Rejection:
        for name, column in zip(self.names, self._columns, strict=True):
            raw = fields[column]
            try:
                value = float(raw)
            except ValueError:
                return _bad_value(name, raw)
            if not math.isfinite(value):
                return Rejection(RejectReason.NON_FINITE, f"{name}={raw.strip()!r}")
        raise AssertionError("a value failed to convert, but none fails on its own")

    def natural_duration_s(self, values: list[float]) -> float:
        """How long a per-class window row lasted: mean inter-arrival time × packets.

        Per-class captures are consecutive windows of ``Number`` packets whose mean inter-arrival
        time is ``IAT`` seconds, so consecutive rows are about ``IAT × Number`` apart in capture
        time. (Only meaningful for per-class files; see docs/replay.md.)
        """
        return max(0.0, values[self._iat] * values[self._number])

    def _with_label(self, values: list[float], raw: str) -> ParsedRow | Rejection:
        label = self._labels.get(raw)
        if label is None:
            try:
                label = canonical_label(raw)
            except SchemaError:
                return Rejection(RejectReason.UNKNOWN_LABEL, f"label={raw.strip()!r}")
            self._labels[raw] = label
        return values, label


def _whole(fields: list[str]) -> Sequence[str]:
    return fields


def _picker(columns: list[int]) -> Callable[[list[str]], Sequence[str]]:
    pick = operator.itemgetter(*columns)
    return lambda fields: pick(fields)


def _bad_value(name: str, raw: str) -> Rejection:
    if not raw.strip():
        return Rejection(RejectReason.EMPTY_VALUE, f"{name} is empty")
    return Rejection(RejectReason.NON_NUMERIC, f"{name}={raw.strip()[:40]!r}")


__all__ = ["ParsedRow", "RowParser"]
