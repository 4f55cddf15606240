"""The generated ward pcap (raw frames, correct checksums) and the paced source over it."""

from __future__ import annotations

import struct
import time
from collections import Counter
from pathlib import Path

import numpy as np

from iotad.capture import CaptureFile
from iotad.capture.core import decode
from iotad.capture.live.paced import PacedSource
from iotad.capture.traffic.attacks import checksum
from iotad.capture.traffic.synthetic import ATTACKER, GATEWAY, ward_frames, write_pcap


def test_ward_frames_are_sorted_with_valid_ip_checksums() -> None:
    frames = ward_frames(1_700_000_000.0, seed=3)
    assert 2_500 < len(frames) < 4_000
    assert all(a.ts <= b.ts for a, b in zip(frames, frames[1:], strict=False))
    for frame in frames[::97]:
        assert checksum(frame.data[14:34]) == 0  # the IPv4 header sums to 0xFFFF
    assert frames[-1].ts - frames[0].ts < 4.0


def test_the_pcap_decodes_to_the_ward_and_its_attacks(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "ward.pcap", ward_frames(1_700_000_000.0))
    batches = list(CaptureFile(path).batches())
    decoded = [decode(b)[0] for b in batches]
    protocols = Counter(int(p) for d in decoded for p in d.proto.tolist())
    assert set(protocols) == {6, 17}
    sources = {struct.pack("!I", int(ip)) for d in decoded for ip in d.src_ip.tolist()}
    expected = {bytes(map(int, a.split("."))) for a in (ATTACKER, GATEWAY)}
    assert expected <= sources


def test_paced_source_releases_no_packet_before_its_time(tmp_path: Path) -> None:
    start = time.time() + 0.3
    frames = [f for f in ward_frames(start) if f.ts < start + 0.5]
    path = write_pcap(tmp_path / "soon.pcap", frames)
    released = 0
    for batch in PacedSource(CaptureFile(path), slice_s=0.05).batches():
        if len(batch):
            now = time.time()
            assert now >= batch.ts_base + float(np.max(batch.ts)) - 0.002
            released += len(batch)
    assert released == len(frames)
