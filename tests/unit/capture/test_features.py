"""Feature values of known traffic: the flags, protocols, sizes and rates CIC's rules give."""

from __future__ import annotations

import numpy as np
import pytest
from support.capture_run import features
from support.packets import Packet, ethernet, ipv4, udp
from support.traffic import arp_sweep, dns_queries, http_burst, icmp_flood, syn_scan, udp_flood

from iotad.capture.core.windows import mode_per_row
from iotad.schemas.features import FeatureLayout


def test_syn_scan() -> None:
    rows, _ = features(syn_scan(100, gap=0.002))
    assert len(rows) == 10
    assert (rows["syn_flag_number"] == 1).all() and (rows["syn_count"] == 10).all()
    assert (rows["ack_flag_number"] == 0).all() and (rows["TCP"] == 1).all()
    assert (rows["Protocol Type"] == 6).all() and (rows["Header_Length"] == 20).all()
    assert (rows["Tot size"] == 60).all() and (rows["Std"] == 0).all()
    assert np.allclose(rows["IAT"].iloc[1:], 0.002) and np.allclose(
        rows["Rate"].iloc[1:], 500, rtol=1e-4
    )
    assert (rows["Time_To_Live"] == 64).all() and (rows["IPv"] == 1).all()


def test_udp_flood() -> None:
    rows, _ = features(udp_flood(1000, gap=0.0001, size=512), window=100)
    assert len(rows) == 10 and (rows["Number"] == 100).all()
    assert (rows["UDP"] == 1).all() and (rows["TCP"] == 0).all()
    assert (rows["Protocol Type"] == 17).all() and (rows["Header_Length"] == 8).all()
    assert (rows["AVG"] == 14 + 20 + 8 + 512).all() and (rows["Tot sum"] == 100 * 554).all()
    flags = [c for c in rows.columns if c.endswith("_flag_number")]
    assert (rows[flags] == 0).all().all()
    assert np.allclose(rows["Rate"].iloc[1:], 10_000, rtol=1e-4)


def test_icmp_flood() -> None:
    rows, _ = features(icmp_flood(200))
    assert (rows["ICMP"] == 1).all() and (rows["Protocol Type"] == 1).all()
    assert (rows["Header_Length"] == 0).all() and (rows[["TCP", "UDP"]] == 0).all().all()


def test_http_burst() -> None:
    rows, _ = features(http_burst(50))
    assert (rows["HTTP"] == 1).all() and (rows["HTTPS"] == 0).all()
    assert (rows["psh_flag_number"] == 1).all() and (rows["ack_count"] == 10).all()
    assert (rows["Min"] < rows["Max"]).all() and (rows["Std"] > 0).all()  # requests ≠ answers


def test_dns() -> None:
    rows, _ = features(dns_queries(30))
    assert (rows["DNS"] == 1).all() and (rows["UDP"] == 1).all() and (rows["HTTP"] == 0).all()


def test_arp() -> None:
    rows, _ = features(arp_sweep(20))
    assert (rows["ARP"] == 1).all() and (rows["IPv"] == 0).all() and (rows["LLC"] == 0).all()
    assert (rows["Protocol Type"] == 0).all() and (rows["Time_To_Live"] == 0).all()


def test_mixed_window_means_and_protocol_mode() -> None:
    packets = syn_scan(4) + udp_flood(4, start=1_700_000_000.5) + arp_sweep(2, 1_700_000_001.0)
    rows, _ = features(packets)
    row = rows.iloc[0]
    assert row["TCP"] == pytest.approx(0.4) and row["UDP"] == pytest.approx(0.4)
    assert row["ARP"] == pytest.approx(0.2) and row["IPv"] == pytest.approx(0.8)
    assert row["Protocol Type"] == 6  # TCP and UDP tie at 4 packets: the smaller number
    assert row["Header_Length"] == pytest.approx((4 * 20 + 4 * 8) / 10)


def test_mode_per_row_breaks_ties_with_the_smallest_value() -> None:
    values = np.array([[17, 6, 17, 6, 0], [1, 1, 2, 2, 2], [5, 5, 5, 5, 5]])
    assert mode_per_row(values).tolist() == [6, 2, 5]


def test_later_fragments_are_not_udp_but_keep_their_protocol() -> None:
    start = 1_700_000_000.0
    first = ethernet(ipv4("10.0.0.1", "10.0.0.2", 17, udp(1, 2, b"x" * 1000), more_fragments=True))
    later = ethernet(ipv4("10.0.0.1", "10.0.0.2", 17, b"y" * 600, frag_offset=1008))
    rows, _ = features([Packet(start + i, first if i % 2 == 0 else later) for i in range(10)])
    assert rows["UDP"].iloc[0] == 0.5 and rows["Protocol Type"].iloc[0] == 17
    assert rows["Header_Length"].iloc[0] == pytest.approx(4.0)


def test_equal_timestamps_keep_the_previous_rate() -> None:
    start = 1_700_000_000.0
    frame = udp_flood(1)[0].frame
    times = [start, start + 0.01, start + 0.01, start + 0.02]
    rows, _ = features([Packet(t, frame) for t in times], window=4)
    # rates: 0 (first packet), 100, 100 (same timestamp: carried), 100
    assert rows["Rate"].iloc[0] == pytest.approx(75.0)
    assert rows["IAT"].iloc[0] == pytest.approx(0.005)


def test_cic46_flow_rates_follow_each_direction() -> None:
    rows, _ = features(http_burst(10), window=20, layout=FeatureLayout.CIC46)
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["Srate"] > 0 and row["Drate"] > 0
    assert row["Rate"] == pytest.approx(row["Srate"] + row["Drate"])
    assert row["flow_duration"] > 0 and row["Duration"] == 64
    assert row["Magnitue"] == pytest.approx(np.sqrt(2 * row["AVG"]))


def test_cic46_flow_table_is_bounded() -> None:
    from iotad.capture.core import PacketBatch, WindowExtractor, decode

    extractor = WindowExtractor(FeatureLayout.CIC46, 10, max_flows=50)
    scan = syn_scan(1000)
    for at in range(0, 1000, 100):
        frames = [(p.ts, p.frame, len(p.frame)) for p in scan[at : at + 100]]
        extractor.push(decode(PacketBatch.from_frames(1, frames))[0])
        assert extractor.tracked_flows <= 50


def test_cic46_header_length_is_the_flows_bytes_so_far() -> None:
    packets = udp_flood(4, size=100)  # one flow, 142-byte frames
    rows, _ = features(packets, window=4, layout=FeatureLayout.CIC46)
    assert rows["Header_Length"].iloc[0] == pytest.approx(142 * (1 + 2 + 3 + 4) / 4)
    rows, _ = features(packets, window=2, layout=FeatureLayout.CIC46, batch_size=1)
    assert rows["Header_Length"].tolist() == pytest.approx([142 * 1.5, 142 * 3.5])
