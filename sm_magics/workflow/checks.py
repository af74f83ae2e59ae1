"""What SageMaker would refuse about a request's names and instance types, checked before anything is uploaded.

The rules come from botocore's SageMaker service model (the same constraints
the service validates: name patterns and lengths, instance-type enums), so a
cell with a bad name or a typo in an instance type fails in a line, with the
closest valid value, and never after its data was uploaded or a model created.
"""

from __future__ import annotations

import difflib
import functools
import re
from typing import Any

# use -> the service model's enum shape for that kind of instance
INSTANCE_SHAPES = {
    "training": "TrainingInstanceType",
    "hosting": "ProductionVariantInstanceType",
    "transform": "TransformInstanceType",
}
NAME_SHAPES = {"training job": "TrainingJobName", "tuning job": "HyperParameterTuningJobName", "endpoint": "EndpointName",
               "model": "ModelName", "transform job": "TransformJobName"}


@functools.lru_cache(maxsize=1)
def _model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


def check_name(kind: str, name: str) -> None:
    """A name SageMaker accepts for ``kind`` ("training job", "endpoint", ...); ValueError says what to change."""
    metadata = _model().shape_for(NAME_SHAPES[kind]).metadata
    longest = metadata.get("max", 63)
    if not name or len(name) > longest or not re.fullmatch(metadata["pattern"], name):
        raise ValueError(f"{kind} name {name!r} is not allowed: use 1 to {longest} letters, digits and hyphens, "
                         "starting and ending with a letter or digit")


def check_instance_type(use: str, instance_type: str) -> None:
    """An instance type SageMaker offers for ``use`` (training, hosting, transform); ValueError names the closest."""
    allowed = _model().shape_for(INSTANCE_SHAPES[use]).enum
    if instance_type in allowed:
        return
    close = difflib.get_close_matches(instance_type, allowed, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else " (for example ml.m5.large)"
    raise ValueError(f"{instance_type!r} is not a SageMaker {use} instance type{hint}")
