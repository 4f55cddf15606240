"""Fuzzing at volume: 100,000 generated and mutated messages through the real worker.

The corpus (tests/support/fuzz.py) is 2,000 messages hypothesis draws of every bad kind plus
valid flows and envelopes, mutated into 100,000 (about half near-valid mutants). Every message
gets a key of its own, so the output producer's key cache churns too. Afterwards:

* every message is accounted for: each offset of the flows topic has its alerts (the test
  bundle has no benign class, so every scored flow raises one) or its dead letters, each with a
  reason, and nothing else came out;
* the worker's result equals the scoring core's on the same bytes, message by message and row
  by row (what was scored, what was refused, with which code), checked on every fourth offset
  of each partition (the core costs as much as the worker; a quarter keeps the test near a
  minute and a half on two cores);
* no message hit a defect (``internal_error``), and the worker is the same process throughout
  and never logged a failed batch.
"""

from __future__ import annotations

import random
import signal
from collections import Counter
from pathlib import Path

import orjson
import pytest
from support.bundles import make_tiny_bundle, synthetic_rows
from support.fuzz import hypothesis_corpus, mutated_corpus
from support.kafka import IsolatedSettings, produce, read_records
from support.worker import WorkerProcess, free_port

from iotad.schemas.features import FeatureLayout
from iotad.schemas.labels import Task
from iotad.schemas.messages import DeadLetterCode
from iotad.settings import Settings
from iotad.stream.core import InboundMessage, ScoringOptions, process_batch
from iotad.stream.core.limits import StructureLimits
from iotad.stream.loader import load_model

pytestmark = pytest.mark.kafka

CLASSES = ("DDoS", "Recon")
MESSAGES = 100_000
CHECKED = 4  # the core's own result is compared on offsets divisible by this
Where = tuple[int, int, int | None]  # partition, offset, index in the envelope


def _expected(
    records: list[tuple[int, int, bytes | None, bytes | None]], bundle: Path, settings: Settings
) -> tuple[set[Where], Counter[tuple[Where, str]]]:
    """What the scoring core makes of the same bytes: scored flows and dead letters."""
    stream = settings.stream
    model = load_model(bundle, stream).serving
    options = ScoringOptions(
        max_message_bytes=stream.max_message_bytes,
        max_dead_letter_original_bytes=stream.dead_letter_original_bytes,
        limits=StructureLimits(stream.max_nesting_depth, stream.max_array_length),
    )
    topic = settings.topics.flows
    messages = [InboundMessage(v, topic, p, o, k) for p, o, k, v in records if o % CHECKED == 0]
    scored: set[Where] = set()
    letters: Counter[tuple[Where, str]] = Counter()
    for start in range(0, len(messages), 2000):
        outcome = process_batch(messages[start : start + 2000], model, options, now_ms=1)
        for alert in outcome.alerts:
            source = orjson.loads(alert.value)["source"]
            scored.add((source["partition"], source["offset"], source["index"]))
        for d in outcome.dead_letters:
            letters[((d.source.partition, d.source.offset, d.index), d.code.value)] += 1
        assert outcome.scored == len(outcome.alerts)  # no benign class, threshold 0
    return scored, letters


def test_100k_fuzzed_messages_are_all_accounted_for_and_the_worker_never_restarts(
    isolated_settings: IsolatedSettings, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle"
    make_tiny_bundle(bundle, classes=CLASSES, task=Task.CATEGORY)
    settings = isolated_settings(
        partitions=2,
        log_level="ERROR",  # a warning per dead letter is 70,000 log lines; errors still show
        stream={"web_port": free_port(), "confidence_threshold": 0.0, "batch_size": 1000,
                "max_message_bytes": 8192, "max_batch_bytes": 256 * 1024,
                "max_array_length": 1000, "producer_key_cache_size": 64},
    )  # fmt: skip
    rows, _ = synthetic_rows(400, FeatureLayout.CIC39, CLASSES, seed=11)
    seeds = hypothesis_corpus(rows, 2000, max_array=settings.stream.max_array_length)
    corpus = mutated_corpus(seeds, MESSAGES, seed=20261204)
    rng = random.Random(5)
    keyed = [(f"k{i}-{rng.getrandbits(32)}".encode(), m) for i, m in enumerate(corpus)]
    bootstrap = settings.kafka.bootstrap_servers

    worker = WorkerProcess(settings, tmp_path / "worker.log", bundle=bundle)
    try:
        worker.wait_ready()
        pid = worker.process.pid
        for start in range(0, MESSAGES, 10_000):  # a busy machine acknowledges slowly
            chunk = keyed[start : start + 10_000]
            produce(bootstrap, settings.topics.flows, chunk, flush_timeout_s=180.0)
        worker.wait_metric("iotad_messages_in_total", MESSAGES, timeout_s=300)
        metrics = worker.metrics()
        assert worker.process.poll() is None and worker.process.pid == pid
    finally:
        assert worker.stop(signal.SIGTERM) == 0

    def total(name: str) -> int:
        return int(sum(v for (n, _), v in metrics.items() if n == name))

    n_alerts, n_letters = total("iotad_alerts_total"), total("iotad_dead_letters_total")
    assert total("iotad_messages_in_total") == MESSAGES
    assert total("iotad_flows_scored_total") == n_alerts
    sent = read_records(bootstrap, settings.topics.flows, expected=MESSAGES)
    alerts = read_records(bootstrap, settings.topics.alerts, expected=n_alerts)
    dead = read_records(bootstrap, settings.topics.dead_letters, expected=n_letters)
    assert (len(sent), len(alerts), len(dead)) == (MESSAGES, n_alerts, n_letters)

    scored: list[Where] = []
    for *_, value in alerts:
        source = orjson.loads(value or b"")["source"]
        scored.append((source["partition"], source["offset"], source["index"]))
    letters: Counter[tuple[Where, str]] = Counter()
    for *_, value in dead:
        letter = orjson.loads(value or b"")
        assert letter["error_message"], letter  # every dead letter says why
        source = letter["source"]
        letters[
            ((source["partition"], source["offset"], source["index"]), letter["error_code"])
        ] += 1
    assert len(set(scored)) == len(scored)  # each flow scored once

    accounted = {(p, o) for p, o, _ in scored} | {(p, o) for (p, o, _), _ in letters}
    assert accounted == {(p, o) for p, o, _, _ in sent}  # 100 % of the messages

    expected_scored, expected_letters = _expected(sent, bundle, settings)
    assert {w for w in scored if w[1] % CHECKED == 0} == expected_scored
    assert +Counter({k: n for k, n in letters.items() if k[0][1] % CHECKED == 0}) == (
        expected_letters
    )
    codes = Counter(code for _, code in letters.elements())
    assert codes[DeadLetterCode.INTERNAL_ERROR.value] == 0, "a message hit a worker defect"
    assert len(codes) >= 8 and len(scored) > MESSAGES // 10, codes  # the corpus is varied
    log = worker.log_path.read_text(errors="replace")
    assert "not acknowledged" not in log and "Traceback" not in log
