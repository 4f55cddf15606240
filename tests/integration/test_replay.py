"""Replay real CICIoT2023 rows through the project's broker: counts and values survive."""

from __future__ import annotations

import csv
import gzip
import io
import math
from pathlib import Path

import pytest
from rich.console import Console as RichConsole
from support.kafka import IsolatedSettings, consume_all

from iotad.cli.main import main
from iotad.console import Console
from iotad.errors import ExitCode
from iotad.schemas.features import FEATURES_39, LABEL_COLUMNS, LAYOUT_FEATURES, detect_layout
from iotad.schemas.labels import canonical_label, label_from_path
from iotad.schemas.messages import Flow, FlowBatch
from iotad.settings import Settings
from iotad.stream.replay import ReplayOptions, replay_to_kafka

pytestmark = pytest.mark.kafka

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ciciot2023"
PER_CLASS_FILE = DATA / "per_class" / "Uploading_Attack" / "Uploading_Attack.pcap.csv.gz"
MERGED_SAMPLE = DATA / "ciciot2023_merged39_sample.csv.gz"
PART_SAMPLE = DATA / "ciciot2023_csv46_sample.csv"

Expected = dict[str, tuple[dict[str, float], str | None]]


@pytest.fixture(autouse=True)
def _real_rows() -> None:
    if not DATA.is_dir():
        pytest.skip(f"real CICIoT2023 rows not found at {DATA} (needs ../shared beside the repo)")


def expected_flows(path: Path) -> Expected:
    """An independent reading of the file: flow id → (features, label) of every valid row."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as text:  # type: ignore[operator]
        reader = csv.reader(text)
        header = [c.strip() for c in next(reader)]
        names = LAYOUT_FEATURES[detect_layout(header)]
        label_at = next((i for i, c in enumerate(header) if c in LABEL_COLUMNS), None)
        stem = path.name.split(".")[0]
        expected: Expected = {}
        for i, row in enumerate(reader):
            record = dict(zip(header, row, strict=True))
            if not all(record[n].strip() and math.isfinite(float(record[n])) for n in names):
                continue
            label = (
                canonical_label(row[label_at]) if label_at is not None else label_from_path(path)
            )
            expected[f"{stem}:{i}"] = ({n: float(record[n]) for n in names}, label)
    return expected


def received_flows(settings: Settings, messages: int, expected_count: int) -> Expected:
    """Every flow on the flows topic, unpacking batch envelopes."""
    got: Expected = {}
    servers, topic = settings.kafka.bootstrap_servers, settings.topics.flows
    records = consume_all(servers, topic, expected=messages)
    for key, value in records:
        if b'"iotad.flow_batch.v1"' in value:
            batch = FlowBatch.model_validate_json(value)
            assert set(batch.device_id) == {key.decode() if key else ""}
            for i in range(batch.count):
                features = {name: column[i] for name, column in batch.features.items()}
                label = batch.label[i] if batch.label else None
                got[(batch.flow_id or [])[i] or ""] = (features, label)
        else:
            flow = Flow.model_validate_json(value)
            assert key == flow.device_id.encode()
            got[flow.flow_id or ""] = (dict(flow.features), flow.label)
    assert len(records) > 0 and len(got) == expected_count
    return got


@pytest.mark.parametrize(
    ("path", "batch"),
    [
        (PER_CLASS_FILE, 0),
        (PER_CLASS_FILE, 200),
        (MERGED_SAMPLE, 0),
        (PART_SAMPLE, 0),
        (PART_SAMPLE, 16),
    ],
    ids=["per-class", "per-class-batched", "merged", "part46", "part46-batched"],
)
def test_real_rows_round_trip_through_the_broker(
    isolated_settings: IsolatedSettings, path: Path, batch: int
) -> None:
    settings = isolated_settings(partitions=2)
    expected = expected_flows(path)
    options = ReplayOptions(topic=settings.topics.flows, batch=batch)
    summary = replay_to_kafka(settings, [path], options)
    assert summary.sent == len(expected)
    assert summary.rows_read == len(expected) + summary.rejected_total
    assert summary.delivery_failures == 0
    assert received_flows(settings, summary.messages, len(expected)) == expected


def test_malformed_rows_are_counted_not_sent(
    isolated_settings: IsolatedSettings, tmp_path: Path
) -> None:
    settings = isolated_settings()
    good = ",".join(str(float(i)) for i in range(39))
    lines = [
        ",".join(FEATURES_39),
        good,
        good + ",7",  # one column too many
        good.replace("3.0", "inf", 1),
        good.replace("5.0", "five", 1),
        good.replace("6.0", "", 1),
        good,
    ]
    path = tmp_path / "XSS" / "XSS.pcap.csv"
    path.parent.mkdir()
    path.write_text("\n".join(lines) + "\n")
    out, err = io.StringIO(), io.StringIO()
    console = Console(
        out=RichConsole(file=out, soft_wrap=True), err=RichConsole(file=err, soft_wrap=True)
    )
    code = main(
        [
            "replay", str(path), "--topic", settings.topics.flows,
            "--bootstrap", settings.kafka.bootstrap_servers, "--rate", "1000",
        ],
        console=console,
    )  # fmt: skip
    assert code == ExitCode.OK, err.getvalue()
    report = out.getvalue()
    assert "sent 2 flows" in report
    assert "rows read 6, rejected 4" in report
    for reason in ("wrong_column_count", "non_finite", "non_numeric", "empty_value"):
        assert reason in report
    received = consume_all(settings.kafka.bootstrap_servers, settings.topics.flows, expected=2)
    assert sorted(Flow.model_validate_json(v).flow_id or "" for _, v in received) == [
        "XSS:0",
        "XSS:5",
    ]
