"""Bytes → :class:`Envelope` (a JSON object of a known schema) or :class:`Rejected`.

Decoding checks only what can be checked before the schema: the size limit, that the bytes are
JSON, that the top level is an object, and which schema it names. A message without a ``schema``
key is a single flow (``iotad.flow.v1``). JSON text with ``NaN`` or ``Infinity`` (which strict
JSON forbids but many encoders emit) still decodes, so validation can name the bad value.
"""

from __future__ import annotations

import json

import orjson

from iotad.schemas.messages import DeadLetterCode
from iotad.stream.core.types import Envelope, EnvelopeKind, Rejected

#: Schema ids the worker scores, and the envelope kind of each.
SCHEMA_KINDS: dict[str, EnvelopeKind] = {
    "iotad.flow.v1": "flow",
    "iotad.flow_batch.v1": "flow_batch",
}
_PREVIEW = 60


def _preview(raw: bytes) -> str:
    text = raw[:_PREVIEW].decode("utf-8", errors="replace")
    return repr(text) + ("…" if len(raw) > _PREVIEW else "")


def _loads(raw: bytes) -> object:
    """Parse JSON; fall back to the permissive parser for NaN/Infinity/overflowing numbers."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        # Raises json.JSONDecodeError / UnicodeDecodeError (both ValueError) when not JSON.
        return json.loads(raw.decode("utf-8"))


def decode(raw: bytes | None, *, max_bytes: int) -> Envelope | Rejected:
    """Decode one Kafka message value.

    Parameters
    ----------
    raw
        the message value (``None`` for a tombstone).
    max_bytes
        messages longer than this are refused unread (``oversized``).

    Examples
    --------
    >>> decode(b'{"gateway_id": "g"}', max_bytes=1024).kind
    'flow'
    >>> decode(b"\\x00garbage", max_bytes=1024).code.value
    'undecodable'
    """
    if raw is None:
        return Rejected(DeadLetterCode.UNDECODABLE, "message has no value (tombstone)", b"")
    if len(raw) > max_bytes:
        return Rejected(
            DeadLetterCode.OVERSIZED,
            f"message is {len(raw)} bytes, the limit (stream.max_message_bytes) is {max_bytes}",
            raw,
        )
    try:
        document = _loads(raw)
    except ValueError as exc:
        return Rejected(
            DeadLetterCode.UNDECODABLE, f"not UTF-8 JSON ({exc}); starts {_preview(raw)}", raw
        )
    if not isinstance(document, dict):
        return Rejected(
            DeadLetterCode.SCHEMA_VIOLATION,
            f"top level must be a JSON object, got {type(document).__name__}",
            raw,
        )
    schema = document.get("schema", "iotad.flow.v1")
    kind = SCHEMA_KINDS.get(schema) if isinstance(schema, str) else None
    if kind is None:
        return Rejected(
            DeadLetterCode.UNSUPPORTED_SCHEMA,
            f"schema {schema!r} is not one of {sorted(SCHEMA_KINDS)}",
            raw,
        )
    return Envelope(kind, document, raw)


__all__ = ["SCHEMA_KINDS", "decode"]
