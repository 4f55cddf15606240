"""Live capture: a network interface as a packet source, through tcpdump (docs/capture-live.md)."""

from iotad.capture.live.source import LiveCapture
from iotad.capture.live.tcpdump import LiveCaptureError, TcpdumpOptions, TcpdumpStats

__all__ = ["LiveCapture", "LiveCaptureError", "TcpdumpOptions", "TcpdumpStats"]
