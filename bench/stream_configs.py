"""One flow per message: the same backlog drained by a fresh worker per configuration.

    .venv/bin/python bench/stream_configs.py [--flows 40000] \
        [--configs asyncio:1000:-:-,uvloop:1000:-:-,uvloop:2000:16384:-,uvloop:1000:-:500]

Each configuration is ``event_loop:batch_size:stream_buffer_maxsize:max_poll_records`` (``-``:
the default). All run on one broker, over one pre-loaded topic of real CICIoT2023 rows (each in
its own consumer group), one after the other, then the baseline (bench/stream_baseline.py) once:
on a shared machine compare configurations within one run, and list one twice to see the noise.
``--py-spy`` samples each worker with py-spy (40 Hz, all threads) while it drains, and prints the
share of samples in Faust's fetcher, conductor and ``wait_first`` and in iotad's core.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from machine import describe
from replay_throughput import broker
from stream_baseline import run_baseline
from stream_throughput import (
    DATA,
    REPO,
    Worker,
    consume_backlog,
    find_compact_rf,
    load_rows,
    new_topics,
    preload,
    single_messages,
    train_bundle,
)

SHARES = {
    "Faust fetcher (_drain_messages)": "_drain_messages",
    "Faust conductor (on_message)": "on_message (faust/transport/conductor.py",
    "mode wait_first": "wait_first (mode/services.py",
    "iotad core (process_batch)": "process_batch (iotad/stream/core/pipeline.py",
    "idle (selector)": "select (selectors.py",
}
SETTINGS = ("EVENT_LOOP", "BATCH_SIZE", "STREAM_BUFFER_MAXSIZE", "MAX_POLL_RECORDS")


def spy_shares(raw: Path) -> str:
    """Share of py-spy samples (raw format) whose stack holds each of :data:`SHARES`."""
    counts: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        total += int(n)
        for name, frame in SHARES.items():
            if frame in stack:
                counts[name] += int(n)
    return ", ".join(f"{name} {counts[name] / max(total, 1):.0%}" for name in SHARES)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=40_000)
    parser.add_argument(
        "--configs",
        default="asyncio:1000:-:-,uvloop:1000:-:-,uvloop:2000:16384:-,uvloop:1000:-:500",
    )
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--py-spy", action="store_true", help="profile each worker with py-spy")
    args = parser.parse_args()
    print(describe())
    x, y, files = load_rows(DATA)
    with tempfile.TemporaryDirectory(prefix="iotad-configs-") as name, broker(None) as bs:
        tmp = Path(name)
        bundle = find_compact_rf(REPO / "models") or train_bundle(tmp / "bundle", x, y, files)
        topics = new_topics(bs, args.partitions)
        asyncio.run(preload(bs, topics["flows"], single_messages(x, y, args.flows)))
        print(f"broker {bs}; bundle {bundle}; {args.flows:,} single-flow messages pre-loaded")
        for i, config in enumerate(args.configs.split(",")):
            values = dict(zip(SETTINGS, config.split(":"), strict=True))
            for key, value in values.items():  # read by load_settings in Worker
                if key != "BATCH_SIZE":
                    os.environ.pop(f"IOTAD_STREAM__{key}", None)
                    if value != "-":
                        os.environ[f"IOTAD_STREAM__{key}"] = value
            worker = Worker(bs, topics, bundle, int(values["BATCH_SIZE"]), tmp / f"state-{i}")
            spy, raw = None, tmp / f"spy-{i}.txt"
            try:
                worker.wait_up()
                if args.py_spy:
                    spy = subprocess.Popen(
                        [str(Path(sys.executable).parent / "py-spy"), "record", "-p",
                         str(worker.process.pid), "-o", str(raw), "--format", "raw", "-r", "40"],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    )  # fmt: skip
                seconds, counted = consume_backlog(worker, args.flows)
            finally:
                if spy is not None:
                    spy.send_signal(signal.SIGINT)
                    spy.wait(60)
                worker.stop()
            print(f"{config}: worker {counted / seconds:,.0f} flows/s", flush=True)
            if spy is not None:
                print(f"  py-spy: {spy_shares(raw)}")
        baseline = asyncio.run(
            run_baseline(bs, topics["flows"], topics["alerts"], bundle, batch_size=1000,
                         expected_flows=args.flows)
        )  # fmt: skip
        print(f"baseline {baseline.rate:,.0f} flows/s")


if __name__ == "__main__":
    main()
