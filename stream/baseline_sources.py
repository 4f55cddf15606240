"""Learning flows for ``iotad baseline learn``: from CSV files or from the flows topic.

* :func:`csv_learning_rows` reads CICIoT2023-layout CSV files with the replay's parser (rows it
  refuses are counted by reason, never used); with ``benign_only`` and a label column, only the
  rows labelled benign are kept (how the real MERGED sample gives a gateway's normal).
* :func:`topic_learning_rows` reads one gateway's flows from the flows topic (a consumer of its
  own, no group) through the worker's decode and validate, for up to ``max_flows`` flows or
  ``learn_s`` seconds.

Rows come back in the layout's feature order, in arrival order.
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from iotad.errors import DataError
from iotad.schemas.features import LAYOUT_FEATURES, FeatureLayout
from iotad.schemas.labels import BENIGN_LABEL
from iotad.settings import Settings
from iotad.stream.core.decode import decode
from iotad.stream.core.types import FeatureSpec, Rejected
from iotad.stream.core.validate import validate
from iotad.stream.core.vectorise import vectorise
from iotad.stream.replay.rows import RowParser
from iotad.stream.replay.sources import discover, inspect, read_rows
from iotad.stream.replay.types import Rejection


@dataclass
class LearningRows:
    """The learning flows and what was left out, by reason."""

    values: NDArray[np.float64]
    layout: FeatureLayout
    source: str
    skipped: Counter[str] = field(default_factory=Counter)


def csv_learning_rows(paths: Sequence[Path], *, benign_only: bool) -> LearningRows:
    """The rows of the CSV files under ``paths`` (one feature layout).

    Raises
    ------
    DataError
        for no files, mixed layouts, or no usable row.
    """
    files = [inspect(p) for p in discover(paths)]
    layouts = {f.layout for f in files}
    if len(layouts) != 1:
        raise DataError(f"the files mix feature layouts {sorted(x.value for x in layouts)}")
    (layout,) = layouts
    rows: list[list[float]] = []
    skipped: Counter[str] = Counter()
    for capture in files:
        parser = RowParser(capture)
        for fields in read_rows(capture):
            if isinstance(fields, csv.Error):
                skipped["unparsable_csv"] += 1
                continue
            parsed = parser.parse(fields)
            if isinstance(parsed, Rejection):
                skipped[parsed.reason.value] += 1
                continue
            values, label = parsed
            if benign_only and label != BENIGN_LABEL:
                skipped["not_benign"] += 1
                continue
            rows.append(values)
    if not rows:
        raise DataError(
            f"no usable learning flows in {len(files)} file(s) (left out: {dict(skipped)})"
        )
    names = ", ".join(str(p) for p in paths)
    kept = "benign rows of " if benign_only else ""
    return LearningRows(np.asarray(rows, dtype=np.float64), layout, f"{kept}{names}", skipped)


def topic_learning_rows(
    settings: Settings,
    gateway: str,
    *,
    layout: FeatureLayout,
    max_flows: int,
    learn_s: float,
    from_beginning: bool,
) -> LearningRows:
    """Up to ``max_flows`` flows of ``gateway`` from the flows topic, for at most ``learn_s``.

    Raises
    ------
    DataError
        if no flow of the gateway arrived.
    """
    from kafka import KafkaConsumer, TopicPartition

    spec = FeatureSpec(layout, LAYOUT_FEATURES[layout])
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka.bootstrap_servers.split(","),
        client_id=f"{settings.kafka.client_id}-baseline-learn",
        group_id=None,
        enable_auto_commit=False,
    )
    skipped: Counter[str] = Counter()
    parts: list[NDArray[np.float32]] = []
    collected = 0
    try:
        topic = settings.topics.flows
        assigned = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or {0})
        ]
        consumer.assign(assigned)
        (consumer.seek_to_beginning if from_beginning else consumer.seek_to_end)(*assigned)
        deadline = time.monotonic() + learn_s
        while collected < max_flows and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=200).values():
                for record in records:
                    decoded = decode(record.value, max_bytes=settings.stream.max_message_bytes)
                    if isinstance(decoded, Rejected):
                        skipped[decoded.code.value] += 1
                        continue
                    validated = validate(decoded, spec)
                    for rejected in validated.rejected:
                        skipped[rejected.code.value] += 1
                    block = validated.block
                    if block is None or block.gateway_id != gateway:
                        skipped["other_gateway"] += 0 if block is None else len(block)
                        continue
                    matrix = vectorise([block], len(spec.names))
                    parts.append(matrix[: max_flows - collected])
                    collected += len(parts[-1])
    finally:
        consumer.close()
    if not collected:
        raise DataError(
            f"no flow of gateway {gateway!r} on {settings.topics.flows!r} within {learn_s:g}s",
            hint="is the gateway sending? use --from-beginning to read what the topic holds",
        )
    values = np.concatenate(parts).astype(np.float64)
    values = values[np.isfinite(values).all(axis=1)]
    return LearningRows(
        values, layout, f"topic {settings.topics.flows} (gateway {gateway})", skipped
    )


__all__ = ["LearningRows", "csv_learning_rows", "topic_learning_rows"]
