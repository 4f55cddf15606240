"""How long the local Kafka broker takes to start: cold (empty Maven cache) and warm.

    .venv/bin/python bench/broker_start.py [--warm-runs 3] [--skip-cold]

Cold: a temporary ``broker.home`` *and* a temporary Maven repository (``-Dmaven.repo.local``),
so every jar is downloaded from Maven Central. Warm: jars cached, fresh data dir (format + start),
then a restart on the formatted data dir. Each time is until the broker answers a metadata
request (what ``iotad kafka up`` waits for).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from machine import describe

from iotad.broker import free_port, resolve_jars, start_broker
from iotad.settings import BrokerSettings


def _settings(home: Path, data: Path, maven_repo: Path | None = None) -> BrokerSettings:
    return BrokerSettings(
        home=home,
        data_dir=data,
        maven_repo=maven_repo,
        port=free_port(),
        controller_port=free_port(),
        heap_mb=512,
        start_timeout_s=300,
    )


def _start_stop(settings: BrokerSettings) -> float:
    started = time.monotonic()
    broker = start_broker(settings, die_with_parent=True)
    elapsed = time.monotonic() - started
    broker.stop()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm-runs", type=int, default=3)
    parser.add_argument("--skip-cold", action="store_true")
    args = parser.parse_args()
    print(describe())
    with tempfile.TemporaryDirectory(prefix="iotad-bench-broker-") as tmp:
        root = Path(tmp)
        if not args.skip_cold:
            cold = _settings(root / "home", root / "cold-data", maven_repo=root / "m2")
            started = time.monotonic()
            resolve_jars(cold)
            resolved = time.monotonic() - started
            first = _start_stop(cold)
            print(
                f"cold start (empty Maven cache): {resolved + first:.1f}s "
                f"= Maven download {resolved:.1f}s + format and start {first:.1f}s"
            )
        warm_home = root / "home" if not args.skip_cold else BrokerSettings().home
        fresh = [
            _start_stop(_settings(warm_home, root / f"warm-{i}")) for i in range(args.warm_runs)
        ]
        again = _settings(warm_home, root / "warm-0")
        restarts = [_start_stop(again) for _ in range(args.warm_runs)]
        print(
            f"warm start (jars cached, new data dir): median {statistics.median(fresh):.1f}s "
            f"over {len(fresh)} runs ({', '.join(f'{t:.1f}' for t in fresh)})"
        )
        print(
            f"warm restart (formatted data dir): median {statistics.median(restarts):.1f}s "
            f"over {len(restarts)} runs ({', '.join(f'{t:.1f}' for t in restarts)})"
        )


if __name__ == "__main__":
    main()
