"""The identity check used on iotad's rows accepts every real CIC row (so it tests real facts)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.cic_identities import check_cic39_identities

from iotad.schemas.features import FEATURES_39

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "ciciot2023"
FILES = [
    "per_class/Uploading_Attack/Uploading_Attack.pcap.csv.gz",
    "per_class/Recon-PingSweep/Recon-PingSweep.pcap.csv.gz",
    "per_class/Mirai-greip_flood/Mirai-greip_flood21.pcap.csv.gz",
    "ciciot2023_merged39_sample.csv.gz",
]


@pytest.mark.parametrize("name", FILES)
def test_real_rows_pass_the_identities(name: str) -> None:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"real CICIoT2023 rows not found at {path} (needs ../shared beside the repo)")
    rows = pd.read_csv(path)[list(FEATURES_39)]
    finite = np.isfinite(rows.to_numpy(dtype=float)).all(axis=1)
    assert finite.mean() > 0.999  # CIC's own Number = 1 artefacts: Rate inf, Std empty
    check_cic39_identities(rows[finite])
