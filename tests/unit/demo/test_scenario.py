"""The scenario timeline: mostly benign, bursts of several attack categories."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from iotad.demo.fidelity import intended_category
from iotad.demo.scenario import DEFAULT_TIMELINE, WARD_DEVICES, Scenario, Segment, check_timeline
from iotad.errors import ConfigError
from iotad.schemas.labels import BENIGN_LABEL, LABELS


def test_the_default_story_tiles_the_feed_with_six_attack_categories() -> None:
    scenario = Scenario()
    assert scenario.segments[0].start == 0.0 and scenario.segments[-1].end == 1.0
    categories = {intended_category(label) for label in scenario.labels[1:]}
    assert categories == {"DDoS", "DoS", "Recon", "Web", "BruteForce", "Mirai"}
    assert set(scenario.labels) <= set(LABELS)
    attack_time = sum(s.end - s.start for s in DEFAULT_TIMELINE if s.attacks)
    assert attack_time < 0.7  # quiet stretches between the bursts
    assert scenario.segment_at(0.5).name == "benign"  # the hot swap happens in a quiet stretch


def test_segment_at_finds_the_playing_segment() -> None:
    scenario = Scenario()
    assert scenario.segment_at(0.0).name == "benign"
    assert scenario.segment_at(0.1).name == "DDoS burst"
    assert scenario.segment_at(0.16).name == "benign"  # segments are [start, end)
    assert scenario.segment_at(1.5).name == "benign"  # clamped


def test_draw_mixes_benign_and_the_segment_attacks() -> None:
    scenario = Scenario()
    rng = np.random.default_rng(0)
    labels, devices = scenario.draw(0.1, 4000, rng)
    counts = Counter(labels)
    assert abs(counts[BENIGN_LABEL] / 4000 - 0.5) < 0.05
    assert set(counts) == {BENIGN_LABEL, "DDoS-UDP_Fragmentation", "DDoS-ACK_Fragmentation",
                           "DDoS-ICMP_Flood"}  # fmt: skip
    attacked = {d for label, d in zip(labels, devices, strict=True) if label != BENIGN_LABEL}
    assert attacked == set(scenario.segment_at(0.1).devices)
    quiet_labels, quiet_devices = scenario.draw(0.02, 500, rng)
    assert set(quiet_labels) == {BENIGN_LABEL} and set(quiet_devices) <= set(WARD_DEVICES)
    assert scenario.draw(0.3, 0, rng) == ([], [])


def test_the_whole_feed_is_mostly_benign() -> None:
    scenario = Scenario()
    rng = np.random.default_rng(1)
    labels = [label for t in np.linspace(0, 0.999, 200) for label in scenario.draw(t, 50, rng)[0]]
    assert 0.6 < Counter(labels)[BENIGN_LABEL] / len(labels) < 0.85


def test_windows_are_in_seconds() -> None:
    windows = Scenario().windows(100.0)
    assert windows[0] == ("DDoS burst", 6.0, 16.0)
    assert len(windows) == 6


@pytest.mark.parametrize(
    ("segments", "message"),
    [
        ((), "at least one"),
        ((Segment("a", 0.0, 0.5), Segment("b", 0.6, 1.0)), "does not start"),
        ((Segment("a", 0.0, 0.9),), "ends at 0.9"),
        ((Segment("a", 0.0, 1.0, (("XSS", 1.0),), 0.5),), "need devices"),
        ((Segment("a", 0.0, 1.0, (("XSS", 0.0),), 0.5, ("d",)),), "weights"),
        ((Segment("a", 0.0, 1.0, attack_share=2.0),), "attack_share"),
    ],
)
def test_bad_timelines_are_refused(segments: tuple[Segment, ...], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_timeline(segments)
