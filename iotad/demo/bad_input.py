"""Bad messages the demo slips into the feed, each with the dead-letter reason it must get."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from iotad.demo.scenario import GATEWAY_ID
from iotad.schemas.messages import DeadLetterCode
from iotad.stream.replay.encode import FLOW_SCHEMA

#: When each bad message goes out, as a fraction of the feed.
BAD_MESSAGE_TIMES: tuple[float, ...] = (0.12, 0.27, 0.42, 0.6, 0.78)


def bad_messages(
    names: Sequence[str], values: Sequence[float], event_time_ms: int
) -> list[tuple[DeadLetterCode, bytes]]:
    """One message per kind of bad input, built around a valid flow (``names``/``values``).

    Examples
    --------
    >>> for code, _ in bad_messages(["Rate", "IAT"], [1.0, 2.0], 0):
    ...     print(code.value)
    undecodable
    schema_violation
    missing_features
    non_finite_value
    unsupported_schema
    """
    features = dict(zip(names, (float(v) for v in values), strict=True))
    flow: dict[str, object] = {
        "schema": FLOW_SCHEMA,
        "gateway_id": GATEWAY_ID,
        "device_id": "infusion-pump-w3-01",
        "event_time_ms": event_time_ms,
        "flow_id": "bad-input",
        "features": features,
    }
    no_device = {k: v for k, v in flow.items() if k != "device_id"}
    first = names[0]
    missing = {**flow, "features": {k: v for k, v in features.items() if k != first}}
    # JSON has no NaN; the worker's parser reads the token so it can name the bad value.
    nan_text = orjson.dumps({**flow, "features": {**features, first: 0.5}}).replace(
        f'"{first}":0.5'.encode(), f'"{first}":NaN'.encode(), 1
    )
    return [
        (DeadLetterCode.UNDECODABLE, b"\x00\xff garbled bytes from a faulty sensor bridge"),
        (DeadLetterCode.SCHEMA_VIOLATION, orjson.dumps(no_device)),
        (DeadLetterCode.MISSING_FEATURES, orjson.dumps(missing)),
        (DeadLetterCode.NON_FINITE_VALUE, nan_text),
        (DeadLetterCode.UNSUPPORTED_SCHEMA, orjson.dumps({**flow, "schema": "iotad.flow.v0"})),
    ]


__all__ = ["BAD_MESSAGE_TIMES", "bad_messages"]
