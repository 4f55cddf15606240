"""Packet sequences of known kinds for the capture tests (frames from tests/support/packets)."""

from __future__ import annotations

from support.packets import (
    ACK,
    PSH,
    SYN,
    Packet,
    arp_request,
    ethernet,
    icmp_echo,
    ipv4,
    tcp,
    udp,
)

T0 = 1_700_000_000.0


def syn_scan(count: int, gap: float = 0.001, start: float = T0) -> list[Packet]:
    """SYNs from one host to ports 1…count of another."""
    return [
        Packet(start + i * gap, ethernet(ipv4("10.0.0.66", "10.0.0.5", 6, tcp(50000, 1 + i, SYN))))
        for i in range(count)
    ]


def udp_flood(count: int, gap: float = 0.0001, size: int = 512, start: float = T0) -> list[Packet]:
    """Fixed-size UDP datagrams to one port."""
    body = udp(40000, 9999, b"u" * size)
    return [
        Packet(start + i * gap, ethernet(ipv4("10.0.0.66", "10.0.0.5", 17, body)))
        for i in range(count)
    ]


def icmp_flood(count: int, gap: float = 0.0001, start: float = T0) -> list[Packet]:
    """ICMP echo requests."""
    frame = ethernet(ipv4("10.0.0.66", "10.0.0.5", 1, icmp_echo()))
    return [Packet(start + i * gap, frame) for i in range(count)]


def http_burst(requests: int, start: float = T0) -> list[Packet]:
    """Request/response pairs on one connection to port 80 (PSH|ACK both ways)."""
    out = []
    for i in range(requests):
        ask = tcp(51000, 80, PSH | ACK, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = tcp(80, 51000, PSH | ACK, b"HTTP/1.1 200 OK\r\n\r\n" + b"h" * 300)
        out.append(Packet(start + i * 0.01, ethernet(ipv4("10.0.0.20", "10.0.0.80", 6, ask))))
        out.append(
            Packet(start + i * 0.01 + 0.002, ethernet(ipv4("10.0.0.80", "10.0.0.20", 6, answer)))
        )
    return out


def dns_queries(count: int, start: float = T0) -> list[Packet]:
    """DNS queries and answers over UDP port 53."""
    out = []
    for i in range(count):
        out.append(
            Packet(
                start + i * 0.05,
                ethernet(ipv4("10.0.0.20", "10.0.0.53", 17, udp(33000 + i, 53, b"q" * 30))),
            )
        )
    return out


def arp_sweep(count: int, start: float = T0) -> list[Packet]:
    """ARP who-has for count addresses."""
    return [
        Packet(
            start + i * 0.01, ethernet(arp_request("10.0.0.66", f"10.0.1.{i % 250 + 1}"), 0x0806)
        )
        for i in range(count)
    ]


__all__ = ["arp_sweep", "dns_queries", "http_burst", "icmp_flood", "syn_scan", "udp_flood"]
