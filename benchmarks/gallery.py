"""Benchmark: the cluster gallery against the tutorial's one-subplot-per-digit figures.

1. 250 real MNIST test digits in 10 k-means clusters, time to rendered PNG(s):
   - ``ClusterGallery`` (every digit shown: ``cap=None``): one montage PNG per cluster,
     then the static fallback (all clusters in one PNG);
   - the pattern of the SageMaker k-means MNIST tutorial: per cluster, a matplotlib
     figure with ``plt.subplots(rows, 5)``, ``imshow`` of each digit, ``savefig`` to PNG.
2. 10 000 digits (the 5 000 digits of the dataset and the same shifted one pixel
   right): time and peak traced memory (tracemalloc) of the gallery with the default
   cap of 30 a cluster and with all 10 000 drawn.

    python benchmarks/gallery.py                  # full run
    python benchmarks/gallery.py --repeat 3 --tutorial-repeat 1   # quicker
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402

from sm_magics.local.sample_data import mnist_splits  # noqa: E402
from sm_magics.widgets.gallery import ClusterGallery  # noqa: E402


def timed(fn: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    times, out = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return times, out


def tutorial_pngs(images: np.ndarray, clusters: np.ndarray, k: int) -> list[bytes]:
    """The tutorial's way: one figure per cluster, one subplot per digit, saved as PNG."""
    pngs = []
    for cluster in range(k):
        digits = [img for c, img in zip(clusters, images) if int(c) == cluster]
        width = 5
        height = (len(digits) - 1) // width + 1
        plt.rcParams["figure.figsize"] = (width, height)
        fig, subplots = plt.subplots(height, width)
        subplots = np.ndarray.flatten(np.atleast_1d(subplots))
        for subplot, image in zip(subplots, digits):
            subplot.axis("off")
            subplot.imshow(image.reshape((28, 28)), cmap="gray")
        for subplot in subplots[len(digits):]:
            subplot.axis("off")
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        plt.close(fig)
        pngs.append(buffer.getvalue())
    return pngs


def widget_pngs(gallery: ClusterGallery) -> list[int]:
    """Sizes of the PNGs the widget view carries (one per cluster)."""
    import base64
    import re

    return [len(base64.b64decode(re.search(r"base64,([^']+)", p.value).group(1))) for p in gallery._picture]


def peak_memory(fn: Callable[[], Any]) -> tuple[float, Any]:
    tracemalloc.start()
    tracemalloc.reset_peak()
    out = fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs of each gallery measurement")
    parser.add_argument("--tutorial-repeat", type=int, default=3, help="runs of the matplotlib pattern (slow)")
    args = parser.parse_args(argv)

    (x_train, y_train), (x_valid, y_valid), (x_test, y_test) = mnist_splits()
    model = KMeans(10, n_init=1, random_state=0).fit(x_train[:2000])
    print(f"numpy {np.__version__}, matplotlib {matplotlib.__version__}, {os.cpu_count()} CPUs; "
          f"k-means (k=10) fitted on 2000 MNIST training digits")

    # --- 1. 250 digits -----------------------------------------------------------------
    x, y = x_test[:250], y_test[:250]
    answer = {"closest_cluster": model.predict(x), "distance_to_cluster": model.transform(x).min(axis=1)}
    sizes = np.bincount(answer["closest_cluster"], minlength=10)

    def ours() -> ClusterGallery:
        return ClusterGallery(x, answer, labels=y, cap=None)

    def ours_static() -> bytes:
        return ours().to_png()

    # first calls pay one-time imports (PIL, the font, sklearn.metrics / pyplot's figure machinery); timed runs are warm
    (ours_cold,), _ = timed(ours, 1)
    build, gallery = timed(ours, args.repeat)
    static, png = timed(ours_static, args.repeat)
    (theirs_cold,), _ = timed(lambda: tutorial_pngs(x[:5], answer["closest_cluster"][:5], 1), 1)
    theirs, their_pngs = timed(lambda: tutorial_pngs(x, answer["closest_cluster"], 10), args.tutorial_repeat)

    base = statistics.median(theirs)
    print(f"\n250 digits, 10 clusters (sizes {sizes.tolist()}), every digit drawn; time to rendered PNG(s)")
    print(f"{'':<58}{'runs':>5}{'median s':>11}{'min s':>9}{'PNG bytes':>11}{'x faster':>10}")
    rows = [
        ("ClusterGallery: widget, one montage PNG per cluster", build, sum(widget_pngs(gallery))),
        ("ClusterGallery + to_png(): all clusters in one PNG", static, len(png)),
        ("tutorial: plt.subplots per cluster, imshow per digit", theirs, sum(map(len, their_pngs))),
    ]
    for name, times, size in rows:
        median = statistics.median(times)
        print(f"{name:<58}{len(times):>5}{median:>11.4f}{min(times):>9.4f}{size:>11}{base / median:>10.1f}")
    print(f"first calls, one-time imports included: ClusterGallery {ours_cold:.3f} s, tutorial (one 5-digit figure) {theirs_cold:.3f} s")
    print(f"model: sizes, order, majority, purity, overall purity {gallery.overall_purity:.3f}, ARI {gallery.ari:.3f}")

    # --- 2. 10 000 digits ---------------------------------------------------------------
    five_thousand = np.concatenate([x_train, x_valid, x_test])
    labels_5k = np.concatenate([y_train, y_valid, y_test])
    shifted = np.roll(five_thousand.reshape(-1, 28, 28), 1, axis=2).reshape(-1, 784)
    big_x = np.ascontiguousarray(np.concatenate([five_thousand, shifted]))
    big_y = np.concatenate([labels_5k, labels_5k])
    big_answer = {"closest_cluster": model.predict(big_x), "distance_to_cluster": model.transform(big_x).min(axis=1)}
    print(f"\n{len(big_x)} digits, 10 clusters (input {big_x.nbytes / 1e6:.1f} MB float32, not counted in the peaks)")
    print(f"{'':<44}{'runs':>5}{'median s':>11}{'min s':>9}{'peak MB':>9}{'sent KB':>9}")
    for title, cap in (("cap 30 (default): 300 digits drawn", 30), ("cap None: all 10 000 drawn", None)):
        def make(cap: int | None = cap) -> ClusterGallery:
            return ClusterGallery(big_x, big_answer, labels=big_y, cap=cap)

        make()
        times, big = timed(make, args.repeat if cap else max(3, args.repeat // 3))
        peak, big = peak_memory(make)
        state = json.dumps(big.get_state(["sizes", "order", "majority", "purity", "differ", "shown"]))
        sent = (sum(widget_pngs(big)) * 4 / 3 + len(state)) / 1e3
        print(f"{'  ' + title:<44}{len(times):>5}{statistics.median(times):>11.4f}{min(times):>9.4f}{peak:>9.1f}{sent:>9.0f}")
        static_times, static_png = timed(big.to_png, 3)
        static_peak, _ = peak_memory(big.to_png)
        print(f"{'    + to_png() (' + format(len(static_png) // 1000) + ' KB)':<44}{len(static_times):>5}"
              f"{statistics.median(static_times):>11.4f}{min(static_times):>9.4f}{static_peak:>9.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
