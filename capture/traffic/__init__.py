"""Local traffic generators (loopback only) for tests, the demo and benchmarks.

A simulated hospital ward on ``127.<octet>.0.0/16``: :class:`LocalServers` runs the gateway's
HTTP, HTTPS, DNS and MQTT services; :func:`benign_traffic` and :func:`attack_traffic` exchange
real packets with them. See docs/capture-live.md.
"""

from iotad.capture.traffic.mix import AttackPlan, BenignPlan, attack_traffic, benign_traffic
from iotad.capture.traffic.servers import LocalServers
from iotad.capture.traffic.types import LoopbackHosts, ServerPorts, TrafficReport

__all__ = [
    "AttackPlan",
    "BenignPlan",
    "LocalServers",
    "LoopbackHosts",
    "ServerPorts",
    "TrafficReport",
    "attack_traffic",
    "benign_traffic",
]
