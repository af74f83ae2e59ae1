"""Predictions: the same named arrays whatever content type the answer travelled in."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import deploy, train_kmeans

import sm_magics.widgets  # noqa: F401  (registers the result views endpoint.gallery hands its answers to)
from sm_magics.local.algorithms import inference_io
from sm_magics.workflow import algorithms
from sm_magics.workflow.endpoints import Endpoint
from sm_magics.workflow.predictions import Predictions, parse
from sm_magics.workflow.session import Backend

FORMATS = ["application/json", "application/jsonlines", "text/csv", "application/x-recordio-protobuf"]


def answer(outputs: dict[str, np.ndarray], accept: str, json_root: str = "predictions") -> tuple[bytes, str]:
    """Encoded as the engine's containers encode answers."""
    accepts = tuple(FORMATS)
    return inference_io.encode_outputs(outputs, accept, json_root=json_root, accepts=accepts)


@pytest.mark.parametrize("accept", FORMATS)
def test_kmeans_answers_read_the_same_in_every_format(accept):
    clusters, distances = np.array([3, 0, 7]), np.array([1.5, 0.25, 4.0], dtype=np.float32)
    body, kind = answer({"closest_cluster": clusters.astype(np.float64), "distance_to_cluster": distances}, accept)
    got = algorithms.parse_predictions(algorithms.ALGORITHMS["kmeans"], body, kind)
    assert list(got) == ["closest_cluster", "distance_to_cluster"]
    assert got["closest_cluster"].dtype == np.int64 and got["closest_cluster"].tolist() == [3, 0, 7]
    np.testing.assert_allclose(got["distance_to_cluster"], distances)


@pytest.mark.parametrize("accept", FORMATS)
def test_pca_projections_are_a_matrix(accept):
    projection = np.arange(12, dtype=np.float32).reshape(4, 3) / 7
    body, kind = answer({"projection": projection}, accept, json_root="projections")
    got = algorithms.parse_predictions(algorithms.ALGORITHMS["pca"], body, kind)
    assert got["projection"].shape == (4, 3)
    np.testing.assert_allclose(got["projection"], projection, rtol=1e-6)
    frame = got.to_frame()
    assert list(frame.columns) == ["projection_0", "projection_1", "projection_2"] and len(frame) == 4


@pytest.mark.parametrize("accept", FORMATS)
def test_linear_learner_scores_and_labels(accept):
    scores = np.array([0.1, 0.9, 0.6], dtype=np.float32)
    body, kind = answer({"score": scores, "predicted_label": (scores > 0.5).astype(np.int64)}, accept)
    got = algorithms.parse_predictions(algorithms.ALGORITHMS["linear-learner"], body, kind)
    assert got["predicted_label"].tolist() == [0, 1, 1] and got["predicted_label"].dtype == np.int64
    np.testing.assert_allclose(got["score"], scores, rtol=1e-6)
    assert got.to_records()[1] == {"score": pytest.approx(0.9), "predicted_label": 1}


def test_xgboost_csv_in_both_container_generations_and_class_probabilities():
    info = algorithms.ALGORITHMS["xgboost"]
    old = algorithms.parse_predictions(info, b"0.1,0.8,0.3", "text/csv")  # 1.0-1: one comma-joined line
    new = algorithms.parse_predictions(info, b"0.1\n0.8\n0.3\n", "text/csv")  # 1.2-2 and later: a line per record
    assert old["score"].tolist() == new["score"].tolist() == [0.1, 0.8, 0.3]
    probabilities = algorithms.parse_predictions(info, b"0.7,0.2,0.1\n0.1,0.1,0.8\n", "text/csv")
    assert probabilities["score"].shape == (2, 3) and probabilities["score"].argmax(axis=1).tolist() == [0, 2]
    as_json = algorithms.parse_predictions(info, b'{"predictions": [{"score": [0.7, 0.2, 0.1]}, {"score": [0.1, 0.1, 0.8]}]}',
                                           "application/json")
    np.testing.assert_allclose(as_json["score"], probabilities["score"])


def test_an_unknown_content_type_is_one_clear_line():
    with pytest.raises(ValueError, match="cannot read an answer of content type 'image/png': ask for application/json"):
        parse(b"\x89PNG", "image/png")


def test_concatenated_chunks_and_repr():
    first = Predictions(closest_cluster=np.array([1, 2]), distance_to_cluster=np.array([0.5, 0.25]))
    second = Predictions(closest_cluster=np.array([0]), distance_to_cluster=np.array([1.0]))
    joined = Predictions.concat([first, second])
    assert joined.rows == 3 and joined["closest_cluster"].tolist() == [1, 2, 0]
    assert repr(joined).startswith("Predictions(3 rows; closest_cluster: int64[3]")


def test_endpoint_predict_gives_the_same_arrays_for_every_accept(engine, engine_clients, mnist):
    (x, _), _, (tx, ty) = mnist
    job = train_kmeans(engine_clients, x[:500], k=4)
    name = deploy(engine_clients, job["ModelArtifacts"]["S3ModelArtifacts"])
    endpoint = Endpoint(Backend("local", "us-east-1", "test", endpoint_url=engine.url, engine=engine), name, "kmeans")
    try:
        answers = {accept: endpoint.predict(tx[:25], accept=accept) for accept in FORMATS}
        gallery = endpoint.gallery(tx[:25], labels=ty[:25], k=4)  # the predictor's own view of its answers
    finally:
        endpoint.delete()
    reference = answers["application/json"]
    assert isinstance(reference, Predictions) and reference.rows == 25 and set(reference["closest_cluster"].tolist()) <= {0, 1, 2, 3}
    for accept, got in answers.items():
        assert got["closest_cluster"].tolist() == reference["closest_cluster"].tolist(), accept
        np.testing.assert_allclose(got["distance_to_cluster"], reference["distance_to_cluster"], rtol=1e-5, err_msg=accept)
    assert list(reference.to_frame().columns) == ["closest_cluster", "distance_to_cluster"]
    assert gallery.sizes == np.bincount(reference["closest_cluster"], minlength=4).tolist()
    assert gallery.overall_purity is not None


def test_result_views_are_the_widgets_and_missing_ones_say_how_to_get_them(monkeypatch):
    """The workflow draws nothing itself: without sm_magics.widgets' views, gallery() says what to import."""
    from sm_magics.widgets import _cluster_gallery, _confusion_matrix
    from sm_magics.workflow import endpoints

    assert endpoints.RESULT_VIEWS == {"gallery": _cluster_gallery, "confusion": _confusion_matrix}
    monkeypatch.setattr(endpoints, "RESULT_VIEWS", {})
    endpoint = Endpoint(Backend("local", "us-east-1", "test"), "never-deployed", "kmeans")
    with pytest.raises(RuntimeError, match=r"run `import sm_magics.widgets` first"):
        endpoint.gallery(np.zeros((2, 4), dtype=np.float32))
    with pytest.raises(RuntimeError, match=r"the confusion view is drawn by sm_magics.widgets"):
        endpoint.confusion(np.zeros((2, 4), dtype=np.float32), np.zeros(2))
