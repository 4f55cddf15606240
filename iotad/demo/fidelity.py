"""How well a detector recognises generated flows: generator intent vs. the detector's verdict.

A flow *intended* as an attack label counts as **detected** when it raises an alert of that
label's category; a flow intended as benign counts as detected when it raises **no** alert. The
same rule serves the demo's live summary (from the alerts the worker published) and the offline
check of the profile table against a bundle (:func:`bundle_fidelity`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from iotad.demo.profiles import FlowProfiles
from iotad.schemas.labels import Category, CategoryMapName, category_of
from iotad.stream.core.decide import decide
from iotad.stream.core.model import ServingModel

#: The outcome of a flow that raised no alert.
NOT_ALERTED = "not alerted"


def intended_category(label: str, category_map: CategoryMapName = "study") -> str:
    """The category a generated (or replayed) flow's label stands for."""
    return category_of(label, category_map).value


@dataclass(frozen=True)
class FidelityRow:
    """One intended category (or label): how many flows, and what the detector made of them.

    ``outcomes`` maps an alert category, or :data:`NOT_ALERTED`, to a flow count.
    """

    intended: str
    category: str
    flows: int
    outcomes: Mapping[str, int]

    @property
    def detected(self) -> int:
        """Flows the detector got right (see the module docstring)."""
        wanted = NOT_ALERTED if self.category == Category.BENIGN.value else self.category
        return int(self.outcomes.get(wanted, 0))

    @property
    def share(self) -> float:
        """``detected / flows`` (0 when no flow was sent)."""
        return self.detected / self.flows if self.flows else 0.0

    def to_json(self) -> dict[str, object]:
        """A JSON-ready record."""
        return {
            "intended": self.intended,
            "category": self.category,
            "flows": self.flows,
            "detected": self.detected,
            "share": round(self.share, 4),
            "outcomes": dict(sorted(self.outcomes.items())),
        }


def tally(
    sent: Mapping[str, int],
    alerts: Iterable[tuple[str, str]],
    category_map: CategoryMapName = "study",
) -> list[FidelityRow]:
    """Fidelity per intended category from flow counts and ``(intended label, alert category)``.

    ``sent`` counts flows per intended label; every flow without an alert is
    :data:`NOT_ALERTED`.

    Examples
    --------
    >>> alerts = [("XSS", "Web")] * 7 + [("BenignTraffic", "Recon")]
    >>> rows = tally({"XSS": 10, "BenignTraffic": 5}, alerts)
    >>> [(r.category, r.detected, r.flows) for r in rows]
    [('Benign', 4, 5), ('Web', 7, 10)]
    """
    flows: Counter[str] = Counter()
    outcomes: dict[str, Counter[str]] = {}
    for label, count in sent.items():
        category = intended_category(label, category_map)
        flows[category] += count
        outcomes.setdefault(category, Counter())
    for label, alert_category in alerts:
        category = intended_category(label, category_map)
        outcomes.setdefault(category, Counter())[alert_category] += 1
    rows = []
    for category in sorted(outcomes):
        alerted = sum(outcomes[category].values())
        counts = Counter(outcomes[category])
        counts[NOT_ALERTED] = max(flows[category] - alerted, 0)
        rows.append(FidelityRow(category, category, flows[category], dict(counts)))
    return rows


def bundle_fidelity(
    profiles: FlowProfiles,
    model: ServingModel,
    labels: Sequence[str],
    *,
    rows: int = 2000,
    seed: int = 0,
) -> list[FidelityRow]:
    """Generate ``rows`` flows per label and score them with a serving model, as the worker would.

    ``model`` comes from :func:`iotad.stream.loader.load_model`: the worker's decision rule and
    confidence threshold apply.
    """
    rng = np.random.default_rng(seed)
    policy = model.policy
    results = []
    for label in labels:
        raw = profiles.sample(label, rows, rng).astype(np.float32)
        decisions = decide(model.scorer.scores(raw), policy)
        outcome = np.where(
            decisions.alert,
            np.asarray([c.value for c in policy.categories])[decisions.top],
            NOT_ALERTED,
        )
        counts = Counter(str(o) for o in outcome)
        category = intended_category(label)
        results.append(FidelityRow(label, category, rows, dict(counts)))
    return results


def fidelity_table(rows: Sequence[FidelityRow]) -> str:
    """A Markdown table: intended, flows, share detected, the three most common outcomes."""
    lines = [
        "| intended | category | flows | detected | most common outcomes |",
        "|---|---|---:|---:|---|",
    ]
    for row in rows:
        common = ", ".join(
            f"{name} {count / row.flows:.0%}"
            for name, count in Counter(row.outcomes).most_common(3)
            if count
        )
        lines.append(
            f"| {row.intended} | {row.category} | {row.flows:,} | {row.share:.0%} | {common} |"
        )
    return "\n".join(lines)


__all__ = [
    "NOT_ALERTED",
    "FidelityRow",
    "bundle_fidelity",
    "fidelity_table",
    "intended_category",
    "tally",
]
