"""Rejected input → a dead-letter message (``iotad.dead_letter.v1``) with the original bytes."""

from __future__ import annotations

import base64

from iotad.schemas.messages import DeadLetter, SourceRef
from iotad.stream.core.types import DeadLetterRecord, InboundMessage, Rejected


def dead_letter(
    rejected: Rejected,
    source: InboundMessage,
    *,
    received_at_ms: int,
    max_original_bytes: int,
) -> DeadLetterRecord:
    """The dead letter for ``rejected``, read from ``source`` (key = the source message's key).

    Originals longer than ``max_original_bytes`` are cut to that length so the dead letter fits
    in one Kafka message; the message then says so, ``original_size`` keeps the full length, and
    the full bytes remain at the source offset until the topic's retention removes them.

    Examples
    --------
    >>> from iotad.schemas.messages import DeadLetterCode
    >>> src = InboundMessage(b"x", "iotad.flows", 0, 7)
    >>> rec = dead_letter(Rejected(DeadLetterCode.UNDECODABLE, "bad", b"x"), src,
    ...                   received_at_ms=1, max_original_bytes=100)
    >>> DeadLetter.model_validate_json(rec.value).source.offset
    7
    """
    original = rejected.original
    message = rejected.message
    if len(original) > max_original_bytes:
        message += (
            f" [original cut to its first {max_original_bytes} of {len(original)} bytes; "
            f"the whole message is at {source.topic}[{source.partition}]@{source.offset}]"
        )
        original = original[:max_original_bytes]
    letter = DeadLetter(
        error_code=rejected.code,
        error_message=message,
        source=SourceRef(
            topic=source.topic,
            partition=source.partition,
            offset=source.offset,
            index=rejected.index,
        ),
        received_at_ms=received_at_ms,
        original_b64=base64.b64encode(original).decode("ascii"),
        original_size=len(rejected.original),
    )
    return DeadLetterRecord(
        rejected.code,
        source.key,
        letter.model_dump_json().encode(),
        source,
        rejected.index,
        message,
    )


__all__ = ["dead_letter"]
