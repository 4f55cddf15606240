"""Soak: one worker at half its maximum load for N minutes; memory, lag and latency over time.

    .venv/bin/python bench/soak.py [--minutes 10] [--rate FLOWS_PER_S] [--envelope 500]
        [--batch-size 4] [--sample-s 5] [--bootstrap HOST:PORT] [--out var/bench]

1. Without ``--rate``, measure the worker's maximum first: drain a pre-loaded backlog of
   real CICIoT2023 rows in batched envelopes (as bench/stream_throughput.py does), and soak at
   half of it.
2. Start a fresh worker on fresh topics and feed it envelopes paced at that rate for
   ``--minutes``. Every ``--sample-s`` seconds record the worker's RSS (psutil), its consumer
   lag (``iotad_consumer_lag`` summed over partitions: messages, i.e. envelopes), the p99
   event-to-alert latency of the interval (from the worker's histogram: the upper bound of
   the bucket holding the 99th percentile) and the flows it took in.
3. Print the RSS slope (least-squares fit over the samples after the first minute of warm-up,
   MB/min; target < 1), the lag and latency ranges, and write ``soak-<time>.json`` and
   ``soak-<time>.png`` (three panels over time) under ``--out``.

The bundle is the one bench/stream_throughput.py uses (``rf-compact`` from ``models/``, or one
trained on the real rows). Not part of ``make test``.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import psutil
from machine import describe, machine
from replay_throughput import broker
from stream_throughput import (
    DATA,
    REPO,
    Messages,
    Worker,
    _producer,
    backlog_rate,
    envelope_messages,
    find_compact_rf,
    load_rows,
    new_topics,
    p99_bound,
    preload,
    train_bundle,
)

WARM_UP_S = 60.0


@dataclass
class Sample:
    """One look at the worker."""

    t_s: float
    rss_mb: float
    lag_messages: float
    p99_ms: float | None
    flows_in: float


class PacedFeed(threading.Thread):
    """Sends ``messages`` at ``rate`` flows/s from its own event loop until stopped."""

    def __init__(self, bootstrap: str, topic: str, messages: Messages, rate: float) -> None:
        super().__init__(daemon=True, name="soak-feed")
        self.bootstrap, self.topic, self.messages, self.rate = bootstrap, topic, messages, rate
        self.halt = threading.Event()
        self.sent = 0
        self.behind_s = 0.0  # the most the feed fell behind its schedule

    def run(self) -> None:
        asyncio.run(self._feed())

    async def _feed(self) -> None:
        producer = _producer(self.bootstrap, linger_ms=2)
        await producer.start()
        try:
            begin = time.monotonic()
            for key, value, flows in self.messages:
                if self.halt.is_set():
                    break
                delay = begin + self.sent / self.rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                else:
                    self.behind_s = max(self.behind_s, -delay)
                await producer.send(self.topic, value, key=key)
                self.sent += flows
            await producer.flush()
        finally:
            await producer.stop()


def _metric_sum(text: str, name: str) -> float:
    return sum(float(v) for v in re.findall(rf"^{name}(?:\{{[^}}]*\}})? (\S+)$", text, re.M))


def sample(
    worker: Worker, process: psutil.Process, t_s: float, before: dict[float, float]
) -> tuple[Sample, dict[float, float]]:
    """The worker now; and the latency histogram to diff the next interval against."""
    text = worker.get("/metrics") or ""
    latency = {
        float(le): float(n)
        for le, n in re.findall(
            r'^iotad_event_to_alert_seconds_bucket\{le="([^"]+)"\} (\S+)$', text, re.M
        )
    }
    p99 = p99_bound(before, latency)
    return (
        Sample(
            t_s=t_s,
            rss_mb=process.memory_info().rss / 2**20,
            lag_messages=_metric_sum(text, "iotad_consumer_lag"),
            p99_ms=None if p99 is None else p99 * 1000,
            flows_in=_metric_sum(text, "iotad_flows_in_total"),
        ),
        latency,
    )


def rss_slope(samples: list[Sample]) -> float:
    """MB per minute, least squares over the samples after the warm-up."""
    steady = [s for s in samples if s.t_s >= WARM_UP_S] or samples
    if len(steady) < 2:
        return float("nan")
    t = np.asarray([s.t_s / 60 for s in steady])
    return float(np.polyfit(t, np.asarray([s.rss_mb for s in steady]), 1)[0])


def plot(samples: list[Sample], rate: float, slope: float, path: Path) -> None:
    """RSS, consumer lag and p99 latency over time, one panel each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [s.t_s / 60 for s in samples]
    fig, axes = plt.subplots(3, 1, figsize=(9, 8), sharex=True)
    axes[0].plot(minutes, [s.rss_mb for s in samples])
    axes[0].set_ylabel("worker RSS (MB)")
    axes[0].set_title(f"soak at {rate:,.0f} flows/s: RSS slope {slope:+.2f} MB/min after warm-up")
    axes[1].plot(minutes, [s.lag_messages for s in samples])
    axes[1].set_ylabel("consumer lag (messages)")
    axes[2].plot(minutes, [np.nan if s.p99_ms is None else s.p99_ms for s in samples])
    axes[2].set_ylabel("p99 event→alert (ms, bucket bound)")
    axes[2].set_xlabel("minutes")
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def soak(args: argparse.Namespace, bootstrap: str, bundle: Path, x: np.ndarray, y: np.ndarray,
         rate: float, tmp: Path) -> list[Sample]:  # fmt: skip
    """Feed a fresh worker at ``rate`` for ``args.minutes``; a sample every ``args.sample_s``."""
    topics = new_topics(bootstrap, args.partitions)
    worker = Worker(
        bootstrap, topics, bundle, args.batch_size, tmp / f"soak-{uuid.uuid4().hex[:6]}"
    )
    samples: list[Sample] = []
    try:
        worker.wait_ready()
        process = psutil.Process(worker.process.pid)
        feed = PacedFeed(
            bootstrap, topics["flows"], envelope_messages(x, y, 10**12, args.envelope), rate
        )
        feed.start()
        begin = time.monotonic()
        latency: dict[float, float] = {}
        while (now := time.monotonic() - begin) < args.minutes * 60:
            time.sleep(max(0.0, (len(samples) + 1) * args.sample_s - now))
            if worker.process.poll() is not None:
                raise RuntimeError(f"the worker exited with {worker.process.returncode}")
            taken, latency = sample(worker, process, time.monotonic() - begin, latency)
            samples.append(taken)
        feed.halt.set()
        feed.join(60)
        print(f"fed {feed.sent:,} flows; the feed fell behind its schedule by at most "
              f"{feed.behind_s:.2f} s")  # fmt: skip
    finally:
        worker.stop()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, help="flows/s (default: half the measured max)")
    parser.add_argument("--max-flows", type=int, default=200_000, help="backlog for the max")
    parser.add_argument("--envelope", type=int, default=500, help="flows per envelope")
    parser.add_argument("--batch-size", type=int, default=4, help="worker batch, in envelopes")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--sample-s", type=float, default=5.0)
    parser.add_argument("--bootstrap", help="use this broker instead of starting one")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=REPO / "var" / "bench")
    args = parser.parse_args()
    print(describe())
    x, y, files = load_rows(args.data)
    print(f"data: {len(x):,} real CICIoT2023 rows, {len(np.unique(y))} labels")
    with tempfile.TemporaryDirectory(prefix="iotad-soak-") as name, broker(args.bootstrap) as bs:
        tmp = Path(name)
        bundle = find_compact_rf(REPO / "models") or train_bundle(tmp / "bundle", x, y, files)
        print(f"broker: {bs}; bundle: {bundle}")
        rate, max_rate = args.rate, None
        if rate is None:
            topics = new_topics(bs, args.partitions)
            asyncio.run(
                preload(bs, topics["flows"], envelope_messages(x, y, args.max_flows, args.envelope))
            )
            options = argparse.Namespace(
                score_inline=False, no_incidents=False, partitions=args.partitions
            )
            max_rate, _ = backlog_rate(
                options, bs, topics, bundle, args.batch_size, args.max_flows, tmp
            )
            rate = max_rate / 2
            print(f"max: {max_rate:,.0f} flows/s draining {args.max_flows:,} flows; soak at half")
        samples = soak(args, bs, bundle, x, y, rate, tmp)
    slope = rss_slope(samples)
    p99s = [s.p99_ms for s in samples if s.p99_ms is not None]
    lags = [s.lag_messages for s in samples]
    print(
        f"soak {args.minutes:g} min at {rate:,.0f} flows/s (envelopes of {args.envelope}), "
        f"{len(samples)} samples: RSS {samples[0].rss_mb:.0f} -> {samples[-1].rss_mb:.0f} MB, "
        f"slope {slope:+.2f} MB/min after {WARM_UP_S:.0f} s warm-up (target < 1: "
        f"{'met' if abs(slope) < 1 else 'MISSED'}); consumer lag max {max(lags):,.0f} messages, "
        f"median {np.median(lags):,.0f}; p99 event->alert per interval "
        f"{min(p99s, default=float('nan')):.0f}-{max(p99s, default=float('nan')):.0f} ms "
        f"(bucket bounds)"
    )
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"soak-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    result: dict[str, Any] = {
        "machine": machine(), "minutes": args.minutes, "rate": rate, "max_rate": max_rate,
        "envelope": args.envelope, "batch_size": args.batch_size, "rss_slope_mb_per_min": slope,
        "samples": [asdict(s) for s in samples],
    }  # fmt: skip
    stem.with_suffix(".json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    plot(samples, rate, slope, stem.with_suffix(".png"))
    print(f"wrote {stem}.json and {stem}.png")


if __name__ == "__main__":
    main()
