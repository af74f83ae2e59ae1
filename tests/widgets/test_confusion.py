"""The confusion-matrix widget on a real classifier of real MNIST digits, checked against scikit-learn.

The classifier is a nearest-centroid model (class means of the training digits, a
softmax over negative distances for probabilities): labels for the multiclass case,
"is it a zero?" probabilities for the binary one. Answers shaped as Linear Learner and
XGBoost give them go through the engine's encoder and ``parse_predictions``, as
``Endpoint.predict()`` does.
"""

from __future__ import annotations

import io
import os
import time

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support
from traitlets import TraitError

from sm_magics.local.algorithms import inference_io
from sm_magics.widgets.confusion import ConfusionMatrix, resolve_language, translate
from sm_magics.workflow.algorithms import ALGORITHMS, parse_predictions


@pytest.fixture(scope="module")
def predictions(mnist: tuple) -> tuple[np.ndarray, np.ndarray]:
    """(true labels, class probabilities (n, 10)) of the test digits."""
    (x_train, y_train), _, (x, y) = mnist
    centres = np.stack([x_train[y_train == c].mean(axis=0) for c in range(10)])
    squared = (x**2).sum(1)[:, None] - 2 * x @ centres.T + (centres**2).sum(1)[None, :]
    logits = -squared / 4.0
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    return y, probabilities / probabilities.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def binary(predictions: tuple) -> tuple[np.ndarray, np.ndarray]:
    """(is it a zero? 0 / 1, probability of zero)."""
    y, probabilities = predictions
    return (y == 0).astype(np.int64), probabilities[:, 0]


def check_against_sklearn(widget: ConfusionMatrix, truth: np.ndarray, predicted: np.ndarray, classes: list) -> None:
    assert widget.matrix == confusion_matrix(truth, predicted, labels=classes).tolist()
    assert widget.accuracy == pytest.approx(accuracy_score(truth, predicted))
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, labels=classes, zero_division=0)
    assert widget.precision == pytest.approx(precision.tolist())
    assert widget.recall == pytest.approx(recall.tolist())
    assert widget.f1 == pytest.approx(f1.tolist())
    assert widget.support == support.tolist()


def test_multiclass_labels(predictions: tuple) -> None:
    y, probabilities = predictions
    predicted = probabilities.argmax(axis=1)
    widget = ConfusionMatrix(y, predicted)
    assert widget.classes == [str(c) for c in range(10)] and widget.threshold is None
    check_against_sklearn(widget, y, predicted, list(range(10)))
    assert 0.6 < widget.accuracy < 0.95
    # one column of scores per class: the highest wins
    check_against_sklearn(ConfusionMatrix(y, scores=probabilities), y, predicted, list(range(10)))


def test_binary_labels_and_names(binary: tuple) -> None:
    truth, score = binary
    predicted = (score > 0.5).astype(np.int64)
    widget = ConfusionMatrix(truth, predicted, labels=["other", "zero"])
    assert widget.classes == ["other", "zero"]
    check_against_sklearn(widget, truth, predicted, [0, 1])
    named = ConfusionMatrix(np.where(truth == 1, "zero", "other"), np.where(predicted == 1, "zero", "other"))
    assert named.classes == ["other", "zero"] and named.matrix == widget.matrix
    mapped = ConfusionMatrix(truth, predicted, labels={1: "zero"})
    assert mapped.classes == ["0", "zero"]


def test_scores_with_a_threshold_follow_the_slider(binary: tuple) -> None:
    truth, score = binary
    widget = ConfusionMatrix(truth, scores=score)
    assert widget.threshold == 0.5
    check_against_sklearn(widget, truth, (score > 0.5).astype(int), [0, 1])
    seen = {}
    for threshold in (0.05, 0.3, 0.8, 0.99):
        widget.threshold = threshold
        check_against_sklearn(widget, truth, (score > threshold).astype(int), [0, 1])
        assert f"{threshold:.3f}" in widget._table.value
        seen[threshold] = widget.matrix
    assert len({str(m) for m in seen.values()}) == 4, "each threshold gives other figures"
    assert seen[0.05][1][1] >= seen[0.99][1][1] and seen[0.05][0][1] >= seen[0.99][0][1]
    widget._slider.value = 0.3  # the view's slider drives the model's trait
    assert widget.threshold == 0.3 and widget.matrix == seen[0.3]
    assert np.array_equal(widget.predicted, (score > 0.3).astype(int))


def test_linear_learner_answer(binary: tuple) -> None:
    """A binary Linear Learner answer: the threshold it used is read back from predicted_label."""
    truth, score = binary
    label = (score > 0.37).astype(np.int64)
    body, content_type = inference_io.encode_outputs({"score": score.astype(np.float32), "predicted_label": label},
                                                     "application/json", json_root="predictions")
    answer = parse_predictions(ALGORITHMS["linear-learner"], body, content_type)
    widget = ConfusionMatrix(truth.astype(np.float32), answer)  # Linear Learner labels are floats
    check_against_sklearn(widget, truth, label, [0, 1])
    assert 0.0 < widget.threshold < 0.5
    widget.threshold = 0.9
    check_against_sklearn(widget, truth, (answer["score"] > 0.9).astype(int), [0, 1])
    fixed = ConfusionMatrix(truth, answer, threshold=0.6)
    check_against_sklearn(fixed, truth, (answer["score"] > 0.6).astype(int), [0, 1])


def test_linear_learner_multiclass_answer(predictions: tuple) -> None:
    y, probabilities = predictions
    outputs = {"score": probabilities.astype(np.float32), "predicted_label": probabilities.argmax(axis=1)}
    body, content_type = inference_io.encode_outputs(outputs, "application/json", json_root="predictions")
    widget = ConfusionMatrix(y, parse_predictions(ALGORITHMS["linear-learner"], body, content_type))
    check_against_sklearn(widget, y, probabilities.argmax(axis=1), list(range(10)))
    assert widget.threshold is None


def test_xgboost_answers(predictions: tuple, binary: tuple) -> None:
    info = ALGORITHMS["xgboost"]
    truth, score = binary
    per_line = "".join(f"{v!r}\n" for v in score.tolist()).encode()  # 1.2-2 and later: one record a line
    one_line = ",".join(repr(v) for v in score.tolist()).encode()  # 1.0-1: one comma-joined line
    for body in (per_line, one_line):
        widget = ConfusionMatrix(truth, parse_predictions(info, body, "text/csv"), threshold=0.25)
        check_against_sklearn(widget, truth, (score > 0.25).astype(int), [0, 1])
    y, probabilities = predictions
    softprob = "".join(",".join(repr(v) for v in row) + "\n" for row in probabilities.tolist()).encode()
    check_against_sklearn(ConfusionMatrix(y, parse_predictions(info, softprob, "text/csv")), y, probabilities.argmax(1), list(range(10)))
    softmax = "".join(f"{float(v)}\n" for v in probabilities.argmax(axis=1)).encode()  # multi:softmax: class ids
    check_against_sklearn(ConfusionMatrix(y, parse_predictions(info, softmax, "text/csv")), y, probabilities.argmax(1), list(range(10)))


def test_french_and_chinese(binary: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    truth, score = binary
    french = ConfusionMatrix(truth, scores=score, language="fr")
    for word in ("Exactitude", "Précision", "Rappel", "F1", "prédit", "réel", "seuil"):
        assert word in french._table.value and word in french.summary()
    assert french._slider.description == "seuil"
    chinese = ConfusionMatrix(truth, scores=score, language="zh-TW")
    assert chinese.language == "zh_TW"
    for word in ("準確率", "精確率", "召回率", "預測", "真實"):
        assert word in chinese._table.value and word in chinese.summary()
    chinese.language = "en"
    assert "Accuracy" in chinese._table.value and chinese._slider.description == "threshold"
    assert translate("accuracy", "fr") == "Exactitude" and translate("accuracy", "zh_TW") == "準確率"
    for variable in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    assert "Exactitude" in ConfusionMatrix(truth, truth).summary()
    monkeypatch.setenv("LANG", "zh_TW.UTF-8")
    assert resolve_language() == "zh_TW"
    monkeypatch.setenv("LANG", "C.UTF-8")
    assert "Accuracy" in ConfusionMatrix(truth, truth).summary()
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    assert resolve_language() == "en"
    with pytest.raises(ValueError, match=r"^language 'de' is not provided; use one of en, fr, zh_TW$"):
        ConfusionMatrix(truth, truth, language="de")
    with pytest.raises(TraitError):
        french.language = "klingon"


def test_static_fallback(binary: tuple, predictions: tuple) -> None:
    truth, score = binary
    bundle = ConfusionMatrix(truth, scores=score, labels=["other", "zero"], language="fr")._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" not in bundle
    png = bundle["image/png"]
    image = Image.open(io.BytesIO(png))
    image.verify()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and 2_000 < len(png) < 200_000
    assert "Exactitude" in bundle["text/plain"] and "<table" in bundle["text/html"]
    y, probabilities = predictions
    big = Image.open(io.BytesIO(ConfusionMatrix(y, probabilities.argmax(1), language="zh_TW").to_png()))
    assert 400 < big.width < 1200 and 400 < big.height < 1400


@pytest.mark.parametrize("build, message", [
    (lambda t, s: ConfusionMatrix(t, t[:-1]), r"^713 predicted labels for 714 true labels; give one per record$"),
    (lambda t, s: ConfusionMatrix(t, scores=s[:-1]), r"^713 scores for 714 true labels; give one per record$"),
    (lambda t, s: ConfusionMatrix(t * 3, scores=s), r"^binary scores need true labels 0 / 1; y_true holds 0, 3$"),
    (lambda t, s: ConfusionMatrix(t, t, threshold=0.4), r"^threshold= applies to binary scores; these predictions are labels$"),
    (lambda t, s: ConfusionMatrix(t, t, labels=["a", "b", "c"]), r"^labels: 3 names for 2 classes \(0, 1\)$"),
    (lambda t, s: ConfusionMatrix(t, {"projection": s}), r"^the predictions hold neither 'score' nor 'predicted_label' \(keys: projection\)$"),
    (lambda t, s: ConfusionMatrix(t), r"^give predicted labels \(y_pred\) or scores$"),
    (lambda t, s: ConfusionMatrix(t[:0], t[:0]), r"^y_true is empty"),
    (lambda t, s: ConfusionMatrix(t, scores=np.where(t == 1, np.nan, s)), r"^scores contain NaN or infinite values$"),
    (lambda t, s: ConfusionMatrix(t, scores=s, threshold=3.0), r"^threshold 3.0 is outside the scores' range \[0, 1\]$"),
    (lambda t, s: ConfusionMatrix(t, t.astype(str)), r"^true and predicted labels are of different kinds"),
])
def test_wrong_inputs_get_one_clear_line(binary: tuple, build, message: str) -> None:
    truth, score = binary
    with pytest.raises(ValueError, match=message) as caught:
        build(truth, score)
    assert "\n" not in str(caught.value)


def test_threshold_belongs_to_scores(binary: tuple) -> None:
    truth, _ = binary
    widget = ConfusionMatrix(truth, truth)
    with pytest.raises(TraitError, match="binary scores"):
        widget.threshold = 0.5


# ----------------------------------------------------------------------------- in a real kernel


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory):
    pytest.importorskip("ipykernel")
    from kernel import Kernel

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SM_MAGICS_"))}
    k = Kernel(env, str(tmp_path_factory.mktemp("confusion-kernel")))
    yield k
    k.close()


def test_in_a_kernel_the_front_end_moves_the_threshold(kernel, binary: tuple, tmp_path) -> None:
    truth, score = binary
    np.save(tmp_path / "truth.npy", truth)
    np.save(tmp_path / "score.npy", score)
    out = kernel.run(
        "import numpy as np\nfrom sm_magics.widgets.confusion import ConfusionMatrix\n"
        f"cm = ConfusionMatrix(np.load(r'{tmp_path / 'truth.npy'}'), scores=np.load(r'{tmp_path / 'score.npy'}'))\n"
        "print(sorted(cm._repr_mimebundle_()))\nprint(cm.model_id)")
    keys, model_id = out.strip().splitlines()
    assert keys == "['application/vnd.jupyter.widget-view+json', 'image/png', 'text/html', 'text/plain']"
    state = kernel.models[model_id]
    assert state["matrix"] == confusion_matrix(truth, (score > 0.5).astype(int)).tolist() and state["threshold"] == 0.5
    # what the front end sends when the trait changes there
    kernel.client.shell_channel.send(kernel.client.session.msg(
        "comm_msg", {"comm_id": model_id, "data": {"method": "update", "state": {"threshold": 0.2}, "buffer_paths": []}}))
    expected = confusion_matrix(truth, (score > 0.2).astype(int)).tolist()
    deadline = time.monotonic() + 30
    while kernel.models[model_id].get("matrix") != expected and time.monotonic() < deadline:
        kernel.drain(0.2)
    assert kernel.models[model_id]["matrix"] == expected
    assert kernel.run("print(cm.threshold, cm._slider.value)").split() == ["0.2", "0.2"]
