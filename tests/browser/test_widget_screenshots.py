"""Every widget in a real JupyterLab (and the gallery in Notebook 7), in headless chromium.

Notebooks are written (nbformat 4 JSON) into the server's root, opened in the browser and run with Run > Run All Cells, as a
user runs them; each widget is then checked for what a user sees (its figures, its panels, its live
status) and photographed, cropped to the widget, as ``build/screenshots/<name>.png``. Each picture
must be non-blank. With ``SM_MAGICS_UPDATE_SCREENSHOTS=1`` the pictures are also copied to
``docs/screenshots/`` (the README's pictures); a normal run leaves the source tree alone.

The result widgets run on real MNIST digits (scikit-learn's k-means and logistic regression); the
live widgets run the real magics in the notebook against the session's local engine.
"""

from __future__ import annotations

import re

import pytest

from browser.pages import (assert_not_blank, cell, open_notebook, run_all_cells, screenshot, wait_for_images,
                              wait_for_text, widget_in_cell, write_notebook)

pytestmark = pytest.mark.browser

K = 10
DIGITS = 400

SETUP = f"""\
import warnings
warnings.filterwarnings("ignore")
import numpy as np
from sklearn.cluster import KMeans
from sm_magics.local.sample_data import mnist_splits
from sm_magics.widgets.gallery import ClusterGallery
(x_train, y_train), _, (x_test, y_test) = mnist_splits()
digits, labels = x_test[:{DIGITS}], y_test[:{DIGITS}]
kmeans = KMeans({K}, n_init=3, random_state=0).fit(digits)
clusters, distances = kmeans.labels_, kmeans.transform(digits).min(axis=1)
majority_count = sum(np.bincount(labels[clusters == c]).max() for c in range({K}) if (clusters == c).any())
print(f"expected overall purity {{majority_count / len(labels):.1%}}")
"""
GALLERY = f"ClusterGallery(digits, clusters, distances=distances, labels=labels, k={K}, cap=8, columns=8)"
CONFUSION = """\
from sklearn.linear_model import LogisticRegression
from sm_magics.widgets.confusion import ConfusionMatrix
model = LogisticRegression(max_iter=150).fit(x_train[:2000], y_train[:2000])
predicted = model.predict(x_test)
print(f"expected accuracy {np.mean(predicted == y_test):.4f}")
ConfusionMatrix(y_test, predicted)
"""
THRESHOLD = """\
zeros = LogisticRegression(max_iter=150).fit(x_train[:2000], y_train[:2000] == 0)
ConfusionMatrix((y_test == 0).astype(int), scores=zeros.predict_proba(x_test)[:, 1], threshold=0.5, labels=["not 0", "0"])
"""


def printed(index: int, page) -> str:
    return cell(page, index).locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stdout']").inner_text()


def check_gallery(gallery, expected_purity: str) -> None:
    """What a user sees in the gallery: the headline's figures, one panel (caption + picture) per cluster."""
    text = gallery.inner_text()
    headline = text.splitlines()[0]
    assert f"{K} clusters · {DIGITS} images · overall purity {expected_purity} · adjusted Rand index" in headline, headline
    captions = re.findall(r"Cluster (\d+) · (\d+) images · majority \d · purity \d+%", text)
    assert sorted(int(c) for c, _ in captions) == list(range(K)), text
    assert sum(int(n) for _, n in captions) == DIGITS
    assert wait_for_images(gallery) == K  # one montage per cluster, all loaded
    sizes = gallery.locator("img").evaluate_all("imgs => imgs.map(i => [i.naturalWidth, i.clientWidth, i.clientHeight])")
    assert all(natural > 0 and width > 50 and height > 20 for natural, width, height in sizes), sizes


@pytest.fixture(scope="module")
def lab(jupyter_server):
    return jupyter_server("lab")


def test_result_widgets_in_jupyterlab(lab, page):
    name = write_notebook(lab.root_dir, "results.ipynb", [SETUP, GALLERY, CONFUSION, THRESHOLD])
    open_notebook(page, lab, name, collapse_sidebar=True)
    run_all_cells(page)

    purity = re.search(r"expected overall purity (\S+%)", printed(0, page)).group(1)
    gallery = widget_in_cell(page, 1)
    check_gallery(gallery, purity)
    screenshot(gallery, "cluster_gallery")

    matrix = widget_in_cell(page, 2)
    accuracy = re.search(r"expected accuracy (\d\.\d{4})", printed(2, page)).group(1)
    text = wait_for_text(matrix, f"Accuracy {accuracy}")
    assert "predicted →" in text and "true ↓" in text
    tables = matrix.locator("table")
    assert tables.nth(0).locator("tr").count() == 2 + 10  # two header rows, one row per digit
    assert tables.nth(1).locator("tr").count() == 1 + 10  # precision / recall / F1 / support per digit
    screenshot(matrix, "confusion_matrix")

    binary = widget_in_cell(page, 3)
    wait_for_text(binary, "threshold 0.500")
    slider = binary.locator(".widget-slider")
    assert slider.is_visible()
    screenshot(binary, "confusion_matrix_threshold")
    # the slider is live: a value typed in its readout comes back from the kernel as a new matrix
    before = binary.locator("table").first.inner_text()
    readout = slider.locator(".widget-readout")
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("0.95")
    page.keyboard.press("Enter")
    wait_for_text(binary, "threshold 0.950")
    assert binary.locator("table").first.inner_text() != before


def delete_endpoint_cascade(sagemaker, name: str) -> None:
    """Endpoint, its config and its models, whatever of them is left (the engine is shared with other tests)."""
    from botocore.exceptions import ClientError

    try:
        config = sagemaker.describe_endpoint(EndpointName=name)["EndpointConfigName"]
        sagemaker.delete_endpoint(EndpointName=name)
        models = [v["ModelName"] for v in sagemaker.describe_endpoint_config(EndpointConfigName=config)["ProductionVariants"]]
        sagemaker.delete_endpoint_config(EndpointConfigName=config)
        for model in models:
            sagemaker.delete_model(ModelName=model)
    except ClientError:
        pass


def test_live_widgets_of_the_magics_in_jupyterlab(jupyter_server, engine, engine_clients, page):
    server = jupyter_server("lab", env={"SM_MAGICS_BACKEND": "local", "SM_MAGICS_LOCAL_DATA_DIR": str(engine.data_dir),
                                        "SAGEMAKER_SUPPRESS_V2_WARNING": "1"})
    name = write_notebook(server.root_dir, "magics.ipynb", [
        "%load_ext sm_magics\nfrom sm_magics.local.sample_data import mnist_splits\n"
        "(x, y), (vx, vy), (tx, ty) = mnist_splits()\nx = x[:1500]",
        "%%sm_train kmeans --as job\nk: 10\nepochs: 2\ntrain: x\ntest: vx",
        "%sm_deploy job --as predictor --ttl 2h",
        "%%sm_tune kmeans --objective test:msd --max-jobs 4 --max-parallel 2 --as tuner\n"
        "k: 10\nmini_batch_size: 100..1000 int\ninit_method: random|kmeans++\ntrain: x\ntest: vx",
        "print(job.name, predictor.name, tuner.name)",
    ])
    open_notebook(page, server, name, collapse_sidebar=True)
    run_all_cells(page)
    job_name, endpoint_name, tuner_name = printed(4, page).split()
    try:
        check_live_widgets(page, job_name, endpoint_name, tuner_name)
        with pytest.raises(engine_clients.sagemaker.exceptions.ClientError, match="Could not find endpoint"):
            engine_clients.sagemaker.describe_endpoint(EndpointName=endpoint_name)
    finally:
        delete_endpoint_cascade(engine_clients.sagemaker, endpoint_name)


def check_live_widgets(page, job_name: str, endpoint_name: str, tuner_name: str) -> None:
    job = widget_in_cell(page, 1)
    text = wait_for_text(job, re.compile(r"Completed\s"))
    assert job_name in text and "test:msd" in text and "model.tar.gz" in text, text
    # every phase the job went through, with how long each took (a job this small ends between two polls)
    assert re.search(r"Starting \([\d.]+ s\) → Downloading \([\d.]+ s\) → Training \([\d.]+ s\) → Uploading \([\d.]+ s\) → Completed", text), text
    assert job.locator("svg polyline").count() >= 1  # the metric's sparkline
    assert job.get_by_role("button", name="Stop").count() == 0 or not job.get_by_role("button", name="Stop").is_visible()  # nothing to stop once completed
    screenshot(job, "training_job")

    endpoint = widget_in_cell(page, 2)
    text = wait_for_text(endpoint, "InService")
    assert endpoint_name in text and re.search(r"\$\d+\.\d{3}/h", text) and "TTL" in text, text
    assert endpoint.get_by_role("button", name="Delete").is_enabled()
    screenshot(endpoint, "endpoint")

    tuner = widget_in_cell(page, 3)
    text = wait_for_text(tuner, re.compile(r"Completed\s.*Completed 4", re.S), timeout=90)
    assert tuner_name in text and "test:msd" in text, text
    rows = tuner.locator("table tr")
    assert rows.count() == 1 + 4, text  # header + one row per training job
    assert tuner.locator("tr[style*='dafbe1']").count() == 1  # the best job is highlighted
    screenshot(tuner, "tuning_job")

    # Delete asks first, then removes the endpoint, its config and its model; the view follows
    endpoint.get_by_role("button", name="Delete").click()
    wait_for_text(endpoint, "This deletes the endpoint, its endpoint config and its model.")
    endpoint.get_by_role("button", name="Yes, delete").click()
    wait_for_text(endpoint, re.compile(r"Deleted\s"))
    assert endpoint.get_by_role("button", name="Delete").is_disabled()


def test_gallery_in_notebook7(jupyter_server, page):
    server = jupyter_server("notebook")
    name = write_notebook(server.root_dir, "gallery.ipynb", [SETUP, GALLERY])
    open_notebook(page, server, name)
    assert "/notebooks/" in page.url and page.locator("#jp-NotebookPanel, .jp-NotebookPanel").count()
    run_all_cells(page)
    purity = re.search(r"expected overall purity (\S+%)", printed(0, page)).group(1)
    gallery = widget_in_cell(page, 1)
    check_gallery(gallery, purity)
    screenshot(gallery, "notebook7_cluster_gallery")


def test_a_blank_picture_is_caught(tmp_path, mnist):
    """The non-blank check itself: an empty framed box fails, so does a box with one word; a gallery passes."""
    from PIL import Image, ImageDraw

    from sm_magics.widgets.gallery import ClusterGallery

    box = Image.new("RGB", (800, 300), "white")
    ImageDraw.Draw(box).rectangle((0, 0, 799, 299), outline=(208, 215, 222))
    box.save(tmp_path / "frame.png")
    with pytest.raises(AssertionError, match="distinct colours"):
        assert_not_blank(tmp_path / "frame.png")
    ImageDraw.Draw(box).text((10, 10), "Loading widget...", fill="black")
    box.save(tmp_path / "loading.png")
    with pytest.raises(AssertionError):
        assert_not_blank(tmp_path / "loading.png")
    _, _, (x, y) = mnist
    (tmp_path / "gallery.png").write_bytes(ClusterGallery(x[:100], y[:100] % 4, labels=y[:100]).to_png())
    assert_not_blank(tmp_path / "gallery.png")
