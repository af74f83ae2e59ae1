"""SageMaker's built-in XGBoost (``sagemaker-xgboost:<version>``, legacy ``xgboost:1``), trained and served for real.

The algorithm-mode container (aws/sagemaker-xgboost-container) is a thin shell
around the ``xgboost`` library; so is this module, and it uses the ``xgboost``
package installed beside the engine for the math. What it reproduces of the
container:

* Hyperparameters are validated as the container's toolkit does it
  (``sagemaker_algorithm_toolkit.hyperparameter_validation``): aliases first
  (``learning_rate`` -> ``eta`` ...), then "Missing required hyperparameter:
  num_round", then every name is parsed ("Extraneous hyperparameter found:
  <name>", "Hyperparameter <name>: could not parse value (caused by
  ValueError)"), then ranges ("Hyperparameter eta: 2.0 is not in [0, 1]" for
  numbers and categories, "Hyperparameter eval_metric: value [...] not in range
  [...]" for lists), then the cross-parameter rules (num_class, ``auc`` only for
  ``binary:``/``rank:`` objectives, constraints need a tree method). The
  number/category wording is the toolkit's own (``validate_range``); the
  research notes abbreviate every range failure as "value <v> not in range
  <r>", which is the list types' wording only. One rule is stricter than the
  container's code: ``num_class`` with a non-multi objective fails with the
  container's own message ("Do not need to setup parameter 'num_class' ..."),
  which its validator means to raise but never reaches (xgboost then fails on
  the label shape instead). Hidden names other than ``_tuning_objective_metric``
  are extraneous, as there.
* Training input (A.2): ``text/csv`` (label first, no header; ``csv_weights=1``
  puts instance weights in the second column), ``text/libsvm`` (the default
  when the channel has no ContentType; ``label[:weight] idx:val ...``, indices
  taken as written, as XGBoost's parser does), ``application/x-recordio-protobuf``
  and ``application/x-parquet`` (only where pyarrow or fastparquet is installed).
  Empty CSV cells are missing values, as XGBoost's CSV parser makes them. A CSV
  cell that is not a number fails the job: XGBoost's native CSV parser would
  silently read it as 0 (a header row becoming a training row), so the local
  engine is stricter here, with the container's "is not 'CSV' format" wording.
* Training is ``xgboost.train`` with ``train`` (and ``validation`` when given)
  as the watchlist, ``early_stopping_rounds`` on the last metric of the last
  eval set, and the container's own metrics (accuracy, f1, mse, and from 1.5-1
  balanced_accuracy, f1_binary, f1_macro, precision*, recall*, r2) as a custom
  metric. ``_tuning_objective_metric`` (injected by hyperparameter tuning, e.g.
  ``validation:auc``) adds its metric to ``eval_metric``. Each round is logged
  as ``[<i>]\\t<data>-<metric>:<value, 5 decimals>`` (CloudWatch shows the TAB
  as ``#011``), and the declared metrics are reported to the engine, whose last
  values become FinalMetricDataList.
* XGBoost's own complaints about the data (labels out of range, label shape,
  AUC on one class, ...) are ``ClientError: <message>``, everything else
  ``AlgorithmError: XGB train call failed with exception: ...``, as in the
  container's ``CUSTOMER_ERRORS`` handling.
* Multi-host (InstanceCount > 1): the container trains with Rabit, each host
  computing gradient histograms on its own shard and allreducing them, so the
  trees are those of one booster trained on the union of the shards (a host
  without data is left out). Here every other host sends its parsed shard to
  algo-1 as its partial result and algo-1 trains one booster on the union. With
  FullyReplicated data the union holds each row once per host, which is also
  what Rabit's summed histograms amount to.
* Artifacts (A.5): ``xgboost-model`` is ``pickle.dumps(booster)`` for images up
  to 1.2-x; ``Booster.save_model`` output for 1.3-1 ... 1.7-1, where the
  container wrote XGBoost's legacy binary format ("binf"): the installed
  xgboost writes that only where it still can (xgboost < 3.1); XGBoost 3.1
  removed the format, so with it the member holds the model as JSON, which
  every xgboost >= 1.0 reads through ``Booster.load_model`` on the same
  extensionless path; 3.0-5 and later write UBJSON, as ``save_model`` does
  there. Loading tries a pickled Booster first and ``Booster.load_model`` next,
  as the container's ``get_loaded_booster`` does, but unlike the container's
  ``pickle.load`` it runs nothing from the artifact: ``booster_pickle`` admits
  only a Booster's parts, mapped to inert stand-ins, and xgboost's own
  deserializer reads the model bytes; any other pickle is refused. Models
  the installed xgboost cannot read (what SageMaker's xgboost:1, 0.90-x ...
  1.7-1 containers wrote: pre-1.0 binary, ``binf``, 1.x pickled memory
  snapshots) are served by xgboost 3.0.5, the last release that reads them,
  from a host process in a side environment the engine makes on first need
  (``runtime.legacy_xgboost``); only bytes laid out like such a model go
  there, with the same plain bytes, never a pickle.
* The legacy ``xgboost:1`` image (also tagged ``latest``: the SDKs' alias for
  it, not the newest container) is XGBoost 0.72: its schema lacks what 0.72
  did not have (``verbosity``, ``colsample_bynode``, constraints,
  ``num_parallel_tree``, ``save_model_on_termination``, ...; ``silent`` is
  its switch), its objectives name squared error ``reg:linear``, its metrics
  are 0.72's. Training uses the installed xgboost with 0.72's defaults where
  they differ (``tree_method`` exact, approx from 2^22 rows; ``base_score``
  0.5), which grows 0.72's trees: a test compares with xgboost 0.72.1 itself.
  Its answers are the comma-joined line of the early containers.
* Serving (A.4): requests in ``text/csv`` (no label column), ``text/libsvm``
  or ``application/x-recordio-protobuf``; 415 for other content types and
  unparsable bodies; 400 "Unable to evaluate payload provided: Feature size of
  csv inference data N is not consistent with feature size of trained model M"
  (no final period for CSV, as a captured real response and the container's
  code have it; recordio's message ends with one); predictions use the
  early-stopped best iteration. Answer shape by image version: 0.90-x, 1.0-1
  and 1.2-1 ignore Accept and answer one comma-joined line without a trailing
  newline (``[p0, p1, p2]`` per record for ``multi:softprob``); 1.2-2 and later
  answer ``text/csv`` one record per line with a trailing newline for ``*/*``
  or no Accept, ``{"predictions": [{"score": x}, ...]}`` for
  ``application/json``, 500 for ``application/jsonlines`` and
  ``application/x-recordio-protobuf`` (the container lists them but its
  encoder cannot write them), and 406 for anything else.

Not reproduced: checkpoints (CheckpointConfig, spot resume), k-fold
cross-validation (``_kfold``, ``_num_cv_round``; 3.0-5), script mode, GPU
training (``gpu_hist`` trains with ``hist`` where the image accepts it).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import pickle
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ...algorithms.xgboost import (  # the container's contract: versions, metrics, hyperparameters, content types
    CSV,
    CUSTOM_METRICS,
    LIBSVM,
    RECORDIO,
    metric_lists,
    XGBoostSpec,
    training_format,
)
from . import inference_io
from .base import Algorithm, AlgorithmError, ClientError, HostedModel, ModelRequestError, TrainingContext
from .booster_pickle import RefusedPickle, read_booster_pickle

MODEL_MEMBER = "xgboost-model"
MAX_REASON = 1000  # FailureReason is at most 1024 characters, "AlgorithmError: " included
TRAIN_PATH = "/opt/ml/input/data/train"
VALIDATION_PATH = "/opt/ml/input/data/validation"


@dataclass
class Shard:
    """One host's parsed rows of a channel (dense float32, or CSR for libsvm)."""

    x: Any  # np.ndarray or scipy.sparse.csr_matrix
    y: np.ndarray
    weight: np.ndarray | None = None

    @property
    def rows(self) -> int:
        return int(self.x.shape[0])

    @property
    def columns(self) -> int:
        return int(self.x.shape[1])


def _data_files(paths: Sequence[Any]) -> list[Any]:
    """The container skips files whose names start with '.' or '_' (engine files are named ``NNNNN-<key name>``)."""
    kept = []
    for path in paths:
        original = path.name.split("-", 1)[1] if re.match(r"^\d{5}-", path.name) else path.name
        if not original.startswith((".", "_")):
            kept.append(path)
    return kept


def read_channel(ctx: TrainingContext, name: str, csv_weights: int) -> Shard | None:
    """This host's part of a channel, or None when the host got no records of it."""
    channel = ctx.channels[name]
    fmt = training_format(channel.content_type)
    files = [p for p in _data_files(channel.files) if p.stat().st_size > 0]
    if not files:
        return None
    if fmt == CSV:
        shards = _read_csv_files(ctx, files, csv_weights)
    elif fmt == LIBSVM:
        shards = [_read_libsvm(path) for path in files]
    elif fmt == RECORDIO:
        shards = [_read_recordio(path) for path in files]
    else:
        shards = [_read_parquet(path) for path in files]
    shards = [s for s in shards if s.rows]
    return _concat(shards) if shards else None


def _first_line(data: bytes) -> str:
    return data.split(b"\n", 1)[0].decode("utf-8", errors="ignore").rstrip("\r")


def _csv_delimiter(line: str) -> str:
    try:
        delimiter = csv.Sniffer().sniff(line).delimiter
    except Exception as exc:
        raise ClientError(f"Could not determine delimiter on line {line[:50]}:\n{exc}") from None
    # the sniffer picks a digit or '.' for one-column lines; such files are comma separated
    return "," if delimiter.isalnum() or delimiter in ".-+" else delimiter


def _read_csv_files(ctx: TrainingContext, files: list[Any], csv_weights: int) -> list[Shard]:
    import pandas as pd

    first = files[0].read_bytes()
    delimiter = _csv_delimiter(_first_line(first))
    ctx.log(f"Determined delimiter of CSV input is '{delimiter}'")
    shards = []
    for index, path in enumerate(files):
        data = first if index == 0 else path.read_bytes()
        line = _first_line(data)
        tokens = [t.strip() for t in line.split(delimiter)]
        if any(t and not _is_number(t) for t in tokens):
            raise ClientError(
                f"First line '{line[:50]}...' of file '{_original_name(path)}' is not 'CSV' format. "
                "Please ensure the file is in 'CSV' format."
            )
        try:
            frame = pd.read_csv(io.BytesIO(data), header=None, sep=delimiter, dtype=np.float32, skip_blank_lines=True)
        except Exception as exc:
            raise ClientError(f"Failed to load csv data with exception:\n{exc}") from None
        values = frame.to_numpy(dtype=np.float32)
        first_feature = 2 if csv_weights == 1 else 1
        if values.shape[1] <= first_feature:
            raise ClientError(
                "Failed to load csv data with exception:\n"
                f"file '{_original_name(path)}' has {values.shape[1]} column(s): XGBoost reads the label from the first "
                f"column{' and instance weights from the second' if csv_weights == 1 else ''}, and needs features after them"
            )
        label = values[:, 0]
        if np.isnan(label).any():
            row = int(np.argmax(np.isnan(label)))
            raise ClientError(f"Failed to load csv data with exception:\nrecord {row} of file '{_original_name(path)}' has no label")
        weight = values[:, 1] if csv_weights == 1 else None
        shards.append(Shard(np.ascontiguousarray(values[:, first_feature:]), label, weight))
    return shards


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _original_name(path: Any) -> str:
    return path.name.split("-", 1)[1] if re.match(r"^\d{5}-", path.name) else path.name


def _valid_libsvm_line(line: str) -> bool:
    parts = line.strip().split(" ")
    label = parts[0].split(":")
    if len(label) > 2 or not all(_is_number(p) for p in label):
        return False
    return all(":" in item and len(item.split(":")) == 2 for item in parts[1:] if item)


def _read_libsvm(path: Any) -> Shard:
    from scipy.sparse import csr_matrix

    text = path.read_bytes().decode("utf-8", errors="replace")
    lines = [line for line in text.splitlines() if line.strip()]
    if lines and not _valid_libsvm_line(lines[0]):
        raise ClientError(
            f"First line '{lines[0][:50]}...' of file '{_original_name(path)}' is not 'LIBSVM' format. "
            "Please ensure the file is in 'LIBSVM' format."
        )
    labels = np.empty(len(lines), dtype=np.float32)
    weights = np.ones(len(lines), dtype=np.float32)
    weighted = False
    indptr = [0]
    indices: list[int] = []
    values: list[float] = []
    try:
        for row, line in enumerate(lines):
            parts = line.split()
            label, _, weight = parts[0].partition(":")
            labels[row] = float(label)
            if weight:
                weights[row] = float(weight)
                weighted = True
            for item in parts[1:]:
                if item.startswith("qid:") or item.startswith("#"):
                    continue
                index, _, value = item.partition(":")
                indices.append(int(index))
                values.append(float(value))
            indptr.append(len(indices))
    except ValueError as exc:
        raise ClientError(f"Failed to load libsvm data with exception:\n{exc}") from None
    if indices and min(indices) < 0:
        raise ClientError("Failed to load libsvm data with exception:\nfeature indices must be non-negative")
    width = max(indices) + 1 if indices else 0
    x = csr_matrix((np.asarray(values, dtype=np.float32), np.asarray(indices, dtype=np.int64), np.asarray(indptr)), shape=(len(lines), width))
    return Shard(x, labels, weights if weighted else None)


def _read_recordio(path: Any) -> Shard:
    from ...formats import recordio

    try:
        x, y = recordio.read_dense(path.read_bytes())
    except Exception as exc:
        raise ClientError(f"Failed to load recordio-protobuf data with exception:\n{exc}") from None
    if y is None:
        raise ClientError(
            "Got input data without labels. Please check the input data set. If training job is running on multiple "
            "instances, please switch to using single instance if number of records in the data set is less than "
            "number of workers (16 * number of instance) in the cluster."
        )
    return Shard(np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.float32).ravel())


def _read_parquet(path: Any) -> Shard:
    import pandas as pd

    try:
        values = pd.read_parquet(io.BytesIO(path.read_bytes())).to_numpy(dtype=np.float32)
    except Exception as exc:
        raise ClientError(f"Failed to load parquet data with exception:\n{exc}") from None
    return Shard(np.ascontiguousarray(values[:, 1:]), values[:, 0])


def _concat(shards: list[Shard]) -> Shard:
    if len(shards) == 1:
        return shards[0]
    from scipy.sparse import csr_matrix, issparse, vstack

    width = max(s.columns for s in shards)
    if any(issparse(s.x) for s in shards):
        parts = []
        for s in shards:
            m = csr_matrix(s.x)
            m.resize((m.shape[0], width))
            parts.append(m)
        x: Any = vstack(parts).tocsr()
    else:
        widths = {s.columns for s in shards}
        if len(widths) > 1:
            raise ClientError(f"Failed to load csv data with exception:\nfiles have different numbers of features: {sorted(widths)}")
        x = np.vstack([s.x for s in shards])
    y = np.concatenate([s.y for s in shards])
    weight = None
    if any(s.weight is not None for s in shards):
        weight = np.concatenate([s.weight if s.weight is not None else np.ones(s.rows, np.float32) for s in shards])
    return Shard(x, y, weight)


# ------------------------------------------------------------------ the algorithm

# Substrings of XGBoost's errors that are the user's to fix (the container's CUSTOMER_ERRORS, plus
# the wording current xgboost uses for the same checks).
CUSTOMER_ERRORS = (
    "label must be in [0,1] for logistic regression",
    "label must be in [0, num_class)",
    "Target is multiclass but average='binary'",
    "feature_names mismatch",
    "Check failed: preds.size() == info.labels_.size()",
    "Check failed: !auc_error AUC: the dataset only contains pos or neg samples",
    "base_score must be in (0,1)",
    "label must be nonnegative",
    "Parameter reg_lambda should be greater equal to 0",
    "Invalid shape of labels",
    "label must be discrete values",
    "label must be non-negative",
    "label must be positive",
    "labels are not correctly provided",
    "Feature shape mismatch",
    "number of features",
    "Invalid Input:",
    "aft_loss_distribution",
    "label_lower_bound",
)


class XGBoost(XGBoostSpec, Algorithm):
    """The container's training and serving; its contract is ``XGBoostSpec``."""

    # ---------------------------------------------------------------- training

    def train_host(self, ctx: TrainingContext, params: dict[str, Any]) -> dict[str, Any]:
        with _bounded_reasons():
            return self._read_host(ctx, params)

    def _read_host(self, ctx: TrainingContext, params: dict[str, Any]) -> dict[str, Any]:
        csv_weights = int(params.get("csv_weights", 0))
        for name in ctx.channels:
            training_format(ctx.channels[name].content_type)  # fail fast on a bad ContentType
        train = read_channel(ctx, "train", csv_weights)
        validation = read_channel(ctx, "validation", 0) if "validation" in ctx.channels else None
        if ctx.host_count == 1:
            if train is None:
                raise ClientError(f"No data in training channel path {TRAIN_PATH}")
            if "validation" in ctx.channels and validation is None:
                raise ClientError(f"No data in validation channel path {VALIDATION_PATH}")
        return {"host": ctx.host, "train": train, "validation": validation}

    def finish(self, ctx: TrainingContext, params: dict[str, Any], partials: list[Any]) -> None:
        with _bounded_reasons():
            self._finish(ctx, params, partials)

    def _finish(self, ctx: TrainingContext, params: dict[str, Any], partials: list[Any]) -> None:
        hosts = [p["host"] for p in partials]
        if ctx.host_count > 1:
            ctx.log(f"Distributed node training with {ctx.host_count} hosts: {sorted(hosts)}")
            for p in partials:
                if p["train"] is None:
                    ctx.log(
                        f"Host {p['host']} does not have data. Will broadcast to cluster and will not be used in "
                        "distributed training."
                    )
        else:
            ctx.log("Single node training.")
        trains = [p["train"] for p in partials if p["train"] is not None]
        if not trains:
            raise ClientError(f"No data in training channel path {TRAIN_PATH}")
        validations = [p["validation"] for p in partials if p["validation"] is not None]
        if "validation" in ctx.channels and not validations:
            raise ClientError(f"No data in validation channel path {VALIDATION_PATH}")
        train = _concat(trains)
        validation = _concat(validations) if validations else None
        if validation is not None:
            _check_feature_names(train, validation)
        booster = self._train(ctx, params, train, validation)
        (ctx.model_dir / MODEL_MEMBER).write_bytes(self.serialize(booster))

    def _train(self, ctx: TrainingContext, params: dict[str, Any], train: Shard, validation: Shard | None) -> Any:
        import xgboost as xgb

        xgb_params, eval_metrics, custom = self._xgb_params(ctx, params)
        if self.key < (0, 90, 0):
            _legacy_072_defaults(ctx, xgb_params, train.rows)
        objective = xgb_params.get("objective", "reg:squarederror")
        _check_labels(self.key, objective, xgb_params.get("num_class"), eval_metrics + custom, train, validation)
        try:
            dtrain = xgb.DMatrix(train.x, label=train.y, weight=train.weight, missing=np.nan)
            watchlist = [(dtrain, "train")]
            if validation is not None:
                watchlist.append((xgb.DMatrix(validation.x, label=validation.y, missing=np.nan), "validation"))
        except Exception as exc:
            raise ClientError(f"Failed to load data with exception:\n{_xgb_message(exc)}") from None
        ctx.log(f"Train matrix has {train.rows} rows and {train.columns} columns")
        if validation is not None:
            ctx.log(f"Validation matrix has {validation.rows} rows")

        declared = {d["Name"] for d in self.metric_definitions}
        monitor = _make_monitor(xgb, ctx, declared)
        early = params.get("early_stopping_rounds")
        # XGBoost stops on the last metric of the last eval set: the custom ones come after the built-in ones
        last_metric = (custom or eval_metrics or [_default_metric(objective)])[-1]
        maximize_all = metric_lists(self.key)[0] + ["auc", "aucpr", "map", "ndcg"]
        maximize = last_metric.split("@")[0] in maximize_all if early else None
        try:
            booster = xgb.train(
                xgb_params,
                dtrain,
                num_boost_round=int(params["num_round"]),
                evals=watchlist,
                custom_metric=_custom_metric(custom, objective) if custom else None,
                maximize=maximize,
                early_stopping_rounds=early,
                callbacks=[monitor],
                verbose_eval=False,
            )
        except Exception as exc:
            message = _xgb_message(exc)
            if any(marker in message for marker in CUSTOMER_ERRORS):
                raise ClientError(message) from None
            raise AlgorithmError(f"XGB train call failed with exception:\n {message}") from None
        if early and getattr(booster, "best_iteration", None) is not None:
            ctx.log(f"Best iteration: {booster.best_iteration} (stopped after {booster.num_boosted_rounds()} rounds)")
        return booster

    def _xgb_params(self, ctx: TrainingContext, params: dict[str, Any]) -> tuple[dict[str, Any], list[str], list[str]]:
        skip = {
            "num_round", "early_stopping_rounds", "csv_weights", "_tuning_objective_metric", "save_model_on_termination",
            "eval_metric", "silent", "use_dask_gpu_training",
        }  # fmt: skip
        out: dict[str, Any] = {}
        for name, value in params.items():
            if name in skip:
                continue
            if name == "updater":
                value = ",".join(value)
            elif name == "monotone_constraints":
                value = "(" + ",".join(str(int(v)) for v in value) + ")"
            elif name == "interaction_constraints":
                value = json.dumps(value)
            elif name == "tree_method" and "gpu" in value:
                ctx.log(f"tree_method '{value}' needs a GPU; the local engine trains with 'hist'")
                value = "hist"
            out[name] = value
        if params.get("silent") == 1 and "verbosity" not in params:
            out["verbosity"] = 0
        # eval_metric plus the tuning objective's metric, split into XGBoost's and the container's own
        union = params.get("eval_metric")
        tuning = params.get("_tuning_objective_metric")
        if tuning is not None:
            metric = tuning.split(":", 1)[1] if ":" in tuning else tuning
            ctx.log(f"Setting up HPO optimized metric to be : {metric}")
            union = sorted(set(union or []) | set(metric.split(",")))
        builtin: list[str] = []
        custom: list[str] = []
        if union:
            custom = sorted(m for m in set(union) if m in CUSTOM_METRICS)
            builtin = [m for m in union if m not in CUSTOM_METRICS]
            builtin = sorted(set(builtin)) if custom else list(dict.fromkeys(builtin))
        if builtin:
            out["eval_metric"] = builtin
        return out, builtin, custom

    # ---------------------------------------------------------------- artifacts

    def serialize(self, booster: Any) -> bytes:
        """The ``xgboost-model`` member as this image version writes it (see the module docstring)."""
        if self.key < (1, 3, 0):
            return pickle.dumps(booster, protocol=4 if self.key >= (1, 2, 0) else 3)  # 1.0-1: Python 3.7's default
        if self.key < (3, 0, 0):
            try:  # XGBoost's legacy binary format ("binf"), where the installed xgboost can still write it
                return bytes(booster.save_raw("deprecated"))
            except Exception:
                return bytes(booster.save_raw("json"))
        return bytes(booster.save_raw("ubj"))

    # ---------------------------------------------------------------- hosting

    def load(self, files: dict[str, bytes]) -> HostedModel:
        names = sorted(n for n in files if n.split("/")[-1].startswith(MODEL_MEMBER)) or sorted(files)
        if not names:
            raise ClientError("Unable to load model: model.tar.gz is empty")
        if MODEL_MEMBER in names:
            names = [MODEL_MEMBER]
        boosters = [load_booster(files[name], name) for name in names]
        return HostedXGBoost(boosters, self.key)


@contextlib.contextmanager
def _bounded_reasons() -> Iterator[None]:
    """FailureReason holds at most 1024 characters: messages quoting data or XGBoost are cut to fit."""
    try:
        yield
    except (ClientError, AlgorithmError) as exc:
        message = str(exc)
        if len(message) <= MAX_REASON:
            raise
        raise type(exc)(message[: MAX_REASON - 3] + "...") from None


def _legacy_072_defaults(ctx: TrainingContext, xgb_params: dict[str, Any], rows: int) -> None:
    """XGBoost 0.72's defaults where today's xgboost, which trains the legacy image's jobs here, has other ones.

    0.72's ``tree_method=auto`` grew trees with ``exact`` (``approx`` from 2^22
    rows on), not ``hist``; its ``base_score`` was 0.5, not estimated from the
    labels; ``reg:linear`` is its squared-error objective.
    """
    if xgb_params.get("tree_method", "auto") == "auto":
        xgb_params["tree_method"] = "exact" if rows < 2**22 else "approx"
        ctx.log(f"XGBoost 0.72's tree_method 'auto': using '{xgb_params['tree_method']}' for {rows} rows")
    xgb_params.setdefault("base_score", 0.5)
    if xgb_params.get("objective") == "reg:linear":
        xgb_params["objective"] = "reg:squarederror"  # the same loss, under the name today's xgboost keeps


def _default_metric(objective: str) -> str:
    if objective.startswith("binary:") or objective == "reg:logistic":
        return "logloss"
    if objective.startswith("multi:"):
        return "mlogloss"
    if objective.startswith("rank:"):
        return "map" if objective == "rank:map" else "ndcg"
    return "rmse"


def _xgb_message(exc: BaseException) -> str:
    """XGBoost's error without its native stack trace."""
    return str(exc).split("\nStack trace:")[0].strip()


def _check_feature_names(train: Shard, validation: Shard) -> None:
    """XGBoost 1.x compared the eval set's (default) feature names with the training data's; dense only."""
    from scipy.sparse import issparse

    if issparse(train.x) or issparse(validation.x) or train.columns == validation.columns:
        return
    mine = [f"f{i}" for i in range(train.columns)]
    theirs = [f"f{i}" for i in range(validation.columns)]
    message = f"feature_names mismatch: {mine} {theirs}"
    missing = [name for name in mine if name not in theirs]
    extra = [name for name in theirs if name not in mine]
    if missing:
        message += "\nexpected " + ", ".join(missing) + " in input data"
    if extra:
        message += "\ntraining data did not have the following fields: " + ", ".join(extra)
    raise ClientError(message)


def _check_labels(
    key: tuple[int, int, int], objective: str, num_class: int | None, metrics: list[str], train: Shard, validation: Shard | None
) -> None:
    """XGBoost's label checks, worded as the container's XGBoost reports them."""
    for shard in (train, validation):
        if shard is None:
            continue
        y = shard.y
        if objective in ("binary:logistic", "reg:logistic") and ((y < 0) | (y > 1)).any():
            raise ClientError("label must be in [0,1] for logistic regression")
        if objective.startswith("multi:") and num_class and (((y < 0) | (y >= num_class)).any() or (y != np.floor(y)).any()):
            raise ClientError("SoftmaxMultiClassObj: label must be in [0, num_class).")
        if objective in ("count:poisson",) and (y < 0).any():
            raise ClientError("Check failed: label_correct PoissonRegression: label must be nonnegative")
        if objective in ("reg:tweedie",) and (y < 0).any():
            raise ClientError("Check failed: label_correct TweedieRegression: label must be nonnegative")
        # XGBoost before 1.4 refused AUC on a set holding one class only (later ones warn)
        if key < (1, 3, 9) and "auc" in metrics and np.unique(y).size < 2:
            raise ClientError("Check failed: !auc_error AUC: the dataset only contains pos or neg samples")


def _make_monitor(xgb: Any, ctx: TrainingContext, declared: set[str]) -> Any:
    class ContainerEvaluationMonitor(xgb.callback.TrainingCallback):
        """``[<i>]\\t<data>-<metric>:<value>`` per round, as the container prints it; declared metrics reported
        with the value the log line shows, as SageMaker's regex extraction gets it."""

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            if not evals_log:
                return False
            line = f"[{epoch}]"
            for data, metrics in evals_log.items():
                for metric, log in metrics.items():
                    score = log[-1][0] if isinstance(log[-1], tuple) else log[-1]
                    text = f"{score:.5f}"
                    line += f"\t{data}-{metric}:{text}"
                    if f"{data}:{metric}" in declared and not math.isnan(float(score)):
                        # SageMaker reads metrics out of the log line with the definition's regex (as float32)
                        ctx.metric(f"{data}:{metric}", float(np.float32(text)))
            ctx.log(line)
            return False

    return ContainerEvaluationMonitor()


def _predicted_labels(preds: np.ndarray, objective: str) -> np.ndarray:
    if preds.ndim == 2:
        return preds.argmax(axis=1).astype(np.float64)
    if objective == "multi:softmax":
        return preds.astype(np.float64)
    if objective == "binary:logitraw":
        return (preds > 0.0).astype(np.float64)
    return (preds > 0.5).astype(np.float64)


def _custom_metric(names: list[str], objective: str) -> Callable[[np.ndarray, Any], list[tuple[str, float]]]:
    """The container's fevals (``metrics/custom_metrics.py``), in one custom_metric."""
    from sklearn import metrics as skm

    def evaluate(preds: np.ndarray, dmatrix: Any) -> list[tuple[str, float]]:
        labels = dmatrix.get_label().astype(np.float64)
        predicted = _predicted_labels(np.asarray(preds), objective)
        binary = set(np.unique(labels)).issubset({0.0, 1.0})
        out = []
        for name in names:
            if name == "accuracy":
                value = skm.accuracy_score(labels, predicted)
            elif name == "balanced_accuracy":
                value = skm.balanced_accuracy_score(labels, predicted)
            elif name == "f1":
                value = skm.f1_score(labels, predicted, average="binary" if binary else "macro", zero_division=0)
            elif name == "f1_binary":
                value = skm.f1_score(labels, predicted, average="binary", zero_division=0)
            elif name == "f1_macro":
                value = skm.f1_score(labels, predicted, average="macro", zero_division=0)
            elif name.startswith(("precision", "recall")):
                base, _, average = name.partition("_")
                scorer = skm.precision_score if base == "precision" else skm.recall_score
                value = scorer(labels, predicted, average=average or "binary", zero_division=0)
            elif name == "mse":
                value = skm.mean_squared_error(labels, np.asarray(preds).reshape(len(labels), -1)[:, 0])
            else:  # r2
                value = skm.r2_score(labels, np.asarray(preds).reshape(len(labels), -1)[:, 0])
            out.append((name, float(value)))
        return out

    return evaluate


# ------------------------------------------------------------------ model loading


def load_booster(data: bytes, member: str = MODEL_MEMBER) -> Any:
    """The container's ``get_loaded_booster`` (a pickled Booster first, then ``Booster.load_model``), executing nothing.

    A pickle is read by ``booster_pickle``, which calls nothing the pickle
    names and yields the Booster's serialized bytes; xgboost's own
    deserializer (the one ``Booster.__setstate__`` uses) then rebuilds the
    model from those bytes, with ``load_model`` as the fallback for pre-1.0
    pickles that held a plain model. Anything else goes to ``load_model``
    (JSON, UBJSON, legacy binary). A pickle that refers to anything but a
    Booster's parts is refused with the reason, and nothing in it runs.

    Model bytes the installed xgboost cannot read (the binary formats of the
    xgboost:1, 0.90-x ... 1.7-1 containers, which XGBoost 3.1 dropped) are served by
    xgboost 3.0.5 (the last release that reads them) in a host process of its own (``runtime.legacy_xgboost``):
    the result is then a ``LegacyBooster``, given the same plain bytes.
    """
    import xgboost as xgb

    refused: RefusedPickle | None = None
    serialized: bytes | None = None
    try:
        serialized = read_booster_pickle(data)
    except RefusedPickle as exc:
        refused = exc
    except Exception:  # not a pickle: a file written by Booster.save_model
        pass
    if serialized is not None:
        booster = xgb.Booster()
        try:
            booster.__setstate__({"handle": bytearray(serialized)})  # xgboost's own loader, given plain bytes only
            return booster
        except Exception:
            data = serialized  # a pre-1.0 pickle holds the model itself, as save_raw wrote it
    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(data))
    except Exception as exc_xgb:
        if refused is not None:  # checked after load_model: a JSON model reads as a pickle of a dict
            raise ClientError(
                f"Unable to load model: {member} is a pickle the local engine will not load, because {refused}. "
                "The engine runs nothing from a model artifact; save the model with Booster.save_model "
                "(JSON or UBJSON) or pickle the Booster itself."
            ) from None
        # only what looks like an older xgboost's model goes to the side environment (random bytes build nothing)
        if not (data.startswith(b"CONFIG-offset:") or _old_binary_model(data)):
            if data[:4] == b"binf":
                raise ClientError(
                    f"Unable to load model: {member} starts like XGBoost's legacy binary format ('binf') but holds no "
                    "model after it (a truncated or damaged file); save the model again with Booster.save_model"
                ) from None
            raise ClientError(f"Unable to load model: {member} is not an XGBoost model ({_xgb_message(exc_xgb)})") from None
        return _legacy_booster(data, member, xgb.__version__, _xgb_message(exc_xgb))
    return booster


def _old_binary_model(data: bytes) -> bool:
    """XGBoost's binary model layout (``binf`` of 1.0-1.7, or the bare pre-1.0 one): worth the side environment.

    (A pickled Booster of xgboost 1.0 ... 1.7 holds a memory snapshot that starts
    ``CONFIG-offset:``, then such a model, then its JSON configuration.)

    Both hold a 136-byte ``LearnerModelParam`` and then the objective's and the
    booster's names as length-prefixed strings; checking those keeps random
    bytes from starting a side environment only to be told they are no model.
    """
    body = data[4:] if data[:4] == b"binf" else data
    offset = 136
    names = []
    for _ in range(2):
        if len(body) < offset + 8:
            return False
        size = int.from_bytes(body[offset : offset + 8], "little")
        if not 0 < size <= 64 or len(body) < offset + 8 + size:
            return False
        names.append(body[offset + 8 : offset + 8 + size])
        offset += 8 + size
    return all(re.fullmatch(rb"[a-z_:@0-9\-]+", name) for name in names) and names[1] in (b"gbtree", b"gblinear", b"dart")


def _legacy_booster(data: bytes, member: str, installed: str, why: str) -> Any:
    """An older binary model, served by the side environment's xgboost in its own process (made on first need)."""
    from ..runtime import legacy_xgboost

    try:
        return legacy_xgboost.LegacyBooster(data)
    except legacy_xgboost.LegacyEnvError as exc:
        raise ClientError(
            f"Unable to load model: {member} is in an XGBoost binary format the xgboost {installed} installed beside "
            f"the local engine no longer reads, and {exc}."
        ) from None
    except legacy_xgboost.LegacyHostError as exc:
        raise ClientError(
            f"Unable to load model: {member} is not an XGBoost model (xgboost {installed}: {why}; "
            f"xgboost {legacy_xgboost.SIDE_XGBOOST}: {exc})"
        ) from None


# ------------------------------------------------------------------ serving

REQUEST_TYPES = ("text/csv", "text/libsvm", "text/x-libsvm", "application/x-recordio-protobuf")
SUPPORTED_ACCEPTS = ["application/json", "application/jsonlines", "application/x-recordio-protobuf", "text/csv"]


class HostedXGBoost(HostedModel):
    def __init__(self, boosters: list[Any], key: tuple[int, int, int]) -> None:
        self.boosters = boosters
        self.key = key
        self.comma_joined = key < (1, 2, 2)  # 0.90-x, 1.0-1 and 1.2-1 answer one comma-joined line
        self.num_features = int(boosters[0].num_features())
        self.ranges = []
        self.inplace = []
        for booster in boosters:
            if _is_legacy(booster):  # served by the side environment's xgboost, which sets nthread itself
                linear = booster.booster_name == "gblinear"
                best = booster.best_iteration
                self.ranges.append((0, int(best) + 1) if best is not None and not linear else (0, 0))
                self.inplace.append(False)
                continue
            # one thread per request, as the container sets it: OpenMP start-up costs more than a small batch
            booster.set_param("nthread", 1)
            linear = _booster_name(booster) == "gblinear"
            best = booster.attr("best_iteration")
            self.ranges.append((0, int(best) + 1) if best is not None and not linear else (0, 0))
            # inplace_predict skips building a DMatrix (the cost of a one-record request); gblinear lacks it
            self.inplace.append(not linear)

    def invoke(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        if not body:
            return b"", "text/csv"  # the container answers 204 No Content
        kind = inference_io.media_type(content_type) or "text/csv"
        if kind not in REQUEST_TYPES:
            raise ModelRequestError(
                415,
                f"Content-type {kind} not supported. Supported content-type is text/csv, text/libsvm, "
                "application/x-recordio-protobuf",
            )
        answer_type = None if self.comma_joined else _parse_accept(accept)
        x = self._decode(body, kind)
        preds = self._predict(x)
        return _encode(preds, answer_type)

    def _decode(self, body: bytes, kind: str) -> Any:
        model = self.num_features
        if kind == "text/csv":
            try:
                x = _csv_rows(body)
            except Exception as exc:
                raise ModelRequestError(
                    415, f"Loading csv data failed with Exception, please ensure data is in csv format:\n {type(exc)}\n {exc}"
                ) from None
            got = x.shape[1]
            if not (model == got or model == got + 1):
                raise ModelRequestError(
                    400,
                    "Unable to evaluate payload provided: Feature size of csv inference data "
                    f"{got} is not consistent with feature size of trained model {model}",
                )
            if got < model:  # the container lets a CSV row miss the model's last feature
                x = np.hstack([x, np.full((x.shape[0], model - got), np.nan, dtype=np.float32)])
            return x
        if kind == "application/x-recordio-protobuf":
            from ...formats import recordio

            try:
                x, _ = recordio.read_dense(body, max_width=model + 1)  # a sparse record's shape is the caller's
                x = np.asarray(x, dtype=np.float32)
            except recordio.ShapeTooLarge as exc:
                raise ModelRequestError(
                    400,
                    "Unable to evaluate payload provided: Feature size of recordio-protobuf inference data "
                    f"{exc.size} is not consistent with feature size of trained model {model}.",
                ) from None
            except Exception as exc:
                raise ModelRequestError(
                    415,
                    "Loading recordio-protobuf data failed with Exception, please ensure data is in "
                    f"recordio-protobuf format: {type(exc)} {exc}",
                ) from None
            got = x.shape[1]
            if not (model == got or model == got + 1):
                raise ModelRequestError(
                    400,
                    "Unable to evaluate payload provided: Feature size of recordio-protobuf inference data "
                    f"{got} is not consistent with feature size of trained model {model}.",
                )
            if got < model:
                x = np.hstack([x, np.full((x.shape[0], model - got), np.nan, dtype=np.float32)])
            return x
        try:
            x = _libsvm_rows(body)
        except Exception as exc:
            raise ModelRequestError(
                415, f"Loading libsvm data failed with Exception, please ensure data is in libsvm format:\n {type(exc)}\n {exc}"
            ) from None
        if x.shape[1] > model + 1:
            raise ModelRequestError(
                400,
                "Unable to evaluate payload provided: Feature size of libsvm inference data "
                f"{x.shape[1]} is larger than feature size of trained model {model}.",
            )
        x.resize((x.shape[0], model))
        return x

    def _predict(self, x: Any) -> np.ndarray:
        try:
            outputs = []
            for booster, iterations, inplace in zip(self.boosters, self.ranges, self.inplace):
                if _is_legacy(booster):
                    out = booster.predict_dense(_dense(x), iterations[1])
                elif inplace:
                    out = booster.inplace_predict(x, iteration_range=iterations, validate_features=False, missing=np.nan)
                else:
                    import xgboost as xgb

                    out = booster.predict(xgb.DMatrix(x, missing=np.nan), iteration_range=iterations, validate_features=False)
                outputs.append(np.asarray(out))
        except Exception as exc:
            raise ModelRequestError(400, f"Unable to evaluate payload provided: {_xgb_message(exc)}") from None
        preds = outputs[0] if len(outputs) == 1 else np.mean(outputs, axis=0)
        if preds.ndim == 2 and preds.shape[1] == 1:
            preds = preds[:, 0]
        return preds


def _is_legacy(booster: Any) -> bool:
    return type(booster).__name__ == "LegacyBooster"


def _dense(x: Any) -> np.ndarray:
    """A request matrix as the legacy host takes it: dense float32, NaN where a sparse row has no entry."""
    from scipy.sparse import issparse

    if not issparse(x):
        return np.asarray(x, dtype=np.float32)
    csr = x.tocsr()
    dense = np.full(csr.shape, np.nan, dtype=np.float32)
    rows = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
    dense[rows, csr.indices] = csr.data
    return dense


def _booster_name(booster: Any) -> str:
    try:
        return str(json.loads(booster.save_config())["learner"]["gradient_booster"]["name"])
    except Exception:
        return "gbtree"


def _parse_accept(accept: str | None) -> str:
    kind = inference_io.media_type(accept)
    if not kind or kind == "*/*":
        return "text/csv"
    if kind not in SUPPORTED_ACCEPTS:
        raise ModelRequestError(
            406, f"Accept type {accept} is not supported. Please use supported accept types: {SUPPORTED_ACCEPTS}."
        )
    return kind


def _encode(preds: np.ndarray, answer_type: str | None) -> tuple[bytes, str]:
    if answer_type is None:  # 0.90-x / 1.0-1 / 1.2-1: ",".join(map(str, preds.tolist()))
        return ",".join(map(str, preds.tolist())).encode(), "text/csv; charset=utf-8"
    if answer_type == "text/csv":  # sagemaker-containers' array_to_csv: np.savetxt(fmt="%s")
        if preds.ndim == 1:
            text = "\n".join(map(str, preds)) + "\n"
        else:
            text = "".join(",".join(map(str, row)) + "\n" for row in preds)
        return text.encode(), "text/csv; charset=utf-8"
    if answer_type == "application/json":
        doc = {"predictions": [{"score": value} for value in preds.tolist()]}
        return json.dumps(doc).encode(), "application/json"
    raise ModelRequestError(
        500,
        f"Content type {answer_type} is not supported by this framework. Please implement output_fn to serialize "
        "the response (the XGBoost container encodes text/csv and application/json only).",
    )


def _csv_rows(body: bytes) -> np.ndarray:
    text = body.decode("utf-8").strip()
    first = text.split("\n", 1)[0]
    if "," in first:
        delimiter = ","
    else:
        try:
            delimiter = csv.Sniffer().sniff(first[:512]).delimiter
        except csv.Error:
            delimiter = ","
        if delimiter.isalnum() or delimiter in ".-+":
            delimiter = ","
    if "\n" not in text and "\r" not in text:  # one record: the common real-time case
        cells = [c if c.strip() else "nan" for c in text.split(delimiter)]
        return np.asarray(cells, dtype=np.float32).reshape(1, -1)
    rows = [[c if c.strip() else "nan" for c in line.rstrip("\r").split(delimiter)] for line in text.split("\n")]
    return np.asarray(rows, dtype=np.float32)


def _libsvm_rows(body: bytes) -> Any:
    from scipy.sparse import csr_matrix

    lines = body.decode("utf-8").strip().split("\n")
    rows, cols, vals = [], [], []
    for row, line in enumerate(lines):
        for item in line.split(" "):
            if ":" in item:
                index, value = item.split(":")[:2]
                rows.append(row)
                cols.append(int(index))
                vals.append(float(value))
    width = max(cols) + 1 if cols else 0
    return csr_matrix((np.asarray(vals, dtype=np.float32), (np.asarray(rows), np.asarray(cols))), shape=(len(lines), width))
