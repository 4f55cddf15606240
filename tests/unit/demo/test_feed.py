"""The synthetic feed and the bad messages, through the worker's own scoring core."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter

import orjson
import pytest
from support.sinks import MemorySink

from iotad.demo.bad_input import BAD_MESSAGE_TIMES, bad_messages
from iotad.demo.feed import TICK_S, FeedPlan, FeedProgress, LabelCountingSink, SyntheticFeed
from iotad.demo.hosts import WardAddresses
from iotad.demo.profiles import FlowProfiles
from iotad.demo.scenario import GATEWAY_ID, Scenario
from iotad.schemas.features import FEATURES_39
from iotad.schemas.labels import BENIGN_LABEL
from iotad.schemas.messages import Flow, FlowBatch
from iotad.stream.core import InboundMessage, ScoringOptions, ServingModel, process_batch

OPTIONS = ScoringOptions(max_message_bytes=1024 * 1024, max_dead_letter_original_bytes=4096)


def _inbound(messages: list[tuple[bytes, bytes, int]]) -> list[InboundMessage]:
    return [
        InboundMessage(value, "flows", 0, offset, key)
        for offset, (key, value, _) in enumerate(messages)
    ]


def test_each_bad_message_gets_its_dead_letter_code(tiny_model: ServingModel) -> None:
    bad = bad_messages(FEATURES_39, [1.0] * len(FEATURES_39), 1_795_718_400_000)
    assert len(bad) == len(BAD_MESSAGE_TIMES)
    outcome = process_batch(
        _inbound([(b"k", payload, 0) for _, payload in bad]), tiny_model, OPTIONS, now_ms=1
    )
    assert outcome.scored == 0
    assert [d.code for d in outcome.dead_letters] == [code for code, _ in bad]


def test_the_synthetic_feed_scores_cleanly_and_counts_what_it_sent(
    profiles: FlowProfiles, tiny_model: ServingModel
) -> None:
    plan = FeedPlan(duration_s=1.0, rate=400, batch=20, seed=3)
    feed = SyntheticFeed(profiles, Scenario(), plan)
    sink, progress = MemorySink(), FeedProgress()
    asyncio.run(feed.run(sink, progress, threading.Event()))

    assert progress.queued_flows == 400 == sink.delivered_flows
    assert sum(progress.bad.values()) == len(BAD_MESSAGE_TIMES)
    assert progress.stopped_by == "1s of feed"
    flows = [m for m in sink.messages if m[2]]
    for key, value, count in flows:
        batch = FlowBatch.model_validate_json(value)
        assert batch.gateway_id == GATEWAY_ID and batch.count == count <= 20
        assert set(batch.device_id) == {key.decode()}  # one device per envelope
    labels = Counter(
        label for _, value, n in flows for label in (orjson.loads(value)["label"] or [])
    )
    assert labels == progress.by_label and labels[BENIGN_LABEL] > 200
    outcome = process_batch(_inbound(sink.messages), tiny_model, OPTIONS, now_ms=1)
    assert outcome.scored == 400
    assert len(outcome.dead_letters) == len(BAD_MESSAGE_TIMES)


class _StopAfter(MemorySink):
    """Sets ``stop`` once it holds ``flows`` flows (an event, not a timer)."""

    def __init__(self, flows: int, stop: threading.Event) -> None:
        super().__init__()
        self.flows, self.stop = flows, stop

    async def send(self, key: bytes, value: bytes, flows: int) -> None:
        await super().send(key, value, flows)
        if self.delivered_flows >= self.flows:
            self.stop.set()


def test_single_messages_and_the_stop_signal(profiles: FlowProfiles) -> None:
    plan = FeedPlan(duration_s=5.0, rate=100, batch=0, seed=1)
    feed = SyntheticFeed(profiles, Scenario(), plan)
    stop = threading.Event()
    sink, progress = _StopAfter(25, stop), FeedProgress()
    asyncio.run(feed.run(sink, progress, stop))
    assert progress.stopped_by == "stop requested"
    # the feed notices the stop at its next tick: the flows of the tick that crossed 25
    assert 25 <= progress.queued_flows <= 25 + plan.rate * TICK_S
    flows = [Flow.model_validate_json(v) for _, v, n in sink.messages if n]
    assert len(flows) == progress.queued_flows
    assert len({f.flow_id for f in flows}) == len(flows)
    assert all(len(f.features) == len(FEATURES_39) for f in flows)
    addresses = WardAddresses()
    for f in flows:  # the first stretch is benign: a device and its server, either way round
        own, server = addresses.of(f.device_id), addresses.server_of(f.device_id)
        assert (f.src_ip, f.dst_ip) in {(own, server), (server, own)}


def test_the_feed_refuses_a_scenario_the_table_cannot_imitate(profiles: FlowProfiles) -> None:
    from iotad.demo.scenario import Segment

    segment = Segment(
        "odd", 0.0, 1.0, (("DDoS-SlowLoris", 1.0),), 0.5, ("d",), attacker="192.0.2.1"
    )
    scenario = Scenario((segment,))
    with pytest.raises(ValueError, match="DDoS-SlowLoris"):
        SyntheticFeed(profiles, scenario, FeedPlan(1.0, 10, 0, 0))


def test_label_counting_sink_reads_single_and_batched_labels() -> None:
    inner, progress = MemorySink(), FeedProgress()
    sink = LabelCountingSink(inner, progress)
    single = orjson.dumps({"label": "XSS"})
    batch = orjson.dumps({"label": ["XSS", None, "BenignTraffic"]})
    asyncio.run(sink.send(b"k", single, 1))
    asyncio.run(sink.send(b"k", batch, 3))
    assert progress.by_label == Counter({"XSS": 2, "unlabelled": 1, "BenignTraffic": 1})
    assert sink.delivered_flows == 4 == progress.queued_flows


def test_burst_flows_carry_the_attacker_and_victim(profiles: FlowProfiles) -> None:
    scenario = Scenario()
    feed = SyntheticFeed(profiles, scenario, FeedPlan(1.0, 10, 0, 5))
    ddos = scenario.segment_at(0.1)
    flows = [f for f in feed.flows(0.1, 400) if f.label != BENIGN_LABEL]
    assert flows and {f.src_ip for f in flows} == {ddos.attacker}
    assert {f.dst_ip for f in flows} == {feed.addresses.of(d) for d in ddos.devices}
    assert {f.device_id for f in flows} == set(ddos.devices)
