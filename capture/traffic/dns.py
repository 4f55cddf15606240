"""A tiny DNS responder (A records, all answered with one address) and a query client.

Plain sockets and :mod:`struct`, RFC 1035 wire format: enough for real DNS packets on port 53.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading

logger = logging.getLogger(__name__)

_HEADER = struct.Struct("!HHHHHH")
_TYPE_A, _CLASS_IN = 1, 1


def encode_query(query_id: int, name: str) -> bytes:
    """A standard recursive query for the A record of ``name``."""
    labels = b"".join(bytes([len(p)]) + p.encode("ascii") for p in name.strip(".").split("."))
    return _HEADER.pack(query_id, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack("!HH", 1, 1)


def _question_end(packet: bytes) -> int:
    offset = _HEADER.size
    while packet[offset] != 0:
        offset += 1 + packet[offset]
    return offset + 5  # the root label, QTYPE and QCLASS


def encode_answer(query: bytes, address: str, ttl: int = 60) -> bytes:
    """The response to ``query`` (one question): one A record pointing at ``address``.

    Raises
    ------
    ValueError
        if ``query`` is not a one-question DNS query.
    """
    if len(query) < _HEADER.size + 5:
        raise ValueError(f"a DNS query has at least 17 bytes, got {len(query)}")
    query_id, flags, questions, *_ = _HEADER.unpack_from(query)
    if flags & 0x8000 or questions != 1:
        raise ValueError(f"not a one-question query (flags {flags:#x}, {questions} questions)")
    try:
        end = _question_end(query)
    except IndexError as exc:
        raise ValueError("truncated question") from exc
    header = _HEADER.pack(query_id, 0x8180, 1, 1, 0, 0)
    record = struct.pack("!HHHIH", 0xC00C, _TYPE_A, _CLASS_IN, ttl, 4)
    return header + query[_HEADER.size : end] + record + socket.inet_aton(address)


class DnsResponder:
    """Answers every A query on ``(host, port)`` with ``answer`` until :meth:`close`."""

    def __init__(self, sock: socket.socket, answer: str) -> None:
        self._sock = sock
        self._answer = answer
        self.answered = 0
        self.refused = 0
        self._sock.settimeout(0.1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="dns-responder", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        """The UDP port it answers on."""
        return int(self._sock.getsockname()[1])

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                query, peer = self._sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                self._sock.sendto(encode_answer(query, self._answer), peer)
                self.answered += 1
            except ValueError as exc:
                self.refused += 1
                logger.info("dns responder: not answering %s: %s", peer, exc)

    def close(self) -> None:
        """Stop answering and close the socket."""
        self._stop.set()
        self._thread.join(2.0)
        self._sock.close()


def query(server: tuple[str, int], name: str, source: str, query_id: int) -> str | None:
    """Ask ``server`` for the A record of ``name`` from address ``source``; the answer or None.

    None means no answer within a second (the caller counts it).
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(1.0)
        sock.sendto(encode_query(query_id, name), server)
        try:
            reply = sock.recv(4096)
        except TimeoutError:
            return None
    return socket.inet_ntoa(reply[-4:]) if len(reply) >= _HEADER.size + 4 else None


__all__ = ["DnsResponder", "encode_answer", "encode_query", "query"]
