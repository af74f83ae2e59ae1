"""What SageMaker would refuse about a request's names and instance types, checked before anything is uploaded.

The rules come from botocore's SageMaker service model (the same constraints
the service validates: name patterns and lengths, instance-type enums), so a
cell with a bad name or a typo in an instance type fails in a line, with the
closest valid value, and never after its data was uploaded or a model created.
The data checks below (labels against predictor_type / objective, k against
rows) stop what the algorithm containers would fail a started job for.
"""

from __future__ import annotations

import difflib
import functools
import re
from typing import Any, Iterable

import numpy as np

from ..i18n import N_, _, ngettext

# use -> the service model's enum shape for that kind of instance
INSTANCE_SHAPES = {
    "training": "TrainingInstanceType",
    "hosting": "ProductionVariantInstanceType",
    "transform": "TransformInstanceType",
}
NAME_SHAPES = {"training job": "TrainingJobName", "tuning job": "HyperParameterTuningJobName", "endpoint": "EndpointName",
               "model": "ModelName", "transform job": "TransformJobName"}
# kind -> the refusal, whole, so that each language words the kind where its grammar wants it
_NAME_REFUSALS = {
    "training job": N_("training job name {name} is not allowed: use 1 to {longest} letters, digits and hyphens, "
                       "starting and ending with a letter or digit"),
    "tuning job": N_("tuning job name {name} is not allowed: use 1 to {longest} letters, digits and hyphens, "
                     "starting and ending with a letter or digit"),
    "endpoint": N_("endpoint name {name} is not allowed: use 1 to {longest} letters, digits and hyphens, "
                   "starting and ending with a letter or digit"),
    "model": N_("model name {name} is not allowed: use 1 to {longest} letters, digits and hyphens, "
                "starting and ending with a letter or digit"),
    "transform job": N_("transform job name {name} is not allowed: use 1 to {longest} letters, digits and hyphens, "
                        "starting and ending with a letter or digit"),
}
_INSTANCE_REFUSALS = {
    "training": N_("{instance_type} is not a SageMaker training instance type"),
    "hosting": N_("{instance_type} is not a SageMaker hosting instance type"),
    "transform": N_("{instance_type} is not a SageMaker transform instance type"),
}


@functools.lru_cache(maxsize=1)
def _model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


def check_name(kind: str, name: str) -> None:
    """A name SageMaker accepts for ``kind`` ("training job", "endpoint", ...); ValueError says what to change."""
    metadata = _model().shape_for(NAME_SHAPES[kind]).metadata
    longest = metadata.get("max", 63)
    if not name or len(name) > longest or not re.fullmatch(metadata["pattern"], name):
        raise ValueError(_(_NAME_REFUSALS[kind]).format(name=repr(name), longest=longest))


def check_instance_type(use: str, instance_type: str) -> None:
    """An instance type SageMaker offers for ``use`` (training, hosting, transform); ValueError names the closest."""
    allowed = _model().shape_for(INSTANCE_SHAPES[use]).enum
    if instance_type in allowed:
        return
    close = difflib.get_close_matches(instance_type, allowed, n=1, cutoff=0.6)
    hint = _("; did you mean {close}?").format(close=close[0]) if close else _(" (for example ml.m5.large)")
    raise ValueError(_(_INSTANCE_REFUSALS[use]).format(instance_type=repr(instance_type)) + hint)


# ------------------------------------------------------------------ data against hyperparameters
#
# What the algorithm containers refuse once a job has started (and billed its instances), checked
# on the notebook's own arrays before anything is uploaded. The rules and their wording follow the
# containers' (see local/algorithms: Linear Learner's label checks, XGBoost's objective checks,
# k-means' k against records); an s3:// channel is not read here, so it is not checked.

def _first_bad(labels: np.ndarray, bad: np.ndarray) -> str:
    at = int(np.argmax(bad))
    count = int(bad.sum())
    return ngettext("label {label} at row {row} ({count} such row)", "label {label} at row {row} ({count} such rows)",
                    count).format(label=f"{labels[at]:g}", row=at, count=count)


def _integer(hyperparameters: dict[str, str], key: str) -> int | None:
    try:
        return int(float(hyperparameters[key]))
    except (KeyError, ValueError):
        return None


def check_labels(algorithm: str, hyperparameters: dict[str, str], channel: str, labels: np.ndarray, tuned: Iterable[str] = ()) -> None:
    """Labels the algorithm accepts for its predictor_type (Linear Learner) or objective (XGBoost); ValueError names the row.

    A hyperparameter being tuned has no single value yet; what depends on it is left to the jobs.
    """
    tuned = set(tuned)
    if algorithm == "linear-learner" and "predictor_type" not in tuned:
        kind = hyperparameters.get("predictor_type")
        if kind == "binary_classifier":
            bad = (labels != 0) & (labels != 1)
            if bad.any():
                raise ValueError(_("channel '{channel}': predictor_type binary_classifier needs labels 0 or 1; it has "
                                   "{found}. Encode the classes as 0/1 or use multiclass_classifier").format(
                                     channel=channel, found=_first_bad(labels, bad)))
        elif kind == "multiclass_classifier" and "num_classes" not in tuned:
            classes = _integer(hyperparameters, "num_classes")
            if classes is None:
                raise ValueError(_("predictor_type multiclass_classifier needs num_classes: add a line like "
                                   "`num_classes: {count}`").format(
                                     count=int(labels.max()) + 1 if labels.size and labels.max() >= 0 else 3))
            bad = (labels < 0) | (labels != np.floor(labels)) | (labels >= classes)
            if bad.any():
                raise ValueError(_("channel '{channel}': multiclass_classifier with num_classes {classes} needs labels "
                                   "0 ... {last}; it has {found}").format(
                                     channel=channel, classes=classes, last=classes - 1, found=_first_bad(labels, bad)))
    elif algorithm == "xgboost" and "objective" not in tuned:
        objective = hyperparameters.get("objective", "reg:squarederror")
        if objective in ("binary:logistic", "binary:logitraw", "reg:logistic"):
            bad = (labels < 0) | (labels > 1)
            if bad.any():
                raise ValueError(_("channel '{channel}': objective {objective} needs labels in [0, 1]; it has {found}").format(
                    channel=channel, objective=objective, found=_first_bad(labels, bad)))
        elif objective.startswith("multi:") and "num_class" not in tuned:
            classes = _integer(hyperparameters, "num_class")
            if classes is None:
                raise ValueError(_("objective {objective} needs num_class: add a line like `num_class: {count}`").format(
                    objective=objective, count=int(labels.max()) + 1 if labels.size and labels.max() >= 0 else 3))
            bad = (labels < 0) | (labels != np.floor(labels)) | (labels >= classes)
            if bad.any():
                raise ValueError(_("channel '{channel}': objective {objective} with num_class {classes} needs labels "
                                   "0 ... {last}; it has {found}").format(
                                     channel=channel, objective=objective, classes=classes, last=classes - 1,
                                     found=_first_bad(labels, bad)))
        elif objective in ("count:poisson", "reg:tweedie"):
            bad = labels < 0
            if bad.any():
                raise ValueError(_("channel '{channel}': objective {objective} needs labels of 0 or more; it has {found}").format(
                    channel=channel, objective=objective, found=_first_bad(labels, bad)))


def check_k(rows: int, k: int, *, tuned: bool = False) -> None:
    """k-means finds k centres among the training rows: k must not exceed them."""
    if k > rows:
        message = (_("the range of k goes up to {k} but channel 'train' has {rows} rows; k-means needs at least k rows: "
                     "lower k or add data") if tuned else
                   _("k is {k} but channel 'train' has {rows} rows; k-means needs at least k rows: lower k or add data"))
        raise ValueError(message.format(k=k, rows=rows))

