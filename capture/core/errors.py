"""Errors of the capture wing (all are :class:`~iotad.errors.DataError`: bad input)."""

from __future__ import annotations

from iotad.errors import DataError


class CaptureFormatError(DataError):
    """A file is not a pcap/pcapng capture, or uses a link type iotad cannot decode."""


__all__ = ["CaptureFormatError"]
