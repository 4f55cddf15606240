"""CICIoT2023's row identities in the 39-column layout, and the features they leave free.

A 39-column row describes a window of ``Number`` packets. On every genuine row (checked on all
141,552 shared rows):

* the per-packet shares (the 7 TCP flag columns, the 15 protocol indicators, ``Header_Length``,
  ``Protocol Type`` and ``Time_To_Live``) are window averages: value × ``Number`` is an integer;
* ``ack_count``, ``syn_count``, ``fin_count``, ``rst_count`` = the matching flag × ``Number``;
* ``IPv`` = ``LLC`` = 1 − ``ARP``;
* ``Tot sum``, ``Min``, ``Max`` are whole bytes, ``Max + Min·(Number−1) ≤ Tot sum ≤
  Min + Max·(Number−1)``; ``AVG`` = ``Tot size`` = ``Tot sum`` / ``Number``;
* ``Variance`` = ``Std``², ``Std`` = 0 exactly when ``Min`` = ``Max``.

The generator samples only the :data:`FREE_FEATURES` and derives the rest with
:func:`enforce_identities`, so every synthetic row satisfies the same identities.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from iotad.schemas.features import FEATURES_39

#: Per-packet averages: value × Number is an integer.
WINDOW_SHARES: tuple[str, ...] = (
    "Header_Length", "Protocol Type", "Time_To_Live",
    "fin_flag_number", "syn_flag_number", "rst_flag_number", "psh_flag_number",
    "ack_flag_number", "ece_flag_number", "cwr_flag_number",
    "HTTP", "HTTPS", "DNS", "Telnet", "SMTP", "SSH", "IRC", "TCP", "UDP", "DHCP", "ARP", "ICMP",
    "IGMP",
)  # fmt: skip
#: Shares that are fractions of the window's packets (at most 1).
UNIT_SHARES: tuple[str, ...] = tuple(
    f for f in WINDOW_SHARES if f not in ("Header_Length", "Protocol Type", "Time_To_Live")
)
#: Shares that nest: transports add up to at most the window, applications to at most their
#: transport, and each TCP flag to at most the TCP share.
TRANSPORTS: tuple[str, ...] = ("TCP", "UDP", "ICMP", "ARP", "IGMP")
TCP_APPLICATIONS: tuple[str, ...] = ("HTTP", "HTTPS", "SSH", "Telnet", "SMTP", "IRC")
UDP_APPLICATIONS: tuple[str, ...] = ("DNS", "DHCP")
TCP_FLAGS: tuple[str, ...] = tuple(f for f in FEATURES_39 if f.endswith("_flag_number"))
#: Counts and the flag each one multiplies by ``Number``.
COUNT_OF_FLAG: dict[str, str] = {
    "ack_count": "ack_flag_number",
    "syn_count": "syn_flag_number",
    "fin_count": "fin_flag_number",
    "rst_count": "rst_flag_number",
}
#: Features computed from others.
DERIVED_FEATURES: tuple[str, ...] = (
    *COUNT_OF_FLAG, "IPv", "LLC", "AVG", "Tot size", "Variance",
)  # fmt: skip
#: Features the generator samples, in the 39-column layout's order.
FREE_FEATURES: tuple[str, ...] = tuple(f for f in FEATURES_39 if f not in DERIVED_FEATURES)

_AT = {name: i for i, name in enumerate(FEATURES_39)}


def _col(name: str) -> int:
    return _AT[name]


def enforce_identities(rows: NDArray[np.float64]) -> NDArray[np.float64]:
    """Rows (39-column order) whose free features are snapped and whose derived ones are set.

    Free features are moved to the nearest value a real window can have (shares to k/Number,
    byte counts to integers inside their bounds, spreads inside what Min and Max allow); derived
    features are computed. The input is not changed.

    Examples
    --------
    >>> row = np.zeros((1, 39))
    >>> row[0, [_col("Number"), _col("TCP"), _col("ack_flag_number")]] = [10, 1.0, 0.33]
    >>> row[0, [_col("Min"), _col("Max"), _col("Tot sum")]] = [60, 60, 600]
    >>> out = enforce_identities(row)
    >>> float(out[0, _col("ack_flag_number")]), float(out[0, _col("ack_count")])
    (0.3, 3.0)
    """
    out = np.array(rows, dtype=np.float64, copy=True)
    number = np.maximum(np.round(out[:, _col("Number")]), 2.0)
    out[:, _col("Number")] = number
    for name in WINDOW_SHARES:
        share = np.maximum(out[:, _col(name)], 0.0)
        if name in UNIT_SHARES:
            share = np.minimum(share, 1.0)
        out[:, _col(name)] = np.round(share * number)
    _nest_packet_counts(out, number)
    for name in WINDOW_SHARES:
        out[:, _col(name)] /= number
    for count, flag in COUNT_OF_FLAG.items():
        out[:, _col(count)] = np.round(out[:, _col(flag)] * number)
    out[:, _col("IPv")] = out[:, _col("LLC")] = 1.0 - out[:, _col("ARP")]
    _window_sizes(out, number)
    for name in ("Rate", "IAT"):
        out[:, _col(name)] = np.maximum(out[:, _col(name)], 0.0)
    return out


def _cap_group(out: NDArray[np.float64], names: tuple[str, ...], cap: NDArray[np.float64]) -> None:
    """Scale the packet counts of ``names`` down (rounding down) where their sum exceeds ``cap``."""
    columns = [_col(name) for name in names]
    total = out[:, columns].sum(axis=1)
    over = total > cap
    if over.any():
        factor = cap[over] / total[over]
        out[np.ix_(over, columns)] = np.floor(out[np.ix_(over, columns)] * factor[:, None])


def _nest_packet_counts(out: NDArray[np.float64], number: NDArray[np.float64]) -> None:
    """Packet counts that nest as in a real window: transports within the window, applications
    and TCP flags within TCP, DNS and DHCP within UDP."""
    _cap_group(out, TRANSPORTS, number)
    tcp = out[:, _col("TCP")]
    _cap_group(out, TCP_APPLICATIONS, tcp)
    _cap_group(out, UDP_APPLICATIONS, out[:, _col("UDP")])
    for flag in TCP_FLAGS:
        out[:, _col(flag)] = np.minimum(out[:, _col(flag)], tcp)


def _window_sizes(out: NDArray[np.float64], number: NDArray[np.float64]) -> None:
    """Packet sizes: whole bytes, Min ≤ Max, the sum within what they allow, the spread too."""
    low = np.maximum(np.round(out[:, _col("Min")]), 0.0)
    high = np.maximum(np.round(out[:, _col("Max")]), 0.0)
    low, high = np.minimum(low, high), np.maximum(low, high)
    total = np.round(out[:, _col("Tot sum")])
    total = np.clip(total, high + low * (number - 1), low + high * (number - 1))
    spread = high - low
    # A window whose sizes differ has a spread between that of one odd packet and that of two
    # equal halves (sample standard deviation, as CIC computes it).
    least = spread / np.sqrt(2.0 * (number - 1))
    std = np.clip(out[:, _col("Std")], least, spread * 0.5 * np.sqrt(number / (number - 1)))
    out[:, _col("Min")], out[:, _col("Max")], out[:, _col("Tot sum")] = low, high, total
    out[:, _col("AVG")] = out[:, _col("Tot size")] = total / number
    out[:, _col("Std")] = std
    out[:, _col("Variance")] = std * std


def _total(columns: dict[str, NDArray[np.float64]], names: tuple[str, ...]) -> NDArray[np.float64]:
    return np.asarray(np.sum([columns[name] for name in names], axis=0), dtype=np.float64)


def identity_violations(rows: NDArray[np.float64], *, rtol: float = 1e-6) -> dict[str, int]:
    """How many rows break each identity (all zeros for genuine or generated rows)."""
    c = {name: rows[:, i] for i, name in enumerate(FEATURES_39)}
    number = c["Number"]

    def whole(values: NDArray[np.float64]) -> NDArray[np.bool_]:
        return np.abs(values - np.round(values)) <= 1e-6 * np.maximum(1.0, np.abs(values))

    def close(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.bool_]:
        return np.abs(a - b) <= rtol * np.maximum(1.0, np.abs(b))

    checks: dict[str, NDArray[np.bool_]] = {
        "shares_times_number_whole": np.all(
            [whole(c[name] * number) for name in WINDOW_SHARES], axis=0
        ),
        "counts_are_flag_times_number": np.all(
            [close(c[count], c[flag] * number) for count, flag in COUNT_OF_FLAG.items()], axis=0
        ),
        "transports_within_window": _total(c, TRANSPORTS) <= 1 + 1e-9,
        "applications_within_transport": (_total(c, TCP_APPLICATIONS) <= c["TCP"] + 1e-9)
        & (_total(c, UDP_APPLICATIONS) <= c["UDP"] + 1e-9),
        "tcp_flags_within_tcp": np.all([c[f] <= c["TCP"] + 1e-9 for f in TCP_FLAGS], axis=0),
        "ipv_llc_are_one_minus_arp": close(c["IPv"], 1 - c["ARP"]) & close(c["LLC"], 1 - c["ARP"]),
        "sizes_whole": whole(c["Tot sum"]) & whole(c["Min"]) & whole(c["Max"]),
        "sum_within_min_max": (c["Tot sum"] >= c["Max"] + c["Min"] * (number - 1) - 1e-6)
        & (c["Tot sum"] <= c["Min"] + c["Max"] * (number - 1) + 1e-6),
        "avg_is_sum_over_number": close(c["AVG"], c["Tot sum"] / number),
        "tot_size_is_avg": close(c["Tot size"], c["AVG"]),
        "variance_is_std_squared": close(c["Variance"], c["Std"] ** 2),
        "std_zero_iff_min_equals_max": (c["Std"] == 0) == (c["Min"] == c["Max"]),
    }
    return {name: int((~ok).sum()) for name, ok in checks.items()}


__all__ = [
    "COUNT_OF_FLAG",
    "DERIVED_FEATURES",
    "FREE_FEATURES",
    "TCP_APPLICATIONS",
    "TCP_FLAGS",
    "TRANSPORTS",
    "UDP_APPLICATIONS",
    "UNIT_SHARES",
    "WINDOW_SHARES",
    "enforce_identities",
    "identity_violations",
]
