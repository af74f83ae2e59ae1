"""The cluster gallery: what a k-means model put in each cluster, one image per cluster.

From images and cluster assignments (an array, the dict ``Endpoint.predict()`` answers
for k-means, or a batch transform's JSON Lines / JSON / CSV output) it shows one
panel per cluster with its size and its images, most typical first when distances
are known. Given the true labels it adds each cluster's majority label and purity,
frames in red the images that disagree with the majority, and gives the overall
purity and adjusted Rand index.

The model is a few traits (``sizes``, ``order``, ``majority``, ``purity``, ``differ``,
``shown``, ``overall_purity``, ``ari``), computed in numpy before they are set; each
cluster's view is one PNG tiled by :mod:`.montage`. Where no widget can show, the same
panels come out as one PNG and the figures as text.

    >>> answer = endpoint.predict(x_test)       # {"closest_cluster": ..., "distance_to_cluster": ...}
    >>> ClusterGallery(x_test, answer, labels=y_test, k=10)
"""

from __future__ import annotations

import base64
import html
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import ipywidgets as w
import numpy as np
from traitlets import Enum, Float, Int, List, TraitError, observe, validate

from ..i18n import _
from . import montage as mt
from .confusion import as_labels
from .i18n import Localized, resolve_language, translate
from .snapshot import StaticRendering, png_base64

LAYOUTS = ("overview", "tabs")


# ----------------------------------------------------------------------------- inputs


def _records_of(text: str) -> dict[str, np.ndarray]:
    """Columns of a k-means answer as text: JSON Lines, JSON documents one after another, or CSV."""
    body = text.strip()
    if not body:
        raise ValueError(_("the predictions text is empty"))
    if body[0] not in "{[":
        try:
            table = np.array([line.split(",") for line in body.splitlines() if line.strip()], dtype=np.float64)
        except ValueError as exc:
            raise ValueError(_("the predictions are neither JSON Lines nor CSV of numbers ({error})").format(error=exc)) from exc
        if table.ndim != 2 or table.shape[1] not in (1, 2):
            raise ValueError(_("CSV predictions need one or two columns: {columns}").format(columns="closest_cluster[, distance_to_cluster]"))
        columns = {"closest_cluster": table[:, 0]}
        if table.shape[1] == 2:
            columns["distance_to_cluster"] = table[:, 1]
        return columns
    decoder, records, at = json.JSONDecoder(), [], 0
    while at < len(body):
        try:
            document, at = decoder.raw_decode(body, at)
        except json.JSONDecodeError as exc:
            raise ValueError(_("the predictions are not JSON Lines: {error} at line {line} column {column}").format(
                error=exc.msg, line=exc.lineno, column=exc.colno)) from exc
        if isinstance(document, Mapping) and "predictions" in document:
            records.extend(document["predictions"])
        elif isinstance(document, list):
            records.extend(document)
        else:
            records.append(document)
        while at < len(body) and body[at].isspace():
            at += 1
    if not all(isinstance(r, Mapping) for r in records):
        raise ValueError(_("each JSON prediction must be an object such as {example}").format(
            example='{"closest_cluster": 3, "distance_to_cluster": 5.2}'))
    keys = {key for record in records for key in record}
    return {key: np.asarray([record.get(key, np.nan) for record in records], dtype=np.float64) for key in keys}


def cluster_assignments(source: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """(cluster ids, distances or None) from any form a k-means answer takes.

    ``source``: cluster ids (array-like); a dict with ``closest_cluster`` (and
    optionally ``distance_to_cluster``), as ``Endpoint.predict()`` answers; the text
    (str or bytes) of a batch transform's output (JSON Lines, JSON, or CSV); or the
    path (``pathlib.Path``) of such a file. Ids must be whole numbers >= 0.
    """
    if isinstance(source, os.PathLike):
        source = Path(source).read_bytes()
    if isinstance(source, (bytes, bytearray)):
        source = bytes(source).decode("utf-8")
    if isinstance(source, str):
        source = _records_of(source)
    distances = None
    if isinstance(source, Mapping):
        if "closest_cluster" not in source:
            raise ValueError(_("the predictions hold no 'closest_cluster' (keys: {keys}); is this a k-means answer?").format(
                keys=", ".join(map(str, source)) or _("none")))
        distances = source.get("distance_to_cluster")
        source = source["closest_cluster"]
    ids = np.asarray(source)
    if ids.ndim == 2 and ids.shape[1] == 1:
        ids = ids[:, 0]
    if ids.ndim != 1:
        raise ValueError(_("cluster ids must be one per image (1-D); got shape {shape}").format(shape=ids.shape))
    if ids.dtype == bool or not np.issubdtype(ids.dtype, np.number):
        raise ValueError(_("cluster ids must be whole numbers, not {dtype}").format(dtype=ids.dtype))
    if np.issubdtype(ids.dtype, np.floating):
        if not np.isfinite(ids).all():
            raise ValueError(_("cluster ids must be whole numbers; found NaN or infinity at index {index}").format(
                index=int(np.flatnonzero(~np.isfinite(ids))[0])))
        fraction = ids != np.round(ids)
        if fraction.any():
            at = int(np.flatnonzero(fraction)[0])
            raise ValueError(_("cluster ids must be whole numbers; found {value} at index {index}").format(value=ids[at], index=at))
    ids = ids.astype(np.int64)
    if len(ids) and ids.min() < 0:
        at = int(np.flatnonzero(ids < 0)[0])
        raise ValueError(_("cluster ids must be >= 0; found {value} at index {index}").format(value=ids[at], index=at))
    if distances is not None:
        distances = np.asarray(distances, dtype=np.float64).reshape(-1) if np.ndim(distances) else None
    return ids, distances


# ----------------------------------------------------------------------------- the widget


class ClusterGallery(StaticRendering, Localized, w.VBox):
    """One panel per cluster: its size, its images (one PNG) and, with true labels, its
    majority label and purity; images that disagree with the majority get a red frame.

    ``images``: (N, pixels), (N, height, width) or (N, height, width, 3); flat rows need
    ``image_shape`` unless square (784 -> 28 x 28). ``clusters``: ids, a k-means
    prediction dict, batch-transform output text / bytes, or a ``pathlib.Path`` to it
    (see :func:`cluster_assignments`). ``distances``: distance of each image to its
    centre (taken from the prediction dict when it has them); each cluster then shows
    its most typical images first. ``labels``: true labels, optional. ``k``: how many
    clusters exist (default: the highest id + 1), so clusters nothing fell into show
    as empty. ``cap``: images shown per cluster before "show more" (None: all).
    ``columns``: images per row. ``layout``: "overview" (all clusters in a grid) or
    "tabs". ``zoom``: on-screen enlargement. ``invert``: draw grey images dark on
    white. ``language``: "en", "fr", "zh_TW" (default: from ``LANG``).
    """

    k = Int(0).tag(sync=True)
    sizes = List().tag(sync=True)  # images per cluster
    order = List().tag(sync=True)  # per cluster: image indices, most typical first
    majority = List().tag(sync=True)  # per cluster: most common true label (None: empty, or no labels)
    purity = List().tag(sync=True)  # per cluster: share of the majority label (None: empty, or no labels)
    differ = List().tag(sync=True)  # per cluster: images whose label is not the majority's
    shown = List().tag(sync=True)  # per cluster: images drawn now
    overall_purity = Float(None, allow_none=True).tag(sync=True)
    ari = Float(None, allow_none=True).tag(sync=True)  # adjusted Rand index of clusters vs labels
    cap = Int(30, allow_none=True).tag(sync=True)
    layout_mode = Enum(LAYOUTS, default_value="overview").tag(sync=True)

    def __init__(
        self,
        images: Any,
        clusters: Any,
        *,
        distances: Any = None,
        labels: Sequence[Any] | np.ndarray | None = None,
        k: int | None = None,
        image_shape: Sequence[int] | None = None,
        cap: int | None = 30,
        columns: int = 10,
        layout: str = "overview",
        zoom: int = 2,
        invert: bool = True,
        language: str | None = None,
    ) -> None:
        if layout not in LAYOUTS:
            raise ValueError(_("layout must be {choices}, not {value}").format(choices="'overview'" + _(" or ") + "'tabs'", value=repr(layout)))
        if cap is not None and cap < 1:
            raise ValueError(_("cap must be >= 1 (or None for all images), not {value}").format(value=cap))
        for name, value in (("columns", columns), ("zoom", zoom)):
            if int(value) != value or value < 1:
                raise ValueError(_("{name} must be a whole number >= 1, not {value}").format(name=name, value=value))
        pixels = mt.as_images(images, image_shape)
        count = len(pixels)
        ids, given = cluster_assignments(clusters)
        if len(ids) != count:
            raise ValueError(_("{n} images but {m} cluster ids; give one per image").format(n=count, m=len(ids)))
        distances = given if distances is None else np.asarray(distances, dtype=np.float64)
        if distances is not None:
            if distances.shape != (count,):
                raise ValueError(_("distances: {n} values (shape {shape}) for {m} images; give one per image").format(
                    n=distances.size, shape=distances.shape, m=count))
            if np.isnan(distances).any():
                raise ValueError(_("distances contain NaN (at index {index})").format(index=int(np.flatnonzero(np.isnan(distances))[0])))
        highest = int(ids.max())
        if k is None:
            k = highest + 1
        elif int(k) != k or k < 1:
            raise ValueError(_("k must be a whole number >= 1, not {value}").format(value=k))
        elif highest >= k:
            raise ValueError(_("cluster id {id} is out of range for k={k} (ids run 0..{last})").format(id=highest, k=k, last=k - 1))
        k = int(k)
        truth = None if labels is None else as_labels(labels, "labels")
        if truth is not None and truth.shape != (count,):
            raise ValueError(_("labels: {n} values (shape {shape}) for {m} images; give one per image").format(n=truth.size, shape=truth.shape, m=count))

        self._pixels, self._scale, self._invert = pixels, mt.Scale.of(pixels), invert
        self._columns, self._zoom = int(columns), int(zoom)
        sizes = np.bincount(ids, minlength=k)
        # one sort for all clusters: by cluster, then by distance (stable: ties keep input order)
        ordered = np.lexsort((distances, ids)) if distances is not None else np.argsort(ids, kind="stable")
        self._members = np.split(ordered, np.cumsum(sizes)[:-1])
        self._marked: np.ndarray | None = None  # per image: its label is not its cluster's majority
        model: dict[str, Any] = {"majority": [None] * k, "purity": [None] * k, "differ": [None] * k,
                                 "overall_purity": None, "ari": None}
        if truth is not None:
            model.update(self._label_figures(ids, truth, sizes))

        self._caption: list[w.HTML] = []
        self._picture: list[w.HTML] = []
        self._more: list[w.Button] = []
        for cluster in range(k):
            self._caption.append(w.HTML())
            self._picture.append(w.HTML())
            button = w.Button(icon="plus", layout=w.Layout(width="auto"))
            button.on_click(lambda _, c=cluster: self.show_more(c))
            self._more.append(button)
        self._panels = [w.VBox([c, p, b], layout=w.Layout(border="1px solid #d0d7de", padding="4px", margin="0 8px 8px 0",
                                                           align_items="flex-start"))
                        for c, p, b in zip(self._caption, self._picture, self._more)]
        self._header = w.HTML()
        self._rendered: dict[int, int] = {}
        self._pictures: dict[int, mt.Picture] = {}
        super().__init__([self._header], layout=w.Layout(border="1px solid #d0d7de", padding="6px", width="100%"))
        with self.hold_sync():
            self.language = resolve_language(language)
            self.k = k
            self.sizes = sizes.tolist()
            self.order = [m.tolist() for m in self._members]
            for name, value in model.items():
                setattr(self, name, value)
            self.cap = cap
            self.layout_mode = layout
            self.shown = [int(s) if cap is None else int(min(s, cap)) for s in sizes]
        self._arrange()
        self._render_all()

    def _label_figures(self, ids: np.ndarray, truth: np.ndarray, sizes: np.ndarray) -> dict[str, Any]:
        from sklearn.metrics import adjusted_rand_score

        try:
            values, codes = np.unique(truth, return_inverse=True)
        except TypeError as exc:
            raise ValueError(_("labels must be of one kind that sorts (all numbers or all strings): {error}").format(error=exc)) from exc
        codes = codes.reshape(-1)
        k, kinds = len(sizes), len(values)
        counts = np.bincount(ids * kinds + codes, minlength=k * kinds).reshape(k, kinds)
        top = counts.argmax(axis=1)  # ties: the smallest label
        top_count = counts.max(axis=1)
        self._marked = codes != top[ids]
        filled = sizes > 0
        return {
            "majority": [values[t].item() if f else None for t, f in zip(top, filled)],
            "purity": [float(c / s) if s else None for c, s in zip(top_count, sizes)],
            "differ": [int(s - c) if s else None for c, s in zip(top_count, sizes)],
            "overall_purity": float(top_count.sum() / len(ids)),
            "ari": float(adjusted_rand_score(truth, ids)),
        }

    # ------------------------------------------------------------------ model

    def show_more(self, cluster: int) -> None:
        """Show ``cap`` more images of ``cluster`` (all of them where the cap is None)."""
        shown = list(self.shown)
        step = self.cap or self.sizes[cluster]
        shown[cluster] = min(self.sizes[cluster], shown[cluster] + step)
        self.shown = shown

    def picture(self, cluster: int) -> mt.Picture:
        """The montage of ``cluster`` as drawn now (``shown[cluster]`` images), tiled row by row."""
        shown = self.shown[cluster]
        if self._rendered.get(cluster) != shown:
            members = self._members[cluster][:shown]
            tiles = mt.to_levels(self._pixels[members], self._scale, invert=self._invert)
            marked = None if self._marked is None else self._marked[members]
            self._pictures[cluster] = mt.montage(tiles, self._columns, marked=marked)
            self._rendered[cluster] = shown
        return self._pictures[cluster]

    @validate("shown")
    def _check_shown(self, proposal: Any) -> list[int]:
        shown = [int(s) for s in proposal["value"]]
        if len(shown) != len(self.sizes) or any(not 0 <= s <= n for s, n in zip(shown, self.sizes)):
            raise TraitError(_("shown must give 0..size images for each of the {k} clusters").format(k=len(self.sizes)))
        return shown

    @observe("shown")
    def _on_shown(self, change: Any) -> None:
        if not self._panels or change["old"] is None or len(change["old"]) != len(change["new"]):
            return
        for cluster, (old, new) in enumerate(zip(change["old"], change["new"])):
            if old != new:
                self._render_cluster(cluster)
        self.publish_static()

    @observe("language")
    def _on_language(self, change: Any) -> None:
        if getattr(self, "_panels", None) and self.sizes:
            self._render_all()

    @observe("layout_mode")
    def _on_layout(self, change: Any) -> None:
        if getattr(self, "_panels", None) and self.sizes:
            self._arrange()

    # ------------------------------------------------------------------ views (read the traits, draw)

    def _t(self, key: str, language: str | None = None, **values: Any) -> str:
        return translate(key, language or self.language, **values)

    def _arrange(self) -> None:
        if self.layout_mode == "tabs":
            body: w.Widget = w.Tab(children=self._panels, titles=[f"{c} ({n})" for c, n in enumerate(self.sizes)])
        else:
            body = w.Box(self._panels, layout=w.Layout(display="flex", flex_flow="row wrap", align_items="flex-start"))
        old = self.children[1:]
        self.children = [self._header, body]
        for container in old:
            container.close()  # the panels live on in the new container

    def _headline(self, language: str | None = None) -> str:
        t = lambda key, **values: self._t(key, language, **values)  # noqa: E731
        parts = [t("clusters", k=self.k), t("images", n=sum(self.sizes))]
        if self.overall_purity is not None:
            parts.append(t("overall_purity", value=f"{self.overall_purity:.1%}"))
        if self.ari is not None:
            parts.append(t("ari", value=f"{self.ari:.3f}"))
        return " · ".join(parts)

    def _cluster_line(self, cluster: int) -> str:
        size = self.sizes[cluster]
        parts = [self._t("cluster", cluster=cluster)]
        if not size:
            return " · ".join(parts + [self._t("empty")])
        parts.append(self._t("images", n=size))
        if self.majority[cluster] is not None:
            parts.append(self._t("majority", label=self.majority[cluster]))
            parts.append(self._t("purity", value=f"{self.purity[cluster]:.0%}"))
            if self.differ[cluster]:
                parts.append(self._t("differ", n=self.differ[cluster]))
        return " · ".join(parts)

    def _render_all(self) -> None:
        self._header.value = f"<b>{html.escape(self._headline())}</b>"
        for cluster in range(self.k):
            self._render_cluster(cluster)
        self.publish_static()

    STATIC_FOOTER = False  # a result, true whenever it is read
    STATIC_EAGER = False  # one PNG of every panel: drawn once the gallery is on screen

    def static_key(self) -> str:
        return f"{self.shown} {self.language} {self.layout_mode}"

    def static_data(self) -> dict[str, str]:
        """The panels as drawn now, as one PNG (a saved notebook's fallback), and the figures as text."""
        return {"image/png": png_base64(self.to_png()), "text/plain": self.summary()}

    def _render_cluster(self, cluster: int) -> None:
        size, shown = self.sizes[cluster], self.shown[cluster]
        line = html.escape(self._cluster_line(cluster))
        more = f" <span style='color:#57606a'>({html.escape(self._t('showing', shown=shown, n=size))})</span>" if shown < size else ""
        picture = self.picture(cluster)
        width = picture.width * self._zoom
        self._caption[cluster].value = f"<div style='font-size:90%;line-height:1.45;max-width:{max(width, 160)}px'>{line}{more}</div>"
        data = base64.b64encode(picture.png(compress_level=1)).decode("ascii")
        self._picture[cluster].value = (
            f"<img src='data:image/png;base64,{data}' width='{width}' height='{picture.height * self._zoom}' alt='{line}' "
            f"style='image-rendering:pixelated;max-width:100%;height:auto'/>")
        button = self._more[cluster]
        button.description = self._t("show_more", n=min(self.cap or size, size - shown))
        button.layout.display = "" if shown < size else "none"

    def summary(self) -> str:
        """The figures as text: a headline, then one line per cluster."""
        return "\n".join([self._headline()] + [self._cluster_line(c) for c in range(self.k)])

    def to_png(self, compress_level: int = 6) -> bytes:
        """Every cluster's panel (caption above its montage, as drawn now) in one PNG."""
        panels = [(mt.caption(mt.latin(self._png_caption(c), self._png_caption(c, "en")), 1), self.picture(c).pixels)
                  for c in range(self.k)]
        head = mt.caption(mt.latin(self._headline(), self._headline("en")), 1, size=13)
        return mt.compose(panels, zoom=self._zoom, head=head).png(compress_level)

    def _png_caption(self, cluster: int, language: str | None = None) -> str:
        size = self.sizes[cluster]
        text = f"{self._t('cluster', language, cluster=cluster)}: n={size}"
        if not size:
            return f"{text} ({self._t('empty', language)})"
        if self.majority[cluster] is not None:
            text += f" · {self.majority[cluster]} {self.purity[cluster]:.0%}"
        if self.shown[cluster] < size:
            text += f" · {self.shown[cluster]}/{size}"
        return text

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        """The live widget where a widget front end runs; a PNG of the panels and the figures as text everywhere."""
        from .common import widgets_available

        bundle = (super()._repr_mimebundle_(**kwargs) or {}) if widgets_available() else {}
        bundle.update({"text/plain": self.summary(), "image/png": self.to_png()})
        return bundle
