"""A small tabular binary-classification dataset the algorithm tests share.

It is scikit-learn's bundled Wisconsin breast-cancer dataset
(``sklearn.datasets.load_breast_cancer``: 569 records x 30 numeric features,
label 1 = benign, 0 = malignant). It ships inside scikit-learn, so nothing is
downloaded. The split is stratified and seeded, so every test (and every
run) sees the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True)
class Split:
    x: np.ndarray  # (n, 30) float64
    y: np.ndarray  # (n,) float64, 0.0 or 1.0


@dataclass(frozen=True)
class Tabular:
    train: Split
    validation: Split
    test: Split
    feature_names: tuple[str, ...]


@lru_cache(maxsize=None)
def breast_cancer(seed: int = 0) -> Tabular:
    """Train / validation / test (60 / 20 / 20 %, stratified) of the breast-cancer data shipped with scikit-learn."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    bunch = load_breast_cancer()
    x, y = bunch.data.astype(np.float64), bunch.target.astype(np.float64)
    x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=0.2, stratify=y, random_state=seed)
    x_train, x_val, y_train, y_val = train_test_split(x_rest, y_rest, test_size=0.25, stratify=y_rest, random_state=seed)
    return Tabular(Split(x_train, y_train), Split(x_val, y_val), Split(x_test, y_test), tuple(bunch.feature_names))


def csv_label_first(x: np.ndarray, y: np.ndarray) -> str:
    """CSV as SageMaker's built-in algorithms train on it: label in the first column, no header."""
    return "\n".join(f"{label:g}," + ",".join(f"{v:.10g}" for v in row) for label, row in zip(y, x)) + "\n"


def csv_features(x: np.ndarray) -> str:
    """CSV rows of features only, as sent to an endpoint."""
    return "\n".join(",".join(f"{v:.10g}" for v in row) for row in x)
