"""The traffic generators' wire formats and their loopback-only guard (no sockets opened)."""

from __future__ import annotations

import socket
import struct

import pytest

from iotad.capture.traffic import LoopbackHosts
from iotad.capture.traffic.attacks import checksum, require_loopback, syn_segment
from iotad.capture.traffic.dns import encode_answer, encode_query
from iotad.capture.traffic.mqtt import connect_frame, frame, publish_frame


def test_hosts_are_loopback_and_the_filter_covers_them() -> None:
    hosts = LoopbackHosts(octet=42, devices=4)
    assert hosts.bpf == "net 127.42.0.0/16"
    assert hosts.server == "127.42.0.1" and hosts.attacker == "127.42.9.1"
    assert hosts.device_addresses[-1] == "127.42.1.4"
    with pytest.raises(ValueError, match="octet"):
        LoopbackHosts(octet=0)


def test_attack_traffic_refuses_any_non_loopback_target() -> None:
    assert require_loopback("127.3.0.1") == "127.3.0.1"
    for address in ("10.0.0.5", "192.168.1.1", "8.8.8.8"):
        with pytest.raises(ValueError, match="only goes to loopback"):
            require_loopback(address)


def test_dns_answer_echoes_the_question_and_points_at_the_server() -> None:
    query = encode_query(0x1234, "ehr.ward3.local")
    answer = encode_answer(query, "127.10.0.1")
    query_id, flags, qd, an, _, _ = struct.unpack_from("!HHHHHH", answer)
    assert (query_id, flags, qd, an) == (0x1234, 0x8180, 1, 1)
    assert answer[12 : len(query)] == query[12:]  # the question, unchanged
    assert socket.inet_ntoa(answer[-4:]) == "127.10.0.1"
    with pytest.raises(ValueError):
        encode_answer(answer, "127.10.0.1")  # a response is not a query
    with pytest.raises(ValueError):
        encode_answer(b"\x00" * 5, "127.10.0.1")


def test_mqtt_frames_have_mqtt_311_headers() -> None:
    connect = connect_frame("dev0")
    assert connect[0] == 0x10 and connect[1] == len(connect) - 2
    assert connect[2:8] == b"\x00\x04MQTT" and connect[8] == 4
    publish = publish_frame("ward3/dev0/vitals", b"x" * 200)
    assert publish[0] == 0x30
    assert publish[1:3] == bytes([0x80 | (len(publish) - 3) % 128, (len(publish) - 3) // 128])
    assert frame(12) == b"\xc0\x00"  # PINGREQ


def test_syn_segment_checksum_verifies() -> None:
    segment = syn_segment("127.10.9.1", "127.10.0.1", 40000, 80, 7)
    assert segment[13] == 0x02 and len(segment) == 20
    pseudo = socket.inet_aton("127.10.9.1") + socket.inet_aton("127.10.0.1")
    pseudo += struct.pack("!BBH", 0, 6, len(segment))
    assert checksum(pseudo + segment) == 0  # a correct checksum sums to 0xFFFF
