"""Real data sets shipped with the package, for tutorials that must run offline.

``caravan()``: the Caravan insurance-purchase data (the CoIL Challenge 2000 "Insurance Company
Benchmark"), 5 822 real customers of a Dutch insurer, 85 socio-demographic and product-ownership
columns and ``Purchase`` ("Yes" for the 348 who bought a caravan policy). Where it comes from and
under which terms it is shipped: ``NOTICE`` next to this file.
"""

from __future__ import annotations

import gzip
from importlib.resources import files
from typing import Any

CARAVAN_ROWS = 5822


def caravan() -> Any:
    """The Caravan data as a pandas DataFrame: 85 integer-coded columns, then ``Purchase`` ("Yes" / "No").

    The columns keep the CoIL 2000 names (``MOSTYPE`` customer subtype, ``MOSHOOFD`` customer main
    type, ``PPERSAUT`` contribution to car policies, ...); ``MOSTYPE`` and ``MOSHOOFD`` are category
    codes, the others are counts or levels. The file is byte for byte ``ISLP/data/Caravan.csv`` of
    the ISLP 0.6.0 package (gzipped), so it is read without installing ISLP and its dependencies.
    """
    import pandas as pd

    with gzip.open(files(__name__).joinpath("caravan.csv.gz").open("rb")) as stream:  # type: ignore[arg-type]
        return pd.read_csv(stream)
