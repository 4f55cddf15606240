"""Per-flow running state for the 46-column layout (flow duration, Srate, Drate).

A flow is a TCP or UDP conversation keyed by its sorted pair of (address, port) endpoints and
the transport, as in CIC's extractor; its initiator is the endpoint that sent its first packet.
Packets of a batch are grouped by flow with one sort, and the counters run with cumulative
sums, so the Python work is per *flow present in the batch*, not per packet.

The table is bounded: a flow idle for ``idle_timeout_s`` (capture time) is forgotten, and when
more than ``max_flows`` remain the least recently seen are dropped. A forgotten flow that
sends again starts over, like a new flow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from iotad.capture.core.types import F64, DecodedPackets


@dataclass
class _Flow:
    first_ts: float
    last_ts: float
    initiator: int
    forward: int = 0
    backward: int = 0
    octets: float = 0.0


@dataclass
class FlowColumns:
    """Per packet: time since its flow began, the flow's bytes so far (this packet included)
    and its packet rates (all, forward, backward)."""

    duration: F64
    octets: F64
    rate: F64
    srate: F64
    drate: F64


@dataclass
class FlowTable:
    """Bounded flow state carried from batch to batch."""

    idle_timeout_s: float = 120.0
    max_flows: int = 100_000
    flows: dict[tuple[int, int], _Flow] = field(default_factory=dict)

    def update(self, packets: DecodedPackets) -> FlowColumns:
        """The flow columns of ``packets`` (zeros for packets outside TCP/UDP flows)."""
        n = len(packets)
        out = FlowColumns(*(np.zeros(n) for _ in range(5)))
        member = np.flatnonzero(packets.is_tcp | packets.is_udp)
        if not len(member):
            return out
        src = (packets.src_ip[member].astype(np.uint64) << np.uint64(16)) | packets.src_port[
            member
        ].astype(np.uint64)
        dst = (packets.dst_ip[member].astype(np.uint64) << np.uint64(16)) | packets.dst_port[
            member
        ].astype(np.uint64)
        tcp_bit = packets.is_tcp[member].astype(np.uint64) << np.uint64(48)
        low, high = np.minimum(src, dst), np.maximum(src, dst) | tcp_bit
        order = np.lexsort((np.arange(len(member)), high, low))
        low, high, src, ts = low[order], high[order], src[order], packets.ts[member][order]
        size = packets.size[member][order]
        starts = np.flatnonzero(np.r_[True, (low[1:] != low[:-1]) | (high[1:] != high[:-1])])
        ends = np.r_[starts[1:], len(order)]
        group_of = np.repeat(np.arange(len(starts)), ends - starts)
        initiator = np.empty(len(starts), dtype=np.uint64)
        first = np.empty(len(starts))
        prior_fwd = np.zeros(len(starts), dtype=np.int64)
        prior_bwd = np.zeros(len(starts), dtype=np.int64)
        prior_octets = np.zeros(len(starts))
        flows = []
        for g, s in enumerate(starts):
            key = (int(low[s]), int(high[s]))
            flow = self.flows.get(key)
            if flow is None:
                flow = self.flows[key] = _Flow(float(ts[s]), float(ts[s]), int(src[s]))
            initiator[g], first[g] = flow.initiator, flow.first_ts
            prior_fwd[g], prior_bwd[g] = flow.forward, flow.backward
            prior_octets[g] = flow.octets
            flows.append(flow)
        forward = (src == initiator[group_of]).astype(np.int64)
        cum = np.cumsum(forward)
        base = np.r_[0, cum[:-1]][starts]
        fwd = cum - base[group_of] + prior_fwd[group_of]
        rank = np.arange(len(order)) - starts[group_of] + 1
        bwd = rank - (cum - base[group_of]) + prior_bwd[group_of]
        running = np.cumsum(size)
        octets = running - np.r_[0.0, running[:-1]][starts][group_of] + prior_octets[group_of]
        for g, flow in enumerate(flows):
            last = ends[g] - 1
            flow.forward, flow.backward, flow.last_ts = (
                int(fwd[last]),
                int(bwd[last]),
                float(ts[last]),
            )
            flow.octets = float(octets[last])
        duration = ts - first[group_of]
        safe = np.where(duration > 0, duration, 1.0)
        positive = duration > 0
        where = member[order]
        out.duration[where] = duration
        out.octets[where] = octets
        out.rate[where] = np.where(positive, (fwd + bwd) / safe, 0.0)
        out.srate[where] = np.where(positive, fwd / safe, 0.0)
        out.drate[where] = np.where(positive, bwd / safe, 0.0)
        self._evict(float(ts.max()))
        return out

    def _evict(self, now: float) -> None:
        horizon = now - self.idle_timeout_s
        stale = [key for key, flow in self.flows.items() if flow.last_ts < horizon]
        for key in stale:
            del self.flows[key]
        excess = len(self.flows) - self.max_flows
        if excess > 0:
            oldest = sorted(self.flows, key=lambda key: self.flows[key].last_ts)[:excess]
            for key in oldest:
                del self.flows[key]


__all__ = ["FlowColumns", "FlowTable"]
