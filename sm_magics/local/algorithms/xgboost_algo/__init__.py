"""SageMaker's built-in XGBoost (``sagemaker-xgboost:<version>``, legacy ``xgboost:1``), trained and served for real.

The algorithm-mode container is a thin shell around the ``xgboost`` library; so is this package,
split by concern: ``data`` reads the training channels, ``train`` is the container (``XGBoost``),
``artifact`` reads the ``xgboost-model`` member of any image version, ``serve`` answers
invocations. The contract (hyperparameters, metrics, content types per image version) is the
neutral ``sm_magics.algorithms.xgboost``; what is reproduced of the container, and what is not,
is told in ``docs/algorithms/xgboost.md``.
"""

from __future__ import annotations

from .artifact import MODEL_MEMBER, load_booster
from .serve import HostedXGBoost
from .train import XGBoost

__all__ = ["MODEL_MEMBER", "HostedXGBoost", "XGBoost", "load_booster"]
