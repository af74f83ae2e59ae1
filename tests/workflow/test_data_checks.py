"""What the notebook's data is checked for before anything is uploaded (training.prepare runs no AWS call):
labels against predictor_type / objective, k against rows, and the many ways pandas holds numbers.
The kernel-level side (one line, nothing created on the engine) is tests/magics/test_cost_and_data_checks.py.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sm_magics.workflow.checks import check_labels
from sm_magics.workflow.data import DataError, as_matrix
from sm_magics.workflow.training import TrainingSpec, prepare

RNG = np.random.default_rng(7)
X = RNG.normal(size=(60, 5))
DIGITS = RNG.integers(0, 4, size=60).astype(float)


def prepared(algorithm: str, hyperparameters: dict[str, str], labels, tuned: set[str] = frozenset()):
    return prepare(TrainingSpec(algorithm, hyperparameters, {"train": (X, labels)}), tuned=tuned)


@pytest.mark.parametrize(
    ("algorithm", "hyperparameters", "labels", "message"),
    [
        ("linear-learner", {"predictor_type": "binary_classifier"}, DIGITS, "needs labels 0 or 1"),
        ("linear-learner", {"predictor_type": "multiclass_classifier", "num_classes": "3"}, DIGITS, "needs labels 0 ... 2"),
        ("linear-learner", {"predictor_type": "multiclass_classifier", "num_classes": "4"}, DIGITS + 0.5, "needs labels 0 ... 3"),
        ("xgboost", {"num_round": "2", "objective": "reg:logistic"}, DIGITS, "needs labels in [0, 1]"),
        ("xgboost", {"num_round": "2", "objective": "multi:softprob", "num_class": "2"}, DIGITS, "needs labels 0 ... 1"),
        ("xgboost", {"num_round": "2", "objective": "reg:tweedie"}, DIGITS - 2, "needs labels of 0 or more"),
    ],
)
def test_labels_the_algorithm_refuses(algorithm, hyperparameters, labels, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        prepared(algorithm, hyperparameters, labels)


@pytest.mark.parametrize(
    ("algorithm", "hyperparameters", "labels"),
    [
        ("linear-learner", {"predictor_type": "regressor"}, DIGITS * -3.7),
        ("linear-learner", {"predictor_type": "binary_classifier"}, pd.Series(DIGITS > 1, dtype="boolean")),  # nullable booleans
        ("linear-learner", {"predictor_type": "multiclass_classifier", "num_classes": "4"}, pd.Series(DIGITS, dtype="Int64")),
        ("xgboost", {"num_round": "2", "objective": "binary:logistic"}, DIGITS / 4),  # probabilities are labels in [0, 1]
        ("xgboost", {"num_round": "2", "objective": "multi:softmax", "num_class": "4"}, DIGITS),
        ("xgboost", {"num_round": "2"}, DIGITS - 10),  # squared error takes any number
    ],
)
def test_labels_the_algorithm_takes(algorithm, hyperparameters, labels):
    info, _, channels = prepared(algorithm, hyperparameters, labels)
    assert channels[0].labels is not None and channels[0].labels.shape == (60,)


def test_a_tuned_hyperparameter_leaves_what_depends_on_it_to_the_jobs():
    check_labels("linear-learner", {"predictor_type": "binary_classifier"}, "train", DIGITS, tuned={"predictor_type"})
    check_labels("xgboost", {"objective": "multi:softmax"}, "train", DIGITS, tuned={"num_class"})
    with pytest.raises(ValueError, match="objective multi:softmax needs num_class: add a line like `num_class: 4`"):
        check_labels("xgboost", {"objective": "multi:softmax"}, "train", DIGITS, tuned={"eta"})


def test_k_against_rows():
    with pytest.raises(ValueError, match="k is 61 but channel 'train' has 60 rows"):
        prepare(TrainingSpec("kmeans", {"k": "61"}, {"train": X}))
    prepare(TrainingSpec("kmeans", {"k": "60"}, {"train": X}))  # as many centres as rows is allowed


def test_pandas_numbers_of_every_kind_are_numbers():
    frame = pd.DataFrame(X[:, :2], columns=["a", "b"])
    frame["count"] = pd.array(RNG.integers(0, 5, 60), dtype="Int64")
    frame["flag"] = pd.array(RNG.random(60) > 0.5, dtype="boolean")
    frame["shade"] = np.where(X[:, 2] > 0, "dark", "light")
    dummies = pd.get_dummies(frame, columns=["shade"])  # bool columns
    assert as_matrix(dummies, "train").shape == (60, 6)
    mixed = dummies.to_numpy()  # bool next to float: an object array
    assert mixed.dtype == object and as_matrix(mixed, "train").shape == (60, 6)
    with pytest.raises(DataError, match=r"train holds non-numeric values \(str\)"):
        as_matrix(frame.to_numpy(), "train")  # the text column is still there
    frame.loc[3, "count"] = pd.NA
    with pytest.raises(DataError, match="NaN/infinite value"):
        as_matrix(frame.drop(columns=["shade"]), "train")


def test_a_data_error_is_one_line_in_the_notebook():
    error = DataError("predict input has 3 features per row but the model was trained on 4")
    assert error._render_traceback_() == ["DataError: predict input has 3 features per row but the model was trained on 4"]
