"""decode: bytes → envelope or a rejection value, never an exception."""

from __future__ import annotations

import json

import orjson
from hypothesis import given
from hypothesis import strategies as st

from iotad.schemas.messages import DeadLetterCode
from iotad.stream.core import Envelope, Rejected, decode


def test_missing_schema_key_is_a_single_flow() -> None:
    result = decode(b'{"gateway_id": "g"}', max_bytes=1024)
    assert isinstance(result, Envelope)
    assert result.kind == "flow"


def test_batch_schema_is_recognised() -> None:
    result = decode(b'{"schema": "iotad.flow_batch.v1"}', max_bytes=1024)
    assert isinstance(result, Envelope) and result.kind == "flow_batch"


def test_unknown_schema_is_unsupported() -> None:
    result = decode(b'{"schema": "iotad.flow.v9"}', max_bytes=1024)
    assert isinstance(result, Rejected)
    assert result.code is DeadLetterCode.UNSUPPORTED_SCHEMA
    assert "iotad.flow.v9" in result.message


def test_oversized_is_refused_unread() -> None:
    raw = b"{" + b" " * 2000 + b"}"
    result = decode(raw, max_bytes=1024)
    assert isinstance(result, Rejected) and result.code is DeadLetterCode.OVERSIZED
    assert result.original == raw
    assert "2002 bytes" in result.message


def test_garbage_and_bad_utf8_are_undecodable() -> None:
    for raw in (b"\x00\xff\xfe", b"not json", b'{"a": '):
        result = decode(raw, max_bytes=1024)
        assert isinstance(result, Rejected) and result.code is DeadLetterCode.UNDECODABLE


def test_tombstone_is_undecodable() -> None:
    result = decode(None, max_bytes=1024)
    assert isinstance(result, Rejected) and result.code is DeadLetterCode.UNDECODABLE


def test_non_object_is_a_schema_violation() -> None:
    result = decode(b"[1, 2]", max_bytes=1024)
    assert isinstance(result, Rejected) and result.code is DeadLetterCode.SCHEMA_VIOLATION


def test_nan_text_still_decodes_so_validation_can_name_it() -> None:
    result = decode(b'{"features": {"Rate": NaN, "IAT": 1e999}}', max_bytes=1024)
    assert isinstance(result, Envelope)
    rate = result.document["features"]["Rate"]
    assert rate != rate  # NaN


brackety = st.lists(st.sampled_from([b"[", b"]", b"{", b"}", b'"', b":", b",", b"1", b"NaN"]))


@given(
    st.binary(max_size=300)
    | brackety.map(b"".join)
    | st.integers(33, 3000).map(lambda n: b"[" * n + b"]" * n)
)
def test_any_bytes_give_a_value_never_an_exception(raw: bytes) -> None:
    result = decode(raw, max_bytes=8000)
    assert isinstance(result, Envelope | Rejected)
    if len(raw) > 8000:
        assert isinstance(result, Rejected) and result.code is DeadLetterCode.OVERSIZED


texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=10,
)


@given(st.dictionaries(texts, json_values, max_size=5), texts)
def test_objects_dispatch_on_their_schema(document: dict[str, object], schema: str) -> None:
    document["schema"] = schema
    result = decode(orjson.dumps(document), max_bytes=1 << 20)
    if schema in ("iotad.flow.v1", "iotad.flow_batch.v1"):
        assert isinstance(result, Envelope)
        assert result.document == json.loads(orjson.dumps(document))
    else:
        assert isinstance(result, Rejected) and result.code is DeadLetterCode.UNSUPPORTED_SCHEMA
