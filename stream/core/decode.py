"""Bytes → :class:`Envelope` (a JSON object of a known schema) or :class:`Rejected`.

Decoding checks only what can be checked before the schema: the size limit, that the bytes are
JSON, the shape limits of :mod:`~iotad.stream.core.limits` (nesting depth, entries per array or
object), that the top level is an object, and which schema it names. A message without a ``schema``
key is a single flow (``iotad.flow.v1``). JSON text with ``NaN`` or ``Infinity`` (which strict
JSON forbids but many encoders emit) still decodes, so validation can name the bad value.
"""

from __future__ import annotations

import json

import orjson

from iotad.schemas.messages import DeadLetterCode
from iotad.stream.core.limits import StructureLimits, largest_container, nesting_depth, too_deep
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


_DEFAULT_LIMITS = StructureLimits()


def _too_deep(raw: bytes, depth: int, limits: StructureLimits) -> Rejected:
    return Rejected(
        DeadLetterCode.NESTING_TOO_DEEP,
        f"arrays/objects nest {depth} deep, the limit (stream.max_nesting_depth) is "
        f"{limits.max_depth}; starts {_preview(raw)}",
        raw,
    )


def _parse(raw: bytes, limits: StructureLimits) -> object | Rejected:
    """Parse JSON within the depth limit; the permissive parser reads NaN/Infinity/overflows.

    orjson refuses more than 1024 levels itself; the ``json`` fallback recurses, so the depth
    is checked before it runs. Raises ``ValueError`` when the text is not UTF-8 JSON.
    """
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        depth = too_deep(raw, limits)
        if depth is not None:
            return _too_deep(raw, depth, limits)
        try:
            # Raises json.JSONDecodeError / UnicodeDecodeError (both ValueError) when not JSON.
            parsed: object = json.loads(raw.decode("utf-8"))
        except RecursionError:  # a thread with a small stack: still a depth problem
            return _too_deep(raw, nesting_depth(raw), limits)
        return parsed
    depth = too_deep(raw, limits)
    return document if depth is None else _too_deep(raw, depth, limits)


def decode(
    raw: bytes | None, *, max_bytes: int, limits: StructureLimits = _DEFAULT_LIMITS
) -> Envelope | Rejected:
    """Decode one Kafka message value.

    Parameters
    ----------
    raw
        the message value (``None`` for a tombstone).
    max_bytes
        messages longer than this are refused unread (``oversized``).
    limits
        the deepest nesting (``nesting_too_deep``) and the most entries of one array or object
        (``array_too_long``) a message may have.

    Examples
    --------
    >>> decode(b'{"gateway_id": "g"}', max_bytes=1024).kind
    'flow'
    >>> decode(b"\\x00garbage", max_bytes=1024).code.value
    'undecodable'
    >>> decode(b"[" * 1100 + b"]" * 1100, max_bytes=4096).code.value
    'nesting_too_deep'
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
        document = _parse(raw, limits)
    except ValueError as exc:
        return Rejected(
            DeadLetterCode.UNDECODABLE, f"not UTF-8 JSON ({exc}); starts {_preview(raw)}", raw
        )
    if isinstance(document, Rejected):
        return document
    entries = largest_container(document, raw, limits)
    if entries is not None:
        return Rejected(
            DeadLetterCode.ARRAY_TOO_LONG,
            f"an array or object has {entries} entries, the limit (stream.max_array_length) is "
            f"{limits.max_entries}",
            raw,
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
