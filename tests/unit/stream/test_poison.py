"""Poison messages: no input makes the core raise, every one is one dead letter with a reason.

A poison message is one built to break the parser or whatever walks a parsed document: deep
nesting (``[`` × 1100 made the ``json`` fallback raise ``RecursionError``), huge arrays, or
anything that makes decode/validate raise. Each must refuse that message alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iotad.schemas.messages import DeadLetter, DeadLetterCode
from iotad.stream.core import (
    Envelope,
    InboundMessage,
    Rejected,
    ScoringOptions,
    ServingModel,
    decode,
    process_batch,
)
from iotad.stream.core import pipeline as pipeline_module
from iotad.stream.core.limits import StructureLimits, nesting_depth

LIMITS = StructureLimits(max_depth=32, max_entries=1000)
OPTIONS = ScoringOptions(
    max_message_bytes=1 << 20, max_dead_letter_original_bytes=4096, limits=LIMITS
)
Doc = dict[str, Any]
DEEP = b"[" * 1100 + b"]" * 1100


def _decode(raw: bytes) -> Envelope | Rejected:
    return decode(raw, max_bytes=1 << 20, limits=LIMITS)


def _code(raw: bytes) -> DeadLetterCode:
    result = _decode(raw)
    assert isinstance(result, Rejected), result
    assert result.message and result.original == raw
    return result.code


def test_the_reported_message_is_a_dead_letter_not_a_recursion_error() -> None:
    assert _code(DEEP) is DeadLetterCode.NESTING_TOO_DEEP
    assert _code(b"{" + b'"a":{' * 1100 + b"}" * 1101) is DeadLetterCode.NESTING_TOO_DEEP
    # the json fallback (NaN text) is guarded too, and so is nesting past orjson's own 1024
    assert _code(b'{"x": NaN, "y": ' + DEEP + b"}") is DeadLetterCode.NESTING_TOO_DEEP
    assert _code(b"[" * 100_000) is DeadLetterCode.NESTING_TOO_DEEP


def test_nesting_just_under_the_limit_decodes_and_just_over_is_refused() -> None:
    ok = b'{"a": ' + b"[" * 31 + b"]" * 31 + b"}"
    assert isinstance(_decode(ok), Envelope)
    assert _code(b'{"a": ' + b"[" * 32 + b"]" * 32 + b"}") is DeadLetterCode.NESTING_TOO_DEEP


def test_brackets_inside_strings_do_not_count(make_flow: Callable[..., Doc]) -> None:
    flow = make_flow(np.ones(39), device_id='[{"\\"[[' * 200)
    assert isinstance(_decode(orjson.dumps(flow)), Envelope)
    assert nesting_depth(orjson.dumps(flow)) == 2


def test_a_too_long_array_or_object_is_refused() -> None:
    assert _code(orjson.dumps({"features": {"Rate": [1.0] * 1001}})) is (
        DeadLetterCode.ARRAY_TOO_LONG
    )
    assert _code(orjson.dumps({"x": {str(i): i for i in range(1001)}})) is (
        DeadLetterCode.ARRAY_TOO_LONG
    )
    assert isinstance(_decode(orjson.dumps({"features": {"Rate": [1.0] * 1000}})), Envelope)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | st.text(alphabet='[]{}"\\ab', max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=20,
)


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


@given(json_values)
def test_nesting_depth_matches_the_parsed_document(value: object) -> None:
    assert nesting_depth(json.dumps(value).encode()) == _depth(value)


@st.composite
def poison(draw: st.DrawFn) -> bytes:
    """Deep nesting in any position, mixed brackets, optionally cut short or with NaN text."""
    depth = draw(st.integers(33, 5000))
    opens = draw(st.lists(st.sampled_from(["[", '{"k":']), min_size=depth, max_size=depth))
    closes = ["]" if o == "[" else "}" for o in reversed(opens)]
    core = "".join(opens) + draw(st.sampled_from(["1", "NaN", '"s"', "[]"])) + "".join(closes)
    prefix = draw(st.sampled_from(["", '{"schema": "iotad.flow.v1", "features": {"Rate": ']))
    text = prefix + core + ("}}" if prefix else "")
    cut = draw(st.integers(0, 3))
    return text[: len(text) - cut].encode()


@settings(max_examples=60, deadline=None)
@given(poison())
def test_poison_messages_are_dead_letters(raw: bytes) -> None:
    code = _code(raw)
    assert code in (DeadLetterCode.NESTING_TOO_DEEP, DeadLetterCode.UNDECODABLE)


def _messages(
    make_flow: Callable[..., Doc], message: Callable[..., InboundMessage], poison: bytes
) -> list[InboundMessage]:
    flows = [message(make_flow(np.full(39, 1.0 + i), i), offset=i) for i in range(6)]
    return [*flows[:3], message(poison, offset=3), *flows[3:]]


@pytest.mark.parametrize(
    "error", [RecursionError("maximum recursion depth"), MemoryError(), KeyError("bug")]
)
def test_a_validator_that_raises_refuses_only_that_message(
    error: BaseException,
    label_model: ServingModel,
    make_flow: Callable[..., Doc],
    message: Callable[..., InboundMessage],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_validate = pipeline_module.validate
    poison_flow = orjson.dumps(make_flow(np.ones(39), 99, flow_id="poison"))

    def validate(envelope: Envelope, spec: Any) -> Any:
        if envelope.original == poison_flow:
            raise error
        return real_validate(envelope, spec)

    monkeypatch.setattr(pipeline_module, "validate", validate)
    messages = _messages(make_flow, message, poison_flow)
    outcome = process_batch(messages, label_model, OPTIONS, now_ms=1)
    assert outcome.scored == 6
    [record] = outcome.dead_letters
    letter = DeadLetter.model_validate_json(record.value)
    assert letter.error_code is DeadLetterCode.INTERNAL_ERROR
    assert letter.source.offset == 3
    assert type(error).__name__ in letter.error_message and "validate" in letter.error_message


def test_the_deep_message_in_a_batch_is_one_dead_letter(
    label_model: ServingModel,
    make_flow: Callable[..., Doc],
    message: Callable[..., InboundMessage],
) -> None:
    outcome = process_batch(_messages(make_flow, message, DEEP), label_model, OPTIONS, now_ms=1)
    assert outcome.scored == 6
    assert [(d.code, d.source.offset) for d in outcome.dead_letters] == [
        (DeadLetterCode.NESTING_TOO_DEEP, 3)
    ]


def test_a_block_that_fails_to_vectorise_is_refused_alone(
    label_model: ServingModel,
    make_flow: Callable[..., Doc],
    message: Callable[..., InboundMessage],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_vectorise = pipeline_module.vectorise

    def vectorise(blocks: Any, width: int) -> Any:
        if any(b.device_id == ("dev-3",) for b in blocks):
            raise ValueError("a vectoriser bug")
        return real_vectorise(blocks, width)

    monkeypatch.setattr(pipeline_module, "vectorise", vectorise)
    messages = [message(make_flow(np.full(39, 1.0 + i), i), offset=i) for i in range(5)]
    outcome = process_batch(messages, label_model, OPTIONS, now_ms=1)
    assert outcome.scored == 4
    assert [(d.code, d.source.offset) for d in outcome.dead_letters] == [
        (DeadLetterCode.INTERNAL_ERROR, 3)
    ]
    assert {a.event_time_ms % 1000 for a in outcome.alerts} <= {0, 1, 2, 4}


def test_a_batch_is_scored_in_slices_of_bounded_bytes(
    label_model: ServingModel,
    label_rows: tuple[np.ndarray, np.ndarray],
    make_batch: Callable[..., Doc],
    message: Callable[..., InboundMessage],
) -> None:
    x, _ = label_rows
    messages = [message(make_batch(x[i : i + 20], start=i), offset=i) for i in range(0, 200, 20)]
    messages.insert(4, message(DEEP, offset=1000))
    whole = process_batch(messages, label_model, OPTIONS, now_ms=1)
    size = max(len(m.value or b"") for m in messages)
    sliced_options = ScoringOptions(
        max_message_bytes=1 << 20,
        max_dead_letter_original_bytes=4096,
        limits=LIMITS,
        max_batch_bytes=2 * size,
    )
    sliced = process_batch(messages, label_model, sliced_options, now_ms=1)
    assert sliced.scored == whole.scored == 200
    assert sliced.messages == whole.messages == len(messages)
    assert sorted(a.value for a in sliced.alerts) == sorted(a.value for a in whole.alerts)
    assert [d.value for d in sliced.dead_letters] == [d.value for d in whole.dead_letters]
    assert sliced.benign == whole.benign
