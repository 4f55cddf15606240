"""Rebuild the default model bundles in ``models/`` from the real rows, and their model card.

    python scripts/build_default_bundles.py            # ../shared/data/ciciot2023 → models/

Runs the offline pipeline with the honest protocol::

    iotad offline run --data ../shared/data/ciciot2023 --out var/default-bundles \\
        --protocol holdout --tasks 8,34 --models rf-compact --export-to <staging>

then checks both bundles verify as a worker would and are at most 25 MB, replaces
``models/task8/rf-compact/`` and ``models/task34/rf-compact/`` with them, and writes
``models/defaults.json`` (the 8-class bundle serves first in ``iotad demo``, the 34-class one is
hot-swapped in) and ``models/MODEL_CARD.md`` from the bundles' manifests and metrics and the
run's ``run.json``. Same data, code and seed give the same models.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from iotad.demo.bundles import DEFAULTS_FILE
from iotad.machine import describe_machine
from iotad.schemas.labels import LABELS, category_of, label_from_path
from iotad.settings import StreamSettings
from iotad.stream.loader import load_model

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "ciciot2023"
MAX_BUNDLE_BYTES = 25 * 1024 * 1024
ROLES = {"default": 8, "swap": 34}


def run_pipeline(data: Path, out: Path, staging: Path, *extra: str) -> dict[str, Any]:
    """The offline pipeline, as a user would run it; its ``run.json``."""
    command = [
        sys.executable, "-m", "iotad", "offline", "run", "--data", str(data), "--out", str(out),
        "--protocol", "holdout", "--tasks", "8,34", "--models", "rf-compact",
        "--export-to", str(staging), *extra,
    ]  # fmt: skip
    print("$ " + " ".join(command[2:]), flush=True)
    subprocess.run(command, check=True, cwd=REPO)
    run: dict[str, Any] = orjson.loads((out / "holdout" / "results" / "run.json").read_bytes())
    return run


def bundle_size(path: Path) -> int:
    """Bytes of every file in a bundle directory."""
    return sum(f.stat().st_size for f in path.iterdir() if f.is_file())


def exported(run: dict[str, Any], task: int) -> Path | None:
    """The rf-compact bundle of ``task`` the run reports, if it is still on disk."""
    for model in run["models"]:
        if model["task"] == task and model["model"] == "rf-compact" and model.get("bundle"):
            path = Path(model["bundle"])
            return path if (path / "manifest.json").is_file() else None
    return None


def install(bundle: Path, models: Path, task: int) -> Path:
    """Replace ``models/task<N>/rf-compact/`` with ``bundle``; the installed path."""
    target_root = models / f"task{task}" / "rf-compact"
    if target_root.exists():
        shutil.rmtree(target_root)
    target_root.mkdir(parents=True)
    target = target_root / bundle.name
    shutil.copytree(bundle, target)
    return target


def _pct(value: float) -> str:
    return f"{value:.3f}"


def _metrics_table(metrics: dict[str, Any]) -> list[str]:
    rows = ["| class | precision | recall | F1 | test rows |", "|---|---:|---:|---:|---:|"]
    for name in metrics["classes"]:
        cls = metrics["per_class"].get(name)
        if cls is None:
            continue
        rows.append(
            f"| {name} | {_pct(cls['precision'])} | {_pct(cls['recall'])} | {_pct(cls['f1'])} "
            f"| {int(cls['support']):,} |"
        )
    return rows


def _label_table(run: dict[str, Any]) -> list[str]:
    split = run["data"]["split"]["by_label"]
    present = run["data"]["labels_present"]
    rows = [
        "| label | category | rows after cleaning | train | test |",
        "|---|---|---:|---:|---:|",
    ]
    for label in LABELS:
        train, test = split.get(label, (0, 0))
        total = present.get(label, 0)
        rows.append(f"| {label} | {category_of(label).value} | {total:,} | {train:,} | {test:,} |")
    return rows


def model_card(bundles: dict[str, Path], run: dict[str, Any], data: Path) -> str:
    """``MODEL_CARD.md`` from the installed bundles and the run's ``run.json``."""
    manifests = {
        role: orjson.loads((p / "manifest.json").read_bytes()) for role, p in bundles.items()
    }
    metrics = {role: orjson.loads((p / "metrics.json").read_bytes()) for role, p in bundles.items()}
    facts = run["data"]
    split = facts["split"]
    absent = [label for label in LABELS if facts["labels_present"].get(label, 0) == 0]
    captured = {
        label_from_path(f.relative_to(data / "per_class"))
        for f in (data / "per_class").glob("*/*.csv*")
    }
    merged_only = [label for label in LABELS if label not in captured and label not in absent]
    small = [label for label in LABELS if 0 < facts["labels_present"].get(label, 0) < 100]
    lines = [
        "# Model card: the default bundles",
        "",
        "Written by `scripts/build_default_bundles.py` on "
        f"{datetime.now(UTC).strftime('%Y-%m-%d')} from the real CICIoT2023 rows in "
        f"`../shared/data/ciciot2023` (code {run['code_version']}). Regenerate it with the "
        "script; do not edit by hand.",
        "",
        "| role in `iotad demo` | bundle | task | classes | size | accuracy | macro-F1 "
        "| test rows |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for role, path in bundles.items():
        m = manifests[role]
        lines.append(
            f"| {role} (`{path.relative_to(REPO)}`) | {m['name']}@{m['version']} | {m['task']} "
            f"| {len(m['classes'])} | {bundle_size(path) / 1e6:.1f} MB "
            f"| {_pct(m['metrics']['accuracy'])} | {_pct(m['metrics']['macro_f1'])} "
            f"| {m['metrics']['test_rows']:,} |"
        )
    lines += [
        "",
        "Both are the gateway-grade Random Forest (`rf-compact`, docs/models.md) on the 39-column "
        "layout (per-class / MERGED release), study category map, trained with the honest "
        "`holdout` protocol: every capture's last 20 % (after a gap) is held out *before* "
        "anything is fitted; scaler, variance filter, correlation filter and SMOTE see the "
        "training part only; the test part keeps its natural class mix. The 8-class model serves "
        "first in the demo; the 34-class model (fine-grained labels, the same alert categories) "
        "is hot-swapped in half-way, to show a swap between models of different tasks.",
        "",
        "Parity: each bundle's ONNX graph reproduces the scikit-learn model on every test row ("
        + "; ".join(
            f"{role}: class agreement {manifests[role]['parity']['class_agreement']:.5f}, "
            f"largest score difference {manifests[role]['parity']['max_abs_score_diff']:.1e}"
            for role in bundles
        )
        + ")"
        + "; the canary rows in each bundle are checked again whenever a worker loads it.",
        "",
        "## Data used, and its gaps",
        "",
        f"* {facts['rows_by_layout']['cic39']:,} genuine 39-column rows were read: the first "
        f"80 % of the per-class captures of {len(captured)} labels and the rows of a shuffled "
        "MERGED sample (see `../shared/data/ciciot2023/PROVENANCE.md`); "
        f"{facts['dropped_null_or_inf']} rows with `inf` were dropped and "
        f"{facts['duplicates_removed']:,} exact duplicates removed. The 100-row 46-column sample "
        "is not used (other layout).",
        f"* Training part {split['train_rows']:,} rows, test part {split['test_rows']:,} rows.",
        f"* **Labels with no row at all**: {', '.join(absent) or 'none'}. "
        f"**Labels with fewer than 100 rows**: {', '.join(small)}. Labels under 10 rows are "
        "left out of both parts (DDoS-SlowLoris, Recon-OSScan).",
        f"* {len(merged_only)} labels exist only as the few rows of the MERGED sample "
        f"({', '.join(merged_only)}): they, including **BenignTraffic "
        f"({facts['labels_present'].get('BenignTraffic', 0)} rows, "
        f"{split['by_label'].get('BenignTraffic', [0])[0]} for training)**, are learnt from a "
        "few dozen windows, stretched by SMOTE. The labels with a capture "
        f"({', '.join(sorted(captured))}) come from one capture each: the test part is the end "
        "of the same capture, not an independent one.",
        "",
        "## Classes covered (rows per label)",
        "",
        *_label_table(run),
        "",
    ]
    for role in bundles:
        m = manifests[role]
        lines += [
            f"## Metrics: {m['name']}@{m['version']} ({role}), held-out test part",
            "",
            f"Accuracy {_pct(m['metrics']['accuracy'])}, macro-F1 {_pct(m['metrics']['macro_f1'])} "
            f"on {m['metrics']['test_rows']:,} test rows.",
            "",
            *_metrics_table(metrics[role]),
            "",
        ]
    lines += [
        "## Intended use",
        "",
        "* Running and demonstrating iotad end to end (`make demo`), testing the scoring worker, "
        "and as the starting point for a retrain on the full CICIoT2023 release "
        "(`iotad offline run --data <full release> --export-to models`).",
        "* Input: CICIoT2023 39-column flow windows as the per-class / MERGED CSV release "
        "computes them. Output: an attack category (and, for the 34-class model, a label) with "
        "a confidence; benign flows are counted, not alerted.",
        "",
        "## Limits",
        "",
        "* **Not for production.** Trained on about 140 k genuine rows of 32 labels, most of them "
        "from one capture each, instead of the 46.7 M rows of the full release.",
        "* **Benign traffic is barely learnt** (43 training rows): on the 11 held-out benign "
        "rows the 8-class model's benign recall is "
        f"{_pct(metrics['default']['per_class'].get('Benign', {}).get('recall', 0.0))}, so real "
        "benign traffic raises false alerts (mostly Recon, Web, Brute Force). Retrain with the "
        "full release before judging false-positive rates.",
        "* Categories with few training windows (DoS, Spoofing, and in the 34-class model most "
        "DDoS/DoS flood labels) have low precision; web attacks, brute force and Recon are "
        "confused with each other (see the per-class tables).",
        "* The holdout test part comes from the same captures as the training part (their last "
        "20 %): the figures are an optimistic estimate of performance on new networks.",
        "* The 39-column layout only; a gateway sending the 46-column part-file layout needs a "
        "bundle trained on it.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Build, check and install the default bundles."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=REPO / "var" / "default-bundles")
    parser.add_argument("--models", type=Path, default=REPO / "models")
    args = parser.parse_args(argv)
    if not (args.data / "per_class").is_dir():
        print(f"no real rows at {args.data} (expected ../shared beside the repository)")
        return 2
    started = time.monotonic()
    staging = args.out / "export"
    run = run_pipeline(args.data, args.out, staging)
    if any(exported(run, task) is None for task in ROLES.values()):
        # Up-to-date stages were reused but their bundles were removed: export them again.
        run = run_pipeline(args.data, args.out, staging, "--from", "export", "--force")
    installed: dict[str, Path] = {}
    for role, task in ROLES.items():
        bundle = exported(run, task)
        if bundle is None:
            raise SystemExit(f"the pipeline reported no task-{task} rf-compact bundle")
        size = bundle_size(bundle)
        if size > MAX_BUNDLE_BYTES:
            raise SystemExit(f"{bundle} is {size / 1e6:.1f} MB, over the 25 MB limit")
        # Checksums, ONNX and canary rows. The defaults ship unsigned: `iotad demo` signs its own
        # copies, a gateway signs them with its own key (docs/models.md, "Signed bundles").
        load_model(bundle, StreamSettings(allow_unsigned_bundles=True))
        installed[role] = install(bundle, args.models, task)
    defaults = {role: str(path.relative_to(args.models)) for role, path in installed.items()} | {
        "note": "written by scripts/build_default_bundles.py; see MODEL_CARD.md"
    }
    (args.models / DEFAULTS_FILE).write_bytes(
        orjson.dumps(defaults, option=orjson.OPT_INDENT_2) + b"\n"
    )
    (args.models / "MODEL_CARD.md").write_text(model_card(installed, run, args.data))
    for role, path in installed.items():
        print(f"{role}: {path.relative_to(REPO)} ({bundle_size(path) / 1e6:.1f} MB)")
    took = time.monotonic() - started
    print(f"models/{DEFAULTS_FILE} and models/MODEL_CARD.md written in {took:.0f}s")
    print(describe_machine())
    return 0


if __name__ == "__main__":
    sys.exit(main())
