"""LiveCapture against a stand-in tcpdump: a script that behaves like ``tcpdump -w -``.

No network and no capture rights needed: the stand-in writes a pcap (built from raw bytes) to
its stdout in odd-sized pieces, so the reader must handle records cut anywhere in a
non-seekable pipe; it prints tcpdump's statistics when stopped with SIGTERM.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from rich.console import Console as RichConsole
from support.packets import write_pcap
from support.traffic import syn_scan, udp_flood

from iotad.capture import CaptureOptions
from iotad.capture.live import LiveCapture, LiveCaptureError, TcpdumpOptions
from iotad.cli.capture_live import LiveRequest, capture_live
from iotad.cli.main import main
from iotad.console import Console
from iotad.errors import ExitCode
from iotad.settings import load_settings

FAKE = """#!{python}
import os, signal, sys, threading
mode = os.environ.get("FAKE_TCPDUMP_MODE", "stream")
err = sys.stderr
if mode == "nodevice":
    err.write("tcpdump: eth9: No such device exists\\n(No such device exists)\\n"); sys.exit(1)
if mode == "denied":
    err.write("tcpdump: eth0: You don't have permission to perform this capture on that "
              "device\\n(socket: Operation not permitted)\\n"); sys.exit(1)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
err.write("tcpdump: listening on lo, link-type EN10MB (Ethernet), snapshot length 256 bytes\\n")
err.flush()
data = open(os.environ["FAKE_TCPDUMP_PCAP"], "rb").read()
out = sys.stdout.buffer
for start in range(0, len(data), 997):
    out.write(data[start:start + 997]); out.flush()
stop.wait(30)
out.close()
records = int(os.environ["FAKE_TCPDUMP_RECORDS"])
err.write(f"{{records}} packets captured\\n{{2 * records}} packets received by filter\\n"
          "3 packets dropped by kernel\\n")
"""


@pytest.fixture
def fake_tcpdump(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in tcpdump first on PATH, streaming a pcap of 300 SYNs and 200 UDP datagrams."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "tcpdump"
    script.write_text(FAKE.format(python=sys.executable))
    script.chmod(0o755)
    packets = syn_scan(300) + udp_flood(200, start=1_700_000_001.0)
    pcap = write_pcap(tmp_path / "stream.pcap", packets)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_TCPDUMP_PCAP", str(pcap))
    monkeypatch.setenv("FAKE_TCPDUMP_RECORDS", str(len(packets)))
    return script


def test_stream_is_parsed_across_cut_records_and_stats_are_read(fake_tcpdump: Path) -> None:
    live = LiveCapture(TcpdumpOptions("lo", "net 127.10.0.0/16")).start()
    seen = 0
    for batch in live.batches():
        seen += len(batch)
        if seen == 500:
            live.stop("test")
    assert seen == live.records == 500
    assert live.stopped_by == "test"
    assert live.stats is not None
    assert (live.stats.captured, live.stats.received_by_filter) == (500, 1000)
    assert live.stats.dropped_by_kernel == 3


def test_capture_live_writes_every_window_and_the_last_short_one(
    fake_tcpdump: Path, tmp_path: Path
) -> None:
    live = LiveCapture(TcpdumpOptions("lo")).start()
    settings = load_settings(overrides={"capture": {"gateway_id": "gw-fake"}})
    console = Console(out=RichConsole(file=io.StringIO()), err=RichConsole(file=io.StringIO()))
    out = tmp_path / "live.csv"
    request = LiveRequest("lo", csv_out=out)
    # 500 packets in windows of 7: 71 full windows and a last one of 3, written at the stop.
    options = CaptureOptions(window=7)
    stopper = _StopAfter(live, 500)
    summary, written, _ = capture_live(settings, options, request, console, live=stopper.wrap())
    assert (summary.packets_read, summary.windows, written) == (500, 72, 72)
    lines = out.read_text().splitlines()
    assert len(lines) == 73 and lines[-1].split(",")[37] == "3"  # Number of the last window
    assert all(",gw-fake,lo,lo:" in line for line in lines[1:])


class _StopAfter:
    """Stops the capture once ``n`` packets were handed over (what Ctrl-C does, on time)."""

    def __init__(self, live: LiveCapture, n: int) -> None:
        self.live, self.n = live, n

    def wrap(self) -> LiveCapture:
        inner = self.live.batches

        def batches():  # type: ignore[no-untyped-def]
            for batch in inner():
                yield batch
                if self.live.records >= self.n:
                    self.live.stop("enough")

        self.live.batches = batches  # type: ignore[method-assign]
        return self.live


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("nodevice", "no network interface called 'eth9'"), ("denied", "not allowed to capture")],
)
def test_tcpdump_failures_become_clear_errors(
    fake_tcpdump: Path, monkeypatch: pytest.MonkeyPatch, mode: str, expected: str
) -> None:
    monkeypatch.setenv("FAKE_TCPDUMP_MODE", mode)
    with pytest.raises(LiveCaptureError) as caught:
        LiveCapture(TcpdumpOptions("eth9")).start()
    assert expected in caught.value.message
    assert caught.value.hint


def _run(*args: str) -> tuple[ExitCode, str, str]:
    out, err = io.StringIO(), io.StringIO()
    console = Console(out=RichConsole(file=out, width=300), err=RichConsole(file=err, width=300))
    return main(list(args), console=console), out.getvalue(), err.getvalue()


def test_cli_without_tcpdump_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    code, _, err = _run("capture", "--interface", "lo", "--csv", str(tmp_path / "x.csv"))
    assert code == ExitCode.CONFIG
    assert "tcpdump is not installed" in err and "make system-deps" in err
    assert "Traceback" not in err


def test_cli_no_such_interface_exits_with_config_and_a_hint(
    fake_tcpdump: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FAKE_TCPDUMP_MODE", "nodevice")
    code, _, err = _run("capture", "-i", "eth9", "--csv", str(tmp_path / "x.csv"))
    assert code == ExitCode.CONFIG
    assert "no network interface called 'eth9'" in err and "ip link" in err


@pytest.mark.parametrize(
    "args",
    [("--duration", "1"), ("--interface", "lo", "trace.pcap"), ()],
)
def test_cli_refuses_mixed_or_missing_sources(args: tuple[str, ...]) -> None:
    code, _, err = _run("capture", *args)
    assert code == ExitCode.CONFIG, err
