"""The gateway baseline's cost in the worker: backlog throughput with it off and on, same run.

    .venv/bin/python bench/baseline_throughput.py [--flows 200000] [--single-flows 40000]
        [--formats batched,single] [--repeat 3] [--bootstrap HOST:PORT]

Per message format: pre-load a fresh flows topic with real CICIoT2023 rows (gateway
``gw-bench``), then let a fresh worker drain it with the baseline off, then one with it on
(recorded for ``gw-bench`` in its state dir: every flow is scored by the classifier *and* the
baseline), ``--repeat`` times interleaved, on the same backlog; medians and their ratio (goal
on/off >= 0.8). The baseline is learnt from the real benign rows (``iotad.baseline``); the
classifier and the measuring are bench/stream_throughput.py's.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from machine import describe
from replay_throughput import broker
from stream_throughput import (
    DATA,
    Messages,
    _now_ms,
    _spread,
    backlog_rate,
    bench_bundle,
    envelope_messages,
    load_rows,
    new_topics,
    preload,
    single_messages,
)

from iotad.schemas.labels import BENIGN_LABEL


def record_baseline(state: Path, baseline: Path) -> None:
    """Give a worker's state dir ``baseline`` as the gateway baseline of ``gw-bench``: copied
    under its ``baselines/`` (where the worker keeps those it learns itself, so no signature is
    asked for) and recorded in its ``baselines.json``."""
    import shutil

    from iotad.stream.baseline_state import BaselineStore
    from iotad.stream.baselines import load_gateway_baseline
    from iotad.stream.state import BundleRecord

    own = state / "baselines" / "gw-bench" / baseline.name
    shutil.copytree(baseline, own)
    loaded = load_gateway_baseline(own)
    BaselineStore(state).record(
        "gw-bench", BundleRecord(path=str(own), model=loaded.baseline.model,
                                 promoted_at_ms=_now_ms()),
    )  # fmt: skip


def learn_bench_baseline(
    x: np.ndarray, y: np.ndarray, tmp: Path, synthetic_benign: int = 0
) -> Path:
    """A baseline for ``gw-bench`` learnt from the real benign rows (as the product would), or
    from ``synthetic_benign`` flows of the demo's generator (enough rows to fill the default
    256 reference flows: the cost of a baseline grows with them)."""
    from iotad.baseline import BaselineConfig, learn_baseline
    from iotad.schemas.features import FeatureLayout

    if synthetic_benign:
        from iotad.demo.profiles import FlowProfiles, load_table

        rng = np.random.default_rng(0)
        benign = FlowProfiles(load_table()).sample(BENIGN_LABEL, synthetic_benign, rng)
        what = f"{synthetic_benign} SYNTHETIC benign flows (demo generator)"
    else:
        benign = x[y == BENIGN_LABEL].astype(np.float64)
        what = f"{len(benign)} real benign rows"
    dest, manifest = learn_baseline(
        benign, gateway_id="gw-bench", layout=FeatureLayout.CIC39, config=BaselineConfig(),
        source=what, dest_root=tmp / "baseline", version="bench",
    )  # fmt: skip
    print(f"baseline: {manifest.reference}, {manifest.method.reference_rows} reference rows, "
          f"k={manifest.method.k}, learnt from {what}")  # fmt: skip
    return dest


def baseline_comparison(
    args: argparse.Namespace, bootstrap: str, bundle: Path, source: Callable[[int], Messages],
    batched: bool, baseline: Path, tmp: Path,
) -> None:  # fmt: skip
    """Backlog throughput with the gateway baseline off and on, interleaved, same backlog."""
    count = args.flows if batched else args.single_flows
    batch_size = args.envelope_batch if batched else args.batch_size
    what = f"batched envelopes of {args.envelope} flows" if batched else "one flow per message"
    print(f"\n== baseline off vs on: {what}; batch_size {batch_size}; {args.partitions} partitions")
    topics = new_topics(bootstrap, args.partitions)
    messages, flows = asyncio.run(preload(bootstrap, topics["flows"], source(count)))
    print(f"pre-loaded {flows:,} flows in {messages:,} messages")
    off: list[float] = []
    on: list[float] = []
    for _ in range(args.repeat):
        off.append(backlog_rate(args, bootstrap, topics, bundle, batch_size, flows, tmp)[0])
        prepare = functools.partial(record_baseline, baseline=baseline)
        on.append(backlog_rate(args, bootstrap, topics, bundle, batch_size, flows, tmp,
                               prepare)[0])  # fmt: skip
    ratio = float(np.median(on) / np.median(off))
    print(f"baseline off: {_spread(off)} flows/s; on: {_spread(on)} flows/s over {args.repeat} "
          f"interleaved runs each; ratio on/off (medians) {ratio:.2f} (goal >= 0.8: "
          f"{'met' if ratio >= 0.8 else 'MISSED'})")  # fmt: skip


def core_cpu(x: np.ndarray, y: np.ndarray, bundle: Path, baseline: Path, seconds: float) -> None:
    """The scoring core alone (``process_batch``), in this process: CPU seconds per flow with the
    baseline off and on, interleaved; CPU time is much less disturbed by other work than wall
    time on a shared machine."""
    import time

    from iotad.settings import StreamSettings
    from iotad.stream.baselines import load_gateway_baseline
    from iotad.stream.core import InboundMessage, ScoringOptions, process_batch
    from iotad.stream.loader import load_model

    # The bench's bundle is unsigned (models/ or trained here); the signature is checked per
    # load, never per flow.
    settings = StreamSettings(state_dir=Path(tempfile.mkdtemp()), allow_unsigned_bundles=True)
    model = load_model(bundle, settings).serving
    baselines = {"gw-bench": load_gateway_baseline(baseline).baseline}
    options = ScoringOptions(max_message_bytes=1 << 22, max_dead_letter_original_bytes=4096)
    formats = {
        "single": [
            InboundMessage(value, "flows", 0, i) for i, (_, value, _) in
            enumerate(single_messages(x, y, 1000))
        ],
        "batched": [
            InboundMessage(value, "flows", 0, i) for i, (_, value, _) in
            enumerate(envelope_messages(x, y, 4000, 500))
        ],
    }  # fmt: skip
    for name, messages in formats.items():
        flows = 1000 if name == "single" else 4000
        cpu: dict[str, list[float]] = {"off": [], "on": []}
        for _ in range(3):
            for mode, maps in (("off", None), ("on", baselines)):
                began, runs = time.process_time(), 0
                while time.process_time() - began < seconds:
                    process_batch(messages, model, options, now_ms=_now_ms(), baselines=maps)
                    runs += 1
                cpu[mode].append(runs * flows / (time.process_time() - began))
        off, on = float(np.median(cpu["off"])), float(np.median(cpu["on"]))
        print(f"core, {name}: off {_spread(cpu['off'])} flows per CPU-second, on "
              f"{_spread(cpu['on'])}; ratio on/off {on / off:.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=200_000, help="flows, batched run")
    parser.add_argument("--single-flows", type=int, default=40_000, help="flows, single run")
    parser.add_argument("--envelope", type=int, default=500, help="flows per envelope")
    parser.add_argument("--envelope-batch", type=int, default=4, help="batch_size, envelopes")
    parser.add_argument("--batch-size", type=int, default=1000, help="batch_size, single flows")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--formats", default="batched,single")
    parser.add_argument("--bootstrap", help="use this broker instead of starting one")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument(
        "--core-only", action="store_true",
        help="only the in-process core measurement (CPU time), no broker or worker",
    )  # fmt: skip
    parser.add_argument("--core-seconds", type=float, default=3.0)
    parser.add_argument(
        "--incidents", dest="no_incidents", action="store_false",
        help="run the incident agent in the worker too (default off: the baseline's cost alone)",
    )  # fmt: skip
    parser.add_argument(
        "--synthetic-benign", type=int, default=0,
        help="learn the baseline from this many generated benign flows (fills 256 references)",
    )  # fmt: skip
    args = parser.parse_args()
    args.score_inline = False
    print(describe())
    x, y, files = load_rows(args.data)
    print(f"data: {len(x):,} real CICIoT2023 rows, {len(np.unique(y))} labels, {len(files)} files")
    with tempfile.TemporaryDirectory(prefix="iotad-bench-") as name:
        tmp = Path(name)
        bundle = bench_bundle(x, y, files, tmp)
        baseline = learn_bench_baseline(x, y, tmp, args.synthetic_benign)
        core_cpu(x, y, bundle, baseline, args.core_seconds)
        if not args.core_only:
            measure_worker(args, x, y, bundle, baseline, tmp)


def measure_worker(
    args: argparse.Namespace, x: np.ndarray, y: np.ndarray, bundle: Path, baseline: Path,
    tmp: Path,
) -> None:  # fmt: skip
    """The worker off vs on, on a broker (started here unless ``--bootstrap``)."""
    with broker(args.bootstrap) as bs:
        print(f"broker: {bs}")
        for fmt in args.formats.split(","):
            batched = fmt.strip() == "batched"

            def source(n: int, batched: bool = batched) -> Messages:
                if batched:
                    return envelope_messages(x, y, n, args.envelope)
                return single_messages(x, y, n)

            baseline_comparison(args, bs, bundle, source, batched, baseline, tmp)


if __name__ == "__main__":
    main()
