"""Capture files: every format and link type, and bad files counted, never crashing."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.packets import Packet, ethernet, ipv4, ipv6_udp, tcp, udp, write_pcap, write_pcapng
from support.traffic import http_burst, syn_scan, udp_flood

from iotad.capture.core import CaptureFormatError, SkipReason, WindowExtractor, decode
from iotad.capture.files import CaptureFile


def _read(path: Path, window: int = 10, chunk_bytes: int = 1 << 20) -> tuple[np.ndarray, dict]:
    extractor = WindowExtractor(window=window)
    rows, skipped = [], {}
    read = used = 0
    for batch in CaptureFile(path, chunk_bytes=chunk_bytes).batches():
        decoded, skips = decode(batch)
        read += len(batch) + sum(batch.skipped.values())
        used += len(decoded)
        for counter in (batch.skipped, skips):
            for reason, n in counter.items():
                skipped[reason] = skipped.get(reason, 0) + n
        rows.append(extractor.push(decoded))
    rows.append(extractor.flush())
    assert read == used + sum(skipped.values())  # nothing dropped without a count
    values = [r.values for r in rows if r is not None and len(r)]
    return (np.vstack(values) if values else np.zeros((0, 39))), skipped


def _mixed() -> list[Packet]:
    return syn_scan(23) + udp_flood(17, start=1_700_000_001.0) + http_burst(6, 1_700_000_002.0)


@pytest.mark.parametrize(
    "writer",
    [
        lambda p, pk: write_pcap(p / "a.pcap", pk),
        lambda p, pk: write_pcap(p / "a.pcap", pk, big_endian=True),
        lambda p, pk: write_pcap(p / "a.pcap", pk, nanoseconds=True),
        lambda p, pk: write_pcap(p / "a.pcap.gz", pk),
        lambda p, pk: write_pcapng(p / "a.pcapng", pk),
        lambda p, pk: write_pcapng(p / "a.pcapng.gz", pk),
    ],
    ids=["pcap", "pcap-big-endian", "pcap-ns", "pcap-gz", "pcapng", "pcapng-gz"],
)
def test_every_format_gives_the_same_rows(
    tmp_path: Path, writer, request: pytest.FixtureRequest
) -> None:
    reference, _ = _read(write_pcap(tmp_path / "ref.pcap", _mixed()))
    rows, skipped = _read(writer(tmp_path, _mixed()), chunk_bytes=64 * 1024)
    assert not skipped
    assert rows.shape == reference.shape == (6, 39)
    # nanosecond files hold the float error of the test's own timestamps (< 0.3 µs)
    assert np.allclose(rows, reference, rtol=1e-3 if "ns" in request.node.callspec.id else 1e-9)


def test_small_chunks_give_the_same_rows(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "a.pcap", _mixed())
    big, _ = _read(path)
    small, _ = _read(path, chunk_bytes=100)  # records straddle nearly every chunk boundary
    assert np.array_equal(big, small)


def _relinked(packets: list[Packet], header: bytes) -> list[Packet]:
    return [Packet(p.ts, header + p.frame[14:]) for p in packets]


@pytest.mark.parametrize(
    ("linktype", "header"),
    [
        (113, struct.pack("!HHH8sH", 0, 1, 6, bytes(8), 0x0800)),  # Linux cooked (SLL)
        (276, struct.pack("!HHIHBB8s", 0x0800, 0, 2, 1, 0, 6, bytes(8))),  # SLL2
        (101, b""),  # raw IP
        (0, struct.pack("<I", 2)),  # BSD loopback, little-endian writer
        (108, struct.pack("!I", 2)),  # OpenBSD loopback
    ],
    ids=["sll", "sll2", "raw", "null", "loop"],
)
def test_link_types_give_ethernet_sized_rows(tmp_path: Path, linktype: int, header: bytes) -> None:
    # No NIC padding outside Ethernet: compare with unpadded Ethernet frames of the same packets.
    packets = [
        Packet(
            1_700_000_000 + i * 0.01,
            ethernet(ipv4("10.0.0.1", "10.0.0.2", 17, udp(1, 53, b"q" * 80))),
        )
        for i in range(20)
    ]
    reference, _ = _read(write_pcap(tmp_path / "eth.pcap", packets))
    rows, skipped = _read(
        write_pcap(tmp_path / "x.pcap", _relinked(packets, header), linktype=linktype)
    )
    assert not skipped
    assert np.allclose(rows, reference)


def test_vlan_tagged_frames_are_decoded(tmp_path: Path) -> None:
    frame = ethernet(ipv4("10.0.0.1", "10.0.0.2", 6, tcp(1, 443, 0x10)), vlan=7)
    rows, skipped = _read(
        write_pcap(tmp_path / "v.pcap", [Packet(1.0 + i, frame) for i in range(10)])
    )
    assert not skipped and rows[0, 22] == 1.0 and rows[0, 16] == 1.0  # TCP, HTTPS


def test_unknown_link_type_is_a_clear_error(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "wifi.pcap", syn_scan(3), linktype=127)  # 802.11 radiotap
    with pytest.raises(CaptureFormatError, match="link type 127 is not supported"):
        CaptureFile(path).check()


def test_a_file_that_is_not_a_capture_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.pcap"
    path.write_text("these are not packets, just text long enough for a header")
    with pytest.raises(CaptureFormatError, match="not a pcap file"):
        CaptureFile(path).check()


def test_a_truncated_file_counts_its_last_record(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "t.pcap", syn_scan(30))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 25])  # the last record loses part of its frame
    rows, skipped = _read(path)
    assert skipped == {SkipReason.TRUNCATED_RECORD: 1}
    assert rows[:, 37].sum() == 29  # Number: the 29 complete packets


def test_a_corrupt_record_length_stops_the_file_with_a_count(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "c.pcap", syn_scan(30))
    data = bytearray(path.read_bytes())
    record = 24 + 12 * (16 + 60)  # the 13th record header
    data[record + 8 : record + 12] = struct.pack("<I", 0x7FFFFFFF)
    path.write_bytes(bytes(data))
    rows, skipped = _read(path)
    assert skipped == {SkipReason.CORRUPT_RECORD: 1}
    assert rows[:, 37].sum() == 12


def test_a_truncated_gzip_is_counted_not_raised(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "g.pcap.gz", udp_flood(2000))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    rows, skipped = _read(path, chunk_bytes=4096)
    assert (
        skipped.get(SkipReason.CORRUPT_RECORD, 0) + skipped.get(SkipReason.TRUNCATED_RECORD, 0) >= 1
    )
    assert 0 < rows[:, 37].sum() < 2000


def test_non_ip_frames_are_counted_by_reason(tmp_path: Path) -> None:
    packets = syn_scan(10) + [
        Packet(2e9, ethernet(ipv6_udp(), 0x86DD)),
        Packet(2e9 + 1, ethernet(b"\x02\x07\x04" + bytes(40), 0x88CC)),  # LLDP
        Packet(2e9 + 2, bytes(10)),  # shorter than an Ethernet header
        Packet(2e9 + 3, bytes(12) + b"\x08\x00\x45" + bytes(10)),  # IPv4 header cut short
    ]
    rows, skipped = _read(write_pcap(tmp_path / "n.pcap", packets))
    assert skipped == {
        SkipReason.IPV6: 1,
        SkipReason.NON_IP: 1,
        SkipReason.TRUNCATED_FRAME: 1,
        SkipReason.BAD_IPV4_HEADER: 1,
    }
    assert rows.shape == (1, 39)


def test_pcapng_packets_of_an_unknown_link_type_are_counted(tmp_path: Path) -> None:
    path = write_pcapng(tmp_path / "w.pcapng", syn_scan(5), linktypes=(127,))
    rows, skipped = _read(path)
    assert skipped == {SkipReason.UNSUPPORTED_LINKTYPE: 5} and rows.shape == (0, 39)


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(["pcap", "pcapng", "pcap.gz"]),
    cuts=st.lists(st.tuples(st.integers(0, 5000), st.binary(min_size=1, max_size=8)), max_size=6),
    keep=st.integers(0, 6000),
)
def test_damaged_files_never_crash_and_lose_no_count(
    tmp_path_factory: pytest.TempPathFactory, kind: str, cuts: list[tuple[int, bytes]], keep: int
) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    writer = write_pcapng if kind == "pcapng" else write_pcap
    clean = writer(folder / f"clean.{kind}", _mixed())
    data = bytearray(clean.read_bytes())
    for at, junk in cuts:  # overwrite bytes anywhere (headers, lengths, frames)
        data[at % len(data) : at % len(data) + len(junk)] = junk
    damaged = folder / f"damaged.{kind}"
    damaged.write_bytes(bytes(data[: max(keep, 1)]))
    try:
        CaptureFile(damaged).check()
    except CaptureFormatError:
        return
    _read(damaged, chunk_bytes=1024)  # asserts read == used + skipped
