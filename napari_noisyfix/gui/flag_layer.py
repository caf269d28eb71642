"""The flagged-regions Shapes layer: boxes of the slice on screen, restyled in place.

Only the current slice is drawn (napari builds every rectangle in Python): the layer is redrawn
when the dims slider moves, so thousands of regions stay cheap. Edge widths are kept constant on
screen (napari draws them in data units), so the current region's thick box stays thick but never
swallows a small object when the camera zooms in.
"""

from __future__ import annotations

import numpy as np

from .flags import flag_style
from .style import CURRENT_WIDTH, NAMES

FLAG_FEATURES = ("id", "kind", "score", "status", "label")
TEXT = {"string": "{label}", "color": "white", "size": 9, "anchor": "upper_left"}


def bbox_rectangle(index: int, bbox) -> np.ndarray:
    """Corners of a region's box on slice ``index`` (napari Shapes vertices, pixel edges)."""
    r0, c0, r1, c1 = (float(v) for v in bbox)
    r0, c0, r1, c1 = r0 - 0.5, c0 - 0.5, r1 - 0.5, c1 - 0.5
    return np.array([[index, r0, c0], [index, r0, c1], [index, r1, c1], [index, r1, c0]])


class FlagLayer:
    """Draws the flagged (non-outlier) regions of the slice on screen for a :class:`ProjectLayers`.

    Parameters
    ----------
    owner : ProjectLayers
        Gives the viewer, the slice of each image and the canvas shape.
    """

    def __init__(self, owner):
        self.owner, self.viewer = owner, owner.viewer
        self.flagged: list = []
        self._all: list = []
        self._status: dict[str, str] = {}
        self._current: str | None = None
        self._widths: list[float] = []
        self._slice: int | None = None
        self._following = False

    @property
    def layer(self):
        """The napari Shapes layer, or None before the first :meth:`show`."""
        return self.owner.layer("flags")

    def show(self, regions: list, status: dict[str, str], current: str | None = None) -> None:
        """Boxes of ``regions`` (outliers left out); ``current`` is the id under review."""
        self._all = [r for r in regions if r.kind != "outlier"]
        self._status, self._current = dict(status), current
        if self.layer is None:
            features = {k: [] for k in FLAG_FEATURES}
            self.viewer.add_shapes(
                ndim=3, name=NAMES["flags"], features=features, opacity=0.9, text=TEXT
            )
        if not self._following:
            self.viewer.dims.events.current_step.connect(self._on_step)
            self.viewer.camera.events.zoom.connect(self._on_zoom)
            self._following = True
        self._slice = None
        self._draw()

    def _on_step(self, event=None) -> None:
        if self.owner.names and self._slice != self._current_index():
            self._draw()

    def _current_index(self) -> int | None:
        name = self.owner.current_name()
        return None if name is None else self.owner.index(name)

    def _draw(self) -> None:
        layer = self.layer
        if layer is None:
            return
        self._slice = self._current_index()
        index = self.owner.index
        self.flagged = [r for r in self._all if index(r.image) == self._slice]
        layer.data = [(bbox_rectangle(self._slice, r.bbox), "rectangle") for r in self.flagged]
        if self.flagged:
            layer.face_color = "transparent"
        self.update(self._status, self._current)

    def update(self, status: dict[str, str], current: str | None = None) -> None:
        """Restyle and relabel the boxes after review actions or moves (no rebuild)."""
        self._status, self._current = dict(status), current
        layer, flagged = self.layer, self.flagged
        canvas, colors = self.owner.canvas_shape, self.owner.palette.kinds
        zoom = float(self.viewer.camera.zoom) or 1.0
        style = flag_style(flagged, self._status, current, canvas, colors, zoom)
        layer.features = {
            "id": [r.id for r in flagged],
            "kind": [r.kind for r in flagged],
            "score": np.array([float(r.score) for r in flagged]),
            "status": [self._status.get(r.id, "pending") for r in flagged],
            "label": style.label,
        }
        self._widths = style.edge_width
        if flagged:
            layer.edge_color = style.edge_color
            layer.z_index = style.z_index
        self._zoomed(zoom)

    def _on_zoom(self, event=None) -> None:
        """Labels re-placed for their new size (they keep clear of each other and of the image
        edges at any zoom), edge widths kept in screen pixels."""
        if self.layer is not None:
            self.update(self._status, self._current)

    def _zoomed(self, zoom: float) -> None:
        """Edge widths (and the labels' lift off the box) in screen pixels at ``zoom``."""
        layer = self.layer
        if self._widths and len(self._widths) == layer.nshapes:
            layer.edge_width = [w / zoom for w in self._widths]
        layer.text.translation = np.array([0.0, -CURRENT_WIDTH / zoom, 0.0])

    def disconnect(self) -> None:
        """Stop following the dims slider and the camera (the widget is closing)."""
        if self._following:
            self.viewer.dims.events.current_step.disconnect(self._on_step)
            self.viewer.camera.events.zoom.disconnect(self._on_zoom)
            self._following = False

    def reset(self) -> None:
        """Forget every region and stop following (another project is about to be shown); the
        next :meth:`show` makes a new layer."""
        self.disconnect()
        self.flagged, self._all, self._status, self._widths = [], [], {}, []
        self._current = self._slice = None
