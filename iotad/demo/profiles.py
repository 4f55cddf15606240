"""Per-label flow profiles (statistics of the real rows, never rows) and sampling from them.

The shipped table ``iotad/demo/data/flow_profiles.json`` (written by
``scripts/derive_demo_profiles.py``, see :mod:`iotad.demo.profile_fit`) describes each label as a
mixture of clusters. A cluster holds, for each of the :data:`~iotad.demo.identities.FREE_FEATURES`,
a marginal distribution —

* ``{"c": x}``: constant;
* ``{"v": [...], "p": [...]}``: a value table (features with at most a dozen distinct values);
* ``{"q": [...]}``: quantiles at evenly spaced levels from 0 to 1 (interpolated between) —

and a Gaussian copula that ties them together: a low-rank factor model of the correlation of
the features' normal scores (``loadings`` L and ``uniqueness`` ψ, so the correlation is
L·Lᵀ + diag ψ). Sampling draws correlated normal scores, maps each through its marginal's
inverse distribution, and lets :func:`~iotad.demo.identities.enforce_identities` derive the
dependent columns. Rows made this way are **synthetic**: plausible for a classifier, not traffic.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from iotad.demo.identities import FREE_FEATURES, enforce_identities
from iotad.errors import ArtifactError
from iotad.schemas.features import FEATURES_39

PROFILE_FORMAT = "iotad.demo_profiles.v1"
PROFILE_RESOURCE = "flow_profiles.json"

_FREE_INDEX = np.array([FEATURES_39.index(f) for f in FREE_FEATURES], dtype=np.intp)


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Marginal(_Part):
    """One feature's distribution in a cluster: constant, value table or quantiles."""

    c: float | None = None
    v: list[float] | None = None
    p: list[float] | None = None
    q: list[float] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Marginal:
        kinds = [self.c is not None, self.v is not None, self.q is not None]
        if sum(kinds) != 1:
            raise ValueError("a marginal is exactly one of c, v+p or q")
        if self.v is not None and (self.p is None or len(self.p) != len(self.v)):
            raise ValueError("a value table needs one probability per value")
        if self.q is not None and len(self.q) < 2:
            raise ValueError("quantiles need at least two levels")
        return self


class Copula(_Part):
    """Low-rank Gaussian copula over the cluster's non-constant features (``features``)."""

    features: list[Annotated[int, Field(ge=0)]]
    loadings: list[list[float]]
    uniqueness: list[Annotated[float, Field(ge=0)]]

    @model_validator(mode="after")
    def _aligned(self) -> Copula:
        if not len(self.features) == len(self.loadings) == len(self.uniqueness):
            raise ValueError("features, loadings and uniqueness must align")
        return self


class Cluster(_Part):
    """One mode of a label: its share of the label's rows, marginals and copula."""

    weight: Annotated[float, Field(gt=0)]
    rows: Annotated[int, Field(ge=1)]
    marginals: list[Marginal]
    copula: Copula | None = None


class LabelProfile(_Part):
    """Every cluster of one label."""

    rows: Annotated[int, Field(ge=1)]
    clusters: list[Cluster] = Field(min_length=1)


class ProfileTable(_Part):
    """The whole table (``flow_profiles.json``)."""

    format: Literal["iotad.demo_profiles.v1"] = "iotad.demo_profiles.v1"
    note: str
    features: list[str]
    quantile_levels: Annotated[int, Field(ge=2)]
    source: dict[str, object]
    labels: dict[str, LabelProfile]

    @model_validator(mode="after")
    def _matches_code(self) -> ProfileTable:
        if self.features != list(FREE_FEATURES):
            raise ValueError("features differ from iotad.demo.identities.FREE_FEATURES")
        width = len(self.features)
        for label, profile in self.labels.items():
            for cluster in profile.clusters:
                if len(cluster.marginals) != width:
                    raise ValueError(f"{label}: a cluster has {len(cluster.marginals)} marginals")
        return self


def load_table(path: Path | None = None) -> ProfileTable:
    """The shipped profile table, or the one at ``path``.

    Raises
    ------
    ArtifactError
        if the file is missing or does not match the format.
    """
    try:
        if path is None:
            raw = resources.files("iotad.demo").joinpath("data", PROFILE_RESOURCE).read_bytes()
        else:
            raw = Path(path).read_bytes()
        return ProfileTable.model_validate_json(raw)
    except FileNotFoundError as exc:
        raise ArtifactError(
            f"flow profile table not found: {exc.filename}",
            hint="regenerate it with `python scripts/derive_demo_profiles.py`",
        ) from exc
    except ValidationError as exc:
        raise ArtifactError(f"flow profile table is invalid: {exc.errors()[0]['msg']}") from exc


def normal_cdf(z: NDArray[np.float64]) -> NDArray[np.float64]:
    """Φ(z), vectorised (Abramowitz & Stegun 7.1.26 for erf: absolute error below 1.5e-7).

    Examples
    --------
    >>> [round(float(v), 4) for v in normal_cdf(np.array([-1.96, 0.0, 1.0]))]
    [0.025, 0.5, 0.8413]
    """
    x = np.abs(z) / np.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    erf = 1.0 - poly * np.exp(-x * x)
    return np.asarray(0.5 * (1.0 + np.sign(z) * erf), dtype=np.float64)


class ClusterSampler:
    """Draws rows of one cluster (free features only, in :data:`FREE_FEATURES` order)."""

    def __init__(self, cluster: Cluster, levels: NDArray[np.float64]) -> None:
        self.cluster = cluster
        self._levels = levels

    @cached_property
    def _factor(self) -> tuple[NDArray[np.intp], NDArray[np.float64], NDArray[np.float64]]:
        copula = self.cluster.copula
        if copula is None:
            return np.zeros(0, np.intp), np.zeros((0, 0)), np.zeros(0)
        return (
            np.asarray(copula.features, dtype=np.intp),
            np.asarray(copula.loadings, dtype=np.float64).reshape(len(copula.features), -1),
            np.sqrt(np.asarray(copula.uniqueness, dtype=np.float64)),
        )

    def uniforms(self, n: int, rng: np.random.Generator) -> NDArray[np.float64]:
        """Correlated uniforms, one column per free feature (independent where no copula)."""
        u = rng.random((n, len(self.cluster.marginals)))
        features, loadings, unique = self._factor
        if len(features):
            factors = rng.standard_normal((n, loadings.shape[1]))
            z = factors @ loadings.T + rng.standard_normal((n, len(features))) * unique
            u[:, features] = normal_cdf(z)
        return u

    @cached_property
    def _inverses(self) -> list[_Inverse]:
        """Each marginal's inverse CDF, its arrays built once (the feed samples every tick)."""
        return [_inverse_of(marginal, self._levels) for marginal in self.cluster.marginals]

    def sample(self, n: int, rng: np.random.Generator) -> NDArray[np.float64]:
        """``n`` rows of free features."""
        u = self.uniforms(n, rng)
        out = np.empty_like(u)
        for j, inverse in enumerate(self._inverses):
            out[:, j] = inverse(u[:, j])
        return out


_Inverse = Callable[[NDArray[np.float64]], NDArray[np.float64]]


def _inverse_of(marginal: Marginal, levels: NDArray[np.float64]) -> _Inverse:
    if marginal.c is not None:
        constant = marginal.c
        return lambda u: np.full(len(u), constant)
    if marginal.v is not None and marginal.p is not None:
        cumulative = np.cumsum(marginal.p)
        cumulative /= cumulative[-1]
        values = np.asarray(marginal.v, dtype=np.float64)
        last = len(values) - 1
        return lambda u: values[np.minimum(np.searchsorted(cumulative, u, side="right"), last)]
    assert marginal.q is not None
    quantiles = np.asarray(marginal.q, dtype=np.float64)
    return lambda u: np.interp(u, levels, quantiles)


class FlowProfiles:
    """Samples synthetic 39-column rows per label from a :class:`ProfileTable`.

    Examples
    --------
    >>> profiles = FlowProfiles(load_table())
    >>> rows = profiles.sample("XSS", 3, np.random.default_rng(0))
    >>> rows.shape
    (3, 39)
    """

    def __init__(self, table: ProfileTable) -> None:
        self.table = table
        levels = np.linspace(0.0, 1.0, table.quantile_levels)
        self._samplers = {
            label: [ClusterSampler(c, levels) for c in profile.clusters]
            for label, profile in table.labels.items()
        }
        self._weights = {
            label: np.asarray([c.weight for c in profile.clusters])
            / sum(c.weight for c in profile.clusters)
            for label, profile in table.labels.items()
        }

    @property
    def labels(self) -> tuple[str, ...]:
        """The labels the table can imitate."""
        return tuple(self.table.labels)

    def sample(self, label: str, n: int, rng: np.random.Generator) -> NDArray[np.float64]:
        """``n`` synthetic rows of ``label`` (39-column order, every identity holding).

        Raises
        ------
        KeyError
            for a label the table does not describe.
        """
        samplers = self._samplers[label]
        counts = rng.multinomial(n, self._weights[label])
        free = np.concatenate(
            [s.sample(int(k), rng) for s, k in zip(samplers, counts, strict=True) if k]
            or [np.empty((0, len(FREE_FEATURES)))]
        )
        rows = np.zeros((len(free), len(FEATURES_39)))
        rows[:, _FREE_INDEX] = free
        rows = enforce_identities(rows)
        return rows[rng.permutation(len(rows))]


__all__ = [
    "PROFILE_FORMAT",
    "Cluster",
    "ClusterSampler",
    "Copula",
    "FlowProfiles",
    "LabelProfile",
    "Marginal",
    "ProfileTable",
    "load_table",
    "normal_cdf",
]
