"""The identities every real CICIoT2023 row satisfies (PROVENANCE.md), as one check."""

from __future__ import annotations

import numpy as np
import pandas as pd

FLAGS = [
    "fin_flag_number", "syn_flag_number", "rst_flag_number", "psh_flag_number",
    "ack_flag_number", "ece_flag_number", "cwr_flag_number",
]  # fmt: skip
INDICATORS = [
    "HTTP", "HTTPS", "DNS", "Telnet", "SMTP", "SSH", "IRC", "TCP", "UDP", "DHCP", "ARP", "ICMP",
    "IGMP", "IPv", "LLC",
]  # fmt: skip
COUNTS = {"ack_count": "ack", "syn_count": "syn", "fin_count": "fin", "rst_count": "rst"}


def _integral(values: pd.Series) -> bool:
    return bool(np.allclose(values, np.round(values), rtol=0, atol=1e-6))


def check_cic39_identities(rows: pd.DataFrame) -> None:
    """Assert every identity of real cic39 rows on ``rows`` (raises AssertionError)."""
    assert len(rows), "no rows"
    assert np.isfinite(rows.to_numpy(dtype=float)).all(), "a value is not finite"
    number = rows["Number"]
    assert _integral(number) and (number >= 1).all()
    for column in FLAGS + INDICATORS:
        assert rows[column].between(0, 1).all(), column
        assert _integral(rows[column] * number), f"{column} × Number is not integral"
    for column, flag in COUNTS.items():
        assert _integral(rows[column]), column
        assert np.allclose(rows[column], rows[f"{flag}_flag_number"] * number), column
    assert _integral(rows["Tot sum"])
    assert np.allclose(rows["AVG"], rows["Tot sum"] / number, rtol=1e-9)
    assert (rows["Tot size"] == rows["AVG"]).all()
    assert np.allclose(rows["Variance"], rows["Std"] ** 2, rtol=1e-9, atol=1e-9)
    assert (rows["Min"] <= rows["AVG"] + 1e-9).all() and (rows["AVG"] <= rows["Max"] + 1e-9).all()
    assert np.allclose(rows["IPv"] + rows["ARP"], 1.0)
    assert (rows["IPv"] == rows["LLC"]).all()
    assert _integral(rows["Protocol Type"]) and _integral(rows["Header_Length"] * number)
    assert _integral(rows["Time_To_Live"] * number)
    assert (rows["Rate"] >= 0).all() and (rows["IAT"] >= 0).all()


__all__ = ["COUNTS", "FLAGS", "INDICATORS", "check_cic39_identities"]
