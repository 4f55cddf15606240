"""The demo's scenario: a hospital gateway's day compressed into the feed, mostly benign traffic
with bursts of attacks of several categories.

The timeline is expressed in fractions of the feed's duration, so a 10-second test run and a
5-minute demo play the same story. Each segment names the attack labels it mixes in (all
**synthetic** flows from the profile table; labels the default bundle recognises best among
those of each category, see docs/demo.md) and the share of flows they take; every other flow is
benign traffic from the ward devices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from iotad.errors import ConfigError
from iotad.schemas.labels import BENIGN_LABEL

GATEWAY_ID = "gw-demo-synthetic"

#: Devices of a hospital ward network whose flows the gateway sees (benign traffic).
WARD_DEVICES: tuple[str, ...] = (
    "infusion-pump-w3-01", "infusion-pump-w3-02", "patient-monitor-icu-04",
    "patient-monitor-icu-07", "ventilator-icu-02", "ecg-cart-cardio-01", "glucose-meter-w5-03",
    "smart-bed-w2-11", "nurse-call-w2-01", "badge-reader-lobby-01", "pharmacy-cabinet-01",
    "pacs-viewer-rad-02", "ip-camera-corridor-05", "hvac-controller-b2-01", "dialysis-unit-03",
    "bedside-tablet-w2-06",
)  # fmt: skip


@dataclass(frozen=True)
class Segment:
    """A stretch of the timeline: ``[start, end)`` as fractions of the feed.

    ``attacks`` are ``(label, weight)`` pairs; ``attack_share`` of the flows are drawn from them
    and attributed to ``devices`` (the attacked or compromised devices); the rest is benign.
    ``pattern`` says who talks to whom in the attack flows (iotad/demo/hosts.py): ``inbound``,
    ``attacker`` → one of ``devices``; ``scan``, ``attacker`` → any ward device; ``outbound``, a
    compromised device of ``devices`` → hosts outside the hospital.
    """

    name: str
    start: float
    end: float
    attacks: tuple[tuple[str, float], ...] = ()
    attack_share: float = 0.0
    devices: tuple[str, ...] = ()
    pattern: Literal["inbound", "scan", "outbound"] = "inbound"
    #: The attacker's address (inbound and scan bursts).
    attacker: str | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        """The attack labels mixed in."""
        return tuple(label for label, _ in self.attacks)


def _quiet(start: float, end: float) -> Segment:
    return Segment("benign", start, end)


#: The default story. Burst labels: the labels of each category the default bundles recognise
#: best in generated flows (scripts/derive_demo_profiles.py --fidelity; docs/demo.md). The
#: 8-class bundle serves the first half (DDoS, port scan, web attack), the 34-class bundle
#: swapped in at 50 % the second (brute force, Mirai, DoS).
DEFAULT_TIMELINE: tuple[Segment, ...] = (
    _quiet(0.00, 0.06),
    Segment(
        "DDoS burst", 0.06, 0.16,
        (("DDoS-UDP_Fragmentation", 0.5), ("DDoS-ACK_Fragmentation", 0.3),
         ("DDoS-ICMP_Flood", 0.2)),
        0.5, ("patient-monitor-icu-04", "pacs-viewer-rad-02"), attacker="203.0.113.10",
    ),
    _quiet(0.16, 0.22),
    Segment(
        "port scan", 0.22, 0.32, (("Recon-PortScan", 1.0),), 0.4, ("bedside-tablet-w2-06",),
        "scan", "203.0.113.20",
    ),
    _quiet(0.32, 0.38),
    Segment(
        "web attack", 0.38, 0.48,
        (("BrowserHijacking", 0.3), ("Uploading_Attack", 0.25), ("CommandInjection", 0.25),
         ("XSS", 0.2)),
        0.4, ("pacs-viewer-rad-02",), attacker="203.0.113.30",
    ),
    _quiet(0.48, 0.56),
    Segment(
        "brute-force run", 0.56, 0.66, (("DictionaryBruteForce", 1.0),), 0.4,
        ("nurse-call-w2-01",), attacker="203.0.113.40",
    ),
    _quiet(0.66, 0.72),
    Segment(
        "Mirai botnet", 0.72, 0.82,
        (("Mirai-greip_flood", 0.5), ("Mirai-udpplain", 0.4), ("Mirai-greeth_flood", 0.1)),
        0.5, ("ip-camera-corridor-05", "hvac-controller-b2-01"), "outbound",
    ),
    _quiet(0.82, 0.88),
    Segment(
        "DoS flood", 0.88, 0.96, (("DoS-UDP_Flood", 0.7), ("DoS-SYN_Flood", 0.3)), 0.5,
        ("infusion-pump-w3-02",), attacker="203.0.113.60",
    ),
    _quiet(0.96, 1.00),
)  # fmt: skip


@dataclass(frozen=True)
class Scenario:
    """A timeline of segments covering ``[0, 1)`` without gaps or overlaps."""

    segments: tuple[Segment, ...] = DEFAULT_TIMELINE
    ward_devices: tuple[str, ...] = WARD_DEVICES
    _starts: NDArray[np.float64] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_timeline(self.segments)
        starts = np.asarray([s.start for s in self.segments], dtype=np.float64)
        object.__setattr__(self, "_starts", starts)

    @property
    def labels(self) -> tuple[str, ...]:
        """Every label the scenario sends, benign first."""
        attacks = dict.fromkeys(label for s in self.segments for label in s.labels)
        return (BENIGN_LABEL, *attacks)

    def segment_at(self, fraction: float) -> Segment:
        """The segment playing at ``fraction`` of the feed (clamped to ``[0, 1)``)."""
        index = int(np.searchsorted(self._starts, min(max(fraction, 0.0), 0.999999), "right"))
        return self.segments[max(index - 1, 0)]

    def draw(
        self, fraction: float, n: int, rng: np.random.Generator
    ) -> tuple[list[str], list[str]]:
        """Intended labels and devices of ``n`` flows sent at ``fraction`` of the feed."""
        segment = self.segment_at(fraction)
        attacks = int(rng.binomial(n, segment.attack_share)) if segment.attacks else 0
        labels = [BENIGN_LABEL] * (n - attacks)
        devices = [str(d) for d in rng.choice(self.ward_devices, size=n - attacks)]
        if attacks:
            names = [label for label, _ in segment.attacks]
            weights = np.asarray([w for _, w in segment.attacks], dtype=np.float64)
            labels += [str(v) for v in rng.choice(names, size=attacks, p=weights / weights.sum())]
            devices += [str(d) for d in rng.choice(segment.devices, size=attacks)]
        order = rng.permutation(n)
        return [labels[i] for i in order], [devices[i] for i in order]

    def bursts(self) -> tuple[Segment, ...]:
        """The attack segments, in order."""
        return tuple(s for s in self.segments if s.attacks)

    def windows(self, duration_s: float) -> list[tuple[str, float, float]]:
        """``(name, start s, end s)`` of every attack segment for a feed of ``duration_s``."""
        return [
            (s.name, s.start * duration_s, s.end * duration_s) for s in self.segments if s.attacks
        ]


def check_timeline(segments: Sequence[Segment]) -> None:
    """Raise :class:`ConfigError` unless the segments tile ``[0, 1)`` in order and are sane."""
    if not segments:
        raise ConfigError("a scenario needs at least one segment")
    edge = 0.0
    for segment in segments:
        if abs(segment.start - edge) > 1e-9 or segment.end <= segment.start:
            raise ConfigError(
                f"scenario segment {segment.name!r} [{segment.start}, {segment.end}) does not "
                f"start where the previous one ended ({edge})"
            )
        if not 0.0 <= segment.attack_share <= 1.0:
            raise ConfigError(f"segment {segment.name!r}: attack_share must be in [0, 1]")
        if segment.attacks and (not segment.devices or segment.attack_share == 0.0):
            raise ConfigError(f"segment {segment.name!r}: attacks need devices and a share > 0")
        if any(w <= 0 for _, w in segment.attacks):
            raise ConfigError(f"segment {segment.name!r}: attack weights must be > 0")
        if segment.attacks and segment.pattern != "outbound" and not segment.attacker:
            raise ConfigError(
                f"segment {segment.name!r}: {segment.pattern} attacks need an attacker"
            )
        edge = segment.end
    if abs(edge - 1.0) > 1e-9:
        raise ConfigError(f"the scenario ends at {edge}, not at 1.0")


__all__ = [
    "DEFAULT_TIMELINE",
    "GATEWAY_ID",
    "WARD_DEVICES",
    "Scenario",
    "Segment",
    "check_timeline",
]
