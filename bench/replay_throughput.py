"""Replay throughput into a real broker: single flow messages vs batched envelopes.

    .venv/bin/python bench/replay_throughput.py [--rows 200000] [--batch 500] [--clients]
        [--bootstrap HOST:PORT] [--data ../shared/data/ciciot2023/per_class]

Replays the real per-class CICIoT2023 rows, looped until ``--rows`` flows were sent, unpaced, to
a 4-partition topic of a broker started for the run (or ``--bootstrap``). ``--clients`` also
times the raw producers on the same encoded messages: kafka-python (``send`` per message,
``linger_ms=5``) against aiokafka (what the replay uses).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from machine import describe

from iotad.broker import ensure_topics, free_port, start_broker
from iotad.settings import Settings, load_settings
from iotad.stream.replay import ReplayOptions, replay_to_kafka
from iotad.stream.replay.encode import PendingFlow, encode_flow
from iotad.stream.replay.rows import RowParser
from iotad.stream.replay.sources import discover, inspect, read_rows

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared/data/ciciot2023/per_class"


@contextmanager
def broker(bootstrap: str | None) -> Iterator[str]:
    """The given broker, or one started for the run in a temp dir."""
    if bootstrap:
        yield bootstrap
        return
    with tempfile.TemporaryDirectory(prefix="iotad-bench-replay-") as tmp:
        settings = load_settings(
            overrides={
                "broker": {
                    "port": free_port(),
                    "controller_port": free_port(),
                    "data_dir": tmp,
                    "heap_mb": 1024,
                }
            }
        )
        running = start_broker(settings.broker, die_with_parent=True)
        try:
            yield running.bootstrap_servers
        finally:
            running.stop()


def replay_run(settings: Settings, data: Path, rows: int, batch: int) -> None:
    topic = f"bench.flows.{uuid.uuid4().hex[:8]}"
    ensure_topics(settings.kafka.bootstrap_servers, {topic: 4})
    options = ReplayOptions(topic=topic, batch=batch, limit=rows, loop=True)
    summary = replay_to_kafka(settings, [data], options)
    mode = f"batched envelopes of {batch}" if batch > 1 else "single messages"
    print(
        f"replay, {mode}: {summary.sent:,} flows in {summary.messages:,} messages, "
        f"{summary.elapsed_s:.1f}s → {summary.rate:,.0f} flows/s "
        f"(rejected {summary.rejected_total}, delivery failures {summary.delivery_failures})"
    )


def encoded_messages(data: Path, count: int) -> list[tuple[bytes, bytes]]:
    """``count`` real single-flow messages (key, value)."""
    messages: list[tuple[bytes, bytes]] = []
    for path in discover([data]):
        capture = inspect(path)
        parser = RowParser(capture)
        for i, row in enumerate(read_rows(capture)):
            parsed = parser.parse(row) if isinstance(row, list) else None
            if parsed is None or not isinstance(parsed, tuple):
                continue
            flow = PendingFlow(f"{capture.stem}-dev{i % 16:02d}", 0, f"{capture.stem}:{i}", *parsed)
            messages.append((flow.device_id.encode(), encode_flow("gw", parser.names, flow)))
            if len(messages) == count:
                return messages
    return messages


def clients_run(bootstrap: str, messages: list[tuple[bytes, bytes]]) -> None:
    from aiokafka import AIOKafkaProducer
    from kafka import KafkaProducer

    topic = f"bench.clients.{uuid.uuid4().hex[:8]}"
    ensure_topics(bootstrap, {topic: 4})
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks=1, linger_ms=5, batch_size=512 * 1024
    )
    started = time.monotonic()
    for key, value in messages:
        producer.send(topic, key=key, value=value)
    producer.flush()
    elapsed = time.monotonic() - started
    producer.close()
    print(f"kafka-python producer: {len(messages) / elapsed:,.0f} messages/s ({len(messages):,})")

    async def aio() -> float:
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, acks=1, linger_ms=5, max_batch_size=512 * 1024
        )
        await producer.start()
        started = time.monotonic()
        for key, value in messages:
            await producer.send(topic, key=key, value=value)
        await producer.flush()
        elapsed = time.monotonic() - started
        await producer.stop()
        return elapsed

    elapsed = asyncio.run(aio())
    print(f"aiokafka producer:     {len(messages) / elapsed:,.0f} messages/s ({len(messages):,})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--clients", action="store_true")
    parser.add_argument("--client-messages", type=int, default=30_000)
    parser.add_argument("--bootstrap")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    print(describe())
    print(f"data: real CICIoT2023 per-class rows from {args.data}")
    with broker(args.bootstrap) as bootstrap:
        settings = load_settings(overrides={"kafka": {"bootstrap_servers": bootstrap}})
        replay_run(settings, args.data, args.rows, batch=0)
        replay_run(settings, args.data, args.rows, batch=args.batch)
        if args.clients:
            clients_run(bootstrap, encoded_messages(args.data, args.client_messages))


if __name__ == "__main__":
    main()
