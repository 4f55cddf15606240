"""Stream worker throughput and latency on a real broker, against a hand-written baseline.

    .venv/bin/python bench/stream_throughput.py [--flows 300000] [--single-flows 60000]
        [--envelope 500] [--partitions 4] [--latency-s 8] [--bootstrap HOST:PORT]
        [--formats batched,single] [--profile]

For each message format (batched ``iotad.flow_batch.v1`` envelopes, then one flow per message):

1. pre-load a fresh flows topic with real CICIoT2023 rows (looped to the wanted count);
2. start ``iotad stream worker`` (a subprocess) and time how fast it consumes the backlog
   (``iotad_flows_in_total`` on its /metrics, polled every 0.1 s, first change to last);
3. with the worker caught up, send flows paced at half that rate for ``--latency-s`` and measure
   event-to-alert latency as an alert consumer sees it (receive time - event_time_ms), and as
   the worker's own histogram (event time to broker acknowledgement of the alert) has it;
4. run the baseline (bench/stream_baseline.py) over the same backlog in a fresh group.

The bundle is a compact Random Forest: taken from ``models/`` when the offline pipeline left an
``rf-compact`` bundle there, otherwise trained here on the real rows (sklearn RF, 30 trees,
depth 12 → skl2onnx → iotad bundle). ``--profile`` re-runs each backlog phase under cProfile
(scoring inline so the profile sees it) and prints where the time goes.
The gateway baseline's cost (off vs on, same backlog): bench/baseline_throughput.py.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from machine import describe
from replay_throughput import broker
from stream_baseline import run_baseline

from iotad.broker import ensure_topics, free_port
from iotad.demo.scrape import fetch
from iotad.schemas.bundle import load_bundle, open_session, write_bundle
from iotad.schemas.features import FEATURES_39
from iotad.schemas.labels import (
    BENIGN_LABEL,
    Task,
    category_of_class,
)
from iotad.schemas.manifest import BundleManifest, CanaryFile
from iotad.schemas.transform import FeatureTransform
from iotad.settings import child_environment, load_settings
from iotad.stream.captures import read_captures
from iotad.stream.replay.sources import discover

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared/data/ciciot2023"
IOTAD = Path(sys.executable).parent / "iotad"
Messages = Iterator[tuple[bytes, bytes, int]]  # key, value, flows in the message


# --- data and bundle ---------------------------------------------------------------------------


def load_rows(data: Path) -> tuple[np.ndarray, np.ndarray, list[Path]]:
    """Every valid real row of the per-class files and the MERGED sample, with labels."""
    files = [data / "per_class", data / "ciciot2023_merged39_sample.csv.gz"]
    x, y, _ = read_captures(files)
    return x, y, discover(files)


def find_compact_rf(models: Path) -> Path | None:
    """The newest ``rf-compact`` bundle for the 39-feature layout under ``models/``."""
    found = []
    for path in models.rglob("manifest.json"):
        try:
            manifest = BundleManifest.model_validate_json(path.read_bytes())
        except ValueError:
            continue
        if manifest.model_kind == "rf-compact" and manifest.input.layout.value == "cic39":
            found.append((manifest.created_at, path.parent))
    return max(found)[1] if found else None


def train_bundle(dest: Path, x: np.ndarray, y: np.ndarray, files: list[Path]) -> Path:
    """A compact RF on the first 80 % of each label's rows (contiguous: no row-level leak)."""
    import onnxruntime as ort
    from skl2onnx import to_onnx
    from sklearn.ensemble import RandomForestClassifier

    train = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        train[rows[: max(1, int(len(rows) * 0.8))]] = True
    transform = FeatureTransform.fit(x[train], FEATURES_39, FEATURES_39)
    model = RandomForestClassifier(n_estimators=30, max_depth=12, n_jobs=2, random_state=42)
    model.fit(transform.apply(x[train].astype(np.float32)), y[train])
    sample = transform.apply(x[:1].astype(np.float32))
    onnx_model = to_onnx(model, sample, options={id(model): {"zipmap": False}}, target_opset=17)
    classes = [str(c) for c in model.classes_]
    accuracy = float((model.predict(transform.apply(x[~train])) == y[~train]).mean())
    probe = x[~train][:200].astype(np.float32)
    native = model.predict_proba(transform.apply(probe))
    session = ort.InferenceSession(onnx_model.SerializeToString())
    feed = {onnx_model.graph.input[0].name: transform.apply(probe)}
    (onnx_scores,) = session.run(["probabilities"], feed)
    agree = np.flatnonzero(np.abs(native - onnx_scores).max(axis=1) < 1e-5)[:5]
    canary = CanaryFile(
        rows=probe[agree].astype(float).tolist(),
        expected_classes=[classes[i] for i in native[agree].argmax(axis=1)],
        expected_scores=native[agree].astype(float).tolist(),
    )
    digest = hashlib.sha256(b"".join(hashlib.sha256(f.read_bytes()).digest() for f in files))
    scaler, mask = transform.to_files()
    fields: dict[str, Any] = {
        "name": "bench-ciciot2023-34-rf-compact",
        "version": datetime.now(UTC).strftime("%Y%m%d%H%M%S"),
        "created_at": datetime.now(UTC),
        "task": 34,
        "model_kind": "rf-compact",
        "classes": classes,
        "category_map": "study",
        "class_categories": {c: category_of_class(c, Task.LABEL, "study").value for c in classes},
        "input": {
            "layout": "cic39",
            "raw_features": list(FEATURES_39),
            "onnx_input": onnx_model.graph.input[0].name,
        },
        "output": {"scores": "probabilities", "kind": "probability"},
        "decision": {"benign_classes": [c for c in classes if c == BENIGN_LABEL]},
        "opset": 17,
        "metrics": {
            "protocol": "holdout",
            "accuracy": accuracy,
            "macro_f1": 0.0,  # not computed: the bench needs a realistic model, not its score
            "test_rows": int((~train).sum()),
        },
        "training": {
            "protocol": "holdout",
            "data_fingerprint": digest.hexdigest(),
            "training_manifest_sha256": hashlib.sha256(b"bench rf 30 trees depth 12").hexdigest(),
            "labels_present": {c: int((y[train] == c).sum()) for c in classes},
            "train_rows": int(train.sum()),
            "seed": 42,
            "code_version": "bench",
        },
        "parity": {
            "rows": len(probe),
            "class_agreement": float((native.argmax(1) == onnx_scores.argmax(1)).mean()),
            "max_abs_score_diff": float(np.abs(native - onnx_scores).max()),
            "atol": 1e-4,
            "passed": True,
        },
    }
    write_bundle(
        dest,
        manifest_fields=fields,
        onnx_model=onnx_model.SerializeToString(),
        scaler=scaler,
        feature_mask=mask,
        canary=canary,
        metrics={"note": "benchmark bundle", "accuracy_last_20_percent": accuracy},
    )
    open_session(load_bundle(dest))
    return dest


# --- messages ----------------------------------------------------------------------------------


def _now_ms() -> int:
    return int(time.time() * 1000)


def single_messages(x: np.ndarray, y: np.ndarray, count: int) -> Messages:
    """``count`` single-flow messages over the rows (looped), stamped when built."""
    for i in range(count):
        r = i % len(x)
        device = f"dev-{i % 64:02d}"
        document = {
            "schema": "iotad.flow.v1",
            "gateway_id": "gw-bench",
            "device_id": device,
            "event_time_ms": _now_ms(),
            "flow_id": f"f{i}",
            "label": str(y[r]),
            "features": dict(zip(FEATURES_39, x[r].tolist(), strict=True)),
        }
        yield device.encode(), orjson.dumps(document), 1


def envelope_messages(x: np.ndarray, y: np.ndarray, count: int, size: int) -> Messages:
    """Batched envelopes of ``size`` flows, ``count`` flows in all, stamped when built."""
    for n in range(0, count, size):
        k = min(size, count - n)
        rows = np.arange(n, n + k) % len(x)
        document = {
            "schema": "iotad.flow_batch.v1",
            "gateway_id": "gw-bench",
            "count": k,
            "device_id": [f"dev-{(n + j) % 64:02d}" for j in range(k)],
            "event_time_ms": [_now_ms()] * k,
            "flow_id": [f"f{n + j}" for j in range(k)],
            "label": [str(v) for v in y[rows]],
            "features": {name: x[rows, c].tolist() for c, name in enumerate(FEATURES_39)},
        }
        yield f"env-{n // size % 64}".encode(), orjson.dumps(document), k


def _producer(bootstrap: str, linger_ms: int) -> Any:
    from aiokafka import AIOKafkaProducer

    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks=1,
        linger_ms=linger_ms,
        max_batch_size=1024 * 1024,
        max_request_size=4 * 1024 * 1024,
    )


async def preload(bootstrap: str, topic: str, messages: Messages) -> tuple[int, int]:
    """Produce every message and wait for the broker; (messages, flows)."""
    producer = _producer(bootstrap, linger_ms=10)
    await producer.start()
    sent = flows = 0
    try:
        for key, value, k in messages:
            await producer.send(topic, value, key=key)
            sent, flows = sent + 1, flows + k
        await producer.flush()
    finally:
        await producer.stop()
    return sent, flows


# --- the worker ----------------------------------------------------------------------------------


class Worker:
    """``iotad stream worker`` as a subprocess with its own topics, group and web port."""

    def __init__(
        self,
        bootstrap: str,
        topics: dict[str, str],
        bundle: Path,
        batch_size: int,
        state_dir: Path,
        profile: Path | None = None,
        inline: bool = False,
        incidents: bool = True,
        partitions: int = 4,
    ) -> None:
        self.port = free_port()
        stream: dict[str, object] = {
            "app_id": f"bench-{uuid.uuid4().hex[:8]}",
            "state_dir": str(state_dir),
            "web_port": self.port,
            "batch_size": batch_size,
            # The benchmark's bundle is unsigned (found under models/ or trained here); the
            # signature is checked once per load, never per flow, so it costs no throughput.
            "allow_unsigned_bundles": True,
        }
        if inline or profile is not None:
            stream["score_in_thread"] = False
        settings = load_settings(
            overrides={
                "kafka": {"bootstrap_servers": bootstrap},
                "topics": {
                    "flows": topics["flows"],
                    "alerts": topics["alerts"],
                    "dead_letters": topics["dlq"],
                    "models": topics["models"],
                    "incidents": topics["incidents"],
                    "partitions": partitions,
                },
                "stream": stream,
                "incidents": {"enabled": incidents},
                "log_level": "WARNING",
            }
        )
        command = [str(IOTAD), "stream", "worker", "--bundle", str(bundle)]
        if profile is not None:
            command = [sys.executable, "-m", "cProfile", "-o", str(profile), *command]
        self.process = subprocess.Popen(command, env=child_environment(settings))

    def get(self, path: str) -> str | None:
        """The body of ``GET path`` on the worker's web port, or None if it does not answer."""
        answer = fetch(self.port, path, timeout_s=2)
        return answer[1] if answer is not None else None

    def wait_up(self, timeout: float = 120.0) -> None:
        """Until the web port answers."""
        self._wait("/healthz", lambda status: True, timeout, "come up")

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Until ``/readyz`` answers 200 (model loaded, partitions assigned)."""
        self._wait("/readyz", lambda status: status == 200, timeout, "become ready")

    def _wait(self, path: str, good: Callable[[int], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited with {self.process.returncode}")
            answer = fetch(self.port, path, timeout_s=2)
            if answer is not None and good(answer[0]):
                return
            time.sleep(0.1)
        raise RuntimeError(f"worker did not {what}")

    def flows_in(self) -> int:
        """``iotad_flows_in_total`` now."""
        match = re.search(r"^iotad_flows_in_total (\S+)$", self.get("/metrics") or "", re.M)
        return int(float(match.group(1))) if match else 0

    def histogram(self, name: str) -> dict[float, float]:
        """Cumulative counts of histogram ``name`` by upper bound."""
        pattern = rf'^{name}_bucket\{{le="([^"]+)"\}} (\S+)$'
        return {
            float(le): float(count)
            for le, count in re.findall(pattern, self.get("/metrics") or "", re.M)
        }

    def stop(self) -> None:
        """SIGTERM, then wait."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def consume_backlog(worker: Worker, flows: int, timeout: float = 300.0) -> tuple[float, int]:
    """Seconds from the first flow counted to the last, and the flows counted in that span."""
    deadline = time.monotonic() + timeout
    first: tuple[float, int] | None = None
    while time.monotonic() < deadline:
        n, now = worker.flows_in(), time.monotonic()
        if first is None and n > 0:
            first = (now, n)
        if first is not None and n >= flows:
            return now - first[0], n - first[1]
        time.sleep(0.1)
    raise RuntimeError(f"worker counted {worker.flows_in()} of {flows} flows in {timeout}s")


def p99_bound(before: dict[float, float], after: dict[float, float]) -> float | None:
    """The histogram bucket bound holding the 99th percentile of observations in between."""
    counts = sorted((le, after[le] - before.get(le, 0.0)) for le in after)
    total = counts[-1][1] if counts else 0.0
    return next((le for le, n in counts if n >= 0.99 * total), None) if total else None


async def paced_latency(
    bootstrap: str, topics: dict[str, str], messages: Messages, flows_per_s: float, seconds: float
) -> np.ndarray:
    """Send at ``flows_per_s`` for ``seconds``; event-to-alert latencies (s) seen by a consumer."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topics["alerts"], bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="latest"
    )
    producer = _producer(bootstrap, linger_ms=1)
    await consumer.start()
    await producer.start()
    while not consumer.assignment():
        await asyncio.sleep(0.05)
    for tp in consumer.assignment():
        await consumer.position(tp)
    started_ms = _now_ms()
    latencies: list[float] = []
    stop = asyncio.Event()

    async def receive() -> None:
        while not stop.is_set():
            fetched = await consumer.getmany(timeout_ms=100)
            now = time.time() * 1000
            for records in fetched.values():
                for record in records:
                    event_ms = orjson.loads(record.value)["event_time_ms"]
                    if event_ms >= started_ms:
                        latencies.append((now - event_ms) / 1000)

    receiver = asyncio.create_task(receive())
    begin = time.monotonic()
    sent = 0
    for key, value, k in messages:
        delay = begin + sent / flows_per_s - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await producer.send(topics["flows"], value, key=key)
        sent += k
        if time.monotonic() - begin >= seconds:
            break
    await producer.flush()
    await asyncio.sleep(3.0)
    stop.set()
    await receiver
    await producer.stop()
    await consumer.stop()
    return np.asarray(latencies)


def new_topics(bootstrap: str, partitions: int) -> dict[str, str]:
    """Fresh flows/alerts/dead-letter/models/incidents topics for one phase."""
    tag = f"bench.{uuid.uuid4().hex[:8]}"
    topics = {k: f"{tag}.{k}" for k in ("flows", "alerts", "dlq", "models", "incidents")}
    ensure_topics(
        bootstrap, {name: 1 if k == "models" else partitions for k, name in topics.items()}
    )
    return topics


def _spread(values: list[float]) -> str:
    """``median (min-max)`` of rates, for repeated runs on a shared, noisy machine."""
    return f"{np.median(values):,.0f} ({min(values):,.0f}-{max(values):,.0f})"


def backlog_rate(
    args: argparse.Namespace, bootstrap: str, topics: dict[str, str], bundle: Path,
    batch_size: int, flows: int, tmp: Path, prepare: Callable[[Path], None] | None = None,
) -> tuple[float, float | None]:  # fmt: skip
    """One worker (a fresh consumer group) drains the backlog: flows/s and loop-lag p99 bound.

    ``prepare`` is called with the worker's state dir before it starts (e.g. to record a
    gateway baseline there, bench/baseline_throughput.py).
    """
    state = tmp / f"state-{uuid.uuid4().hex[:6]}"
    if prepare is not None:
        prepare(state)
    worker = Worker(bootstrap, topics, bundle, batch_size, state, inline=args.score_inline,
                    incidents=not args.no_incidents, partitions=args.partitions)  # fmt: skip
    try:
        worker.wait_up()
        before = worker.histogram("iotad_event_loop_lag_seconds")
        seconds, counted = consume_backlog(worker, flows)
        lag = p99_bound(before, worker.histogram("iotad_event_loop_lag_seconds"))
    finally:
        worker.stop()
    return counted / seconds, lag


def latency_run(
    args: argparse.Namespace, bootstrap: str, bundle: Path, source: Callable[[int], Messages],
    batch_size: int, rate: float, tmp: Path,
) -> None:  # fmt: skip
    """A caught-up worker on fresh topics; flows paced at ``rate``; latency as seen by both."""
    topics = new_topics(bootstrap, args.partitions)
    worker = Worker(bootstrap, topics, bundle, batch_size, tmp / f"state-{uuid.uuid4().hex[:6]}",
                    inline=args.score_inline, incidents=not args.no_incidents,
                    partitions=args.partitions)  # fmt: skip
    try:
        worker.wait_ready()
        before = worker.histogram("iotad_event_to_alert_seconds")
        latencies = asyncio.run(
            paced_latency(bootstrap, topics, source(10**9), rate, args.latency_s)
        )
        worker_p99 = p99_bound(before, worker.histogram("iotad_event_to_alert_seconds"))
    finally:
        worker.stop()
    p50, p99 = np.percentile(latencies, [50, 99]) * 1000 if len(latencies) else (np.nan, np.nan)
    print(
        f"latency at {rate:,.0f} flows/s (half the median sustained rate), {len(latencies):,} "
        f"alerts seen by a consumer: p50 {p50:.0f} ms, p99 {p99:.0f} ms; the worker's own "
        f"histogram (event time -> alert acknowledged): p99 <= {worker_p99} s (goal p99 <= 250 ms)"
    )


def run_format(
    args: argparse.Namespace, bootstrap: str, bundle: Path, source: Callable[[int], Messages],
    batched: bool, tmp: Path,
) -> None:  # fmt: skip
    """Backlog throughput (repeated), paced latency and the baseline for one message format."""
    count = args.flows if batched else args.single_flows
    batch_size = args.envelope_batch if batched else args.batch_size
    what = f"batched envelopes of {args.envelope} flows" if batched else "one flow per message"
    print(f"\n== {what}; worker batch_size {batch_size} messages; {args.partitions} partitions")
    topics = new_topics(bootstrap, args.partitions)
    started = time.monotonic()
    messages, flows = asyncio.run(preload(bootstrap, topics["flows"], source(count)))
    print(
        f"pre-loaded {flows:,} flows in {messages:,} messages in {time.monotonic() - started:.1f}s"
    )
    where = "inline" if args.score_inline else "in a thread"
    runs = [backlog_rate(args, bootstrap, topics, bundle, batch_size, flows, tmp)
            for _ in range(args.repeat)]  # fmt: skip
    rates = [rate for rate, _ in runs]
    print(f"worker:   {_spread(rates)} flows/s sustained over {args.repeat} runs; event-loop lag "
          f"p99 <= {max(lag or 0 for _, lag in runs)} s (scoring {where})")  # fmt: skip
    baselines = [
        asyncio.run(run_baseline(bootstrap, topics["flows"], topics["alerts"], bundle,
                                 batch_size=batch_size, expected_flows=flows)).rate
        for _ in range(args.repeat)
    ]  # fmt: skip
    print(f"baseline: {_spread(baselines)} flows/s over {args.repeat} runs")
    if not batched:
        noop = [faust_noop_rate(bootstrap, topics["flows"], messages) for _ in range(args.repeat)]
        print(f"faust alone (a no-op agent: take, ack, commit): {_spread(noop)} msgs/s")
    goal = 50_000 if batched else 10_000
    rate = float(np.median(rates))
    print(
        f"ratio worker/baseline (medians): {rate / float(np.median(baselines)):.2f} (goal >= 0.7); "
        f"worker >= {goal:,} flows/s: {'met' if rate >= goal else 'MISSED'}"
    )
    latency_run(args, bootstrap, bundle, source, batch_size, rate / 2, tmp)
    if args.profile:
        profile(args, bootstrap, bundle, source(count), flows, batch_size, tmp)


def faust_noop_rate(bootstrap: str, topic: str, count: int) -> float:
    """Messages/s of a Faust agent that only takes, acks and commits (no decode, no model):
    the ceiling Faust itself sets for one-flow-per-message input on this machine."""
    command = [sys.executable, __file__, "--noop-agent", bootstrap, topic, str(count)]
    output = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    return float(re.findall(r"(\d+)\s*$", output.stdout)[-1])  # the terminal codes Faust adds


def noop_agent(bootstrap: str, topic: str, count: int) -> None:
    """Run the no-op agent until ``count`` messages were acked; print messages/s."""
    import faust

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory() as datadir:
        app = faust.App(
            f"bench-noop-{uuid.uuid4().hex[:8]}", broker=f"kafka://{bootstrap}", loop=loop,
            key_serializer="raw", value_serializer="raw", web_enabled=False,
            topic_disable_leader=True, datadir=datadir, consumer_auto_offset_reset="earliest",
            stream_wait_empty=False,
        )  # fmt: skip
        seen = {"n": 0, "t0": 0.0}

        async def drain(stream: Any) -> None:
            async for events in stream.noack_take(1000, within=0.05):
                seen["t0"] = seen["t0"] or time.perf_counter()
                for event in events:
                    await stream.ack(event)
                await app.consumer.commit()
                seen["n"] += len(events)
                if seen["n"] >= count:
                    print(f"{seen['n'] / (time.perf_counter() - seen['t0']):.0f}", flush=True)
                    os._exit(0)

        app.agent(app.topic(topic, key_type=bytes, value_type=bytes))(drain)
        faust.Worker(app, loop=loop, override_logging=False, redirect_stdouts=False,
                     quiet=True).execute_from_commandline()  # fmt: skip


def profile(
    args: argparse.Namespace, bootstrap: str, bundle: Path, messages: Messages, flows: int,
    batch_size: int, tmp: Path,
) -> None:  # fmt: skip
    """Re-run the backlog phase under cProfile (scoring inline) and print the top functions."""
    import pstats

    topics = new_topics(bootstrap, args.partitions)
    asyncio.run(preload(bootstrap, topics["flows"], messages))
    out = tmp / f"worker-{uuid.uuid4().hex[:6]}.prof"
    worker = Worker(bootstrap, topics, bundle, batch_size, tmp / out.stem, profile=out,
                    partitions=args.partitions)  # fmt: skip
    try:
        worker.wait_up()
        seconds, counted = consume_backlog(worker, flows)
    finally:
        worker.stop()
    print(
        f"\n-- cProfile of the worker, scoring inline ({counted / seconds:,.0f} flows/s profiled)"
    )
    stats = pstats.Stats(str(out))
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(r"iotad|faust/streams|faust/transport/consumer", 15)


def bench_bundle(x: np.ndarray, y: np.ndarray, files: list[Path], tmp: Path) -> Path:
    """The compact forest under ``models/``, else one trained here (and say which)."""
    bundle = find_compact_rf(REPO / "models")
    if bundle is not None:
        print(f"bundle: {bundle} (rf-compact from the offline pipeline)")
        return bundle
    started = time.monotonic()
    bundle = train_bundle(tmp / "bundle", x, y, files)
    m = load_bundle(bundle).manifest
    print(
        f"bundle: no rf-compact bundle under models/, so trained here in "
        f"{time.monotonic() - started:.0f}s: sklearn RF, 30 trees, depth 12, "
        f"{len(m.classes)} classes, 39 features; accuracy {m.metrics.accuracy:.3f} on "
        "each label's last 20 % of rows"
    )
    return bundle


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--noop-agent":
        noop_agent(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=300_000, help="flows, batched run")
    parser.add_argument("--single-flows", type=int, default=60_000, help="flows, single run")
    parser.add_argument("--envelope", type=int, default=500, help="flows per envelope")
    parser.add_argument(
        "--envelope-batch",
        type=int,
        default=4,
        help="batch_size, envelopes (4 x 500 flows: best p99 measured)",
    )
    parser.add_argument("--batch-size", type=int, default=1000, help="batch_size, single flows")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--latency-s", type=float, default=8.0)
    parser.add_argument("--repeat", type=int, default=3, help="backlog runs per format")
    parser.add_argument("--formats", default="batched,single")
    parser.add_argument("--bootstrap", help="use this broker instead of starting one")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--score-inline", action="store_true", help="score on the event loop, not in a thread"
    )
    parser.add_argument(
        "--no-incidents", action="store_true", help="run the worker without its incident agent"
    )
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    print(describe())
    x, y, files = load_rows(args.data)
    print(f"data: {len(x):,} real CICIoT2023 rows, {len(np.unique(y))} labels, {len(files)} files")
    with tempfile.TemporaryDirectory(prefix="iotad-bench-") as name, broker(args.bootstrap) as bs:
        tmp = Path(name)
        print(f"broker: {bs}")
        bundle = bench_bundle(x, y, files, tmp)
        for fmt in args.formats.split(","):
            batched = fmt.strip() == "batched"

            def source(n: int, batched: bool = batched) -> Messages:
                if batched:
                    return envelope_messages(x, y, n, args.envelope)
                return single_messages(x, y, n)

            run_format(args, bs, bundle, source, batched, tmp)


if __name__ == "__main__":
    main()
