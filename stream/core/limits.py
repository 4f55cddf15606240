"""How much structure one message may carry: nesting depth and entries per array or object.

The byte limit (``stream.max_message_bytes``) bounds a message's size; these bound its shape,
so that neither the parser nor anything that walks a parsed document (validation, re-encoding
a bad row for its dead letter) can recurse without limit or build a huge container. A scoring
message needs a nesting depth of 3 (object → ``features`` → column) and at most ``count``
entries (≤ 100,000) per column.

Both checks start with a count of bytes, which costs next to nothing: a message with fewer
opening brackets than the depth limit cannot nest deeper, and one with fewer commas than the
entry limit cannot hold a longer array. Only messages that fail that count are scanned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

#: A JSON string literal (escapes included), so brackets inside strings are not counted.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_OPEN = (ord("["), ord("{"))
_CLOSE = (ord("]"), ord("}"))


@dataclass(frozen=True, slots=True)
class StructureLimits:
    """The shape a message may have (``stream.max_nesting_depth``, ``stream.max_array_length``)."""

    max_depth: int = 32
    max_entries: int = 100_000

    def __post_init__(self) -> None:
        if self.max_depth < 1 or self.max_entries < 1:
            raise ValueError(f"structure limits must be at least 1, got {self}")


def nesting_depth(raw: bytes) -> int:
    """The deepest nesting of arrays and objects in JSON text ``raw`` (0 for a scalar).

    Brackets inside string literals do not count. For text that is not valid JSON (an
    unterminated string, say) the result is an upper bound.

    Examples
    --------
    >>> nesting_depth(b'{"a": [1, [2]], "b": "[[[["}')
    3
    """
    text = _STRING.sub(b'""', raw)
    codes = np.frombuffer(text, dtype=np.uint8)
    step = np.isin(codes, _OPEN).astype(np.int32) - np.isin(codes, _CLOSE).astype(np.int32)
    if not step.size:
        return 0
    return max(int(np.cumsum(step).max()), 0)


def too_deep(raw: bytes, limits: StructureLimits) -> int | None:
    """The nesting depth of ``raw`` if it exceeds ``limits.max_depth``, else ``None``."""
    if raw.count(b"[") + raw.count(b"{") <= limits.max_depth:
        return None
    depth = nesting_depth(raw)
    return depth if depth > limits.max_depth else None


def largest_container(document: object, raw: bytes, limits: StructureLimits) -> int | None:
    """Entries of the largest array or object in ``document`` if over ``limits.max_entries``.

    ``raw`` is the text ``document`` was parsed from (for the cheap comma count); ``document``
    must already be within the depth limit (the walk is iterative either way).
    """
    if raw.count(b",") + 1 <= limits.max_entries:
        return None
    largest = 0
    pending: list[object] = [document]
    while pending:
        node = pending.pop()
        if not isinstance(node, dict | list):
            continue
        children = node.values() if isinstance(node, dict) else node
        largest = max(largest, len(node))
        if largest > limits.max_entries:
            return largest
        pending.extend(c for c in children if isinstance(c, dict | list))
    return None


__all__ = ["StructureLimits", "largest_container", "nesting_depth", "too_deep"]
