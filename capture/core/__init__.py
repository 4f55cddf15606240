"""The pure capture core: pcap/pcapng bytes → decoded packets → CICIoT2023 feature windows.

No I/O and no Kafka: the readers parse bytes handed to them, :func:`decode` reads header
fields with numpy, and :class:`WindowExtractor` averages packets into windows with bounded
state. docs/capture.md defines every feature.
"""

from iotad.capture.core.decode import SUPPORTED_LINKTYPES, decode
from iotad.capture.core.errors import CaptureFormatError
from iotad.capture.core.extract import WindowExtractor
from iotad.capture.core.flows import FlowTable
from iotad.capture.core.pcap_records import PcapHeader, parse_pcap_header, parse_pcap_records
from iotad.capture.core.pcapng_blocks import PcapngParser
from iotad.capture.core.types import (
    CaptureSummary,
    DecodedPackets,
    FeatureRows,
    LinkType,
    PacketBatch,
    PacketSource,
    SkipReason,
)

__all__ = [
    "SUPPORTED_LINKTYPES",
    "CaptureFormatError",
    "CaptureSummary",
    "DecodedPackets",
    "FeatureRows",
    "FlowTable",
    "LinkType",
    "PacketBatch",
    "PacketSource",
    "PcapHeader",
    "PcapngParser",
    "SkipReason",
    "WindowExtractor",
    "decode",
    "parse_pcap_header",
    "parse_pcap_records",
]
