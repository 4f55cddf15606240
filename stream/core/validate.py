"""Envelope → :class:`Validated`: the message schema (pydantic), then the model's features.

Order of checks, and the dead-letter code each gives:

1. the feature names against the active bundle's ``input.raw_features``: a needed feature absent
   → ``missing_features``; a name the model does not take → ``unexpected_features``;
2. the message schema (:class:`~iotad.schemas.messages.Flow` or ``FlowBatch``): a non-finite
   feature value → ``non_finite_value``; anything else → ``schema_violation``.

In a batch envelope a problem confined to some rows (a NaN, an empty device id…) refuses only
those rows; each is dead-lettered on its own and the rest of the batch is scored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from iotad.schemas.messages import DeadLetterCode, Flow, FlowBatch
from iotad.stream.core.types import Envelope, FeatureSpec, FlowBlock, Rejected, Validated

#: Per-flow columns of a batch envelope besides ``features``.
ROW_COLUMNS: tuple[str, ...] = (
    "device_id",
    "event_time_ms",
    "flow_id",
    "src_ip",
    "dst_ip",
    "label",
)
_SHOWN_ERRORS = 5
_SHOWN_NAMES = 8


def feature_set_problem(
    names: Iterable[str], spec: FeatureSpec
) -> tuple[DeadLetterCode, str] | None:
    """Why a set of feature names does not fit ``spec``, or ``None`` when it matches exactly."""
    present = set(names)
    if present == spec.name_set:
        return None
    missing = [n for n in spec.names if n not in present]
    extra = sorted(present - spec.name_set)
    if missing:
        also = f"; also unexpected {extra[:_SHOWN_NAMES]}" if extra else ""
        return (
            DeadLetterCode.MISSING_FEATURES,
            f"missing {len(missing)} feature(s) the model needs (layout {spec.layout.value}): "
            f"{missing[:_SHOWN_NAMES]}{also}",
        )
    return (
        DeadLetterCode.UNEXPECTED_FEATURES,
        f"{len(extra)} feature(s) the model does not take (layout {spec.layout.value}): "
        f"{extra[:_SHOWN_NAMES]}",
    )


def _where(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(message)"


def describe_errors(errors: Sequence[ErrorDetails]) -> str:
    """A short, readable summary of pydantic errors (at most five, then a count)."""
    parts = [f"{_where(e['loc'])}: {e['msg']}" for e in errors[:_SHOWN_ERRORS]]
    more = len(errors) - _SHOWN_ERRORS
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def _code_for(errors: Sequence[ErrorDetails]) -> DeadLetterCode:
    if errors and all(e["type"] == "finite_number" for e in errors):
        return DeadLetterCode.NON_FINITE_VALUE
    return DeadLetterCode.SCHEMA_VIOLATION


def _features_problem(
    document: Mapping[str, Any], spec: FeatureSpec
) -> tuple[DeadLetterCode, str] | None:
    features = document.get("features")
    if isinstance(features, dict) and features:
        return feature_set_problem(features.keys(), spec)
    return None  # absent or malformed: the schema check names it


def validate(envelope: Envelope, spec: FeatureSpec) -> Validated:
    """Check one decoded message against its schema and the model's features.

    Examples
    --------
    A single flow whose features do not match the model is refused as a whole:

    >>> from iotad.schemas.features import FeatureLayout
    >>> spec = FeatureSpec(FeatureLayout.CIC39, ("Rate",))
    >>> doc = {"gateway_id": "g", "device_id": "d", "event_time_ms": 1, "features": {"IAT": 1}}
    >>> validate(Envelope("flow", doc, b""), spec).rejected[0].code.value
    'missing_features'
    """
    problem = _features_problem(envelope.document, spec)
    if problem is not None:
        return Validated(None, (Rejected(problem[0], problem[1], envelope.original),))
    if envelope.kind == "flow":
        return _validate_flow(envelope, spec)
    return _validate_batch(envelope, spec)


def _validate_flow(envelope: Envelope, spec: FeatureSpec) -> Validated:
    try:
        flow = Flow.model_validate(envelope.document)
    except ValidationError as exc:
        errors = exc.errors()
        return Validated(
            None, (Rejected(_code_for(errors), describe_errors(errors), envelope.original),)
        )
    features = flow.features
    block = FlowBlock(
        gateway_id=flow.gateway_id,
        device_id=(flow.device_id,),
        event_time_ms=(flow.event_time_ms,),
        flow_id=(flow.flow_id,),
        label=(flow.label,),
        values=([features[name] for name in spec.names],),  # type: ignore[index]
        columnar=False,
        index=None,
        src_ip=(flow.src_ip,),
        dst_ip=(flow.dst_ip,),
    )
    return Validated(block)


def _batch_block(batch: FlowBatch, spec: FeatureSpec, index: Sequence[int]) -> FlowBlock:
    features = batch.features
    return FlowBlock(
        gateway_id=batch.gateway_id,
        device_id=batch.device_id,
        event_time_ms=batch.event_time_ms,
        flow_id=batch.flow_id,
        label=batch.label,
        values=[features[name] for name in spec.names],  # type: ignore[index]
        columnar=True,
        index=index,
        src_ip=batch.src_ip,
        dst_ip=batch.dst_ip,
    )


def _validate_batch(envelope: Envelope, spec: FeatureSpec) -> Validated:
    document = envelope.document
    try:
        batch = FlowBatch.model_validate(document)
    except ValidationError as exc:
        return _split_bad_rows(envelope, spec, exc.errors())
    return Validated(_batch_block(batch, spec, range(batch.count)))


def _whole(envelope: Envelope, errors: Sequence[ErrorDetails]) -> Validated:
    return Validated(
        None, (Rejected(_code_for(errors), describe_errors(errors), envelope.original),)
    )


def _row_of(error: ErrorDetails) -> int | None:
    """The batch row an error is confined to, or ``None`` if it concerns the whole message."""
    loc = error["loc"]
    if len(loc) == 2 and loc[0] in ROW_COLUMNS and isinstance(loc[1], int):
        return loc[1]
    if len(loc) == 3 and loc[0] == "features" and isinstance(loc[2], int):
        return loc[2]
    return None


def _rows_are_aligned(document: Mapping[str, Any]) -> int | None:
    """``count`` if every per-flow column is a list of ``count`` entries, else ``None``."""
    count = document.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        return None
    columns = [document.get(c) for c in ROW_COLUMNS if document.get(c) is not None]
    features = document.get("features")
    if not isinstance(features, dict):
        return None
    columns.extend(features.values())
    if all(isinstance(col, list) and len(col) == count for col in columns):
        return count
    return None


def _split_bad_rows(
    envelope: Envelope, spec: FeatureSpec, errors: Sequence[ErrorDetails]
) -> Validated:
    document = envelope.document
    count = _rows_are_aligned(document)
    rows = [_row_of(e) for e in errors]
    if count is None or any(r is None for r in rows):
        return _whole(envelope, errors)
    by_row: dict[int, list[ErrorDetails]] = {}
    for row, error in zip(rows, errors, strict=True):
        by_row.setdefault(row, []).append(error)  # type: ignore[arg-type]
    rejected = tuple(
        Rejected(
            _code_for(row_errors),
            f"flow {row} of the batch: {describe_errors(row_errors)}",
            row_message(document, row),
            index=row,
        )
        for row, row_errors in sorted(by_row.items())
    )
    good = [i for i in range(count) if i not in by_row]
    if not good:
        return Validated(None, rejected)
    try:
        batch = FlowBatch.model_validate(select_rows(document, good))
    except ValidationError as exc:  # a problem only visible once rows are consistent
        return _whole(envelope, exc.errors())
    return Validated(_batch_block(batch, spec, good), rejected)


def select_rows(document: Mapping[str, Any], rows: Sequence[int]) -> dict[str, Any]:
    """The batch envelope reduced to ``rows`` (columns must already have ``count`` entries)."""
    reduced = dict(document)
    reduced["count"] = len(rows)
    for column in ROW_COLUMNS:
        values = document.get(column)
        if isinstance(values, list):
            reduced[column] = [values[i] for i in rows]
    reduced["features"] = {
        name: [values[i] for i in rows] for name, values in document["features"].items()
    }
    return reduced


def row_message(document: Mapping[str, Any], row: int) -> bytes:
    """One flow of a batch envelope re-encoded as a single ``iotad.flow.v1`` message.

    The values are kept as they were, so a NaN stays ``NaN`` in the JSON text.
    """
    flow: dict[str, Any] = {"schema": "iotad.flow.v1", "gateway_id": document.get("gateway_id")}
    for column in ROW_COLUMNS:
        values = document.get(column)
        if isinstance(values, list):
            flow[column] = values[row]
    flow["features"] = {name: values[row] for name, values in document["features"].items()}
    return json.dumps(flow, allow_nan=True, default=str).encode()


__all__ = [
    "ROW_COLUMNS",
    "describe_errors",
    "feature_set_problem",
    "row_message",
    "select_rows",
    "validate",
]
