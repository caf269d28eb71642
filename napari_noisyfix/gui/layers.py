"""The project's napari layers: named, created once and then updated in place.

2D images are shown as one stack (padded to the largest image) so napari's dims slider browses
them; slice ``i`` is image ``names[i]``. Every stack is a :class:`~.lazy_stack.LazyStack`: an
image, mask or overlay is read when its slice is shown, so a project of 10,000 images opens
without reading them.
"""

from __future__ import annotations

import numpy as np

from .flag_layer import FlagLayer
from .lazy_stack import LazyStack
from .style import (
    CLASS_COLORS,
    CONTOUR_WIDTH,
    DEFAULT_PALETTE,
    NAMES,
    OUTLIER_COLOR,
    PREVIEW_COLOR,
    error_colormap,
    palette_for,
)

HEAT_OPACITY = 0.5
#: The label-error map lights up where the given label is more likely wrong than right.
ERROR_LIMITS = (0.5, 1.0)
FOCUS_CONTEXT = 4.0
MAX_FOCUS_ZOOM = 6.0
#: Images read to choose the palette, spread over the project (its dominant hue, not every pixel).
PALETTE_SAMPLE = 16


def canvas_of(shapes) -> tuple[int, int]:
    """The shape every image is padded to: the largest height and width."""
    shapes = list(shapes)
    return tuple(int(max(s[i] for s in shapes)) for i in (0, 1))


def project_stacks(project, canvas: tuple[int, int]) -> tuple[LazyStack, LazyStack]:
    """The images and the working masks (an instance project's object ids) of ``project`` as
    stacks padded to ``canvas``; the masks can be painted. The image stack keeps the images'
    dtype when they share one (read from the files' headers), else float32."""
    names = project.names
    first = project.image(names[0])
    same = all(project.image_dtype(n) == first.dtype for n in names)
    dtype = first.dtype if same else np.float32
    images = LazyStack(names, canvas, project.image, dtype, first.shape[2:])
    masks = LazyStack(
        names, canvas, project.labels, np.uint16 if project.is_instance else np.uint8, editable=True
    )
    return images, masks


def spread(names: list[str], k: int) -> list[str]:
    """Up to ``k`` of ``names``, evenly spread (all of them when there are no more)."""
    if len(names) <= k:
        return list(names)
    return [names[i] for i in np.linspace(0, len(names) - 1, k).round().astype(int)]


def label_colormap(n_classes: int, color: str | None = None, instance: bool = False):
    """Class colours for a Labels layer: one colour per class, or ``color`` for every class
    (every object id of an instance project)."""
    from napari.utils.colormaps import DirectLabelColormap

    colors = {None: color if instance and color else "transparent", 0: "transparent"}
    for cls in range(1, max(n_classes, 2)):
        colors[cls] = color or CLASS_COLORS[(cls - 1) % len(CLASS_COLORS)]
    return DirectLabelColormap(color_dict=colors)


class ProjectLayers:
    """Creates and updates the review layers of one project in a viewer."""

    def __init__(self, viewer):
        self.viewer = viewer
        self.names: list[str] = []
        self._slices: dict[str, int] = {}
        self.shapes: dict[str, tuple[int, int]] = {}
        self.n_classes = 2
        self.instance = False
        self.heat_opacity = HEAT_OPACITY
        self.flags = FlagLayer(self)
        self.palette = DEFAULT_PALETTE
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
        return canvas_of(self.shapes.values())

    def index(self, name: str) -> int:
        """Slice index of an image."""
        if len(self._slices) != len(self.names):  # (a dict: thousands of boxes ask per draw)
            self._slices = {n: i for i, n in enumerate(self.names)}
        try:
            return self._slices[name]
        except KeyError:
            raise ValueError(f"{name!r} is not an image of the project shown") from None

    def current_name(self) -> str | None:
        """The image on the current slice."""
        if not self.names:
            return None
        step = int(self.viewer.dims.current_step[0])
        return self.names[min(max(step, 0), len(self.names) - 1)]

    # ------------------------------------------------------------------ project data
    def clear(self) -> None:
        """Remove every review layer (the viewer's other layers stay) and forget the project."""
        self.flags.reset()
        for name in NAMES.values():
            if name in self.viewer.layers:
                self.viewer.layers.remove(name)
        self.names, self.shapes, self._preview_on, self._slices = [], {}, False, {}

    def load_project(self, project) -> None:
        """Show the images and working masks of ``project``; the layers of a project shown
        before are removed first, so nothing of it (shape, slider range, overlays) stays."""
        self.clear()
        self.names = list(project.names)
        self.shapes = {n: tuple(project.entry(n)["shape"]) for n in self.names}
        images, masks = project_stacks(project, self.canvas_shape)
        self.palette = palette_for([project.image(n) for n in spread(self.names, PALETTE_SAMPLE)])
        self.viewer.add_image(images, name=NAMES["image"], rgb=images.ndim == 4)
        self.instance = project.is_instance
        self.n_classes = project.n_classes
        self.viewer.add_labels(masks, name=NAMES["mask"], opacity=0.4)
        if not self.instance:  # an instance project keeps napari's one colour per object
            self.layer("mask").colormap = label_colormap(self.n_classes)
        self.viewer.dims.set_current_step(0, 0)
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
                opacity=self.heat_opacity,
                visible=False,
                **heat,
            ),
            lambda: self._errors(view.errors),
            self.select_mask,
        ]

    def set_heat_opacity(self, value: float) -> None:
        """Opacity of the uncertainty and label-error heatmaps (also of those made later)."""
        self.heat_opacity = value
        for key in ("uncertainty", "errors"):
            if self.layer(key) is not None:
                self.layer(key).opacity = value

    def _errors(self, data: np.ndarray) -> None:
        """The label-error map: transparent to the palette's heatmap colour, translucent."""
        layer = self._put(
            "errors",
            data,
            self.viewer.add_image,
            opacity=self.heat_opacity,
            blending="translucent",
            contrast_limits=ERROR_LIMITS,
        )
        layer.colormap = error_colormap(self.palette.errors)

    def _proposal(self, data: np.ndarray) -> None:
        self._put("proposal", data, self.viewer.add_labels, opacity=0.9)
        self._style_contours("proposal", self.palette.proposal, CONTOUR_WIDTH)

    def show_flags(self, regions: list, status: dict[str, str], current: str | None = None) -> None:
        """Boxes of the flagged regions of the image on screen (see :class:`FlagLayer`);
        ``current`` is the id of the region under review: its box stands out."""
        self.flags.show(regions, status, current)
        self.select_mask()

    def update_status(self, status: dict[str, str], current: str | None = None) -> None:
        """Restyle and relabel the flagged boxes after review actions or moves (no rebuild)."""
        self.flags.update(status, current)

    def disconnect(self) -> None:
        """Stop following the dims slider and the camera (the widget is closing)."""
        self.flags.disconnect()

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
            "outliers",
            data,
            self.viewer.add_points,
            symbol="x",
            size=size,
            face_color=OUTLIER_COLOR,
        )
        layer.features = {
            "id": [r.id for r in outliers],
            "score": [float(r.score) for r in outliers],
        }
        self.select_mask()

    # ------------------------------------------------------------------ masks
    def mask_of(self, name: str) -> np.ndarray:
        """The working-mask layer's pixels of image ``name`` (copy, unpadded)."""
        h, w = self.shapes[name]
        return np.array(self.layer("mask").data[self.index(name), :h, :w])

    def write_mask(self, name: str, mask: np.ndarray, only: np.ndarray | None = None) -> int:
        """Write a saved mask into the layer as one undo step; returns pixels changed.

        With ``only`` (bool, image-shaped) just those pixels are written, so brush strokes not yet
        committed elsewhere on the image stay in the layer. Once the layer's image shows just
        the saved mask, the stack lets it go back to disk (:meth:`LazyStack.settle`).
        """
        layer = self.layer("mask")
        differs = self.mask_of(name) != mask
        rows, cols = np.nonzero(differs if only is None else differs & only)
        if rows.size:
            index = (np.full(rows.size, self.index(name)), rows, cols)
            with layer.block_history():
                layer.data_setitem(index, mask[rows, cols])
        layer.data.settle(self.index(name), mask)
        return int(rows.size)

    def show_preview(self, name: str | None, mask: np.ndarray | None) -> None:
        """Show a refined proposal (contours) on the image's slice; None clears it. The layer
        is made by the first preview: a project opens without it (each napari layer costs a
        few tenths of a second to make)."""
        if name is None and not self._preview_on:
            return
        self._preview_on = name is not None
        dtype = np.uint16 if self.instance else np.uint8

        def shown(n: str) -> np.ndarray:
            return mask if n == name and mask is not None else np.zeros(self.shapes[n], dtype)

        data = LazyStack(self.names, self.canvas_shape, shown, dtype)
        self._put("preview", data, self.viewer.add_labels, opacity=1.0)
        self._style_contours("preview", PREVIEW_COLOR, CONTOUR_WIDTH)
        self.select_mask()

    def _style_contours(self, key: str, color: str, width: int) -> None:
        layer = self.layer(key)
        layer.contour = width
        layer.colormap = label_colormap(self.n_classes, color, self.instance)

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
