"""The tcpdump command behind live capture: its arguments, its statistics, its failures.

iotad captures live traffic by running ``tcpdump -w -`` (libpcap) as a child process and
reading the pcap stream it writes to a pipe (docs/capture-live.md says why a child process and
not a Python libpcap binding). tcpdump needs capture rights (root, or CAP_NET_RAW and
CAP_NET_ADMIN on its binary); iotad itself does not.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass

from iotad.errors import ExitCode, IotadError

#: Bytes kept of each packet: every header the features read fits (Ethernet + IPv4 options +
#: TCP options ≤ 134 bytes); sizes come from the record's wire length, never from this.
DEFAULT_SNAPLEN = 256
#: Kernel capture buffer (tcpdump -B, KiB): room for bursts while iotad is busy.
DEFAULT_BUFFER_KIB = 16 * 1024


class LiveCaptureError(IotadError):
    """A live capture cannot start: no tcpdump, no such interface, no rights, a bad filter."""

    exit_code = ExitCode.CONFIG


@dataclass(frozen=True)
class TcpdumpOptions:
    """What to capture: an interface, an optional BPF filter, an optional packet count."""

    interface: str
    bpf: str | None = None
    count: int | None = None
    snaplen: int = DEFAULT_SNAPLEN
    buffer_kib: int = DEFAULT_BUFFER_KIB
    executable: str = "tcpdump"
    #: False: libpcap hands packets over in blocks (up to 1 s late), cheaper under a flood.
    immediate: bool = True

    def argv(self) -> list[str]:
        """The command line: immediate delivery, unbuffered pcap on stdout, no name lookups.

        ``--immediate-mode`` hands each packet over at once (otherwise libpcap holds a block
        of packets for up to a second, and a stop loses them); ``-U`` writes each packet to
        the pipe as it comes.

        Raises
        ------
        LiveCaptureError
            when the executable is not installed.
        """
        path = shutil.which(self.executable)
        if path is None:
            raise LiveCaptureError(
                f"{self.executable} is not installed (live capture runs it)",
                hint="install it with `make system-deps` (apt-get install tcpdump libpcap0.8)",
            )
        argv = [path, "-i", self.interface, "-n", "-U"]
        argv += ["--immediate-mode"] if self.immediate else []
        argv += ["-s", str(self.snaplen), "-B", str(self.buffer_kib), "-w", "-"]
        if self.count is not None:
            argv += ["-c", str(self.count)]
        if self.bpf:
            argv.append(self.bpf)
        return argv


@dataclass(frozen=True)
class TcpdumpStats:
    """tcpdump's own counts at exit (libpcap's ``pcap_stats``).

    ``dropped_by_kernel``: packets the kernel could not hand over (the buffer was full);
    ``dropped_by_interface``: dropped by the network interface or its driver, where reported.
    """

    captured: int
    received_by_filter: int
    dropped_by_kernel: int
    dropped_by_interface: int | None = None


_STAT = re.compile(r"^(\d+) packets? (captured|received by filter|dropped by (kernel|interface))")


def parse_stats(lines: list[str]) -> TcpdumpStats | None:
    """The statistics tcpdump printed on stderr at exit; None when it printed none."""
    found: dict[str, int] = {}
    for line in lines:
        match = _STAT.match(line.strip())
        if match:
            found[match.group(2)] = int(match.group(1))
    if "captured" not in found:
        return None
    return TcpdumpStats(
        captured=found["captured"],
        received_by_filter=found.get("received by filter", 0),
        dropped_by_kernel=found.get("dropped by kernel", 0),
        dropped_by_interface=found.get("dropped by interface"),
    )


def failure(stderr: str, options: TcpdumpOptions) -> LiveCaptureError:
    """The error to show when tcpdump exits before capturing, from what it printed."""
    text = stderr.strip() or "(tcpdump printed nothing)"
    lower = text.lower()
    name = options.interface
    if "no such device" in lower or "doesn't exist" in lower or "no such interface" in lower:
        return LiveCaptureError(
            f"no network interface called {name!r}: {_first_line(text)}",
            hint="list the interfaces with `tcpdump -D` or `ip link`; on this machine's own "
            "traffic use --interface lo",
        )
    if "permission" in lower or "not permitted" in lower:
        return LiveCaptureError(
            f"not allowed to capture on {name!r}: {_first_line(text)}",
            hint="run as root, or give tcpdump the rights once: "
            "`sudo setcap cap_net_raw,cap_net_admin=eip $(command -v tcpdump)`",
        )
    if "syntax error" in lower or "filter" in lower or "unknown" in lower:
        return LiveCaptureError(
            f"tcpdump refused the capture filter {options.bpf!r}: {_first_line(text)}",
            hint="--filter takes a BPF expression (man pcap-filter), e.g. 'net 127.10.0.0/16'",
        )
    return LiveCaptureError(f"tcpdump could not capture on {name!r}: {_first_line(text)}")


def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[0].removeprefix("tcpdump: ") if lines else text


__all__ = [
    "DEFAULT_BUFFER_KIB",
    "DEFAULT_SNAPLEN",
    "LiveCaptureError",
    "TcpdumpOptions",
    "TcpdumpStats",
    "failure",
    "parse_stats",
]
