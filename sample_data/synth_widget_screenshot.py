"""The README's screenshot of the widget's "Synthetic pairs" tab with a preview.

A project of four H&E images of the shared DSB2018 histology set (shrunk to 128 x 160) is made
in a temporary folder; the tab's default settings train a generator on the first image (in the
widget's worker, as a click on "Train generator" does), and the window is saved once the pairs
are shown. Run from the repository root (a few minutes on a busy CPU):

    PYTHONPATH=. OMP_NUM_THREADS=1 xvfb-run -a -s "-screen 0 1920x1200x24" .venv/bin/python \
        sample_data/synth_widget_screenshot.py ../shared/data/dsb2018_nuclei_histo \
        sample_data/screenshots/synth_widget.png
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from skimage.io import imread
from skimage.transform import resize

from napari_noisyfix.gui.launch import WINDOW_SIZE, dock, quiet_binding_notice
from napari_noisyfix.gui.preload import preload_model_stack
from napari_noisyfix.project import Project

N_IMAGES, SHAPE = 4, (128, 160)


def small_project(data: Path, root: Path) -> Project:
    """The first ``N_IMAGES`` image/mask pairs of ``data``, shrunk to ``SHAPE``."""
    images, masks = {}, {}
    for path in sorted((data / "images").glob("*.png"))[:N_IMAGES]:
        image = imread(path)[..., :3]
        mask = imread(data / "masks" / path.name) > 0
        images[path.stem] = (resize(image, SHAPE, anti_aliasing=True) * 255).astype(np.uint8)
        masks[path.stem] = (resize(mask.astype(float), SHAPE, order=1) > 0.5).astype(np.uint8)
    return Project.create(root, images, masks)


def wait(seconds: float, until=lambda: False) -> None:
    """Let Qt run for ``seconds`` or until ``until()`` holds."""
    from qtpy.QtWidgets import QApplication

    end = time.monotonic() + seconds
    while time.monotonic() < end and not until():
        QApplication.processEvents()
        time.sleep(0.05)


def main(data: str, out: str) -> int:
    import napari

    preload_model_stack()
    quiet_binding_notice()
    with tempfile.TemporaryDirectory() as tmp:
        project = small_project(Path(data), Path(tmp) / "histo")
        viewer = napari.Viewer(title="NoisyFix — synthetic pairs")
        viewer.window.resize(*WINDOW_SIZE)
        widget = dock(viewer)
        widget.open_project(project, reviewer="screenshot")
        widget.tabs.setCurrentIndex(widget.tabs.count() - 1)
        viewer.window.show()
        viewer.window.activate()
        widget.synth_panel.train()
        wait(1800, until=lambda: not widget.controller.runner.busy)
        wait(5)
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        viewer.screenshot(out, canvas_only=False)
        print(widget.synth_panel.text.text())
        viewer.close()
        project.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
