"""One table for CICIoT2023's 34 labels: canonical names, categories, binary classes, tasks.

Every spelling seen in the releases maps to one canonical label here and nowhere else:
per-class folder names (``DDoS-ACK_Fragmentation``, ``Benign_Final``), per-class file names
(``BenignTraffic1.pcap.csv``), MERGED upper-case names (``DDOS-ACK_FRAGMENTATION``, ``BENIGN``).

Two category maps are supported: the study's (``study``: Backdoor_Malware is Brute Force) and CIC's
own paper (``cic``: Backdoor_Malware is Web-based). A bundle records which one it used.
"""

from __future__ import annotations

import re
from enum import IntEnum, StrEnum
from pathlib import PurePath
from typing import Literal

from iotad.errors import SchemaError


class Category(StrEnum):
    """Attack categories of the 8-class task, plus ``Attack`` for a binary model's verdict and
    ``Unknown`` for a flow anomalous for its gateway that the classifier calls benign (zero-day)."""

    DDOS = "DDoS"
    DOS = "DoS"
    RECON = "Recon"
    WEB = "Web"
    BRUTE_FORCE = "BruteForce"
    SPOOFING = "Spoofing"
    MIRAI = "Mirai"
    BENIGN = "Benign"
    ATTACK = "Attack"
    UNKNOWN = "Unknown"

    @property
    def slug(self) -> str:
        """Lower-case name, safe in Kafka topic names (``iotad.alerts.ddos``)."""
        return self.value.lower()


class Task(IntEnum):
    """The three classification tasks of the study."""

    BINARY = 2
    CATEGORY = 8
    LABEL = 34


CategoryMapName = Literal["study", "cic"]

BENIGN_LABEL = "BenignTraffic"

_STUDY_CATEGORIES: dict[Category, tuple[str, ...]] = {
    Category.DDOS: (
        "DDoS-ACK_Fragmentation", "DDoS-HTTP_Flood", "DDoS-ICMP_Flood", "DDoS-ICMP_Fragmentation",
        "DDoS-PSHACK_Flood", "DDoS-RSTFINFlood", "DDoS-SYN_Flood", "DDoS-SlowLoris",
        "DDoS-SynonymousIP_Flood", "DDoS-TCP_Flood", "DDoS-UDP_Flood", "DDoS-UDP_Fragmentation",
    ),
    Category.DOS: ("DoS-HTTP_Flood", "DoS-SYN_Flood", "DoS-TCP_Flood", "DoS-UDP_Flood"),
    Category.RECON: (
        "Recon-PortScan", "Recon-OSScan", "Recon-HostDiscovery", "Recon-PingSweep",
        "VulnerabilityScan",
    ),
    Category.WEB: (
        "XSS", "SqlInjection", "CommandInjection", "Uploading_Attack", "BrowserHijacking",
    ),
    Category.BRUTE_FORCE: ("DictionaryBruteForce", "Backdoor_Malware"),
    Category.SPOOFING: ("MITM-ArpSpoofing", "DNS_Spoofing"),
    Category.MIRAI: ("Mirai-greeth_flood", "Mirai-udpplain", "Mirai-greip_flood"),
    Category.BENIGN: (BENIGN_LABEL,),
}  # fmt: skip

#: The 34 canonical labels, in a fixed order (category by category).
LABELS: tuple[str, ...] = tuple(label for group in _STUDY_CATEGORIES.values() for label in group)

CATEGORY_MAPS: dict[str, dict[str, Category]] = {
    "study": {label: cat for cat, group in _STUDY_CATEGORIES.items() for label in group},
}
CATEGORY_MAPS["cic"] = {**CATEGORY_MAPS["study"], "Backdoor_Malware": Category.WEB}

#: The 8 categories of the 8-class task, in a fixed order.
CATEGORIES: tuple[Category, ...] = tuple(_STUDY_CATEGORIES)

BINARY_CLASSES: tuple[str, ...] = ("Attack", "Benign")

_ALIASES: dict[str, str] = {
    **{label.upper(): label for label in LABELS},
    "BENIGN": BENIGN_LABEL,
    "BENIGN_FINAL": BENIGN_LABEL,
}
_FILE_SUFFIX = re.compile(r"(\d+)?(\.pcap)?(\.csv)?(\.gz)?$", re.IGNORECASE)


def canonical_label(raw: str) -> str:
    """The canonical label for any spelling used by the CICIoT2023 releases.

    Raises
    ------
    SchemaError
        for a name that is not one of the 34 labels.
    """
    key = raw.strip().upper()
    try:
        return _ALIASES[key]
    except KeyError:
        raise SchemaError(f"unknown CICIoT2023 label {raw!r}") from None


def label_from_path(path: PurePath) -> str:
    """The label of a per-class capture file: its folder name, else its file name.

    ``DDoS-ACK_Fragmentation/DDoS-ACK_Fragmentation12.pcap.csv.gz`` → ``DDoS-ACK_Fragmentation``.
    """
    candidates = [path.parent.name, _FILE_SUFFIX.sub("", path.name)]
    for candidate in candidates:
        if candidate.strip().upper() in _ALIASES:
            return _ALIASES[candidate.strip().upper()]
    raise SchemaError(
        f"cannot tell the label of {str(path)!r}: neither its folder {candidates[0]!r} nor its "
        f"file name {candidates[1]!r} is a CICIoT2023 label"
    )


def category_of(label: str, category_map: CategoryMapName = "study") -> Category:
    """The category of a canonical label under the named map."""
    return CATEGORY_MAPS[category_map][label]


def binary_class(label: str) -> str:
    """``Benign`` for benign traffic, ``Attack`` for everything else."""
    return "Benign" if label == BENIGN_LABEL else "Attack"


def target_of(label: str, task: Task, category_map: CategoryMapName = "study") -> str:
    """The class a canonical label belongs to in a task (2, 8 or 34 classes)."""
    if task is Task.LABEL:
        return label
    if task is Task.CATEGORY:
        return category_of(label, category_map).value
    return binary_class(label)


def task_classes(task: Task) -> tuple[str, ...]:
    """Every class of a task, in the fixed order (a model may cover only some of them)."""
    if task is Task.LABEL:
        return LABELS
    if task is Task.CATEGORY:
        return tuple(c.value for c in CATEGORIES)
    return BINARY_CLASSES


def category_of_class(class_name: str, task: Task, category_map: CategoryMapName) -> Category:
    """The category an alert reports for a model's output class."""
    if task is Task.LABEL:
        return category_of(class_name, category_map)
    if task is Task.CATEGORY:
        return Category(class_name)
    return Category.BENIGN if class_name == "Benign" else Category.ATTACK


__all__ = [
    "BENIGN_LABEL",
    "BINARY_CLASSES",
    "CATEGORIES",
    "CATEGORY_MAPS",
    "LABELS",
    "Category",
    "CategoryMapName",
    "Task",
    "binary_class",
    "canonical_label",
    "category_of",
    "category_of_class",
    "label_from_path",
    "target_of",
    "task_classes",
]
