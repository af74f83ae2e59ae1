"""The data sets shipped in the package: what the tutorials read, byte for byte what the NOTICE says."""

from __future__ import annotations

import gzip
import hashlib
import re
from importlib.resources import files

from sm_magics.datasets import CARAVAN_ROWS, caravan


def test_caravan_is_the_islp_file_the_notice_names() -> None:
    raw = gzip.decompress(files("sm_magics.datasets").joinpath("caravan.csv.gz").read_bytes())
    notice = files("sm_magics.datasets").joinpath("NOTICE").read_text()
    assert f"Caravan.csv sha256 {hashlib.sha256(raw).hexdigest()}" in notice
    assert re.search(r"ISLP 0\.6\.0", notice) and "BSD" in notice and "CoIL Challenge 2000" in notice


def test_caravan_loads_as_the_coil_2000_table() -> None:
    data = caravan()
    assert data.shape == (CARAVAN_ROWS, 86)
    assert list(data.columns[:2]) == ["MOSTYPE", "MAANTHUI"] and data.columns[-1] == "Purchase"
    assert data["Purchase"].value_counts().to_dict() == {"No": 5474, "Yes": 348}
    assert data.drop(columns="Purchase").notna().all().all()
    assert sorted(data["MOSHOOFD"].unique()) == list(range(1, 11))  # customer main type: ten category codes
