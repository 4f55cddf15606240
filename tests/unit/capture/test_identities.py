"""Every row iotad computes satisfies the identities of real CIC rows, whatever the packets."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from support.capture_run import features
from support.cic_identities import check_cic39_identities
from support.packets import (
    Packet,
    arp_request,
    ethernet,
    icmp_echo,
    ipv4,
    ipv6_udp,
    tcp,
    udp,
)

from iotad.schemas.features import FeatureLayout

PORTS = st.sampled_from([22, 23, 25, 53, 67, 68, 80, 194, 443, 6667, 1883, 5000, 40000])


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["tcp", "udp", "icmp", "igmp", "arp", "ipv6", "lldp", "frag"]))
    payload = b"p" * draw(st.integers(0, 1400))
    ttl = draw(st.integers(1, 255))
    src, dst = draw(st.sampled_from([("10.0.0.1", "10.0.0.2"), ("10.0.0.2", "10.0.0.1")]))
    if kind == "tcp":
        options = b"\x01" * (4 * draw(st.integers(0, 10)))
        segment = tcp(draw(PORTS), draw(PORTS), draw(st.integers(0, 255)), payload, options=options)
        return ethernet(ipv4(src, dst, 6, segment, ttl=ttl))
    if kind == "udp":
        return ethernet(ipv4(src, dst, 17, udp(draw(PORTS), draw(PORTS), payload), ttl=ttl))
    if kind == "frag":
        return ethernet(ipv4(src, dst, 17, payload[:600], ttl=ttl, frag_offset=1480))
    if kind == "icmp":
        return ethernet(ipv4(src, dst, 1, icmp_echo(payload), ttl=ttl))
    if kind == "igmp":
        return ethernet(ipv4(src, dst, 2, b"\x11" * 8, ttl=1))
    if kind == "arp":
        return ethernet(arp_request(src, dst), 0x0806)
    if kind == "ipv6":
        return ethernet(ipv6_udp(payload), 0x86DD)
    return ethernet(b"\x02\x07\x04" + payload[:100], 0x88CC)


@st.composite
def captures(draw: st.DrawFn) -> list[Packet]:
    gaps = draw(st.lists(st.sampled_from([0.0, 1e-6, 1e-4, 0.003, 0.5]), min_size=1, max_size=160))
    ts = 1_700_000_000.0 + np.cumsum(gaps)
    return [Packet(float(t), draw(frames())) for t in ts]


@settings(max_examples=60, deadline=None)
@given(packets=captures(), window=st.integers(1, 25), batch=st.integers(1, 200))
def test_every_cic39_row_satisfies_the_cic_identities(
    packets: list[Packet], window: int, batch: int
) -> None:
    rows, skipped = features(packets, window, batch_size=batch)
    kept = len(packets) - sum(skipped.values())
    if kept == 0:
        assert rows.empty
        return
    check_cic39_identities(rows)
    assert rows["Number"].sum() == kept  # every kept packet is in exactly one window
    assert (rows["Number"].iloc[:-1] == window).all()  # only the last window may be short


@settings(max_examples=30, deadline=None)
@given(packets=captures(), window=st.integers(1, 25), batch=st.integers(1, 200))
def test_batching_does_not_change_the_rows(packets: list[Packet], window: int, batch: int) -> None:
    whole, _ = features(packets, window)
    split, _ = features(packets, window, batch_size=batch)
    assert np.allclose(whole.to_numpy(), split.to_numpy(), rtol=1e-12, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(packets=captures(), window=st.integers(1, 25), batch=st.integers(1, 200))
def test_cic46_rows_are_finite_and_keep_their_identities(
    packets: list[Packet], window: int, batch: int
) -> None:
    rows, _ = features(packets, window, FeatureLayout.CIC46, batch_size=batch)
    if rows.empty:
        return
    assert np.isfinite(rows.to_numpy()).all()
    number = rows["Number"]
    for count, flag in (("ack_count", "ack"), ("urg_count", None), ("rst_count", "rst")):
        assert np.allclose(rows[count], np.round(rows[count]))
        if flag:
            assert np.allclose(rows[count], rows[f"{flag}_flag_number"] * number)
    assert np.allclose(rows["AVG"], rows["Tot sum"] / number)
    assert np.allclose(rows["Magnitue"], np.sqrt(2 * rows["AVG"]))
    assert np.allclose(rows["Weight"], number**2)
    assert (rows["Srate"] + rows["Drate"] <= rows["Rate"] * (1 + 1e-9) + 1e-9).all()
    assert (rows["flow_duration"] >= 0).all()
