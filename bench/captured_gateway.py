"""A gateway whose normal is traffic captured on this machine: its baseline's false alerts,
recall on real attack rows, and alerts vs incidents per minute.

    PYTHONPATH=$PWD .venv/bin/python bench/captured_gateway.py [--duration 180] [--devices 6]
        [--interval 0.05] [--blocks 10] [--learn-blocks 6] [--replay-rate 10]
        [--reuse DIR] [--write docs/results.md]

1. **Captured on this machine** (``bench/captured_ward.py``): the capture wing's ward (MQTT
   telemetry, DNS, HTTPS, HTTP from ``--devices`` devices on a fresh 127.x/16) runs for
   ``--duration`` s, then its attack bursts (SYN scan, UDP flood, HTTP burst), one at a time;
   tcpdump on ``lo`` records the pcap. ``--reuse DIR`` analyses an earlier recording instead.
2. The pcap becomes windows through ``iotad baseline learn --pcap``'s own path
   (:func:`iotad.capture.learning.capture_windows`, i.e. ``iotad capture``'s loop). Each window
   belongs to the phase (benign, or one attack kind) its last packet fell in.
3. The benign phase is cut into ``--blocks`` contiguous time blocks: the baseline is learnt
   (``iotad.baseline.learn_baseline``, the project's default ``stream.baseline`` settings:
   target 1 %, last 25 % held back for the threshold) on the first ``--learn-blocks``; the later
   blocks are the held-out benign flows. Never random rows.
4. Decisions are the worker's own (``iotad.stream.core.decide``): the default classifier alone
   (global threshold; with the shipped calibration) and classifier + this baseline.
5. Figures: false-alert rate on the held-out captured benign windows (overall and per block);
   share alerted of each captured attack kind; per-category recall on the **real** CICIoT2023
   attack rows (test part: the last 9 % of every real run, ``bench/baseline_data.py``) and false
   alerts on the 10 held-out real BENIGN rows; alerts and incidents per minute, folding the
   alerts on the held-out captured benign windows through the pure incident core
   (``stream/core/incident.py``, the default ``incidents`` settings: ``min_alerts`` 3) at the
   capture's own pace (about 40 windows/s with the defaults) and replayed at ``--replay-rate``
   flows/s (default 10: a quieter ward's gateway, where the 60 s incident window spans
   600 flows).

JSON goes to ``var/bench/captured_gateway/result.json``, the pcap beside it. Needs root (tcpdump).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from alert_incidents import fold_alerts
from baseline_data import load_runs, stack
from baseline_report import rates
from captured_report import render, replace_section
from captured_ward import record
from machine import describe, machine
from numpy.typing import NDArray

from iotad.baseline import learn_baseline
from iotad.capture import CaptureOptions
from iotad.capture.learning import capture_windows
from iotad.schemas.bundle import load_bundle, open_session
from iotad.schemas.features import FeatureLayout
from iotad.schemas.labels import Category, category_of
from iotad.settings import load_settings
from iotad.stream.baseline_learning import baseline_config
from iotad.stream.baselines import load_gateway_baseline
from iotad.stream.core.baseline import AnomalyVerdict
from iotad.stream.core.decide import DecisionPolicy, Decisions, combine, decide
from iotad.stream.core.model import decision_policy
from iotad.stream.incident_agent import incident_policy
from iotad.stream.loader import calibrated_thresholds

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "var" / "bench" / "captured_gateway"
GATEWAY = "gw-captured"
#: Seconds after a phase's end in which its last windows may still close.
TAIL_S = 0.6


def phases(last_ts: NDArray[np.float64], meta: dict[str, Any]) -> NDArray[np.str_]:
    """Each window's phase: ``benign``, an attack kind, or ``between`` (a gap)."""
    label = np.full(len(last_ts), "between", dtype=object)
    spans = {"benign": meta["benign_span"], **meta["attack_spans"]}
    for name, (lo, hi) in spans.items():
        label[(last_ts >= lo) & (last_ts <= hi + TAIL_S)] = name
    return label.astype(str)


def _recording(args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    """Record a fresh ward (or reuse ``--reuse``), returning the pcap and its description."""
    if args.reuse is not None:
        meta = json.loads((args.reuse / "recording.json").read_text())
        return args.reuse / "ward.pcap", meta
    OUT.mkdir(parents=True, exist_ok=True)
    rec = record(OUT / "ward.pcap", duration_s=args.duration, interval_s=args.interval,
                 devices=args.devices, seed=args.seed, attack=True)  # fmt: skip
    meta = {
        "network": rec.hosts.network,
        "attacker": rec.hosts.attacker,
        "devices": args.devices,
        "interval_s": args.interval,
        "duration_s": args.duration,
        "benign_span": rec.benign_span,
        "attack_spans": rec.attack_spans,
        "benign_exchanges": dict(rec.benign.exchanges),
        "benign_errors": dict(rec.benign.errors),
        "attack_packets": dict(rec.attack.packets_sent) if rec.attack else {},
        "attack_exchanges": dict(rec.attack.exchanges) if rec.attack else {},
        "tcpdump": vars(rec.stats) if rec.stats else None,
    }
    (OUT / "recording.json").write_text(json.dumps(meta, indent=2) + "\n")
    return rec.pcap, meta


def _decisions(
    x: NDArray[np.float32], session: Any, policies: dict[str, DecisionPolicy], baseline: Any
) -> dict[str, Decisions]:
    """The three decisions of the worker on rows ``x`` of one gateway."""
    scores = session.scores(x)
    anomaly = baseline.scorer.scores(x)
    n = len(x)
    verdict = AnomalyVerdict(np.ones(n, bool), anomaly, anomaly >= baseline.threshold,
                             np.zeros(n, np.intp), (baseline,), {})  # fmt: skip
    alone, calibrated = decide(scores, policies["global"]), decide(scores, policies["calibrated"])
    return {
        "classifier alone": alone,
        "classifier alone, calibrated": calibrated,
        "classifier + captured baseline": combine(alone, verdict),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = json.loads((ROOT / "models" / "defaults.json").read_text())
    parser.add_argument("--bundle", type=Path, default=ROOT / "models" / defaults["default"])
    parser.add_argument("--duration", type=float, default=180.0)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--devices", type=int, default=6)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--blocks", type=int, default=10)
    parser.add_argument("--learn-blocks", type=int, default=6)
    parser.add_argument("--replay-rate", type=float, default=10.0)
    parser.add_argument("--reuse", type=Path, help="analyse the recording in this folder")
    parser.add_argument("--write", type=Path, help="replace the section in this results file")
    args = parser.parse_args()
    described, host = describe(), machine()
    print(f"machine: {described}")
    settings = load_settings()
    pcap, meta = _recording(args)

    conf = settings.capture
    options = CaptureOptions(FeatureLayout(conf.layout), conf.window, conf.flow_idle_timeout_s,
                             conf.max_flows)  # fmt: skip
    windows, _, summary = capture_windows([pcap], options, chunk_bytes=conf.chunk_bytes)
    order = np.argsort(windows.last_ts, kind="stable")
    values, last_ts = windows.values[order], windows.last_ts[order]
    src = [windows.src_ip[i] for i in order]
    dst = [windows.dst_ip[i] for i in order]
    finite = np.isfinite(values).all(axis=1)
    phase = phases(last_ts, meta)
    phase[~finite] = "non_finite"

    benign = np.flatnonzero(phase == "benign")
    t0, t1 = meta["benign_span"]
    block = np.minimum((last_ts[benign] - t0) / (t1 - t0) * args.blocks, args.blocks - 1)
    block = block.astype(int)
    learn_rows, held = benign[block < args.learn_blocks], benign[block >= args.learn_blocks]
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        _, manifest = learn_baseline(
            values[learn_rows], gateway_id=GATEWAY, layout=options.layout,
            config=baseline_config(settings.stream.baseline),
            source=f"windows of {pcap.name} captured on this machine, benign blocks "
                   f"1-{args.learn_blocks} of {args.blocks}",
            dest_root=Path(tmp), version="bench",
        )  # fmt: skip
        baseline = load_gateway_baseline(Path(tmp) / "bench").baseline
    learn_s = time.perf_counter() - began

    session = open_session(load_bundle(args.bundle))
    clf = session.bundle.manifest
    base = decision_policy(clf, threshold=settings.stream.confidence_threshold, top_k=3)
    thresholds = calibrated_thresholds(ROOT / "models" / "calibration", clf,
                                       session.bundle.model_sha256)  # fmt: skip
    policies = {
        "global": base,
        "calibrated": decision_policy(clf, threshold=base.threshold, top_k=3,
                                      class_thresholds=thresholds),
    }  # fmt: skip

    x_held = values[held].astype(np.float32)
    held_d = _decisions(x_held, session, policies, baseline)
    held_blocks = block[block >= args.learn_blocks]
    captured_far = {
        name: {
            "alerted": int(d.alert.sum()),
            "rows": len(held),
            "rate": float(d.alert.mean()),
            "per_block": [float(d.alert[held_blocks == b].mean())
                          for b in range(args.learn_blocks, args.blocks)],
            "as": {c.value: int(n) for c, n in _named(d, policies["global"]).items()},
        }
        for name, d in held_d.items()
    }  # fmt: skip

    attack_kinds = list(meta["attack_spans"])
    attack_rows = {k: np.flatnonzero(phase == k) for k in attack_kinds}
    captured_attacks: dict[str, dict[str, Any]] = {}
    for kind, rows in attack_rows.items():
        d_kind = _decisions(values[rows].astype(np.float32), session, policies, baseline)
        captured_attacks[kind] = {name: {"alerted": float(d.alert.mean()), "rows": len(rows)}
                                  for name, d in d_kind.items()}  # fmt: skip

    runs = load_runs()
    real_benign = next(r for r in runs if r.benign).part("held_out")
    test_x, test_labels = stack([r for r in runs if not r.benign], "test")
    real_x = np.vstack([test_x, real_benign]).astype(np.float32)
    truth = [category_of(label) for label in test_labels] + [Category.BENIGN] * len(real_benign)
    real = {name: rates(d, truth, policies["global"])
            for name, d in _decisions(real_x, session, policies, baseline).items()}  # fmt: skip

    policy = incident_policy(settings.incidents)
    held_src, held_dst = [src[i] for i in held], [dst[i] for i in held]
    paced_ms = (last_ts[held] * 1000).astype(np.int64)
    replay_ms = paced_ms[0] + (np.arange(len(held)) * 1000 / args.replay_rate).astype(np.int64)
    incidents = {
        name: {
            "capture pace": fold_alerts(d, policies["global"], paced_ms, held_src, held_dst,
                                        GATEWAY, policy),
            f"replayed at {args.replay_rate:g} flows/s": fold_alerts(
                d, policies["global"], replay_ms, held_src, held_dst, GATEWAY, policy),
        }
        for name, d in held_d.items()
    }  # fmt: skip

    result = {
        "machine": host,
        "machine_line": described,
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "recording": meta,
        "capture": {
            "pcap": str(pcap),
            "packets_read": summary.packets_read,
            "packets_skipped": summary.packets_skipped,
            "windows": summary.windows,
            "windows_by_phase": {
                p: int(n) for p, n in zip(*np.unique(phase, return_counts=True), strict=True)
            },  # fmt: skip
        },
        "split": {
            "learning_windows": len(learn_rows),
            "held_out_windows": len(held),
            "blocks": args.blocks,
            "learn_blocks": args.learn_blocks,
        },  # fmt: skip
        "baseline": {
            "train_rows": manifest.training.train_rows,
            "threshold": manifest.threshold.model_dump(mode="json"),
            "reference_rows": manifest.method.reference_rows,
            "parity_max_abs_diff": manifest.parity.max_abs_score_diff,
            "learn_s": learn_s,
        },
        "classifier": clf.reference,
        "calibrated_classes": thresholds,
        "captured_held_out_benign": captured_far,
        "captured_attacks": captured_attacks,
        "real_rows": real,
        "incident_policy": {"min_alerts": policy.min_alerts, "window_ms": policy.window_ms},
        "incidents": incidents,
        "load_average_at_end": list(os.getloadavg()),
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "result.json").write_text(json.dumps(result, indent=2) + "\n")
    text = "\n".join(render(result))
    print(text)
    print(f"JSON: {OUT / 'result.json'}")
    if args.write:
        replace_section(args.write, text)


def _named(d: Decisions, policy: DecisionPolicy) -> dict[Category, int]:
    """Alerts by the category they would name (``Unknown`` for baseline-only alerts)."""
    counts: dict[Category, int] = {}
    for i in np.flatnonzero(d.alert):
        c = Category.UNKNOWN if d.unknown is not None and d.unknown[i] else policy.categories[
            d.top[i]]  # fmt: skip
        counts[c] = counts.get(c, 0) + 1
    return counts


if __name__ == "__main__":
    main()
