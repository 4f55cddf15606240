"""tcpdump's command line, statistics and failure messages (no process started)."""

from __future__ import annotations

import pytest

from iotad.capture.live.tcpdump import TcpdumpOptions, failure, parse_stats


def test_argv_streams_unbuffered_pcap_with_a_short_snaplen() -> None:
    argv = TcpdumpOptions("lo", "net 127.10.0.0/16", count=50, executable="sh").argv()
    assert argv[1:3] == ["-i", "lo"] and argv[-1] == "net 127.10.0.0/16"
    assert {"-U", "--immediate-mode", "-n"} <= set(argv)
    assert argv[argv.index("-w") + 1] == "-" and argv[argv.index("-c") + 1] == "50"
    assert int(argv[argv.index("-s") + 1]) >= 134  # every header the features read


def test_stats_from_tcpdump_versions_with_and_without_interface_drops() -> None:
    lines = ["tcpdump: listening on lo", "17 packets captured", "200 packets received by filter"]
    stats = parse_stats([*lines, "166 packets dropped by kernel"])
    assert stats is not None
    assert (stats.captured, stats.received_by_filter, stats.dropped_by_kernel) == (17, 200, 166)
    assert stats.dropped_by_interface is None
    more = parse_stats(
        ["1 packet captured", "1 packet received by filter", "0 packets dropped by kernel"]
        + ["4 packets dropped by interface"]
    )
    assert more is not None and more.captured == 1 and more.dropped_by_interface == 4
    assert parse_stats(["tcpdump: listening on lo"]) is None


@pytest.mark.parametrize(
    ("stderr", "expected", "hint"),
    [
        ("tcpdump: x0: No such device exists\n(No such device exists)", "no network", "ip link"),
        ("tcpdump: lo: You don't have permission to perform this capture", "not allowed", "setcap"),
        ("tcpdump: unknown port 'foo'", "refused the capture filter", "BPF"),
        ("tcpdump: syntax error in filter expression", "refused the capture filter", "BPF"),
        ("", "could not capture", None),
    ],
)
def test_failures_name_the_cause(stderr: str, expected: str, hint: str | None) -> None:
    error = failure(stderr, TcpdumpOptions("x0", "port foo", executable="sh"))
    assert expected in error.message
    assert (hint is None and error.hint is None) or (hint and error.hint and hint in error.hint)
