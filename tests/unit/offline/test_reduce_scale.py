"""variance, scale and reduce: the study's thresholds, dask-ml's scaler, the study's drop rule."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from iotad.errors import DataError
from iotad.offline.config import ReduceConfig, VarianceConfig
from iotad.offline.frames import lazy_frame, parquet_parts, read_frame
from iotad.offline.plots.correlation import plot_correlation
from iotad.offline.stages.reduce import pearson, reduce_features
from iotad.offline.stages.scale import ScaleJob, Standardisation, fit_scaler, scale_part
from iotad.offline.stages.variance import VarianceFilter, fit_variance
from iotad.schemas.features import FEATURES_39


def test_variance_filter_uses_the_threshold_and_ddof_1() -> None:
    frame = pd.DataFrame({"a": [0.0, 0.0, 0.0, 0.01], "b": [1.0, 2.0, 3.0, 4.0], "c": [5.0] * 4})
    result = fit_variance(frame, ["a", "b", "c"], VarianceConfig(threshold=1e-5))
    assert result.kept == ("a", "b") and result.removed == ("c",)
    assert result.variances[0] == pytest.approx(np.var([0, 0, 0, 0.01], ddof=1))
    again = VarianceFilter.from_frame(result.to_frame(), 1e-5)
    assert again == result
    with pytest.raises(DataError, match="no feature"):
        fit_variance(frame, ["c"], VarianceConfig())


def test_variance_on_real_rows_matches_pandas(cleaned: Path) -> None:
    parts = parquet_parts(cleaned)
    result = fit_variance(lazy_frame(parts), FEATURES_39, VarianceConfig())
    expected = read_frame(parts)[list(FEATURES_39)].astype("float64").var()
    np.testing.assert_allclose(result.variances, expected.to_numpy(), rtol=1e-9)
    assert "Telnet" in result.removed, "constant in these rows"


def test_dask_ml_scaler_matches_numpy_and_scales_parts(cleaned: Path, tmp_path: Path) -> None:
    parts = parquet_parts(cleaned)
    features = ("Header_Length", "Rate", "Tot sum", "IAT")
    scaler = fit_scaler(lazy_frame(parts), features)
    values = read_frame(parts)[list(features)].to_numpy()
    reference = Standardisation.fit_array(values, features)
    np.testing.assert_allclose(scaler.mean, reference.mean, rtol=1e-9)
    np.testing.assert_allclose(scaler.scale, reference.scale, rtol=1e-9)
    assert Standardisation.from_frame(scaler.to_frame()).features == features
    written = scale_part(ScaleJob(parts[0], tmp_path / "p.parquet", scaler))
    out = read_frame([tmp_path / "p.parquet"])
    assert written == len(out) and list(out.columns) == [*features, "label", "row_id"]
    assert out[list(features)].dtypes.eq(np.float32).all()


def test_reduce_drops_the_later_of_each_correlated_pair() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=500)
    x = np.column_stack(
        [a, rng.normal(size=500), 2 * a + 0.01 * rng.normal(size=500), -a, np.ones(500)]
    )
    result = reduce_features(x, ["a", "b", "a2", "neg_a", "const"], ReduceConfig(threshold=0.9))
    assert result.kept == ("a", "b", "const")
    assert [d[0] for d in result.dropped] == ["a2", "neg_a"]
    assert all(d[1] == "a" for d in result.dropped)
    assert result.kept_correlation().shape == (3, 3)


def test_reduce_matches_the_studys_pandas_rule() -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(size=(300, 4))
    x = np.column_stack([base, base[:, 0] + 0.3 * rng.normal(size=300), base[:, 1] * 3])
    frame = pd.DataFrame(x, columns=list("abcdef"))
    corr = frame.corr().abs()
    upper = corr.where(np.triu(np.ones(corr.shape), k=1).astype(bool))
    study_drop = [c for c in upper.columns if any(upper[c] > 0.9)]
    result = reduce_features(x, list("abcdef"), ReduceConfig())
    assert [d[0] for d in result.dropped] == study_drop
    np.testing.assert_allclose(pearson(x), frame.corr().to_numpy(), atol=1e-12)


def test_heatmap_is_a_small_png(tmp_path: Path) -> None:
    corr = pearson(np.random.default_rng(0).normal(size=(100, 39)))
    plot_correlation(corr, FEATURES_39, "before", tmp_path / "h.png")
    data = (tmp_path / "h.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 300_000


def test_pearson_in_chunks_matches_numpy_and_marks_constant_columns() -> None:
    rng = np.random.default_rng(2)
    x = np.column_stack([rng.normal(1e4, 3.0, 1000), rng.normal(size=1000), np.full(1000, 7.0)])
    x[:, 1] += 0.5 * (x[:, 0] - 1e4)
    chunked = pearson(x.astype(np.float32), chunk_rows=37)
    expected = np.corrcoef(x.astype(np.float32).astype(np.float64)[:, :2], rowvar=False)
    np.testing.assert_allclose(chunked[:2, :2], expected, atol=1e-9)
    assert np.isnan(chunked[2]).all() and np.isnan(chunked[:, 2]).all()
