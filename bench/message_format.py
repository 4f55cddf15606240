"""Batch envelope format: columnar (``iotad.flow_batch.v1``) vs a list of row objects.

    .venv/bin/python bench/message_format.py [--batch 500] [--batches 20] [--repeat 5]

Both carry the same real per-class CICIoT2023 rows (39 features, ids, times, labels). Encode is
orjson on the dict that replay builds; decode is ``model_validate_json`` on the bytes (pydantic
``FlowBatch`` for columns, a ``TypeAdapter(list[Flow])`` for rows), i.e. what the worker pays.
Reported: best of ``--repeat`` runs, per flow, plus bytes per flow.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import orjson
from machine import describe
from pydantic import TypeAdapter

from iotad.schemas.messages import Flow, FlowBatch
from iotad.stream.replay.encode import PendingFlow, encode_batch
from iotad.stream.replay.rows import RowParser
from iotad.stream.replay.sources import discover, inspect, read_rows

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared/data/ciciot2023/per_class"
ROWS = TypeAdapter(list[Flow])


def real_flows(data: Path, count: int) -> tuple[tuple[str, ...], list[PendingFlow]]:
    """``count`` valid rows of the per-class files, taken in turn from each file."""
    flows: list[PendingFlow] = []
    names: tuple[str, ...] = ()
    for path in discover([data]):
        capture = inspect(path)
        parser = RowParser(capture)
        names = parser.names
        for i, row in enumerate(read_rows(capture)):
            parsed = parser.parse(row) if isinstance(row, list) else None
            if isinstance(parsed, tuple):
                device = f"{capture.stem}-dev{i % 16:02d}"
                flows.append(
                    PendingFlow(device, 1_795_718_400_000 + i, f"{capture.stem}:{i}", *parsed)
                )
            if len(flows) >= count or i >= count // 10:
                break
        if len(flows) >= count:
            break
    return names, flows[:count]


def row_list(names: tuple[str, ...], flows: list[PendingFlow]) -> bytes:
    """The alternative: one JSON array of complete iotad.flow.v1 objects (one orjson call)."""
    return orjson.dumps(
        [
            {
                "schema": "iotad.flow.v1",
                "gateway_id": "gw-replay",
                "device_id": f.device_id,
                "event_time_ms": f.event_time_ms,
                "flow_id": f.flow_id,
                "features": dict(zip(names, f.values, strict=True)),
                "label": f.label,
            }
            for f in flows
        ]
    )


def best(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    print(describe())
    names, flows = real_flows(args.data, args.batch * args.batches)
    groups = [flows[i : i + args.batch] for i in range(0, len(flows), args.batch)]
    total = len(flows)
    print(f"data: {total:,} real per-class rows in {len(groups)} batches of {args.batch}")

    def columnar_encode() -> list[bytes]:
        return [encode_batch("gw-replay", names, g, 1 << 40)[0][0] for g in groups]

    def rows_encode() -> list[bytes]:
        return [row_list(names, g) for g in groups]

    columnar, rows = columnar_encode(), rows_encode()
    assert all(
        FlowBatch.model_validate_json(c).count == len(g)
        for c, g in zip(columnar, groups, strict=True)
    )
    assert all(len(ROWS.validate_json(r)) == len(g) for r, g in zip(rows, groups, strict=True))
    results = {
        "columnar": (
            best(columnar_encode, args.repeat),
            best(lambda: [FlowBatch.model_validate_json(c) for c in columnar], args.repeat),
            sum(map(len, columnar)),
        ),
        "row list": (
            best(rows_encode, args.repeat),
            best(lambda: [ROWS.validate_json(r) for r in rows], args.repeat),
            sum(map(len, rows)),
        ),
    }
    for name, (encode_s, decode_s, size) in results.items():
        print(
            f"{name:<9} encode {encode_s / total * 1e6:6.2f} µs/flow, "
            f"decode+validate {decode_s / total * 1e6:6.2f} µs/flow, "
            f"total {(encode_s + decode_s) / total * 1e6:6.2f} µs/flow, "
            f"{size / total:5.0f} bytes/flow"
        )
    col, row = results["columnar"], results["row list"]
    print(
        f"row list / columnar: encode {row[0] / col[0]:.2f}×, decode {row[1] / col[1]:.2f}×, "
        f"size {row[2] / col[2]:.2f}×"
    )


if __name__ == "__main__":
    main()
