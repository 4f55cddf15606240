"""The gateway's local services for generated traffic: HTTP, HTTPS, DNS, an MQTT broker stub and
a UDP sink, all on :attr:`LoopbackHosts.server`, started and stopped together.

Each service takes its well-known port (80, 443, 53, 1883) when this process may bind it (CIC
names protocols by port), else an ephemeral one; :class:`ServerPorts` says which.
"""

from __future__ import annotations

import logging
import socket
import socketserver
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from iotad.capture.traffic.dns import DnsResponder
from iotad.capture.traffic.mqtt import MqttBrokerStub
from iotad.capture.traffic.tls import LocalCertificate, self_signed
from iotad.capture.traffic.types import (
    DNS_PORT,
    HTTP_PORT,
    HTTPS_PORT,
    MQTT_PORT,
    LoopbackHosts,
    ServerPorts,
)
from iotad.capture.traffic.web import WebServer

logger = logging.getLogger(__name__)

S = TypeVar("S", bound=socketserver.BaseServer)


def bind_preferred(make: Callable[[int], S], preferred: int) -> S:
    """``make(preferred)``, or ``make(0)`` (an ephemeral port) when that port is refused."""
    try:
        return make(preferred)
    except OSError as exc:
        logger.info("port %d refused (%s); using an ephemeral port", preferred, exc)
        return make(0)


def _udp_socket(host: str, preferred: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((host, preferred))
    except OSError as exc:
        logger.info("udp port %d refused (%s); using an ephemeral port", preferred, exc)
        sock.bind((host, 0))
    return sock


class UdpSink:
    """Reads and discards datagrams (the target of a UDP flood), counting them."""

    def __init__(self, host: str) -> None:
        self._sock = _udp_socket(host, 0)
        self._sock.settimeout(0.1)
        self.received = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._drain, name="udp-sink", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._sock.getsockname()[1])

    def _drain(self) -> None:
        while not self._stop.is_set():
            try:
                self._sock.recv(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            self.received += 1

    def close(self) -> None:
        """Stop reading and close the socket."""
        self._stop.set()
        self._thread.join(2.0)
        self._sock.close()


class LocalServers:
    """Every service of the simulated gateway, as a context manager.

    Examples
    --------
    >>> with LocalServers(LoopbackHosts(octet=77)) as servers:
    ...     servers.ports.http > 0
    True
    """

    def __init__(self, hosts: LoopbackHosts, cert_dir: Path | None = None) -> None:
        self.hosts = hosts
        self._cert_dir = cert_dir
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._threads: list[threading.Thread] = []
        self._tcp: list[socketserver.BaseServer] = []
        self.certificate: LocalCertificate | None = None
        self.http: WebServer | None = None
        self.https: WebServer | None = None
        self.mqtt: MqttBrokerStub | None = None
        self.dns: DnsResponder | None = None
        self.sink: UdpSink | None = None

    def __enter__(self) -> LocalServers:
        host = self.hosts.server
        try:
            if self._cert_dir is None:
                self._tmp = tempfile.TemporaryDirectory(prefix="iotad-tls-")
                self._cert_dir = Path(self._tmp.name)
            self.certificate = self_signed(host, self._cert_dir)
            tls = self.certificate.server_context()
            self.http = self._serve(bind_preferred(lambda p: WebServer((host, p)), HTTP_PORT))
            self.https = self._serve(
                bind_preferred(lambda p: WebServer((host, p), tls), HTTPS_PORT)
            )
            self.mqtt = self._serve(bind_preferred(lambda p: MqttBrokerStub((host, p)), MQTT_PORT))
            self.dns = DnsResponder(_udp_socket(host, DNS_PORT), answer=host)
            self.sink = UdpSink(host)
        except BaseException:
            self.close()
            raise
        logger.info("local servers on %s: %s", host, self.ports)
        return self

    def _serve(self, server: S) -> S:
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        thread.start()
        self._tcp.append(server)
        self._threads.append(thread)
        return server

    @property
    def ports(self) -> ServerPorts:
        """The ports the services listen on."""
        assert self.http and self.https and self.mqtt and self.dns and self.sink
        return ServerPorts(
            http=self.http.server_address[1],
            https=self.https.server_address[1],
            dns=self.dns.port,
            mqtt=self.mqtt.server_address[1],
            sink=self.sink.port,
        )

    def close(self) -> None:
        """Stop every service that started (idempotent)."""
        for server in self._tcp:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(2.0)
        self._tcp.clear()
        self._threads.clear()
        for udp in (self.dns, self.sink):
            if udp is not None:
                udp.close()
        self.dns = self.sink = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


__all__ = ["LocalServers", "UdpSink", "bind_preferred"]
