"""The two CICIoT2023 feature layouts, by their exact column names.

* ``cic46``: the 169 ``part-*.csv`` files the original study used (46 features + ``label``).
* ``cic39``: the per-class ``<Class>/<Class>[N].pcap.csv`` tree (no label column: the class is the
  folder name) and the ``MERGED_CSV/MergedNN.csv`` files (same 39 features + upper-case ``Label``).

The layouts are not interchangeable: ``IAT`` and ``Number`` have different units, ``cic39`` has
``Time_To_Live`` where ``cic46`` has ``Duration``. A model bundle records which layout it was
trained on, and a flow must carry exactly that layout's features.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Literal

from iotad.errors import SchemaError


class FeatureLayout(StrEnum):
    """Which CICIoT2023 release a row comes from."""

    CIC39 = "cic39"
    CIC46 = "cic46"


FEATURES_39: tuple[str, ...] = (
    "Header_Length", "Protocol Type", "Time_To_Live", "Rate", "fin_flag_number",
    "syn_flag_number", "rst_flag_number", "psh_flag_number", "ack_flag_number",
    "ece_flag_number", "cwr_flag_number", "ack_count", "syn_count", "fin_count", "rst_count",
    "HTTP", "HTTPS", "DNS", "Telnet", "SMTP", "SSH", "IRC", "TCP", "UDP", "DHCP", "ARP", "ICMP",
    "IGMP", "IPv", "LLC", "Tot sum", "Min", "Max", "AVG", "Std", "Tot size", "IAT", "Number",
    "Variance",
)  # fmt: skip

FEATURES_46: tuple[str, ...] = (
    "flow_duration", "Header_Length", "Protocol Type", "Duration", "Rate", "Srate", "Drate",
    "fin_flag_number", "syn_flag_number", "rst_flag_number", "psh_flag_number",
    "ack_flag_number", "ece_flag_number", "cwr_flag_number", "ack_count", "syn_count",
    "fin_count", "urg_count", "rst_count", "HTTP", "HTTPS", "DNS", "Telnet", "SMTP", "SSH", "IRC",
    "TCP", "UDP", "DHCP", "ARP", "ICMP", "IPv", "LLC", "Tot sum", "Min", "Max", "AVG", "Std",
    "Tot size", "IAT", "Number", "Magnitue", "Radius", "Covariance", "Variance", "Weight",
)  # fmt: skip

LAYOUT_FEATURES: dict[FeatureLayout, tuple[str, ...]] = {
    FeatureLayout.CIC39: FEATURES_39,
    FeatureLayout.CIC46: FEATURES_46,
}

# Every name a flow message may carry (union of both layouts, in first-seen order).
ALL_FEATURES: tuple[str, ...] = tuple(dict.fromkeys(FEATURES_46 + FEATURES_39))

# The same union as a typing Literal, so message schemas enumerate the allowed names.
FeatureName = Literal[
    "flow_duration", "Header_Length", "Protocol Type", "Duration", "Rate", "Srate", "Drate",
    "fin_flag_number", "syn_flag_number", "rst_flag_number", "psh_flag_number",
    "ack_flag_number", "ece_flag_number", "cwr_flag_number", "ack_count", "syn_count",
    "fin_count", "urg_count", "rst_count", "HTTP", "HTTPS", "DNS", "Telnet", "SMTP", "SSH", "IRC",
    "TCP", "UDP", "DHCP", "ARP", "ICMP", "IPv", "LLC", "Tot sum", "Min", "Max", "AVG", "Std",
    "Tot size", "IAT", "Number", "Magnitue", "Radius", "Covariance", "Variance", "Weight",
    "Time_To_Live", "IGMP",
]  # fmt: skip

# Label columns of the releases: ``label`` (part files), ``Label`` (MERGED), plus a grouping
# column some public copies of the part files add (not CIC's; ignored).
LABEL_COLUMNS: tuple[str, ...] = ("label", "Label")
IGNORED_COLUMNS: tuple[str, ...] = ("final_label",)


def detect_layout(columns: Sequence[str]) -> FeatureLayout:
    """The layout of a CSV header (label and ignored columns may be present; order is free).

    Raises
    ------
    SchemaError
        if the header is neither layout, naming the missing and unexpected columns.
    """
    names = [c.strip() for c in columns if c.strip() not in LABEL_COLUMNS + IGNORED_COLUMNS]
    for layout, expected in LAYOUT_FEATURES.items():
        if len(names) == len(expected) and set(names) == set(expected):
            return layout
    best = min(LAYOUT_FEATURES.items(), key=lambda kv: len(set(kv[1]) ^ set(names)))
    missing = [c for c in best[1] if c not in names]
    extra = [c for c in names if c not in best[1]]
    dupes = " (duplicate column names)" if not missing and not extra else ""
    raise SchemaError(
        f"header is not a CICIoT2023 layout{dupes}; closest is {best[0].value}: "
        f"missing {missing[:8]}{'…' if len(missing) > 8 else ''}, "
        f"unexpected {extra[:8]}{'…' if len(extra) > 8 else ''}"
    )


__all__ = [
    "ALL_FEATURES",
    "FEATURES_39",
    "FEATURES_46",
    "IGNORED_COLUMNS",
    "LABEL_COLUMNS",
    "LAYOUT_FEATURES",
    "FeatureLayout",
    "FeatureName",
    "detect_layout",
]
