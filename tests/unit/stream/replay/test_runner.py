"""The replay loop against an in-memory sink: counts, ids, batching, pacing, bad input."""

from __future__ import annotations

import asyncio
import gzip
import threading
from pathlib import Path
from typing import Any

import pytest
from support.sinks import MemorySink

from iotad.errors import DataError, SchemaError
from iotad.schemas.features import FEATURES_39, FEATURES_46, FeatureLayout
from iotad.schemas.messages import Flow, FlowBatch
from iotad.stream.replay import ReplayOptions, ReplaySummary, replay
from iotad.stream.replay.pacing import Pacer
from iotad.stream.replay.sources import capture_stem, discover, inspect
from iotad.stream.replay.types import RejectReason


def _write(path: Path, header: tuple[str, ...], rows: list[list[str]], *, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(",".join(r) for r in [list(header), *rows]) + "\n"
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def _good(i: int) -> list[str]:
    return [str(i + j / 10) for j in range(39)]


def _run(paths: list[Path], **options: Any) -> tuple[ReplaySummary, MemorySink]:
    sink = MemorySink()
    summary = asyncio.run(replay(paths, ReplayOptions(topic="t", **options), sink))
    return summary, sink


def test_capture_file_rows_become_flows_with_deterministic_ids(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "XSS" / "XSS.pcap.csv.gz", FEATURES_39, [_good(i) for i in range(5)], gz=True
    )
    summary, sink = _run([tmp_path], devices_per_file=2)
    assert (summary.rows_read, summary.sent, summary.messages, summary.rejected_total) == (
        5,
        5,
        5,
        0,
    )
    flows = [Flow.model_validate_json(value) for _, value, _ in sink.messages]
    assert [f.flow_id for f in flows] == [f"XSS:{i}" for i in range(5)]
    assert [f.device_id for f in flows] == ["XSS-dev00", "XSS-dev01"] * 2 + ["XSS-dev00"]
    assert [key for key, _, _ in sink.messages] == [f.device_id.encode() for f in flows]
    assert {f.label for f in flows} == {"XSS"}
    assert flows[3].features["Header_Length"] == 3.0
    assert summary.files == 1 and path.exists()


def test_malformed_rows_are_counted_by_reason_and_never_sent(tmp_path: Path) -> None:
    rows = [
        _good(0),
        _good(1)[:-1],  # wrong column count
        ["1"] * 3 + ["inf"] + ["1"] * 35,  # non-finite Rate
        ["1"] * 34 + [""] + ["1"] * 4,  # empty Std
        ["abc"] + ["1"] * 38,  # non-numeric
        [],  # blank line
        _good(2),
    ]
    _write(tmp_path / "XSS" / "XSS.pcap.csv", FEATURES_39, rows)
    summary, sink = _run([tmp_path])
    assert summary.sent == 2
    assert summary.rows_read == 7
    assert dict(summary.rejected) == {
        RejectReason.WRONG_COLUMN_COUNT: 1,
        RejectReason.NON_FINITE: 1,
        RejectReason.EMPTY_VALUE: 1,
        RejectReason.NON_NUMERIC: 1,
        RejectReason.BLANK_LINE: 1,
    }
    assert [e.line for e in summary.examples] == [3, 4, 5, 6, 7]
    assert [Flow.model_validate_json(v).flow_id for _, v, _ in sink.messages] == ["XSS:0", "XSS:6"]


def test_merged_unknown_labels_and_nul_bytes_are_refused(tmp_path: Path) -> None:
    rows = [_good(0) + ["BENIGN"], _good(1) + ["NOPE"], ["1\x00"] * 39 + ["XSS"]]
    _write(tmp_path / "Merged01.csv", (*FEATURES_39, "Label"), rows)
    summary, sink = _run([tmp_path / "Merged01.csv"])
    assert summary.sent == 1
    assert Flow.model_validate_json(sink.messages[0][1]).label == "BenignTraffic"
    assert summary.rejected[RejectReason.UNKNOWN_LABEL] == 1
    assert summary.rejected_total == 2


def test_batches_hold_one_device_of_one_file(tmp_path: Path) -> None:
    _write(tmp_path / "XSS" / "XSS.pcap.csv", FEATURES_39, [_good(i) for i in range(10)])
    summary, sink = _run([tmp_path], batch=3, devices_per_file=2)
    assert summary.sent == 10
    batches = [FlowBatch.model_validate_json(value) for _, value, _ in sink.messages]
    assert sorted(b.count for b in batches) == [2, 2, 3, 3]
    for (key, _, flows), batch in zip(sink.messages, batches, strict=True):
        assert set(batch.device_id) == {key.decode()}
        assert flows == batch.count
    ids = sorted(i for b in batches for i in b.flow_id or [])
    assert ids == sorted(f"XSS:{i}" for i in range(10))


def test_limit_and_loop(tmp_path: Path) -> None:
    _write(tmp_path / "XSS" / "XSS.pcap.csv", FEATURES_39, [_good(i) for i in range(4)])
    summary, sink = _run([tmp_path], loop=True, limit=10)
    assert summary.sent == 10
    assert summary.passes == 3
    assert summary.stopped_by == "limit of 10 flows"
    ids = [Flow.model_validate_json(v).flow_id for _, v, _ in sink.messages]
    assert ids[3:6] == ["XSS:3", "XSS:0@1", "XSS:1@1"]


def test_stop_event_ends_the_replay(tmp_path: Path) -> None:
    _write(tmp_path / "XSS" / "XSS.pcap.csv", FEATURES_39, [_good(i) for i in range(4)])
    stop = threading.Event()
    stop.set()
    sink = MemorySink()
    summary = asyncio.run(replay([tmp_path], ReplayOptions(topic="t", loop=True), sink, stop=stop))
    assert summary.sent == 0
    assert summary.stopped_by == "stop requested"


def test_unusable_files_are_skipped_and_reported(tmp_path: Path) -> None:
    _write(tmp_path / "XSS" / "XSS.pcap.csv", FEATURES_39, [_good(0)])
    _write(tmp_path / "other" / "notes.csv", ("a", "b"), [["1", "2"]])
    truncated = gzip.compress(
        ("\n".join([",".join(FEATURES_39)] + [",".join(_good(i)) for i in range(2000)])).encode()
    )
    (tmp_path / "XSS" / "XSS2.pcap.csv.gz").write_bytes(truncated[: len(truncated) // 2])
    summary, _ = _run([tmp_path])
    skipped = {p.name: why for p, why in summary.skipped_files}
    assert "not a CICIoT2023 layout" in skipped["notes.csv"]
    assert "unreadable after data row" in skipped["XSS2.pcap.csv.gz"]
    assert summary.sent > 1


def test_speedup_is_refused_for_files_without_natural_pace(tmp_path: Path) -> None:
    path = _write(tmp_path / "Merged01.csv", (*FEATURES_39, "Label"), [_good(0) + ["BENIGN"]])
    with pytest.raises(DataError, match="natural pace"):
        _run([path], speedup=10.0)


def test_discover_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        discover([tmp_path / "missing"])
    with pytest.raises(DataError, match="no CSV files"):
        discover([tmp_path])


def test_inspect_tells_layout_and_label_source(tmp_path: Path) -> None:
    part = _write(tmp_path / "part-00001.csv", (*FEATURES_46, "label", "final_label"), [])
    capture = inspect(part)
    assert capture.layout is FeatureLayout.CIC46
    assert capture.label_column == 46
    assert not capture.has_natural_pace
    per_class = inspect(_write(tmp_path / "Recon-PortScan" / "x.csv", FEATURES_39, []))
    assert (per_class.path_label, per_class.has_natural_pace) == ("Recon-PortScan", True)
    with pytest.raises(SchemaError):
        inspect(_write(tmp_path / "bad.csv", ("Header_Length", "Rate"), []))


@pytest.mark.parametrize(
    ("name", "stem"),
    [("XSS.pcap.csv.gz", "XSS"), ("Merged01.csv", "Merged01"), ("a.b.csv", "a.b")],
)
def test_capture_stem(name: str, stem: str) -> None:
    assert capture_stem(Path(name)) == stem


def test_pacer_schedules() -> None:
    now = [0.0]
    rate = Pacer(rate=4.0, clock=lambda: now[0])
    assert [rate.due() for _ in range(4)] == [0.0, 0.25, 0.5, 0.75]
    natural = Pacer(speedup=10.0, clock=lambda: now[0])
    assert [natural.due(gap) for gap in (5.0, 1.0, 2.0)] == [0.0, 0.1, pytest.approx(0.3)]
    capped = Pacer(speedup=10.0, max_rate=2.0, clock=lambda: now[0])
    assert [capped.due(gap) for gap in (0.0, 0.0, 100.0)] == [0.0, 0.5, 10.0]
    assert not Pacer().paced and Pacer(max_rate=1.0).paced


def test_pacer_sleeps_to_the_rate() -> None:
    import time

    pacer = Pacer(rate=200.0)

    async def forty() -> float:
        started = time.monotonic()
        for _ in range(40):
            await pacer.wait()
        return time.monotonic() - started

    # Never faster than the rate; slower only by scheduling delay (generous for a busy machine).
    assert 39 / 200.0 - 0.005 <= asyncio.run(forty()) < 39 / 200.0 + 2.0


def test_options_are_checked() -> None:
    from iotad.errors import ConfigError

    with pytest.raises(ConfigError, match="either --rate or --speedup"):
        ReplayOptions(topic="t", rate=1.0, speedup=2.0)
    with pytest.raises(ConfigError, match="rate must be > 0"):
        ReplayOptions(topic="t", rate=0.0)
