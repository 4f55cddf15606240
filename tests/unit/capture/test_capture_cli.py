"""`iotad capture FILE --csv OUT` on pcaps built from raw bytes (not by iotad)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import orjson
import pandas as pd
import pytest
from rich.console import Console as RichConsole
from support.cic_identities import check_cic39_identities
from support.packets import Packet, ethernet, ipv6_udp, write_pcap, write_pcapng
from support.sinks import MemorySink
from support.traffic import arp_sweep, dns_queries, http_burst, icmp_flood, syn_scan, udp_flood

from iotad.capture import CaptureFile, CaptureOptions, KafkaRows, run_capture
from iotad.cli.main import main
from iotad.console import Console
from iotad.errors import ExitCode
from iotad.schemas.features import FEATURES_39, FEATURES_46
from iotad.schemas.messages import FlowBatch


def _run(*args: str) -> tuple[ExitCode, str, str]:
    out, err = io.StringIO(), io.StringIO()
    console = Console(out=RichConsole(file=out, width=200), err=RichConsole(file=err, width=200))
    return main(list(args), console=console), out.getvalue(), err.getvalue()


def _scan_then_flood(tmp_path: Path) -> Path:
    packets = syn_scan(200, gap=0.001) + udp_flood(300, start=1_700_000_001.0)
    return write_pcap(tmp_path / "attack.pcap", packets)


def test_syn_scan_and_udp_flood_come_out_as_expected(tmp_path: Path) -> None:
    out = tmp_path / "rows.csv"
    code, stdout, _ = _run("capture", str(_scan_then_flood(tmp_path)), "--csv", str(out))
    assert code == ExitCode.OK, stdout
    rows = pd.read_csv(out)
    assert list(rows.columns[:39]) == list(FEATURES_39)
    check_cic39_identities(rows[list(FEATURES_39)])
    scan, flood = rows.iloc[:20], rows.iloc[20:]
    assert len(scan) == 20 and len(flood) == 30
    assert (scan["syn_flag_number"] == 1).all() and (scan["TCP"] == 1).all()
    assert (scan["Protocol Type"] == 6).all() and (scan["Header_Length"] == 20).all()
    assert (flood["UDP"] == 1).all() and (flood["Protocol Type"] == 17).all()
    assert (flood["syn_flag_number"] == 0).all() and (flood["Header_Length"] == 8).all()
    assert set(rows["src_ip"]) == {"10.0.0.66"} and set(rows["dst_ip"]) == {"10.0.0.5"}
    assert rows["flow_id"].iloc[0] == "attack:0" and (rows["gateway_id"] == "gw-capture").all()
    assert rows["event_time_ms"].is_monotonic_increasing
    assert rows["event_time_ms"].iloc[0] == int((1_700_000_000.0 + 0.009) * 1000)
    assert "packets read 500: in rows 500, skipped 0" in stdout


def test_every_kind_of_traffic_passes_the_identities(tmp_path: Path) -> None:
    start = 1_700_000_000.0
    packets = (
        syn_scan(57, start=start)
        + udp_flood(99, start=start + 1)
        + icmp_flood(41, start=start + 2)
        + http_burst(33, start=start + 3)
        + dns_queries(27, start=start + 5)
        + arp_sweep(13, start=start + 7)
        + [Packet(start + 8, ethernet(ipv6_udp(), 0x86DD))]
    )
    source = write_pcapng(tmp_path / "mixed.pcapng.gz", packets)
    out = tmp_path / "rows.csv"
    code, stdout, _ = _run("capture", str(source), "--csv", str(out), "--window", "7")
    assert code == ExitCode.OK
    rows = pd.read_csv(out)
    check_cic39_identities(rows[list(FEATURES_39)])
    assert rows["Number"].sum() == len(packets) - 1
    assert "ipv6                   1" in stdout


def test_cic46_layout_and_parquet(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    out = tmp_path / "rows.parquet"
    code, _, _ = _run(
        "capture", str(_scan_then_flood(tmp_path)), "--parquet", str(out), "--layout", "cic46"
    )
    assert code == ExitCode.OK
    rows = pd.read_parquet(out)
    assert list(rows.columns[:46]) == list(FEATURES_46) and len(rows) == 50


def test_bad_inputs_are_refused_with_a_reason(tmp_path: Path) -> None:
    wifi = write_pcap(tmp_path / "wifi.pcap", syn_scan(3), linktype=105)
    code, _, err = _run("capture", str(wifi), "--csv", str(tmp_path / "o.csv"))
    assert code == ExitCode.DATA and "link type 105 is not supported" in err
    code, _, err = _run("capture", str(tmp_path / "missing.pcap"), "--csv", "o.csv")
    assert code == ExitCode.DATA and "does not exist" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = _run("capture", str(empty), "--csv", "o.csv")
    assert code == ExitCode.DATA and "no .pcap/.pcapng file" in err


def test_a_truncated_file_still_gives_its_rows_and_the_count(tmp_path: Path) -> None:
    path = _scan_then_flood(tmp_path)
    path.write_bytes(path.read_bytes()[:-30])
    out = tmp_path / "rows.csv"
    code, stdout, _ = _run("capture", str(path), "--csv", str(out))
    assert code == ExitCode.OK
    assert "truncated_record       1" in stdout and "packets read 500: in rows 499" in stdout
    assert pd.read_csv(out)["Number"].sum() == 499


def test_kafka_rows_are_replay_envelopes_with_hosts(tmp_path: Path) -> None:
    sink = MemorySink()
    rows = KafkaRows(sink, FEATURES_39, "gw-ward-3", batch=8, max_bytes=1 << 20)
    source = CaptureFile(_scan_then_flood(tmp_path))
    summary = asyncio.run(run_capture([source], CaptureOptions(), rows))
    assert summary.windows == 50 and rows.written == 50
    flows = 0
    for key, value, count in sink.messages:
        batch = FlowBatch.model_validate_json(value)
        assert batch.count == count and batch.gateway_id == "gw-ward-3"
        assert set(batch.device_id) == {key.decode()} == {"10.0.0.66"}
        assert batch.src_ip == ["10.0.0.66"] * count and batch.dst_ip == ["10.0.0.5"] * count
        assert orjson.loads(value)["schema"] == "iotad.flow_batch.v1"
        flows += count
    assert flows == 50
