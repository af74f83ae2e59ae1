"""Training as the container does: the scaler, parallel models, optimisers, schedule, early stopping, selection."""

from __future__ import annotations

import json
import math
import time
import zlib
from typing import Any

import numpy as np

from ..base import ClientError, TrainingContext
from .calibration import _calibrate, _noise
from .model import OBJECTIVE_LOG_NAME, _LossConfig, _loss_and_grad, _Model

AUTO_LR = {"adam": 0.01, "sgd": 0.01, "rmsprop": 0.003}
AUTO_WD = 1e-4
AUTO_L1 = 0.0
# close values for the parallel models: learning-rate multipliers, then (wd, l1) pairs
LR_MULTS = (1.0, 3.0, 10.0, 0.3, 30.0, 0.1, 0.03, 0.01)
REG_CHOICES = ((AUTO_WD, AUTO_L1), (1e-3, 0.0), (1e-2, 0.0), (3e-2, 0.0))
# around a wd (and l1) the user set: multiples of it, the given value first
REG_MULTS = (1.0, 10.0, 0.1, 100.0)
# keep the weights plus optimiser state of all parallel models within this many floats
MAX_MODEL_FLOATS = 64_000_000


class _Trainer:
    def __init__(
        self,
        ctx: TrainingContext,
        params: dict[str, Any],
        x: np.ndarray,
        y: np.ndarray,
        validation: tuple[np.ndarray, np.ndarray] | None,
    ) -> None:
        self.ctx = ctx
        self.params = params
        self.predictor = params["predictor_type"]
        self.x_raw = x
        self.y_raw = y
        self.validation = validation
        # seeded by what the job was asked to do (its hyperparameters and data), not by its name: the
        # same request trains the same model, so a tuning job's children are reproducible even
        # though SageMaker names them with random suffixes
        request = json.dumps(dict(ctx.hyperparameters), sort_keys=True) + f"|{x.shape}|{float(np.asarray(y, dtype=np.float64).sum())!r}"
        self.rng = np.random.default_rng(zlib.crc32(request.encode()))
        self.outputs = params["num_classes"] if self.predictor == "multiclass_classifier" else 1

    # ---------------------------------------------------------------- set-up

    def _scaler(self) -> None:
        p = self.params
        sample = self.x_raw[: p["num_point_for_scaler"]].astype(np.float64)
        d = self.x_raw.shape[1]
        self.mean = sample.mean(axis=0) if p["unbias_data"] else np.zeros(d)
        if p["normalize_data"]:
            centred = sample - self.mean
            std = np.sqrt((centred**2).mean(axis=0))
            std[~(std > 1e-12)] = 1.0
        else:
            std = np.ones(d)
        self.std = std
        y_sample = self.y_raw[: p["num_point_for_scaler"]]
        self.y_mean = float(y_sample.mean()) if p["unbias_label"] else 0.0
        if p["normalize_label"]:
            y_std = float(np.sqrt(((y_sample - self.y_mean) ** 2).mean()))
            self.y_std = y_std if y_std > 1e-12 else 1.0
        else:
            self.y_std = 1.0
        show = lambda a: np.array2string(np.asarray(a, dtype=np.float32)[:8], precision=6) + (" ..." if np.size(a) > 8 else "")
        self.ctx.log(
            "Scaling model computed with parameters:\n"
            f" {{'stdev_weight': {show(self.std) if p['normalize_data'] else None}, "
            f"'mean_weight': {show(self.mean) if p['unbias_data'] else None}, "
            f"'stdev_label': {self.y_std if p['normalize_label'] else None}, "
            f"'mean_label': {self.y_mean if p['unbias_label'] else None}}}"
        )

    def _normalize(self, x: np.ndarray) -> np.ndarray:
        return ((x.astype(np.float32) - self.mean.astype(np.float32)) / self.std.astype(np.float32)).astype(np.float32)

    def _grid(self) -> list[dict[str, Any]]:
        """The hyperparameters of each parallel model: model 0 as given, the rest close to it.

        The guide's ``num_models``: "one model is trained according to the given
        training parameters (regularization, optimizer, loss), and the rest by close
        parameters". So a learning rate, ``wd`` or ``l1`` the user set is model 0's,
        and the others try multiples of it (x 1/100 ... 30 for the learning rate,
        x 1/10 ... 100 for ``wd``), as they would around the ``auto`` values: an
        explicit value does not turn the internal tuning off (tuning jobs do, with
        ``num_models`` 1).
        """
        p = self.params
        optimizer = p["optimizer"]
        base_lr = p["learning_rate"] if p["learning_rate"] != "auto" else AUTO_LR[optimizer]
        count = p["num_models"]
        per_model_floats = 3 * self.x_raw.shape[1] * self.outputs
        limit = max(1, MAX_MODEL_FLOATS // max(per_model_floats, 1))
        if count > limit:
            self.ctx.log(f"WARNING num_models {count} does not fit in memory for this model size; training {limit} models")
            count = limit
        reg_choices = REG_CHOICES
        if p["wd"] != "auto" or p["l1"] != "auto":
            given_wd = p["wd"] if p["wd"] != "auto" else AUTO_WD
            given_l1 = p["l1"] if p["l1"] != "auto" else AUTO_L1
            reg_choices = tuple((given_wd * mult, given_l1 * mult) for mult in REG_MULTS)
        models = []
        for i in range(count):
            wd, l1 = reg_choices[(i // len(LR_MULTS)) % len(reg_choices)]
            models.append(
                {
                    "optimizer": optimizer,
                    "learning_rate": base_lr * LR_MULTS[i % len(LR_MULTS)],
                    "wd": wd,
                    "l1": l1,
                    "lr_scheduler_step": p["lr_scheduler_step"],
                    "lr_scheduler_factor": p["lr_scheduler_factor"],
                    "lr_scheduler_minimum_lr": p["lr_scheduler_minimum_lr"],
                }
            )
        if count > 1:
            rates = sorted({m["learning_rate"] for m in models})
            decays = sorted({m["wd"] for m in models})
            self.ctx.log(
                f"Parallel models: model 0 with learning_rate {models[0]['learning_rate']:g}, wd {models[0]['wd']:g}, "
                f"l1 {models[0]['l1']:g}; the others with learning_rate {rates[0]:g} ... {rates[-1]:g}, "
                f"wd {decays[0]:g} ... {decays[-1]:g}"
            )
        return models

    def _positive_weight(self) -> float:
        mult = self.params["positive_example_weight_mult"]
        if self.predictor != "binary_classifier":
            return 1.0
        if mult in ("balanced", "auto"):
            positives = float((self.y_raw == 1).sum())
            negatives = float(len(self.y_raw) - positives)
            mult = negatives / positives if positives and negatives else 1.0
            self.ctx.log(f"positive_example_weight_mult evaluated to {mult!r}")
        return float(mult)

    def _class_weights(self) -> np.ndarray | None:
        if self.predictor != "multiclass_classifier" or not self.params["balance_multiclass_weights"]:
            return None
        counts = np.bincount(self.y_raw.astype(np.int64), minlength=self.outputs).astype(np.float64)
        return np.where(counts > 0, len(self.y_raw) / (self.outputs * np.maximum(counts, 1)), 0.0)

    def _weights(self, y: np.ndarray) -> np.ndarray | None:
        """Record weights: positive-class weight (binary) or balanced class weights (multiclass)."""
        if self.predictor == "binary_classifier" and self.positive_weight != 1.0:
            return np.where(y == 1, self.positive_weight, 1.0)
        if self.class_weights is not None:
            return self.class_weights[y.astype(np.int64)]
        return None

    # ---------------------------------------------------------------- training

    def run(self) -> _Model:
        # a diverging model overflows on the way to NaN; that is detected and reported per epoch
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._train()

    def _train(self) -> _Model:
        ctx, p = self.ctx, self.params
        self._scaler()
        xn = self._normalize(self.x_raw)
        yn = (self.y_raw - self.y_mean) / self.y_std if self.predictor == "regressor" else self.y_raw
        cfg = _LossConfig(
            p["loss"],
            margin=p["margin"],
            quantile=p["quantile"],
            eps=p["loss_insensitivity"] / self.y_std,
            delta=p["huber_delta"] / self.y_std,
        )
        raw_cfg = _LossConfig(p["loss"], margin=p["margin"], quantile=p["quantile"], eps=p["loss_insensitivity"], delta=p["huber_delta"])
        self.positive_weight = positive_weight = self._positive_weight()
        self.class_weights = class_weights = self._class_weights()
        record_w = self._weights(self.y_raw)

        grid = self._grid()
        m, d, c = len(grid), xn.shape[1], self.outputs
        mc = m * c
        ctx.log(f"Training {m} model(s) in parallel with {d} features, {c} output(s) each")
        if p["init_method"] == "uniform":
            w = self.rng.uniform(-p["init_scale"], p["init_scale"], size=(d, mc)).astype(np.float32)
        else:
            w = self.rng.normal(0.0, p["init_sigma"], size=(d, mc)).astype(np.float32)
        b = np.full(mc, p["init_bias"] if p["use_bias"] else 0.0, dtype=np.float32)
        lr = np.repeat(np.array([g["learning_rate"] for g in grid], dtype=np.float32), c)
        wd = np.repeat(np.array([g["wd"] for g in grid], dtype=np.float32), c)
        l1 = np.repeat(np.array([g["l1"] for g in grid], dtype=np.float32), c)
        bias_lr = lr * np.float32(p["bias_lr_mult"])
        bias_wd = wd * np.float32(p["bias_wd_mult"])
        opt = _Optimizer(p, (d, mc), mc)

        if self.validation is not None:
            xv = self._normalize(self.validation[0])
            yv_raw = self.validation[1]
            yv = (yv_raw - self.y_mean) / self.y_std if self.predictor == "regressor" else yv_raw
            wv = self._weights(yv_raw)
            ctx.log(f"Using {len(yv)} validation records for early stopping and model selection")
        else:
            xv = yv = wv = None

        n = xn.shape[0]
        batch = p["mini_batch_size"]
        if batch > n:
            ctx.log(f"WARNING mini_batch_size {batch} is bigger than the number of training records {n}; using {n}")
            batch = n
        best_w, best_b = w.copy(), b.copy()
        best_model_loss = np.full(m, np.inf)  # each model's best early-stopping metric so far (lower is better)
        kept_loss = np.full(m, np.inf)  # each model's objective loss at the epoch it keeps
        stop_criteria = self._stopping_criteria()
        n_cal = p["num_calibration_samples"]
        diverged = np.zeros(m, dtype=bool)
        stale = np.zeros(m, dtype=np.int64)  # epochs since each model last improved by the tolerance
        stopped = np.zeros(m, dtype=bool)
        best_overall, overall_stale, step = math.inf, 0, 0
        tolerance, patience, epochs = p["early_stopping_tolerance"], p["early_stopping_patience"], p["epochs"]
        epoch = -1
        for epoch in range(epochs):
            started = time.time()
            order = self.rng.permutation(n)
            total = np.zeros(m)
            for start in range(0, n, batch):
                rows = order[start : start + batch]
                xb = xn[rows]
                z = (xb @ w + b).reshape(len(rows), m, c)
                value, g = _loss_and_grad(cfg, z, yn[rows], None if record_w is None else record_w[rows])
                total += value.sum(axis=0)
                g = g.reshape(len(rows), mc).astype(np.float32) / np.float32(len(rows))
                gw = xb.T @ g
                gw += wd * w
                if l1.any():
                    gw += l1 * np.sign(w)
                gb = g.sum(axis=0) + bias_wd * b
                rate = _scheduled(lr, step, p)
                brate = _scheduled(bias_lr, step, p)
                opt.step(w, b, gw, gb, rate, brate, p["use_bias"])
                step += 1
            train_loss = total / n
            bad = ~np.isfinite(train_loss) | ~np.isfinite(w).reshape(d, m, c).all(axis=(0, 2))
            if bad.any():
                fresh = bad & ~diverged
                if fresh.any():
                    ctx.log(f"WARNING model(s) {np.flatnonzero(fresh).tolist()} diverged; they take no further part")
                diverged |= bad
                cols = np.repeat(diverged, c)
                w[:, cols] = 0.0
                b[cols] = 0.0
                lr[cols] = bias_lr[cols] = 0.0
                opt.reset(cols)
            train_loss = np.where(diverged, np.inf, train_loss)
            elapsed = max(time.time() - started, 1e-9)
            shown = float(np.min(train_loss))
            ctx.log(f"#quality_metric: host={ctx.host}, epoch={epoch}, train {OBJECTIVE_LOG_NAME[p['loss']]} <loss>={shown!r}")
            ctx.metric("train:objective_loss", shown)
            if xv is not None:
                z = (xv @ w + b).reshape(len(yv), m, c)
                value, _ = _loss_and_grad(cfg if self.predictor != "regressor" else raw_cfg, self._unscale(z), yv_raw if self.predictor == "regressor" else yv, wv, grad=False)
                epoch_loss = np.where(diverged, np.inf, value.mean(axis=0))
                ctx.log(
                    f"#quality_metric: host={ctx.host}, epoch={epoch}, validation {OBJECTIVE_LOG_NAME[p['loss']]} "
                    f"<loss>={float(np.min(epoch_loss))!r}"
                )
            else:
                epoch_loss = train_loss
            if stop_criteria is not None:
                # the selection criterion at each model's own calibrated threshold, negated so that lower is better
                stop_loss = np.array(
                    [
                        np.inf if diverged[i] else -_calibrate(z[:n_cal, i, 0], yv[:n_cal], stop_criteria, p).smoothed
                        for i in range(m)
                    ]
                )
            else:
                stop_loss = epoch_loss
            improved = stop_loss < best_model_loss
            if improved.any():
                cols = np.repeat(improved, c)
                best_w[:, cols] = w[:, cols]
                best_b[cols] = b[cols]
                kept_loss = np.where(improved, epoch_loss, kept_loss)
            significant = improved & (~np.isfinite(best_model_loss) | (best_model_loss - stop_loss > tolerance * np.abs(best_model_loss)))
            best_model_loss = np.where(improved, stop_loss, best_model_loss)
            stale = np.where(significant, 0, stale + 1)
            current = float(np.min(stop_loss))
            shown_criteria = f"sampled_{stop_criteria}" if stop_criteria else "objective_loss"
            shown_value = -current if stop_criteria else current
            ctx.log(f"#early_stopping_criteria_metric: host={ctx.host}, epoch={epoch}, criteria={shown_criteria}, value={shown_value!r}")
            if math.isfinite(current) and (not math.isfinite(best_overall) or (best_overall - current) > tolerance * abs(best_overall)):
                ctx.log(f"Epoch {epoch}: Loss improved. Updating best model")
                best_overall, overall_stale = current, 0
            else:
                overall_stale += 1
                ctx.log(f"Epoch {epoch}: Loss has not improved for {overall_stale} epochs.")
            ctx.log(f"#progress_metric: host={ctx.host}, completed {100.0 * (epoch + 1) / epochs:.1f} % of epochs")
            ctx.metric("train:progress", 100.0 * (epoch + 1) / epochs)
            throughput = n / elapsed
            ctx.log(f"#throughput_metric: host={ctx.host}, train throughput={throughput!r} records/second")
            ctx.metric("train:throughput", throughput)
            # each model stops on its own once it has not improved for early_stopping_patience epochs
            newly = (stale >= patience) & ~stopped & ~diverged
            if newly.any() and epoch + 1 < epochs:
                stopped |= newly
                cols = np.repeat(newly, c)
                lr[cols] = bias_lr[cols] = 0.0
                opt.reset(cols)
                ctx.log(f"Model(s) {np.flatnonzero(newly).tolist()} stopped early: no improvement for {patience} epochs")
            if (stopped | diverged).all() and epoch + 1 < epochs:
                ctx.log(f"Early stop condition met. Stopping training after epoch {epoch}.")
                break
        # the platform's closing "#progress_metric: ... completed 100.0 % of epochs" line follows (early stop included)
        ctx.metric("train:progress", 100.0)
        if diverged.all():
            raise ClientError(
                "Every model diverged during training (the loss became NaN or infinite); lower learning_rate, "
                "or set normalize_data (and normalize_label for regression) to true"
            )
        return self._select(grid, best_w, best_b, kept_loss, diverged, epoch + 1, raw_cfg, class_weights, positive_weight)

    def _stopping_criteria(self) -> str | None:
        """The binary selection criterion that early stopping follows, or None for the objective loss.

        As documented for ``early_stopping_patience``: a binary classifier with a
        validation channel stops on (and keeps the epoch best by) its
        ``binary_classifier_model_selection_criteria``, measured at the threshold
        calibrated for it (the container logs ``criteria=sampled_accuracy``);
        without validation data, or with ``loss_function``, it is the loss.
        """
        criteria = self.params["binary_classifier_model_selection_criteria"]
        if self.predictor != "binary_classifier" or self.validation is None or criteria == "loss_function":
            return None
        return criteria

    def _unscale(self, z: np.ndarray) -> np.ndarray:
        return z * self.y_std + self.y_mean if self.predictor == "regressor" else z

    def _fold(self, w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weights on normalised features (d, C) -> weights on raw features giving raw outputs."""
        w = w.astype(np.float64) / self.std[:, None]
        b = b.astype(np.float64) - self.mean @ w
        if self.predictor == "regressor":
            w, b = w * self.y_std, b * self.y_std + self.y_mean
        return w, b

    def _select(
        self,
        grid: list[dict[str, Any]],
        w: np.ndarray,
        b: np.ndarray,
        losses: np.ndarray,
        diverged: np.ndarray,
        epochs: int,
        raw_cfg: _LossConfig,
        class_weights: np.ndarray | None,
        positive_weight: float,
    ) -> _Model:
        p, c = self.params, self.outputs
        m = len(grid)
        folded = [self._fold(w[:, i * c : (i + 1) * c], b[i * c : (i + 1) * c]) for i in range(m)]
        threshold_default = 0.0 if p["loss"] == "hinge_loss" else 0.5
        thresholds = [threshold_default] * m
        order = [i for i in np.argsort(losses, kind="stable") if not diverged[i]]
        chosen = order[0]
        criteria = p["binary_classifier_model_selection_criteria"]
        if self.predictor == "binary_classifier" and criteria != "loss_function":
            if self.validation is not None:
                xc, yc = self.validation
                source = "validation"
            else:
                xc, yc = self.x_raw, self.y_raw
                source = "train"
            limit = p["num_calibration_samples"]
            xc, yc = xc[:limit], yc[:limit]
            weights = np.hstack([folded[i][0] for i in order])
            biases = np.array([folded[i][1][0] for i in order])
            margins = xc.astype(np.float64) @ weights + biases[None, :]
            calibrations = {i: _calibrate(margins[:, column], yc, criteria, p) for column, i in enumerate(order)}
            for i, calibration in calibrations.items():
                thresholds[i] = calibration.threshold
            # the best criterion (smoothed around each model's own threshold) wins; differences
            # within its standard error on this many records are noise, and among the models
            # that close to the top the lowest loss wins (``order`` runs from the lowest loss up),
            # which keeps over-confident models with a lucky count out
            top = max(calibration.smoothed for calibration in calibrations.values())
            close = top - _noise(min(max(top, 0.0), 1.0), len(yc))
            chosen = next(i for i in order if calibrations[i].smoothed >= close)
            values = {i: calibration.value for i, calibration in calibrations.items()}
            best_value = values[chosen]
            self.ctx.log(
                f"Calibrated the decision threshold of {len(order)} model(s) on {len(yc)} {source} records for "
                f"{criteria}; best {criteria} {best_value!r} at threshold {thresholds[chosen]!r} (model {chosen})"
            )
        weight, bias = folded[chosen]
        hyper = dict(grid[chosen])
        return _Model(
            weight=weight,
            bias=bias,
            threshold=float(thresholds[chosen]),
            hyperparameters=hyper,
            epochs=epochs,
            cfg=raw_cfg,
            class_weights=class_weights,
            positive_weight=positive_weight,
        )


def _scheduled(rate: np.ndarray, step: int, params: dict[str, Any]) -> np.ndarray:
    if not params["use_lr_scheduler"]:
        return rate
    decay = np.float32(params["lr_scheduler_factor"] ** (step // params["lr_scheduler_step"]))
    floor = np.minimum(np.float32(params["lr_scheduler_minimum_lr"]), rate)
    return np.maximum(rate * decay, floor)


class _Optimizer:
    """SGD with momentum, Adam or RMSProp, elementwise over every model's columns at once."""

    def __init__(self, params: dict[str, Any], shape: tuple[int, int], columns: int) -> None:
        self.kind = params["optimizer"]
        self.beta1, self.beta2 = np.float32(params["beta_1"]), np.float32(params["beta_2"])
        self.momentum = np.float32(params["momentum"])
        self.eps = np.float32(1e-8)
        self.t = 0
        self.mw, self.vw = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
        self.mb, self.vb = np.zeros(columns, np.float32), np.zeros(columns, np.float32)

    def reset(self, cols: np.ndarray) -> None:
        for state in (self.mw, self.vw):
            state[:, cols] = 0.0
        for state in (self.mb, self.vb):
            state[cols] = 0.0

    def step(self, w: np.ndarray, b: np.ndarray, gw: np.ndarray, gb: np.ndarray, rate: np.ndarray, brate: np.ndarray, use_bias: bool) -> None:
        self.t += 1
        with np.errstate(over="ignore", invalid="ignore"):
            if self.kind == "adam":
                b1, b2 = self.beta1, self.beta2
                correction = np.float32(math.sqrt(1.0 - float(b2) ** self.t) / (1.0 - float(b1) ** self.t))
                for param, grad, m, v, r in ((w, gw, self.mw, self.vw, rate), (b, gb, self.mb, self.vb, brate)):
                    if param is b and not use_bias:
                        continue
                    m *= b1
                    m += (1 - b1) * grad
                    v *= b2
                    v += (1 - b2) * grad * grad
                    param -= r * correction * m / (np.sqrt(v) + self.eps)
            elif self.kind == "rmsprop":
                gamma = np.float32(0.9)
                for param, grad, v, r in ((w, gw, self.vw, rate), (b, gb, self.vb, brate)):
                    if param is b and not use_bias:
                        continue
                    v *= gamma
                    v += (1 - gamma) * grad * grad
                    param -= r * grad / np.sqrt(v + self.eps)
            else:  # sgd
                for param, grad, m, r in ((w, gw, self.mw, rate), (b, gb, self.mb, brate)):
                    if param is b and not use_bias:
                        continue
                    m *= self.momentum
                    m -= r * grad
                    param += m
