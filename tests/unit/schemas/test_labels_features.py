from pathlib import PurePath

import pytest

from iotad.errors import SchemaError
from iotad.schemas.features import FEATURES_39, FEATURES_46, FeatureLayout, detect_layout
from iotad.schemas.labels import (
    LABELS,
    Category,
    Task,
    canonical_label,
    category_of,
    label_from_path,
    target_of,
    task_classes,
)


def test_34_labels_8_categories() -> None:
    assert len(LABELS) == 34 == len(set(LABELS))
    assert len(task_classes(Task.CATEGORY)) == 8
    assert {category_of(label).value for label in LABELS} == set(task_classes(Task.CATEGORY))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("DDOS-ACK_FRAGMENTATION", "DDoS-ACK_Fragmentation"),
        ("BENIGN", "BenignTraffic"),
        ("MITM-ARPSPOOFING", "MITM-ArpSpoofing"),
        ("Recon-PortScan", "Recon-PortScan"),
        (" mirai-greip_flood ", "Mirai-greip_flood"),
    ],
)
def test_canonical_label(raw: str, expected: str) -> None:
    assert canonical_label(raw) == expected


def test_unknown_label_is_refused() -> None:
    with pytest.raises(SchemaError, match="unknown CICIoT2023 label"):
        canonical_label("Ransomware")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "per_class/DDoS-ACK_Fragmentation/DDoS-ACK_Fragmentation12.pcap.csv.gz",
            "DDoS-ACK_Fragmentation",
        ),
        ("x/Benign_Final/BenignTraffic1.pcap.csv", "BenignTraffic"),
        ("flat/XSS.pcap.csv", "XSS"),
    ],
)
def test_label_from_path(path: str, expected: str) -> None:
    assert label_from_path(PurePath(path)) == expected


def test_category_maps_differ_only_on_backdoor() -> None:
    differ = [lab for lab in LABELS if category_of(lab, "study") != category_of(lab, "cic")]
    assert differ == ["Backdoor_Malware"]
    assert category_of("Backdoor_Malware", "cic") is Category.WEB


def test_targets() -> None:
    assert target_of("XSS", Task.BINARY) == "Attack"
    assert target_of("BenignTraffic", Task.BINARY) == "Benign"
    assert target_of("XSS", Task.CATEGORY) == "Web"
    assert target_of("XSS", Task.LABEL) == "XSS"


def test_layouts() -> None:
    assert len(FEATURES_39) == 39 and len(FEATURES_46) == 46
    assert detect_layout([*FEATURES_39, "Label"]) is FeatureLayout.CIC39
    assert detect_layout([*FEATURES_46, "label", "final_label"]) is FeatureLayout.CIC46
    assert detect_layout(list(reversed(FEATURES_39))) is FeatureLayout.CIC39
    with pytest.raises(SchemaError, match="missing \\['IGMP'\\]"):
        detect_layout([f for f in FEATURES_39 if f != "IGMP"])
