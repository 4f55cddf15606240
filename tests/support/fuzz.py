"""Fuzz corpora of flow messages: hypothesis-generated kinds of input, then mutated at volume.

:func:`hypothesis_corpus` lets hypothesis draw messages of every kind the worker must survive:
valid flows and batch envelopes, wrong types, NaN/±Infinity text and overflowing numbers,
truncated JSON, wrong schema versions, random bytes, huge arrays, envelopes with mismatched
column lengths, deep nesting and tombstones. :func:`mutated_corpus` turns that into any number
of messages by seeded mutation (bit flips, cuts, splices, token swaps), so most mutants are
near-valid: the inputs most likely to find a defect in decode or validate.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from iotad.schemas.features import FEATURES_39

Message = bytes | None
EVENT_MS = 1_795_718_400_000
_WRONG_SCHEMAS = ("iotad.flow.v2", "iotad.flow_batch.v0", "iotad.alert.v1", 7, None, ["x"])
_TOKENS = (b"NaN", b"Infinity", b"-Infinity", b"1e400", b"null", b"true", b'""', b"[]", b"{}")
_json_scalars = (
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8)
)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=8,
)


def _dumps(document: Any) -> bytes:
    return json.dumps(document, allow_nan=True).encode()


def flow_document(row: Sequence[float], i: int) -> dict[str, Any]:
    """A valid ``iotad.flow.v1`` document for a row of 39 values."""
    return {
        "schema": "iotad.flow.v1",
        "gateway_id": "gw-fuzz",
        "device_id": f"dev-{i % 7}",
        "event_time_ms": EVENT_MS + i,
        "flow_id": f"f{i}",
        "features": dict(zip(FEATURES_39, (round(float(v), 3) for v in row), strict=True)),
    }


def batch_document(rows: np.ndarray, start: int) -> dict[str, Any]:
    """A valid ``iotad.flow_batch.v1`` envelope for a matrix of rows."""
    n = len(rows)
    return {
        "schema": "iotad.flow_batch.v1",
        "gateway_id": "gw-fuzz",
        "count": n,
        "device_id": [f"dev-{(start + i) % 7}" for i in range(n)],
        "event_time_ms": [EVENT_MS + start + i for i in range(n)],
        "flow_id": [f"b{start}-{i}" for i in range(n)],
        "features": {
            name: np.round(rows[:, c].astype(float), 3).tolist()
            for c, name in enumerate(FEATURES_39)
        },
    }


@st.composite
def fuzz_message(draw: st.DrawFn, rows: np.ndarray, max_array: int) -> Message:
    """One message of a kind drawn at random (see the module docstring)."""
    i = draw(st.integers(0, len(rows) - 1))
    kind: Callable[[st.DrawFn, np.ndarray, int, int], Message] = draw(st.sampled_from(_KINDS))
    return kind(draw, rows, i, max_array)


def _valid_flow(draw: st.DrawFn, rows: np.ndarray, i: int, max_array: int) -> Message:
    return _dumps(flow_document(rows[i], i))


def _valid_batch(draw: st.DrawFn, rows: np.ndarray, i: int, max_array: int) -> Message:
    n = draw(st.integers(1, 6))
    return _dumps(batch_document(rows[i : i + n] if i + n <= len(rows) else rows[:n], i))


def _wrong_type(draw: st.DrawFn, rows: np.ndarray, i: int, max_array: int) -> Message:
    document: dict[str, Any] = flow_document(rows[i], i)
    if draw(st.booleans()):
        document[draw(st.sampled_from(sorted(document)))] = draw(_json_values)
    else:
        document["features"][draw(st.sampled_from(FEATURES_39))] = draw(_json_values)
    return _dumps(document)


def _non_finite(draw: st.DrawFn, rows: np.ndarray, i: int, max_array: int) -> Message:
    document = batch_document(rows[i : i + 3], i) if draw(st.booleans()) else None
    raw = _dumps(document if document is not None else flow_document(rows[i], i))
    name = draw(st.sampled_from(FEATURES_39)).encode()
    token = draw(st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e39"]))
    at = raw.find(b'"' + name + b'": ') + len(name) + 4
    end = min(raw.find(b",", at) % (len(raw) + 1), raw.find(b"}", at) % (len(raw) + 1))
    return raw[:at] + token + raw[end:]


def _truncated(draw: st.DrawFn, rows: np.ndarray, i: int, max_array: int) -> Message:
    raw = _dumps(flow_document(rows[i], i))
    return raw[: draw(st.integers(0, len(raw) - 1))]


def _wrong_schema(draw: st.DrawFn, rows: np.ndarray, i: int, max_array: int) -> Message:
    return _dumps({**flow_document(rows[i], i), "schema": draw(st.sampled_from(_WRONG_SCHEMAS))})


def _random_bytes(draw: st.DrawFn, rows: np.ndarray, i: int, max_array: int) -> Message:
    return draw(st.binary(max_size=600))


def _huge_array(draw: st.DrawFn, rows: np.ndarray, i: int, max_array: int) -> Message:
    document = batch_document(rows[i : i + 2], i)
    length = draw(st.integers(max_array - 2, max_array + 50))
    document["features"][draw(st.sampled_from(FEATURES_39))] = [0] * length
    return _dumps(document)


def _mismatched_columns(draw: st.DrawFn, rows: np.ndarray, i: int, max_array: int) -> Message:
    document = batch_document(rows[i : i + 4] if i + 4 <= len(rows) else rows[:4], i)
    column = draw(st.sampled_from(["device_id", "event_time_ms", "flow_id", *FEATURES_39[:5]]))
    target = document["features"] if column in FEATURES_39 else document
    target[column] = target[column][: draw(st.integers(0, 3))] + [0.0] * draw(st.integers(0, 2))
    if draw(st.booleans()):
        document["count"] = draw(st.integers(-1, 6))
    return _dumps(document)


def _deep(draw: st.DrawFn, rows: np.ndarray, i: int, max_array: int) -> Message:
    depth = draw(st.integers(20, 3000))
    inner = b"[" * depth + b"]" * depth
    if draw(st.booleans()):
        return inner
    return _dumps(flow_document(rows[i], i)).replace(b'"flow_id": ', b'"flow_id": ' + inner + b", ")


def _tombstone(draw: st.DrawFn, rows: np.ndarray, i: int, max_array: int) -> Message:
    return None


_KINDS = (
    _valid_flow, _valid_flow, _valid_flow, _valid_batch, _wrong_type, _non_finite, _truncated,
    _wrong_schema, _random_bytes, _huge_array, _mismatched_columns, _deep, _tombstone,
)  # fmt: skip


def hypothesis_corpus(rows: np.ndarray, n: int, *, max_array: int) -> list[Message]:
    """``n`` messages drawn by hypothesis (derandomized: the same corpus on every machine)."""
    drawn: list[Message] = []

    @settings(
        max_examples=n,
        database=None,
        derandomize=True,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(fuzz_message(rows, max_array))
    def collect(message: Message) -> None:
        drawn.append(message)

    collect()
    return drawn


def _mutate(rng: random.Random, raw: bytes, other: bytes) -> bytes:
    choice = rng.randrange(5)
    if not raw or choice == 0:  # splice two messages
        return raw[: rng.randrange(len(raw) + 1)] + other[rng.randrange(len(other) + 1) :]
    if choice == 1:  # flip a few bits
        data = bytearray(raw)
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        return bytes(data)
    if choice == 2:  # cut
        return raw[: rng.randrange(len(raw))]
    if choice == 3:  # a token where a number or a delimiter was
        at = rng.randrange(len(raw))
        return raw[:at] + rng.choice(_TOKENS) + raw[at + rng.randint(0, 4) :]
    at = rng.randrange(len(raw))  # repeat a chunk
    return raw[:at] + raw[at : at + rng.randint(1, 40)] * rng.randint(2, 5) + raw[at:]


def mutated_corpus(seeds: Sequence[Message], n: int, *, seed: int) -> list[Message]:
    """``n`` messages: the seeds as they are (about half) and seeded mutants of them."""
    rng = random.Random(seed)
    texts = [s for s in seeds if s]
    out: list[Message] = []
    for _ in range(n):
        base = rng.choice(seeds)
        if base is None or rng.random() < 0.5:
            out.append(base)
        else:
            out.append(_mutate(rng, base, rng.choice(texts)))
    return out


__all__ = [
    "Message",
    "batch_document",
    "flow_document",
    "fuzz_message",
    "hypothesis_corpus",
    "mutated_corpus",
]
