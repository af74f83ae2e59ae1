"""The cluster gallery on real MNIST digits, clustered by the engine's own hosted k-means model.

Centres come from scikit-learn's KMeans on training digits plus two far-away centres
nothing falls into (empty clusters); the local engine's ``HostedKMeans`` answers as
the endpoint does (JSON, JSON Lines), and ``parse_predictions`` reads the JSON answer
into the dict ``Endpoint.predict()`` returns. Every figure of the widget's model is
checked against plain numpy / scikit-learn.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import time

import numpy as np
import pytest
from PIL import Image
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

import ipywidgets as w

from sm_magics.local.algorithms.kmeans import HostedKMeans
from sm_magics.widgets import montage as mt
from sm_magics.widgets.gallery import ClusterGallery, cluster_assignments
from sm_magics.workflow.algorithms import ALGORITHMS, parse_predictions

K = 12  # 10 fitted centres + 2 that no digit is near
CSV = "text/csv"


@pytest.fixture(scope="module")
def digits(mnist: tuple) -> tuple[np.ndarray, np.ndarray]:
    _, _, (x, y) = mnist
    return x[:400], y[:400]


@pytest.fixture(scope="module")
def hosted(mnist: tuple) -> HostedKMeans:
    (x_train, _), _, _ = mnist
    centres = KMeans(10, n_init=1, random_state=0).fit(x_train[:2000]).cluster_centers_
    return HostedKMeans(np.vstack([centres, np.full((2, 784), 10.0)]))


def ask(model: HostedKMeans, x: np.ndarray, accept: str) -> bytes:
    body = "\n".join(",".join(f"{v:.9g}" for v in row) for row in x).encode()
    answer, _ = model.invoke(body, CSV, accept)
    return answer


@pytest.fixture(scope="module")
def answer(hosted: HostedKMeans, digits: tuple) -> dict[str, np.ndarray]:
    """What Endpoint.predict() returns for these digits."""
    return parse_predictions(ALGORITHMS["kmeans"], ask(hosted, digits[0], "application/json"), "application/json")


@pytest.fixture(scope="module")
def gallery(digits: tuple, answer: dict) -> ClusterGallery:
    return ClusterGallery(digits[0], answer, labels=digits[1], k=K)


def expected_order(ids: np.ndarray, distances: np.ndarray | None, cluster: int) -> list[int]:
    members = np.flatnonzero(ids == cluster)
    if distances is None:
        return members.tolist()
    return members[np.argsort(distances[members], kind="stable")].tolist()


def png_of(html: str) -> Image.Image:
    data = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html).group(1)
    return Image.open(io.BytesIO(base64.b64decode(data)))


# ----------------------------------------------------------------------------- the model


def test_figures_per_cluster_match_numpy(gallery: ClusterGallery, digits: tuple, answer: dict) -> None:
    x, y = digits
    ids, distances = answer["closest_cluster"], answer["distance_to_cluster"]
    assert gallery.k == K
    assert gallery.sizes == np.bincount(ids, minlength=K).tolist()
    assert sum(gallery.sizes) == len(x)
    for cluster in range(K):
        assert gallery.order[cluster] == expected_order(ids, distances, cluster)
        assert np.all(np.diff(distances[gallery.order[cluster]]) >= 0), "most typical (closest) first"
        members = y[ids == cluster]
        if len(members) == 0:
            continue
        counts = np.bincount(members, minlength=10)
        assert gallery.majority[cluster] == int(counts.argmax())
        assert gallery.purity[cluster] == pytest.approx(counts.max() / len(members))
        assert gallery.differ[cluster] == len(members) - counts.max()
    majority_total = sum(np.bincount(y[ids == c]).max() for c in range(K) if (ids == c).any())
    assert gallery.overall_purity == pytest.approx(majority_total / len(x))
    assert gallery.ari == pytest.approx(adjusted_rand_score(y, ids))
    assert 0.0 < gallery.ari < 1.0
    assert gallery.shown == [min(n, 30) for n in gallery.sizes]


def test_empty_clusters_show_as_empty(gallery: ClusterGallery) -> None:
    for cluster in (10, 11):
        assert gallery.sizes[cluster] == 0
        assert gallery.order[cluster] == [] and gallery.shown[cluster] == 0
        assert gallery.majority[cluster] is None and gallery.purity[cluster] is None
        picture = gallery.picture(cluster)
        assert picture.pixels.shape == (32, 32) and (picture.pixels == mt.GREY_INDEX).all()
        assert f"Cluster {cluster} · empty" in gallery.summary()
        assert gallery._more[cluster].layout.display == "none"


def test_pictures_hold_the_digits_in_order_with_red_frames_for_disagreement(gallery: ClusterGallery, digits: tuple) -> None:
    x, y = digits
    scale = mt.Scale.of(mt.as_images(x))
    for cluster in range(10):
        shown = gallery.order[cluster][: gallery.shown[cluster]]
        picture = gallery.picture(cluster)
        columns = min(10, len(shown))
        rows = -(-len(shown) // columns)
        assert picture.pixels.shape == (rows * 32, columns * 32)
        tiles = picture.pixels.reshape(rows, 32, columns, 32).swapaxes(1, 2).reshape(-1, 32, 32)[: len(shown)]
        expected = mt.to_levels(x[shown].reshape(-1, 28, 28), scale, invert=True)
        assert np.array_equal(tiles[:, 2:30, 2:30], expected)
        framed = tiles[:, 0, 0] == mt.RED_INDEX
        assert framed.tolist() == (y[shown] != gallery.majority[cluster]).tolist()
        # the widget's own PNG is the same picture
        image = png_of(gallery._picture[cluster].value)
        assert image.size == (picture.width, picture.height)
        assert np.array_equal(np.asarray(image.convert("RGB")), picture.rgb())


def test_answer_forms_agree(hosted: HostedKMeans, digits: tuple, answer: dict, gallery: ClusterGallery, tmp_path) -> None:
    x, y = digits
    lines = ask(hosted, x, "application/jsonlines")  # a batch transform's .out file
    assert lines.count(b"\n") == len(x) - 1
    path = tmp_path / "digits.csv.out"
    path.write_bytes(lines)
    json_body = ask(hosted, x, "application/json")
    two_documents = ask(hosted, x[:150], "application/json") + ask(hosted, x[150:], "application/json")  # AssembleWith None
    for source in (lines, lines.decode(), path, json_body, two_documents):
        other = ClusterGallery(x, source, labels=y, k=K)
        assert other.order == gallery.order and other.sizes == gallery.sizes and other.purity == gallery.purity
    ids, distances = cluster_assignments(lines)
    assert np.array_equal(ids, answer["closest_cluster"]) and np.allclose(distances, answer["distance_to_cluster"])
    # SageMaker's CSV answer: closest_cluster,distance_to_cluster
    csv_ids, csv_distances = cluster_assignments(ask(hosted, x, "text/csv"))
    assert np.array_equal(csv_ids, ids) and np.allclose(csv_distances, distances)


def test_plain_ids_keep_input_order_and_need_no_labels(digits: tuple, answer: dict) -> None:
    x, _ = digits
    ids = answer["closest_cluster"]
    plain = ClusterGallery(x.reshape(-1, 28, 28), ids.tolist())
    assert plain.k == int(ids.max()) + 1
    for cluster in range(plain.k):
        assert plain.order[cluster] == expected_order(ids, None, cluster)
    assert plain.majority == [None] * plain.k and plain.ari is None and plain.overall_purity is None
    assert "purity" not in plain.summary()
    assert not (plain.picture(0).pixels == mt.RED_INDEX).any()


def test_cap_and_show_more(digits: tuple, answer: dict) -> None:
    x, y = digits
    gallery = ClusterGallery(x, answer, labels=y, k=K, cap=7, columns=5)
    big = int(np.argmax(gallery.sizes))
    size = gallery.sizes[big]
    assert gallery.shown[big] == 7 and gallery.picture(big).pixels.shape == (2 * 32, 5 * 32)
    assert "showing 7 of" in gallery._caption[big].value
    button = gallery._more[big]
    assert button.layout.display == "" and button.description == "Show 7 more"
    button.click()
    assert gallery.shown[big] == 14
    assert gallery.picture(big).pixels.shape == (3 * 32, 5 * 32)
    assert png_of(gallery._picture[big].value).size == (5 * 32, 3 * 32)
    while gallery.shown[big] < size:
        gallery.show_more(big)
    assert gallery.shown[big] == size and button.layout.display == "none"
    everything = ClusterGallery(x, answer, k=K, cap=None)
    assert everything.shown == everything.sizes


def test_one_row_and_one_column(digits: tuple, answer: dict) -> None:
    x, y = digits
    ids = answer["closest_cluster"]
    column = ClusterGallery(x, ids, labels=y, columns=1, cap=5)
    for cluster in range(column.k):
        assert column.picture(cluster).pixels.shape == (column.shown[cluster] * 32, 32)
    # a cluster smaller than a row: one row, as wide as its images
    row = ClusterGallery(x[:12], ids[:12], columns=10)
    for cluster, size in enumerate(row.sizes):
        if size:
            assert row.picture(cluster).pixels.shape == (32, min(size, 10) * 32)
    # one image; images one pixel tall
    single = ClusterGallery(x[:1], [0], labels=y[:1])
    assert single.sizes == [1] and single.purity == [1.0] and single.ari == pytest.approx(adjusted_rand_score(y[:1], [0]))
    assert single.picture(0).pixels.shape == (32, 32)
    strips = ClusterGallery(x[:6], [0, 1, 0, 1, 0, 1], image_shape=(1, 784), columns=1)
    assert strips.picture(0).pixels.shape == (3 * 5, 788)
    tall = ClusterGallery(x[:4], [0, 0, 0, 0], image_shape=(784, 1), columns=4)
    assert tall.picture(0).pixels.shape == (788, 4 * 5)


def test_other_image_shapes_and_colour(digits: tuple) -> None:
    x, _ = digits
    wide = ClusterGallery(x[:8], [0, 1] * 4, image_shape=(14, 56))
    assert wide.picture(0).pixels.shape == (18, 4 * 60)
    rgb = np.stack([x[:6].reshape(-1, 28, 28)] * 3, axis=-1)
    colour = ClusterGallery(rgb, [0, 0, 1, 1, 1, 1])
    assert colour.picture(1).pixels.shape == (32, 4 * 32, 3)
    bytes_ = ClusterGallery((x[:4] * 255).astype(np.uint8), [0, 0, 0, 0], invert=False)
    assert bytes_.picture(0).pixels.max() == mt.TOP_LEVEL


@pytest.mark.parametrize("build, message", [
    (lambda x, ids: ClusterGallery(x, ids[:-1]), r"^400 images but 399 cluster ids; give one per image$"),
    (lambda x, ids: ClusterGallery(x[:, :700], ids), r"^images have 700 values each, not a square number; pass image_shape=\(height, width\)$"),
    (lambda x, ids: ClusterGallery(x, ids, image_shape=(20, 20)), r"^images of 784 values each do not fit image_shape=\(20, 20\) \(400 values\)$"),
    (lambda x, ids: ClusterGallery(x.reshape(-1, 28, 28), ids, image_shape=(27, 27)), r"do not fit image_shape=\(27, 27\)"),
    (lambda x, ids: ClusterGallery(x[:4], [0, 1, -1, 2]), r"^cluster ids must be >= 0; found -1 at index 2$"),
    (lambda x, ids: ClusterGallery(x[:3], [0.0, 1.5, 2.0]), r"^cluster ids must be whole numbers; found 1.5 at index 1$"),
    (lambda x, ids: ClusterGallery(x[:3], ["a", "b", "c"]), r"^cluster ids must be whole numbers, not <U1$"),
    (lambda x, ids: ClusterGallery(x[:3], [[0, 1, 2]]), r"^cluster ids must be one per image \(1-D\); got shape \(1, 3\)$"),
    (lambda x, ids: ClusterGallery(x, ids, k=3), r"^cluster id \d+ is out of range for k=3 \(ids run 0..2\)$"),
    (lambda x, ids: ClusterGallery(x, ids, labels=np.zeros(5)), r"^labels: 5 values \(shape \(5,\)\) for 400 images; give one per image$"),
    (lambda x, ids: ClusterGallery(x, ids, distances=np.zeros(7)), r"^distances: 7 values \(shape \(7,\)\) for 400 images; give one per image$"),
    (lambda x, ids: ClusterGallery(x, ids, layout="grid"), r"^layout must be 'overview' or 'tabs', not 'grid'$"),
    (lambda x, ids: ClusterGallery(x, ids, cap=0), r"^cap must be >= 1"),
    (lambda x, ids: ClusterGallery(x, ids, columns=0), r"^columns must be a whole number >= 1, not 0$"),
    (lambda x, ids: ClusterGallery(x[0], ids), r"^images must be \(N, pixels\), \(N, height, width\) or \(N, height, width, 3\); got shape \(784,\)$"),
    (lambda x, ids: ClusterGallery(x[:0], ids[:0]), r"^images is empty"),
    (lambda x, ids: ClusterGallery(np.zeros((2, 28, 28, 4)), [0, 1]), r"^colour images need 3 channels last"),
    (lambda x, ids: ClusterGallery(x[:2], {"score": [0.1, 0.2]}), r"^the predictions hold no 'closest_cluster' \(keys: score\); is this a k-means answer\?$"),
    (lambda x, ids: ClusterGallery(x[:2], b'{"closest_cluster": 1}\n{"closest_cl'), r"^the predictions are not JSON Lines: "),
    (lambda x, ids: ClusterGallery(np.full((2, 4), np.nan), [0, 1]), r"^images contain NaN or infinite values$"),
])
def test_wrong_inputs_get_one_clear_line(digits: tuple, answer: dict, build, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        build(digits[0], answer["closest_cluster"])
    assert "\n" not in str(caught.value)


# ----------------------------------------------------------------------------- views


def test_layouts(digits: tuple, answer: dict) -> None:
    x, y = digits
    tabs = ClusterGallery(x, answer, labels=y, k=K, layout="tabs")
    body = tabs.children[1]
    assert isinstance(body, w.Tab) and len(body.children) == K
    assert list(body.titles) == [f"{c} ({n})" for c, n in enumerate(tabs.sizes)]
    tabs.layout_mode = "overview"
    body = tabs.children[1]
    assert isinstance(body, w.Box) and not isinstance(body, w.Tab) and len(body.children) == K
    assert "overall purity" in tabs.children[0].value and "adjusted Rand index" in tabs.children[0].value


def test_static_fallback_is_a_png_and_text(gallery: ClusterGallery) -> None:
    bundle = gallery._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" not in bundle  # no widget front end here
    png = bundle["image/png"]
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and 20_000 < len(png) < 2_000_000
    image = Image.open(io.BytesIO(png))
    image.verify()
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert 600 <= image.width <= 1400 and 300 <= image.height <= 4000
    pixels = np.asarray(image)
    assert (pixels == mt.RED).all(axis=-1).sum() > 100, "the disagreeing digits' frames"
    text = bundle["text/plain"]
    assert text.splitlines()[0].startswith(f"{K} clusters · 400 images · overall purity ")
    assert len(text.splitlines()) == K + 1
    assert json.dumps(gallery.get_state(["sizes", "order", "purity", "majority", "overall_purity", "ari"]))


def test_languages(digits: tuple, answer: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    x, y = digits
    french = ClusterGallery(x, answer, labels=y, k=K, language="fr")
    assert "pureté globale" in french.summary() and "Groupe 10 · vide" in french.summary()
    assert "Afficher" in french._more[int(np.argmax(french.sizes))].description
    french.language = "zh_TW"
    assert "整體純度" in french.summary() and "調整蘭德指數" in french.children[0].value
    assert french.to_png().startswith(b"\x89PNG")  # captions fall back to English where the font has no CJK
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    assert "groupes" in ClusterGallery(x[:4], [0, 0, 1, 1]).summary()


# ----------------------------------------------------------------------------- in a real kernel


def test_in_a_kernel_show_more_is_clicked_from_the_front_end(digits: tuple, answer: dict, tmp_path_factory) -> None:
    pytest.importorskip("ipykernel")
    from kernel import Kernel

    folder = tmp_path_factory.mktemp("gallery-kernel")
    np.save(folder / "x.npy", digits[0])
    np.save(folder / "y.npy", digits[1])
    np.save(folder / "ids.npy", answer["closest_cluster"])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SM_MAGICS_"))}
    kernel = Kernel(env, str(folder))
    try:
        out = kernel.run(
            "import numpy as np\nfrom sm_magics.widgets.gallery import ClusterGallery\n"
            "g = ClusterGallery(np.load('x.npy'), np.load('ids.npy'), labels=np.load('y.npy'), k=12, cap=5)\n"
            "big = int(np.argmax(g.sizes))\n"
            "print(sorted(g._repr_mimebundle_()))\nprint(g.model_id, g._more[big].model_id, big)")
        keys, ids = out.strip().splitlines()
        model_id, button_id, big = ids.split()
        assert keys == "['application/vnd.jupyter.widget-view+json', 'image/png', 'text/plain']"
        state = kernel.models[model_id]
        sizes = np.bincount(answer["closest_cluster"], minlength=K).tolist()
        assert state["sizes"] == sizes and state["shown"] == [min(5, n) for n in sizes]
        assert state["majority"][10] is None and state["ari"] == pytest.approx(adjusted_rand_score(digits[1], answer["closest_cluster"]))
        kernel.client.shell_channel.send(kernel.client.session.msg(
            "comm_msg", {"comm_id": button_id, "data": {"method": "custom", "content": {"event": "click"}}}))
        deadline = time.monotonic() + 30
        while kernel.models[model_id]["shown"][int(big)] != 10 and time.monotonic() < deadline:
            kernel.drain(0.2)
        assert kernel.models[model_id]["shown"][int(big)] == 10
    finally:
        kernel.close()
