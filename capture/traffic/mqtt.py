"""MQTT 3.1.1-like traffic: a broker stub that speaks CONNECT/CONNACK, PUBLISH (QoS 0),
PINGREQ/PINGRESP and DISCONNECT, and a device client that publishes telemetry to it.

Only the frames a telemetry device sends are understood; anything else closes the connection
(and is counted), so the stub never loops on bad input.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import threading
from collections import Counter

logger = logging.getLogger(__name__)

CONNECT, CONNACK, PUBLISH, PINGREQ, PINGRESP, DISCONNECT = 1, 2, 3, 12, 13, 14


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return len(raw).to_bytes(2, "big") + raw


def frame(kind: int, body: bytes = b"", flags: int = 0) -> bytes:
    """One MQTT control packet: fixed header (type, flags, remaining length) + ``body``."""
    return bytes([(kind << 4) | flags]) + _remaining_length(len(body)) + body


def connect_frame(client_id: str, keepalive_s: int = 60) -> bytes:
    """CONNECT with a clean session, protocol level 4 (MQTT 3.1.1)."""
    body = _string("MQTT") + bytes([4, 0x02]) + keepalive_s.to_bytes(2, "big") + _string(client_id)
    return frame(CONNECT, body)


def publish_frame(topic: str, payload: bytes) -> bytes:
    """PUBLISH at QoS 0 (no packet id)."""
    return frame(PUBLISH, _string(topic) + payload)


def read_frame(sock: socket.socket) -> tuple[int, bytes] | None:
    """The next (type, body) from ``sock``; None when the peer closed the connection.

    Raises
    ------
    ValueError
        on a malformed remaining length.
    """
    first = _read_exactly(sock, 1)
    if first is None:
        return None
    length, shift = 0, 0
    for _ in range(4):
        byte = _read_exactly(sock, 1)
        if byte is None:
            return None
        length |= (byte[0] & 0x7F) << shift
        shift += 7
        if not byte[0] & 0x80:
            body = _read_exactly(sock, length) if length else b""
            return None if body is None else (first[0] >> 4, body)
    raise ValueError("malformed MQTT remaining length (more than 4 bytes)")


def _read_exactly(sock: socket.socket, n: int) -> bytes | None:
    chunks, left = [], n
    while left:
        chunk = sock.recv(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


class _Handler(socketserver.BaseRequestHandler):
    server: MqttBrokerStub

    def handle(self) -> None:
        self.request.settimeout(5.0)
        try:
            while (packet := read_frame(self.request)) is not None:
                kind, _ = packet
                if not self.server.answer(self.request, kind):
                    return
        except (ValueError, OSError) as exc:
            self.server.count("refused")
            logger.info("mqtt stub: closing %s: %s", self.client_address, exc)


class MqttBrokerStub(socketserver.ThreadingTCPServer):
    """Accepts MQTT connections on ``address`` and counts what the devices sent."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int]) -> None:
        super().__init__(address, _Handler)
        self.received: Counter[str] = Counter()
        self._lock = threading.Lock()

    def count(self, what: str) -> None:
        """Count one ``what`` (thread-safe)."""
        with self._lock:
            self.received[what] += 1

    def answer(self, sock: socket.socket, kind: int) -> bool:
        """Reply to one control packet; False when the connection should close."""
        if kind == CONNECT:
            self.count("connect")
            sock.sendall(frame(CONNACK, b"\x00\x00"))
        elif kind == PUBLISH:
            self.count("publish")
        elif kind == PINGREQ:
            self.count("ping")
            sock.sendall(frame(PINGRESP))
        elif kind == DISCONNECT:
            self.count("disconnect")
            return False
        else:
            self.count("refused")
            return False
        return True


class MqttDevice:
    """One device's MQTT session: CONNECT on open, PUBLISH telemetry, DISCONNECT on close.

    Raises
    ------
    ConnectionError
        if the broker does not answer CONNECT with CONNACK.
    """

    def __init__(self, broker: tuple[str, int], source: str, client_id: str) -> None:
        self._sock = socket.create_connection(broker, timeout=5.0, source_address=(source, 0))
        self._sock.sendall(connect_frame(client_id))
        reply = read_frame(self._sock)
        if reply is None or reply[0] != CONNACK:
            self._sock.close()
            raise ConnectionError(f"no CONNACK from {broker} (got {reply!r})")

    def publish(self, topic: str, payload: bytes) -> None:
        """Send one telemetry message (QoS 0: no reply)."""
        self._sock.sendall(publish_frame(topic, payload))

    def ping(self) -> None:
        """PINGREQ and wait for PINGRESP (keeps the session alive, like a real device)."""
        self._sock.sendall(frame(PINGREQ))
        reply = read_frame(self._sock)
        if reply is None or reply[0] != PINGRESP:
            raise ConnectionError(f"no PINGRESP (got {reply!r})")

    def close(self) -> None:
        """DISCONNECT and close."""
        try:
            self._sock.sendall(frame(DISCONNECT))
        finally:
            self._sock.close()


__all__ = [
    "MqttBrokerStub",
    "MqttDevice",
    "connect_frame",
    "frame",
    "publish_frame",
    "read_frame",
]
