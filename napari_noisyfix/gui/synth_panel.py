"""Synthetic pairs (SinGAN-Seg) from the image on screen: train its generator, preview pairs as
layers, add them to the project.

The work is the core's (:mod:`napari_noisyfix.synth.store`, the same functions as ``noisyfix synth
train`` and ``noisyfix synth generate``); this panel only starts it in the controller's worker and
turns what comes back into layers. The previewed pairs are the ones "Add to project" writes.
"""

from __future__ import annotations

import numpy as np
from qtpy.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QSpinBox,
    QWidget,
)

from ..faults import FAULTS
from ..synth.singan_config import SinGANConfig
from ..synth.store import add_pairs, check_source, check_two_class, draw_pairs, train_generators
from ..synth.style import STYLES
from .controls import button, spin
from .layers import label_colormap
from .style import CONTOUR_WIDTH

#: Small by default (shown, editable): 78 s for a 128 px sample image on one core of a busy
#: 2-core CPU (64 px, 3 scales of 150 iterations, 16 channels).
#: The learning rate is twice ``noisyfix synth train``'s (5e-4, for 300 iterations): in our short
#: trials at 5e-4 the generator's samples held no object (an empty mask channel).
DEFAULTS = {"size": 64, "scales": 3, "iters": 150, "width": 16, "lr": 1e-3, "pairs": 4}
#: Gap (pixels) between the previewed pairs, laid out in a grid after the project's image.
GAP = 8
JOB = "synthetic pairs"


def preview_names(j: int, source: str) -> tuple[str, str]:
    """Layer names of the ``j``-th (from 1) previewed pair of image ``source``."""
    return f"synthetic {j} (from {source})", f"synthetic {j} mask (from {source})"


class SynthPanel(QWidget):
    """Generator settings, Train / Preview / Add / Cancel, and a line saying what was done.

    Parameters
    ----------
    controller : ReviewController
        Gives the open project, the image on screen, the job runner and the status line.
    """

    def __init__(self, controller, parent=None):
        super().__init__(parent)
        self.controller = controller
        self.gen_size = spin(QSpinBox, 16, 512, DEFAULTS["size"], tip="longer side learnt (px)")
        self.gen_scales = spin(QSpinBox, 1, 8, DEFAULTS["scales"], tip="pyramid scales")
        self.gen_iters = spin(QSpinBox, 1, 5000, DEFAULTS["iters"], tip="iterations per scale")
        self.gen_width = spin(QSpinBox, 4, 128, DEFAULTS["width"], tip="channels of every network")
        self.lr = spin(
            QDoubleSpinBox, 1e-4, 1e-2, DEFAULTS["lr"], 1e-4, tip="Adam rate", decimals=4
        )
        self.n_pairs = spin(QSpinBox, 1, 50, DEFAULTS["pairs"], tip="pairs to preview and add")
        self.seed = spin(QSpinBox, 0, 2**31 - 1, 0, tip="seed of the generator and the pairs")
        self.style_box = QComboBox()
        self.style_box.addItems(list(STYLES))
        self.style_box.setToolTip("style transfer from the trained images (none: as generated)")
        self.text = QLabel("Trains on the image on screen; pairs are training data only.")
        self.text.setWordWrap(True)
        self.preview: tuple | None = None  # (project, source, entries, pairs) on screen
        self.layers: list = []
        self._layout()

    def _layout(self) -> None:
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        fields = [
            ("size", self.gen_size),
            ("scales", self.gen_scales),
            ("iterations", self.gen_iters),
            ("channels", self.gen_width),
            ("learning rate", self.lr),
            ("pairs", self.n_pairs),
            ("style", self.style_box),
            ("seed", self.seed),
        ]
        for i, (label, control) in enumerate(fields):
            grid.addWidget(QLabel(label), i // 2, 2 * (i % 2))
            grid.addWidget(control, i // 2, 2 * (i % 2) + 1)
        row = (len(fields) + 1) // 2
        buttons = (
            (
                "Train generator",
                self.train,
                "train a generator on the image on screen, then preview",
            ),
            ("Preview pairs", self.draw, "draw pairs again from its newest generator"),
            ("Add to project", self.add, "add the previewed pairs (noisyfix synth generate)"),
            ("Cancel", self.controller.runner.cancel, "stop the running job"),
        )
        for i, (text, slot, tip) in enumerate(buttons):
            grid.addWidget(button(text, slot, tip), row, i)
        grid.addWidget(self.text, row + 1, 0, 1, 4)

    def config(self) -> SinGANConfig:
        """The generator settings shown."""
        size = self.gen_size.value()
        return SinGANConfig(
            size=size,
            min_size=min(16, size),
            scales=self.gen_scales.value(),
            iters=self.gen_iters.value(),
            width=self.gen_width.value(),
            lr=self.lr.value(),
            seed=self.seed.value(),
        )

    # ------------------------------------------------------------------ actions
    def _source(self, write: bool):
        """(project, image on screen) when there is one to work on, else None (said why)."""
        c = self.controller
        name = c.layers.current_name() if c.project is not None else None
        if name is None:
            c.on_status("open a project first")
            return None
        try:
            if write:
                c.project.check_writable("train a generator")
            check_two_class(c.project)
            check_source(c.project, name)
        except FAULTS as exc:
            c.report(exc)
            return None
        return c.project, name

    def train(self) -> None:
        """Train a generator on the image on screen (stored as ``synth train`` does), then
        draw and show the pairs; in the worker, with progress and Cancel."""
        source = self._source(write=True)
        if source is not None:
            project, name = source
            config, how = self.config(), self._how()

            def job():
                done = yield from train_generators(project, [name], config)
                return done[name], (yield from draw_pairs(project, *how, names=[name]))

            self._start(project, name, job)

    def draw(self) -> None:
        """Draw pairs from the newest generator of the image on screen (in the worker)."""
        source = self._source(write=False)
        if source is not None:
            project, name = source
            how = self._how()

            def job():
                return None, (yield from draw_pairs(project, *how, names=[name]))

            self._start(project, name, job)

    def _how(self) -> tuple[int, str, int]:
        return self.n_pairs.value(), self.style_box.currentText(), self.seed.value()

    def _start(self, project, name: str, job) -> None:
        try:
            self.controller.runner.start(JOB, job, lambda out: self._drawn(project, name, *out))
        except FAULTS as exc:
            self.controller.report(exc)

    def add(self) -> None:
        """Add the previewed pairs to the project, marked synthetic (``synth generate``)."""
        c = self.controller
        if self.preview is None or self.preview[0] is not c.project:
            c.on_status("preview pairs first (Train generator or Preview pairs)")
            return
        project, name, entries, pairs = self.preview
        try:
            n = add_pairs(project, entries, pairs)
        except FAULTS as exc:
            c.report(exc)
            return
        self.preview = None
        self.text.setText(f"{n} pairs of {name} added (training only: train with synthetic add)")
        c.announce(f"NoisyFix: {n} synthetic pairs of {name} added to {project.root.name}")

    # ------------------------------------------------------------------ layers
    def _drawn(self, project, name: str, trained: dict | None, drawn: tuple) -> None:
        """Show drawn pairs as layers (on the UI thread), unless another project was opened."""
        if project is not self.controller.project:
            self.controller.on_status(f"{JOB}: its project is no longer shown")
            return
        entries, pairs = drawn
        self.show_pairs(name, [pairs[e["name"]] for e in entries])
        self.preview = (project, name, entries, pairs)
        said = f"{name}: generator v{entries[0]['generator_version']:04d}"
        if trained is not None:
            said += f" trained in {trained['seconds']:.0f} s"
        self.text.setText(
            f"{said}; {len(entries)} pairs previewed (style {entries[0]['style']}); "
            "Add to project keeps them"
        )

    def show_pairs(self, source: str, pairs: list) -> None:
        """Replace the previewed pairs' layers: an Image and a Labels layer per pair, in a grid
        whose first cell is the project's image on screen."""
        self.clear()
        viewer = self.controller.viewer
        cell = np.add(self.controller.layers.canvas_shape, GAP)
        columns = max(2, round(np.sqrt(len(pairs) + 1)))
        for j, (image, mask) in enumerate(pairs, start=1):
            names = preview_names(j, source)
            at = tuple(cell * divmod(j, columns))
            rgb = image.ndim == 3
            self.layers.append(viewer.add_image(image, name=names[0], rgb=rgb, translate=at))
            labels = viewer.add_labels(mask, name=names[1], opacity=0.9, translate=at)
            labels.contour = CONTOUR_WIDTH  # outlines: the generated image stays visible
            labels.colormap = label_colormap(2)
            self.layers.append(labels)
        viewer.reset_view()
        self.controller.layers.select_mask()

    def clear(self) -> None:
        """Remove the previewed pairs' layers (those still in the viewer)."""
        viewer = self.controller.viewer
        for layer in self.layers:
            if layer in viewer.layers:
                viewer.layers.remove(layer)
        self.layers = []
