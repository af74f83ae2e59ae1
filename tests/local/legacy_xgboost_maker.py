"""Run by a historical xgboost's interpreter: train a small Booster, save it as that era's SageMaker container did.

Usage: python legacy_xgboost_maker.py OUT_DIR pickle|save_model OBJECTIVE [PICKLE_PROTOCOL]
       python legacy_xgboost_maker.py OUT_DIR fit PARAMS_JSON ROUNDS

``fit`` trains on OUT_DIR/train.csv (label first, as SageMaker's CSV channel)
with PARAMS_JSON and writes what that booster predicts for OUT_DIR/test.npy to
OUT_DIR/preds.npy: the reference for a job the engine trained.

Writes OUT_DIR/xgboost-model (``pickle.dump(booster)`` as the xgboost:1, 0.90-x,
1.0-1 and 1.2-x containers did, or ``booster.save_model('xgboost-model')`` as
1.3-1 ... 1.7-1 did), OUT_DIR/test.npy (rows to predict, one missing value)
and OUT_DIR/preds.npy (what this xgboost predicts for them, with the
early-stopped best iteration as the containers serve it). Nothing here imports
sm_magics: it runs in a side virtualenv of the tests.
"""

import collections
import collections.abc
import json
import pickle
import sys

for _name in ("Mapping", "MutableMapping", "Sequence"):  # xgboost < 0.81 reads them from collections (Python < 3.10)
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

import numpy as np  # noqa: E402
import xgboost as xgb  # noqa: E402

out, how, objective = sys.argv[1], sys.argv[2], sys.argv[3]
ROUNDS = 30

if how == "fit":
    data = np.loadtxt(out + "/train.csv", delimiter=",", dtype=np.float32)
    # contiguous copies: xgboost 0.72 reads a strided label view's memory as if it were packed
    features, labels = np.ascontiguousarray(data[:, 1:]), np.ascontiguousarray(data[:, 0])
    fitted = xgb.train(json.loads(objective), xgb.DMatrix(features, label=labels), num_boost_round=int(sys.argv[4]))
    np.save(out + "/preds.npy", np.asarray(fitted.predict(xgb.DMatrix(np.load(out + "/test.npy"))), dtype=np.float32))
    print(json.dumps({"xgboost": xgb.__version__}))
    sys.exit(0)
rng = np.random.RandomState(11)
x = rng.rand(400, 6).astype(np.float32)
score = x[:, 0] * 2 - x[:, 1] + x[:, 2] * x[:, 3]
x[rng.rand(400, 6) < 0.05] = np.nan
params = {"objective": objective, "max_depth": 3, "eta": 0.3}
if xgb.__version__.startswith("0."):
    params["silent"] = 1
if objective.startswith("multi:"):
    y = np.digitize(score, np.quantile(score, [0.33, 0.66])).astype(np.float32)
    params.update(num_class=3, eval_metric="mlogloss")
elif objective.startswith("binary:"):
    y = (score > np.median(score)).astype(np.float32)
    params["eval_metric"] = "logloss"  # smoother than the default error: early stopping stops later
else:
    y = score.astype(np.float32)
dtrain = xgb.DMatrix(x[:300], label=y[:300], missing=np.nan)
dvalid = xgb.DMatrix(x[300:], label=y[300:], missing=np.nan)
booster = xgb.train(params, dtrain, num_boost_round=ROUNDS, evals=[(dvalid, "validation")], early_stopping_rounds=3, verbose_eval=False)
test = rng.rand(20, 6).astype(np.float32)
test[0, 1] = np.nan
if hasattr(booster, "best_ntree_limit") and tuple(int(p) for p in xgb.__version__.split(".")[:2]) < (1, 4):
    preds = booster.predict(xgb.DMatrix(test, missing=np.nan), ntree_limit=booster.best_ntree_limit)
else:
    preds = booster.predict(xgb.DMatrix(test, missing=np.nan), iteration_range=(0, booster.best_iteration + 1))
if how == "pickle":
    protocol = int(sys.argv[4]) if len(sys.argv) > 4 else pickle.DEFAULT_PROTOCOL
    with open(out + "/xgboost-model", "wb") as handle:
        pickle.dump(booster, handle, protocol=protocol)
else:
    booster.save_model(out + "/xgboost-model")
np.save(out + "/test.npy", test)
np.save(out + "/preds.npy", np.asarray(preds, dtype=np.float32))
print(json.dumps({"xgboost": xgb.__version__, "best_iteration": int(booster.best_iteration), "rounds": ROUNDS}))
