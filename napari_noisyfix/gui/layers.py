"""The project's napari layers: named, created once and then updated in place.

2D images are shown as one stack (padded to the largest image) so napari's dims slider browses
them; slice ``i`` is image ``names[i]``.
"""

from __future__ import annotations

import numpy as np

NAMES = {
    "image": "image",
    "mask": "working mask",
    "proposal": "model proposal",
    "uncertainty": "uncertainty",
    "errors": "label-error map",
    "flags": "flagged regions",
    "outliers": "clustering outliers",
    "preview": "refine preview",
}
KIND_COLORS = {
    "missing": "#00e5ff",
    "spurious": "#ff5252",
    "too_wide": "#ffb300",
    "too_narrow": "#69f0ae",
    "shifted": "#e040fb",
    "outlier": "#ffffff",
}
DONE_COLOR = "#757575"
OPEN = ("pending", "skipped")
FLAG_FEATURES = ("id", "kind", "score", "status", "label")
CLASS_COLORS = ("#ffd54f", "#4fc3f7", "#aed581", "#f06292", "#ba68c8", "#ff8a65")
PROPOSAL_COLOR = "#00e5ff"
PREVIEW_COLOR = "#76ff03"
HEAT_OPACITY = 0.5
#: The label-error map lights up where the given label is more likely wrong than right.
ERROR_LIMITS = (0.5, 1.0)
FOCUS_CONTEXT = 4.0
MAX_FOCUS_ZOOM = 6.0


def stack(arrays: list[np.ndarray], shape: tuple[int, int], dtype=None) -> np.ndarray:
    """Stack 2D (or 2D + channels) arrays into one array padded with zeros to ``shape``."""
    first = np.asarray(arrays[0])
    out = np.zeros((len(arrays), *shape, *first.shape[2:]), dtype=dtype or first.dtype)
    for i, a in enumerate(arrays):
        out[i, : a.shape[0], : a.shape[1]] = a
    return out


def label_colormap(n_classes: int, color: str | None = None):
    """Class colours for a Labels layer: one colour per class, or ``color`` for every class."""
    from napari.utils.colormaps import DirectLabelColormap

    colors = {None: "transparent", 0: "transparent"}
    for cls in range(1, max(n_classes, 2)):
        colors[cls] = color or CLASS_COLORS[(cls - 1) % len(CLASS_COLORS)]
    return DirectLabelColormap(color_dict=colors)


def bbox_rectangle(index: int, bbox) -> np.ndarray:
    """Corners of a region's box on slice ``index`` (napari Shapes vertices, pixel edges)."""
    r0, c0, r1, c1 = (float(v) for v in bbox)
    r0, c0, r1, c1 = r0 - 0.5, c0 - 0.5, r1 - 0.5, c1 - 0.5
    return np.array([[index, r0, c0], [index, r0, c1], [index, r1, c1], [index, r1, c0]])


class ProjectLayers:
    """Creates and updates the review layers of one project in a viewer."""

    def __init__(self, viewer):
        self.viewer = viewer
        self.names: list[str] = []
        self.shapes: dict[str, tuple[int, int]] = {}
        self.n_classes = 2
        self._flagged: list = []
        self._all_flagged: list = []
        self._status: dict[str, str] = {}
        self._slice: int | None = None
        self._following = False
        self._preview_on = False

    # ------------------------------------------------------------------ helpers
    def layer(self, key: str):
        """The layer for ``key`` (see :data:`NAMES`), or None when it is not shown."""
        name = NAMES[key]
        return self.viewer.layers[name] if name in self.viewer.layers else None  # noqa: SIM401

    def _put(self, key: str, data, add, **kwargs):
        layer = self.layer(key)
        if layer is None:
            return add(data, name=NAMES[key], **kwargs)
        layer.data = data
        return layer

    @property
    def canvas_shape(self) -> tuple[int, int]:
        """Shape every image is padded to."""
        return tuple(int(max(s[i] for s in self.shapes.values())) for i in (0, 1))

    def index(self, name: str) -> int:
        """Slice index of an image."""
        return self.names.index(name)

    def current_name(self) -> str | None:
        """The image on the current slice."""
        if not self.names:
            return None
        step = int(self.viewer.dims.current_step[0])
        return self.names[min(max(step, 0), len(self.names) - 1)]

    # ------------------------------------------------------------------ project data
    def load_project(self, project) -> None:
        """Show the images and working masks of ``project`` (replacing a previous project)."""
        self.names = list(project.names)
        self.shapes = {n: tuple(project.entry(n)["shape"]) for n in self.names}
        images = [project.image(n) for n in self.names]
        dtype = images[0].dtype if len({a.dtype for a in images}) == 1 else np.float32
        rgb = images[0].ndim == 3
        if self.layer("image") is not None and self.layer("image").rgb != rgb:
            self.viewer.layers.remove(NAMES["image"])  # gray <-> RGB cannot change in place
        image = self._put(
            "image", stack(images, self.canvas_shape, dtype), self.viewer.add_image, rgb=rgb
        )
        if not rgb:
            image.reset_contrast_limits()
        masks = stack([project.mask(n) for n in self.names], self.canvas_shape, np.uint8)
        self.n_classes = project.n_classes
        self._put("mask", masks, self.viewer.add_labels, opacity=0.4)
        self.layer("mask").colormap = label_colormap(self.n_classes)
        self.viewer.reset_view()

    def score_steps(self, view) -> list:
        """Updates of the proposal, uncertainty and label-error layers from a ScoreView, one each."""
        heat = {"contrast_limits": (0, 1), "blending": "additive"}
        add_image = self.viewer.add_image
        return [
            lambda: self._proposal(view.proposal),
            lambda: self._put(
                "uncertainty",
                view.uncertainty,
                add_image,
                colormap="inferno",
                opacity=HEAT_OPACITY,
                visible=False,
                **heat,
            ),
            lambda: self._put(
                "errors",
                view.errors,
                add_image,
                colormap="red",
                opacity=HEAT_OPACITY,
                blending="additive",
                contrast_limits=ERROR_LIMITS,
            ),
            self.select_mask,
        ]

    def set_heat_opacity(self, value: float) -> None:
        """Opacity of the uncertainty and label-error heatmaps."""
        for key in ("uncertainty", "errors"):
            if self.layer(key) is not None:
                self.layer(key).opacity = value

    def _proposal(self, data: np.ndarray) -> None:
        self._put("proposal", data, self.viewer.add_labels, opacity=0.9)
        self._style_contours("proposal", PROPOSAL_COLOR, 1)

    def show_flags(self, regions: list, status: dict[str, str]) -> None:
        """Rectangles of the flagged (non-outlier) regions of the image on screen, with type and score.

        Only the current slice is drawn (napari builds every rectangle in Python): the layer is
        redrawn when the dims slider moves, so thousands of regions stay cheap.
        """
        self._all_flagged = [r for r in regions if r.kind != "outlier"]
        self._status = dict(status)
        if self.layer("flags") is None:
            self.viewer.add_shapes(
                ndim=3,
                name=NAMES["flags"],
                features={k: [] for k in FLAG_FEATURES},
                opacity=0.9,
                text={"string": "{label}", "color": "white", "size": 9, "anchor": "upper_left"},
            )
            self.viewer.dims.events.current_step.connect(self._on_step)
            self._following = True
        self._slice = None
        self._draw_flags()
        self.select_mask()

    def _on_step(self, event=None) -> None:
        if self.names and self._slice != self._current_index():
            self._draw_flags()

    def _current_index(self) -> int | None:
        name = self.current_name()
        return None if name is None else self.index(name)

    def _draw_flags(self) -> None:
        layer = self.layer("flags")
        if layer is None:
            return
        self._slice = self._current_index()
        self._flagged = [r for r in self._all_flagged if self.index(r.image) == self._slice]
        layer.data = [(bbox_rectangle(self._slice, r.bbox), "rectangle") for r in self._flagged]
        if self._flagged:
            layer.face_color = "transparent"
            layer.edge_width = 1.5
        self.update_status(self._status)

    def disconnect(self) -> None:
        """Stop following the dims slider (the widget is closing)."""
        if self._following:
            self.viewer.dims.events.current_step.disconnect(self._on_step)
            self._following = False

    def show_outliers(self, regions: list) -> None:
        """Clustering outliers as crosses at their region centres."""
        outliers = [r for r in regions if r.kind == "outlier"]
        points = [
            [self.index(r.image), (r.bbox[0] + r.bbox[2] - 1) / 2, (r.bbox[1] + r.bbox[3] - 1) / 2]
            for r in outliers
        ]
        data = np.array(points, dtype=float).reshape(-1, 3)
        size = max(3.0, min(self.canvas_shape) / 30)
        layer = self._put(
            "outliers", data, self.viewer.add_points, symbol="x", size=size, face_color="#ffffff"
        )
        layer.features = {
            "id": [r.id for r in outliers],
            "score": [float(r.score) for r in outliers],
        }
        self.select_mask()

    def update_status(self, status: dict[str, str]) -> None:
        """Recolour and relabel the flagged rectangles after review actions (no rebuild)."""
        self._status = dict(status)
        layer, flagged = self.layer("flags"), self._flagged
        states = [status.get(r.id, "pending") for r in flagged]
        layer.features = {
            "id": [r.id for r in flagged],
            "kind": [r.kind for r in flagged],
            "score": np.array([float(r.score) for r in flagged]),
            "status": states,
            "label": [
                f"{r.label} {r.score:.2f}" if s in OPEN else s
                for r, s in zip(flagged, states, strict=True)
            ],
        }
        if flagged:
            layer.edge_color = self._flag_colors(status)

    def _flag_colors(self, status: dict[str, str]) -> list[str]:
        return [
            KIND_COLORS[r.kind] if status.get(r.id, "pending") in OPEN else DONE_COLOR
            for r in self._flagged
        ]

    # ------------------------------------------------------------------ masks
    def mask_of(self, name: str) -> np.ndarray:
        """The working-mask layer's pixels of image ``name`` (copy, unpadded)."""
        h, w = self.shapes[name]
        return np.array(self.layer("mask").data[self.index(name), :h, :w])

    def write_mask(self, name: str, mask: np.ndarray, only: np.ndarray | None = None) -> int:
        """Write a saved mask into the layer as one undo step; returns pixels changed.

        With ``only`` (bool, image-shaped) just those pixels are written, so brush strokes not yet
        committed elsewhere on the image stay in the layer.
        """
        layer = self.layer("mask")
        differs = self.mask_of(name) != mask
        rows, cols = np.nonzero(differs if only is None else differs & only)
        if rows.size:
            index = (np.full(rows.size, self.index(name)), rows, cols)
            with layer.block_history():
                layer.data_setitem(index, mask[rows, cols])
        return int(rows.size)

    def show_preview(self, name: str | None, mask: np.ndarray | None) -> None:
        """Show a refined proposal (contours) on the image's slice; None clears it."""
        if name is None and not self._preview_on and self.layer("preview") is not None:
            return
        self._preview_on = name is not None
        data = np.zeros((len(self.names), *self.canvas_shape), np.uint8)
        if name is not None and mask is not None:
            h, w = self.shapes[name]
            data[self.index(name), :h, :w] = mask
        self._put("preview", data, self.viewer.add_labels, opacity=1.0)
        self._style_contours("preview", PREVIEW_COLOR, 2)
        self.select_mask()

    def _style_contours(self, key: str, color: str, width: int) -> None:
        layer = self.layer(key)
        layer.contour = width
        layer.colormap = label_colormap(self.n_classes, color)

    def select_mask(self) -> None:
        """Keep the working mask the active layer (brush, eraser and fill act on it)."""
        layer = self.layer("mask")
        if layer is not None:
            self.viewer.layers.selection.active = layer

    # ------------------------------------------------------------------ camera
    def focus(self, region) -> None:
        """Move the dims slider to the region's image and zoom the camera onto it."""
        self.viewer.dims.set_current_step(0, self.index(region.image))
        self.viewer.reset_view()
        whole = float(self.viewer.camera.zoom)
        r0, c0, r1, c1 = region.bbox
        h, w = self.canvas_shape
        span = FOCUS_CONTEXT * max(r1 - r0, c1 - c0, 8)
        self.viewer.camera.zoom = whole * min(max(min(h, w) / span, 1.0), MAX_FOCUS_ZOOM)
        self.viewer.camera.center = ((r0 + r1 - 1) / 2, (c0 + c1 - 1) / 2)
