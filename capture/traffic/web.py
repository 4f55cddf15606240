"""HTTP and HTTPS on loopback: a small JSON endpoint (``http.server``) and its client."""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

logger = logging.getLogger(__name__)

_BODY = b'{"status":"ok","ward":"3"}'


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(_BODY)))
        self.end_headers()
        self.wfile.write(_BODY)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("web server: %s", format % args)


class WebServer(ThreadingHTTPServer):
    """An HTTP server on ``address``; HTTPS when given a TLS server context.

    The TLS handshake runs in the request's own thread, so one slow client never blocks the
    accept loop.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], tls: ssl.SSLContext | None = None) -> None:
        super().__init__(address, _Handler)
        self._tls = tls

    def finish_request(self, request: object, client_address: object) -> None:
        if self._tls is None:
            super().finish_request(request, client_address)  # type: ignore[arg-type]
            return
        assert isinstance(request, socket.socket)
        wrapped = self._tls.wrap_socket(request, server_side=True)
        try:
            super().finish_request(wrapped, client_address)
        finally:
            wrapped.close()

    def handle_error(self, request: object, client_address: object) -> None:
        import sys

        logger.info("web server: a request from %s failed: %r", client_address, sys.exc_info()[1])


def get(
    server: tuple[str, int],
    source: str,
    path: str = "/",
    *,
    tls: ssl.SSLContext | None = None,
    requests: int = 1,
) -> int:
    """``requests`` GETs of ``path`` on one keep-alive connection from ``source``; how many
    answered 200 (the rest raise: the caller counts them).

    Raises
    ------
    OSError, http.client.HTTPException
        when the server cannot be reached or answers garbage.
    """
    host, port = server
    connection: http.client.HTTPConnection
    if tls is None:
        connection = http.client.HTTPConnection(host, port, timeout=5, source_address=(source, 0))
    else:
        connection = http.client.HTTPSConnection(
            host, port, timeout=5, source_address=(source, 0), context=tls
        )
    ok = 0
    try:
        for _ in range(requests):
            connection.request("GET", path, headers={"User-Agent": "ward-device/1.0"})
            response = connection.getresponse()
            response.read()
            ok += response.status == 200
    finally:
        connection.close()
    return ok


__all__ = ["WebServer", "get"]
