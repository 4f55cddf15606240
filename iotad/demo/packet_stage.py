"""The demo's packet stage: packets become feature windows on the flows topic, scored by the
same worker as the rest of the demo.

A thin client of the capture wing: the capture files go through the very functions
``iotad capture FILE`` runs (:func:`iotad.capture.capture_files`, :func:`iotad.capture.run_capture`
into :class:`iotad.capture.KafkaRows` over replay's :class:`KafkaSink`). Without ``--pcap`` the
stage captures a small built-in pcap of generated packets
(:func:`iotad.capture.traffic.synthetic.ward_frames`: a ward's benign traffic, then a SYN scan,
a UDP flood and an HTTP burst), written to the run dir with timestamps ending now.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from iotad.demo.alert_log import SeenAlert
from iotad.settings import Settings

if TYPE_CHECKING:
    from iotad.capture import CaptureFile, CaptureOptions
    from iotad.capture.core.types import SkipReason

PACKET_GATEWAY_ID = "gw-demo-packets"
BUILTIN_PCAP = "builtin-ward.pcap"


@dataclass(frozen=True)
class PacketStage:
    """What the stage captured and sent (``summary.json`` → ``packets``)."""

    sources: tuple[str, ...]
    builtin: bool
    packets_read: int
    packets_skipped: Counter[str]
    windows: int
    delivered: int
    gateway_id: str = PACKET_GATEWAY_ID
    seconds: float = 0.0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self, alerts: Sequence[SeenAlert]) -> dict[str, object]:
        """The stage's report with the alerts raised on its windows (by category and host)."""
        mine = [a for a in alerts if a.gateway_id == self.gateway_id]
        return {
            "sources": list(self.sources),
            "builtin": self.builtin,
            "gateway_id": self.gateway_id,
            "packets_read": self.packets_read,
            "packets_skipped": dict(self.packets_skipped),
            "windows": self.windows,
            "windows_delivered": self.delivered,
            "seconds": round(self.seconds, 2),
            "alerts_by_category": dict(Counter(a.category for a in mine).most_common()),
            "alerts_by_source_host": dict(Counter(a.src_ip or "?" for a in mine).most_common(5)),
        }


def builtin_pcap(run_dir: Path, seed: int, *, lead_s: float = 0.5) -> Path:
    """Write the built-in ward pcap (about 3,000 generated packets over 3.5 s, starting
    ``lead_s`` from now) into ``run_dir``."""
    from iotad.capture.traffic.synthetic import ward_frames, write_pcap

    return write_pcap(run_dir / BUILTIN_PCAP, ward_frames(time.time() + lead_s, seed=seed))


def run_packet_stage(settings: Settings, paths: Sequence[Path], *, builtin: bool) -> PacketStage:
    """Capture ``paths`` into ``settings.topics.flows`` as ``iotad capture`` does (blocking).

    The built-in pcap is released at its own pace, as a live capture would be (its packets
    are stamped from now on), through the live path's sink; the user's files go as fast as
    they are read, as ``iotad capture FILE`` sends them.

    Raises
    ------
    DataError
        when a capture file cannot be read (checked before anything is sent).
    """
    from iotad.capture import CaptureOptions, capture_files
    from iotad.schemas.features import FeatureLayout

    conf = settings.capture
    files = capture_files(paths, chunk_bytes=conf.chunk_bytes)
    for file in files:
        file.check()
    options = CaptureOptions(
        FeatureLayout(conf.layout), conf.window, conf.flow_idle_timeout_s, conf.max_flows
    )
    began = time.monotonic()
    if builtin:
        read, windows, delivered, skipped = _paced(settings, files, options)
    else:
        read, windows, delivered, skipped = asyncio.run(_as_fast(settings, files, options))
    return PacketStage(
        sources=tuple(str(p) for p in paths),
        builtin=builtin,
        packets_read=read,
        packets_skipped=Counter({reason.value: n for reason, n in skipped.items()}),
        windows=windows,
        delivered=delivered,
        seconds=time.monotonic() - began,
    )


_Result = tuple[int, int, int, Counter["SkipReason"]]


async def _as_fast(
    settings: Settings, files: Sequence[CaptureFile], options: CaptureOptions
) -> _Result:
    from iotad.capture import KafkaRows, run_capture
    from iotad.schemas.features import LAYOUT_FEATURES
    from iotad.stream.replay import KafkaSink

    limit = settings.stream.max_message_bytes
    names = LAYOUT_FEATURES[options.layout]
    async with KafkaSink.from_settings(
        settings, settings.topics.flows, client="demo-packets", max_message_bytes=limit
    ) as kafka:
        rows = KafkaRows(kafka, names, settings.capture.gateway_id, settings.capture.batch, limit)
        summary = await run_capture(files, options, rows)
    return summary.packets_read, summary.windows, rows.written, summary.skipped


def _paced(settings: Settings, files: Sequence[CaptureFile], options: CaptureOptions) -> _Result:
    from iotad.capture import run_capture
    from iotad.capture.live.kafka import LiveRows, ThreadedSink
    from iotad.capture.live.paced import PacedSource
    from iotad.schemas.features import LAYOUT_FEATURES

    kafka = ThreadedSink(settings, settings.topics.flows, client="demo-packets")
    try:
        rows = LiveRows(
            kafka,
            LAYOUT_FEATURES[options.layout],
            settings.capture.gateway_id,
            settings.capture.batch,
            settings.stream.max_message_bytes,
            linger_s=0.2,
        )
        sources = [PacedSource(f) for f in files]
        summary = asyncio.run(run_capture(sources, options, rows))
    finally:
        kafka.close()
    return summary.packets_read, summary.windows, rows.written, summary.skipped


__all__ = ["BUILTIN_PCAP", "PACKET_GATEWAY_ID", "PacketStage", "builtin_pcap", "run_packet_stage"]
