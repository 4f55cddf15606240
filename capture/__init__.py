"""Packets to CICIoT2023 features (``iotad.capture``): pcap files, live interfaces, traffic."""

__all__: list[str] = []
