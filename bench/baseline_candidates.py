"""Which novelty model for a gateway's benign baseline: candidates on the real rows.

Benign: the real BENIGN rows of the MERGED sample (55; the only real benign rows here), in file
order, cut into 5 contiguous blocks. Each fold fits on 3 blocks, sets the threshold on the next
block (``iotad.baseline.far_threshold``, target 1 %: with 11 rows that is 1 % above the largest
held-back score) and measures the false-alert rate on the remaining block, so every benign row is
tested once by a model that never saw it. Attacks: the test part (last 9 %) of every real attack
run (``bench/baseline_data.py``); recall = share flagged anomalous, per category, mean over folds.

Candidates (all on the same robust scaling, median / MAD):

* ``knn-slog k``: distance to the k-th nearest training row after a signed log (the product's);
* ``robust-dist``: root mean square of the signed-log robust z-scores (no reference rows);
* ``iforest``: scikit-learn's IsolationForest (200 trees) on the signed-log z-scores
  (skl2onnx converts it);
* ``autoencoder``: a scikit-learn MLP 39-8-39 trained to reproduce the signed-log z-scores;
  score = reconstruction error.

Run: ``PYTHONPATH=$PWD .venv/bin/python bench/baseline_candidates.py``
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator

import numpy as np
from baseline_data import load_runs
from machine import describe
from numpy.typing import NDArray

from iotad.baseline.fit import far_threshold, fit_knn, robust_transform, signed_log
from iotad.schemas.features import FEATURES_39

Scorer = Callable[[NDArray[np.float64]], NDArray[np.float64]]


def candidates(train: NDArray[np.float64], seed: int) -> Iterator[tuple[str, Scorer]]:
    """Every candidate fitted on ``train``."""
    from sklearn.ensemble import IsolationForest
    from sklearn.neural_network import MLPRegressor

    transform = robust_transform(train, FEATURES_39)

    def u(x: NDArray[np.float64]) -> NDArray[np.float32]:
        return signed_log(transform.apply(x))

    for k in (1, 3, 5):
        model = fit_knn(train, FEATURES_39, k=k, max_reference_rows=256, seed=seed)
        yield f"knn-slog k={k}", model.scores
    yield "robust-dist", lambda x: np.sqrt((u(x).astype(np.float64) ** 2).mean(axis=1))
    forest = IsolationForest(n_estimators=200, random_state=seed).fit(u(train))
    yield "iforest", lambda x: -forest.score_samples(u(x))
    coder = MLPRegressor(hidden_layer_sizes=(8,), max_iter=2000, random_state=seed).fit(
        u(train), u(train)
    )
    yield "autoencoder", lambda x: ((coder.predict(u(x)) - u(x)) ** 2).mean(axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    print(describe())
    runs = load_runs()
    benign = next(r for r in runs if r.benign).rows
    attacks: dict[str, list[NDArray[np.float64]]] = {}
    for run in runs:
        if not run.benign and len(run.part("test")):
            attacks.setdefault(run.category.value, []).append(run.part("test"))
    attack_rows = {c: np.vstack(parts) for c, parts in sorted(attacks.items())}
    print(f"benign rows {len(benign)}; attack test rows "
          + ", ".join(f"{c} {len(v):,}" for c, v in attack_rows.items()))  # fmt: skip
    blocks = np.array_split(np.arange(len(benign)), args.folds)
    flagged: dict[str, list[bool]] = {}
    recall: dict[str, dict[str, list[float]]] = {}
    seconds: dict[str, float] = {}
    for i in range(args.folds):
        held = blocks[(i + 1) % args.folds]
        fit = np.concatenate(
            [b for j, b in enumerate(blocks) if j not in (i, (i + 1) % args.folds)]
        )
        for name, score in candidates(benign[fit], args.seed):
            threshold = far_threshold(score(benign[held]), 0.01).value
            flagged.setdefault(name, []).extend((score(benign[blocks[i]]) >= threshold).tolist())
            for category, rows in attack_rows.items():
                began = time.perf_counter()
                hit = float(np.mean(score(rows) >= threshold))
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - began
                recall.setdefault(name, {}).setdefault(category, []).append(hit)
    total_rows = args.folds * sum(len(v) for v in attack_rows.values())
    cats = list(attack_rows)
    print("\n| model | benign false-alert rate | " + " | ".join(cats) + " | mean recall | µs/row |")
    print("|---|---|" + "---|" * len(cats) + "---|---|")
    for name in flagged:
        per = [float(np.mean(recall[name][c])) for c in cats]
        far = float(np.mean(flagged[name]))
        print(f"| {name} | {far:.3f} ({sum(flagged[name])}/{len(flagged[name])}) | "
              + " | ".join(f"{p:.3f}" for p in per)
              + f" | {np.mean(per):.3f} | {1e6 * seconds[name] / total_rows:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
