"""A confusion-matrix widget for classifiers (Linear Learner, XGBoost or any labels).

The model is a handful of traits (``matrix``, ``accuracy``, per-class ``precision`` /
``recall`` / ``f1`` / ``support``, ``threshold``); Python computes them and the view
is one HTML table with background colours, so moving the threshold slider costs a
``bincount`` and a few kilobytes of HTML. Where no widget can show, the same figures
come out as a PNG and as text.

    >>> ConfusionMatrix(y_test, endpoint.predict(x_test))          # Linear Learner / XGBoost answer
    >>> ConfusionMatrix(y_test, scores=probabilities, threshold=0.3, language="fr")
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as w
import numpy as np
from traitlets import Float, List, TraitError, observe, validate

from ..i18n import _
from . import montage as mt
from .snapshot import StaticRendering, png_base64
from .i18n import Localized, LANGUAGES, resolve_language, translate  # noqa: F401  (re-exported)

# ----------------------------------------------------------------------------- inputs


def as_labels(values: Any, name: str) -> np.ndarray:
    """A 1-D label array; whole-number floats (Linear Learner's 0.0 / 1.0) become integers."""
    array = np.asarray(values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(_("{name} must be one label per record (1-D); got shape {shape}").format(name=name, shape=array.shape))
    if array.dtype == bool:
        return array.astype(np.int64)
    if np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise ValueError(_("{name} contains NaN or infinite values").format(name=name))
        if (array == np.round(array)).all():
            return array.astype(np.int64)
    return array


def _split(y_pred: Any, scores: Any) -> tuple[Any, Any]:
    """(predicted labels, scores) from arrays or from an answer of Endpoint.predict / parse_predictions."""
    if isinstance(y_pred, Mapping):
        if scores is not None:
            raise ValueError(_("give the scores in the predictions or as scores=, not both"))
        if "score" not in y_pred and "predicted_label" not in y_pred:
            raise ValueError(_("the predictions hold neither 'score' nor 'predicted_label' (keys: {keys})").format(
                keys=", ".join(map(str, y_pred)) or _("none")))
        return y_pred.get("predicted_label"), y_pred.get("score")
    if y_pred is None and scores is None:
        raise ValueError(_("give predicted labels (y_pred) or scores"))
    return y_pred, scores


def _threshold_of(scores: np.ndarray, predicted: np.ndarray | None) -> float:
    """0.5, or the threshold the model itself used where its predicted labels say so (score > threshold -> 1)."""
    if predicted is None or len(predicted) != len(scores) or not np.isin(predicted, (0, 1)).all():
        return 0.5
    positive = predicted == 1
    if np.array_equal(scores > 0.5, positive):
        return 0.5
    below, above = scores[~positive], scores[positive]
    if len(below) and (not len(above) or below.max() < above.min()):
        return float(below.max())
    return 0.5


# ----------------------------------------------------------------------------- the widget


def cell_colour(count: int, row_total: int, diagonal: bool) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """(background, text) colour of a cell: blue on the diagonal, red off it, as deep as the row's share."""
    share = count / row_total if row_total else 0.0
    base = np.array((9, 105, 218) if diagonal else mt.RED, float)
    background = tuple(int(round(255 * (1 - share) + c * share)) for c in base)
    return background, ((255, 255, 255) if share > 0.55 else mt.INK)  # type: ignore[return-value]


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#%02x%02x%02x" % rgb


class ConfusionMatrix(StaticRendering, Localized, w.VBox):
    """A confusion matrix with accuracy and per-class precision, recall and F1.

    ``y_true``: true labels (ints, strings or 0.0 / 1.0 floats). Predictions as one of:

    - ``y_pred``: predicted labels (binary or multiclass);
    - ``y_pred``: the dict ``Endpoint.predict()`` returns for Linear Learner or XGBoost
      (``score`` and / or ``predicted_label``);
    - ``scores=``: one score per record (binary: a threshold slider decides, ``score >
      threshold`` is class 1, as Linear Learner does), or one column per class (the
      highest wins). Whole-number 1-D scores above 1 are class ids (XGBoost ``multi:softmax``).

    ``threshold``: the starting threshold for binary scores (default 0.5, or the one the
    model's own ``predicted_label`` implies). ``labels``: display names, one per class in
    sorted order, or a mapping {class: name}. ``language``: "en", "fr" or "zh_TW" (default:
    from ``LANG``).

    Rows are true classes and columns predicted ones, as in scikit-learn.
    """

    classes = List().tag(sync=True)  # display names, in matrix order
    matrix = List().tag(sync=True)  # [[count]]: rows true, columns predicted
    accuracy = Float(0.0).tag(sync=True)
    precision = List().tag(sync=True)
    recall = List().tag(sync=True)
    f1 = List().tag(sync=True)
    support = List().tag(sync=True)
    threshold = Float(None, allow_none=True).tag(sync=True)  # None: labels, not scores

    def __init__(
        self,
        y_true: Any,
        y_pred: Any = None,
        *,
        scores: Any = None,
        threshold: float | None = None,
        labels: Sequence[Any] | Mapping[Any, Any] | None = None,
        language: str | None = None,
    ) -> None:
        truth = as_labels(y_true, "y_true")
        if len(truth) == 0:
            raise ValueError(_("y_true is empty: there is nothing to count"))
        predicted, score = _split(y_pred, scores)
        self._scores: np.ndarray | None = None
        self._predicted: np.ndarray | None = None
        if score is not None:
            score = np.asarray(score, dtype=np.float64)
            if score.ndim == 2 and score.shape[1] == 1:
                score = score[:, 0]
            if score.ndim not in (1, 2):
                raise ValueError(_("scores must be one per record or one column per class; got shape {shape}").format(shape=score.shape))
            if len(score) != len(truth):
                raise ValueError(_("{n} scores for {m} true labels; give one per record").format(n=len(score), m=len(truth)))
            if not np.isfinite(score).all():
                raise ValueError(_("scores contain NaN or infinite values"))
        predicted = None if predicted is None else as_labels(predicted, "y_pred")
        if predicted is not None and len(predicted) != len(truth):
            raise ValueError(_("{n} predicted labels for {m} true labels; give one per record").format(n=len(predicted), m=len(truth)))
        if score is not None and score.ndim == 1 and (score == np.round(score)).all() and score.max() > 1:
            predicted, score = score.astype(np.int64), None  # XGBoost multi:softmax answers class ids as scores
        every: np.ndarray = np.array([], dtype=np.int64)  # classes that exist even if never seen
        if score is not None and score.ndim == 2:
            if not np.issubdtype(truth.dtype, np.integer):
                raise ValueError(_("scores with one column per class need class ids 0..{last} in y_true, not {dtype} labels").format(
                    last=score.shape[1] - 1, dtype=truth.dtype))
            predicted, score, every = score.argmax(axis=1), None, np.arange(score.shape[1])
        if score is not None:
            if not np.isin(truth, (0, 1)).all():
                raise ValueError(_("binary scores need true labels 0 / 1; y_true holds {values}").format(
                    values=", ".join(map(str, np.unique(truth)[:5]))))
            values = np.array([0, 1])
            self._scores = score
            threshold = _threshold_of(score, predicted) if threshold is None else float(threshold)
        else:
            if threshold is not None:
                raise ValueError(_("threshold= applies to binary scores; these predictions are labels"))
            if (truth.dtype.kind in "US") != (predicted.dtype.kind in "US"):  # numpy would turn the numbers into text
                raise ValueError(_("true and predicted labels are of different kinds ({truth} and {predicted})").format(
                    truth=truth.dtype, predicted=predicted.dtype))
            try:
                values = np.union1d(np.union1d(truth, predicted), every) if len(every) else np.union1d(truth, predicted)
            except TypeError as exc:
                raise ValueError(_("true and predicted labels do not sort together ({truth} and {predicted})").format(
                    truth=truth.dtype, predicted=predicted.dtype)) from exc
        self._values = values
        self._truth_codes = np.searchsorted(values, truth)
        if self._scores is None:
            self._predicted = np.searchsorted(values, predicted)
        names = self._names(values, labels)
        self._slider = None
        children: list[w.Widget] = []
        if self._scores is not None:
            low, high = min(0.0, float(self._scores.min())), max(1.0, float(self._scores.max()))
            if not low <= threshold <= high:
                raise ValueError(_("threshold {threshold} is outside the scores' range [{low}, {high}]").format(
                    threshold=threshold, low=f"{low:g}", high=f"{high:g}"))
            self._slider = w.FloatSlider(value=threshold, min=low, max=high, step=(high - low) / 100, readout_format=".3f",
                                         continuous_update=True, layout=w.Layout(width="420px"))
            children.append(self._slider)
        self._table = w.HTML()
        children.append(self._table)
        super().__init__(children, layout=w.Layout(border="1px solid #d0d7de", padding="6px", width="fit-content"))
        with self.hold_sync():
            self.language = resolve_language(language)
            self.classes = names
            self.threshold = threshold if self._scores is not None else None
            self._compute()
        if self._slider is not None:
            w.link((self, "threshold"), (self._slider, "value"))
            self._slider.description = translate("threshold", self.language)
        self._render()

    @staticmethod
    def _names(values: np.ndarray, labels: Sequence[Any] | Mapping[Any, Any] | None) -> list[str]:
        plain = [str(v.item() if hasattr(v, "item") else v) for v in values]
        if labels is None:
            return plain
        if isinstance(labels, Mapping):
            return [str(labels.get(v.item() if hasattr(v, "item") else v, p)) for v, p in zip(values, plain)]
        names = [str(n) for n in labels]
        if len(names) != len(values):
            raise ValueError(_("labels: {n} names for {m} classes ({classes})").format(n=len(names), m=len(values), classes=", ".join(plain)))
        return names

    # ------------------------------------------------------------------ model

    @validate("threshold")
    def _check_threshold(self, proposal: Any) -> Any:
        value = proposal["value"]
        if value is None:
            return value
        if getattr(self, "_scores", None) is None:
            raise TraitError(_("threshold applies to binary scores; these predictions are labels"))
        if not np.isfinite(value):
            raise TraitError(_("threshold must be a finite number, not {value}").format(value=value))
        return float(value)

    @observe("threshold")
    def _on_threshold(self, change: Any) -> None:
        if change["new"] is not None and hasattr(self, "_table"):
            with self.hold_sync():
                self._compute()
            self._render()

    @observe("language")
    def _on_language(self, change: Any) -> None:
        if hasattr(self, "_table") and self.classes:
            if self._slider is not None:
                self._slider.description = translate("threshold", self.language)
            self._render()

    @property
    def predicted(self) -> np.ndarray:
        """The predicted class of each record under the current threshold (the class values, not names)."""
        codes = (self._scores > self.threshold).astype(np.int64) if self._scores is not None else self._predicted
        return self._values[codes]

    def _compute(self) -> None:
        count = len(self._values)
        codes = (self._scores > self.threshold).astype(np.int64) if self._scores is not None else self._predicted
        matrix = np.bincount(self._truth_codes * count + codes, minlength=count * count).reshape(count, count)
        hits = np.diag(matrix).astype(np.float64)
        truth_totals, predicted_totals = matrix.sum(axis=1), matrix.sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = np.where(predicted_totals > 0, hits / predicted_totals, 0.0)
            recall = np.where(truth_totals > 0, hits / truth_totals, 0.0)
            f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
        self.matrix = matrix.tolist()
        self.accuracy = float(hits.sum() / matrix.sum())
        self.precision, self.recall, self.f1 = precision.tolist(), recall.tolist(), f1.tolist()
        self.support = truth_totals.tolist()

    # ------------------------------------------------------------------ views

    def _t(self, key: str, **values: Any) -> str:
        return translate(key, self.language, **values)

    def to_html(self) -> str:
        """The matrix and the per-class figures as one HTML fragment (inline styles only)."""
        t, esc = self._t, html.escape
        grey = "color:#57606a"
        head = "".join(f"<th style='padding:2px 8px'>{esc(n)}</th>" for n in self.classes)
        rows = []
        for i, (name, row) in enumerate(zip(self.classes, self.matrix)):
            total = sum(row)
            cells = []
            for j, value in enumerate(row):
                background, ink = cell_colour(value, total, i == j)
                cells.append(f"<td style='background:{_hex(background)};color:{_hex(ink)};text-align:right;"
                             f"padding:4px 10px;min-width:2.5em'>{value}</td>")
            rows.append(f"<tr><th style='text-align:right;padding:2px 8px'>{esc(name)}</th>{''.join(cells)}</tr>")
        matrix = (f"<table style='border-collapse:collapse;font-size:90%'>"
                  f"<tr><td></td><td colspan='{len(self.classes)}' style='text-align:center;{grey}'>{esc(t('predicted'))} →</td></tr>"
                  f"<tr><td style='{grey};text-align:right'>{esc(t('true'))} ↓</td>{head}</tr>{''.join(rows)}</table>")
        line = f"<b>{esc(t('accuracy'))}</b> {self.accuracy:.4f}"
        if self.threshold is not None:
            line += f" <span style='{grey}'>· {esc(t('threshold'))} {self.threshold:.3f}</span>"
        metric_head = "".join(f"<th style='padding:2px 8px;text-align:right'>{esc(t(k))}</th>" for k in ("precision", "recall", "f1", "support"))
        metric_rows = "".join(
            f"<tr><th style='text-align:right;padding:2px 8px'>{esc(n)}</th>"
            + "".join(f"<td style='text-align:right;padding:2px 8px'>{v:.4f}</td>" for v in (p, r, f))
            + f"<td style='text-align:right;padding:2px 8px'>{s}</td></tr>"
            for n, p, r, f, s in zip(self.classes, self.precision, self.recall, self.f1, self.support))
        metrics = (f"<table style='border-collapse:collapse;font-size:90%'><tr><th style='padding:2px 8px;text-align:right'>"
                   f"{esc(t('class'))}</th>{metric_head}</tr>{metric_rows}</table>")
        return (f"<div style='display:flex;gap:24px;align-items:flex-start;flex-wrap:wrap'>{matrix}"
                f"<div><div style='margin-bottom:4px'>{line}</div>{metrics}</div></div>")

    def _render(self) -> None:
        self._table.value = self.to_html()
        self.publish_static()

    STATIC_FOOTER = False  # a result, true whenever it is read
    STATIC_EAGER = False

    def static_key(self) -> str:
        return f"{self.threshold} {self.language}"

    def static_html(self) -> str:
        return self._table.value

    def static_text(self) -> str:
        return self.summary()

    def static_data(self) -> dict[str, str]:
        return {**super().static_data(), "image/png": png_base64(self.to_png())}

    def summary(self) -> str:
        """The figures as plain text: matrix, accuracy, then one line per class."""
        t = self._t
        width = max(8, *(len(n) + 2 for n in self.classes), *(len(str(v)) + 2 for row in self.matrix for v in row))
        lines = [t("confusion_title"), " " * width + "".join(n.rjust(width) for n in self.classes)]
        lines += [name.rjust(width) + "".join(str(v).rjust(width) for v in row) for name, row in zip(self.classes, self.matrix)]
        line = f"{t('accuracy')} {self.accuracy:.4f}"
        if self.threshold is not None:
            line += f" · {t('threshold')} {self.threshold:.3f}"
        lines.append(line)
        heads = [t(k) for k in ("class", "precision", "recall", "f1", "support")]
        lines.append("  ".join(h.rjust(10) for h in heads))
        for n, p, r, f, s in zip(self.classes, self.precision, self.recall, self.f1, self.support):
            lines.append("  ".join([n.rjust(10), f"{p:10.4f}", f"{r:10.4f}", f"{f:10.4f}", str(s).rjust(10)]))
        return "\n".join(lines)

    def to_png(self) -> bytes:
        """The matrix as one PNG: counts on coloured cells, then accuracy and the per-class figures."""
        t = lambda key: mt.latin(self._t(key), translate(key, "en"))  # noqa: E731 - the image font has no CJK glyphs
        names = [mt.latin(n, str(i)) for i, n in enumerate(self.classes)]
        size, line = 12, 20
        grey = (87, 96, 106)
        count = len(names)
        cell = max(44, *(mt.text_width(str(v), size) + 12 for row in self.matrix for v in row), *(mt.text_width(n, size) + 10 for n in names))
        left = max(mt.text_width(n, size) for n in [*names, t("true") + " ↓"]) + 16
        top = 2 * line
        # per-class table under the matrix: right-aligned columns
        heads = [t(k) for k in ("class", "precision", "recall", "f1", "support")]
        rows = [[n, f"{p:.3f}", f"{r:.3f}", f"{f:.3f}", str(s)] for n, p, r, f, s in
                zip(names, self.precision, self.recall, self.f1, self.support)]
        widths = [max(mt.text_width(c, size) for c in column) + 16 for column in zip(heads, *rows)]
        table_top = top + count * cell + 2 * line
        height = table_top + (count + 1) * line + 4
        width = max(left + count * cell, sum(widths)) + 8
        canvas = np.full((height, width, 3), 255, np.uint8)
        items: list[tuple[tuple[float, float], str, tuple[int, int, int], str]] = [
            ((left + count * cell / 2, line / 2), t("predicted") + " →", grey, "mm"),
            ((left - 8, line * 1.5), t("true") + " ↓", grey, "rm"),
        ]
        for i, row in enumerate(self.matrix):
            total = sum(row)
            y = top + i * cell
            items.append(((left - 8, y + cell / 2), names[i], mt.INK, "rm"))
            items.append(((left + i * cell + cell / 2, top - line / 2), names[i], mt.INK, "mm"))
            for j, value in enumerate(row):
                background, ink = cell_colour(value, total, i == j)
                x = left + j * cell
                canvas[y:y + cell + 1, x:x + cell + 1] = mt.GREY
                canvas[y + 1:y + cell, x + 1:x + cell] = background
                items.append(((x + cell / 2, y + cell / 2), str(value), ink, "mm"))
        summary = f"{t('accuracy')} {self.accuracy:.4f}" + (f"    {t('threshold')} {self.threshold:.3f}" if self.threshold is not None else "")
        items.append(((4, top + count * cell + line), summary, mt.INK, "lm"))
        for r, cells in enumerate([heads, *rows]):
            x = 0
            for c, (text, column) in enumerate(zip(cells, widths)):
                x += column
                items.append(((x - 8, table_top + r * line + line / 2), text, grey if r == 0 else mt.INK, "rm"))
        return mt.encode_png(mt.draw_text(canvas, items, size))

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        """The live widget where a widget front end runs; the HTML table, a PNG and text everywhere."""
        from .common import widgets_available

        bundle = (super()._repr_mimebundle_(**kwargs) or {}) if widgets_available() else {}
        bundle.update({"text/plain": self.summary(), "text/html": self.to_html(), "image/png": self.to_png()})
        return bundle
