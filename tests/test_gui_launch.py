"""`launch`: napari with the widget docked and the project loaded, rendered to a PNG and closed."""

import numpy as np
import pytest
from PIL import Image

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.gui.launch import WINDOW_SIZE, launch
from napari_noisyfix.project import Project


def test_screenshot_of_the_whole_window(qapp, tmp_path):
    images = {
        f"im{i}": np.random.default_rng(i).random((48, 48)).astype(np.float32) for i in range(2)
    }
    masks = {n: np.zeros((48, 48), np.uint8) for n in images}
    project = Project.create(tmp_path / "p", images, masks)
    out = tmp_path / "shots" / "review.png"
    assert launch(project.root, screenshot=out, reviewer="dr-shot") == 0
    with Image.open(out) as png:
        width, height = png.size
        pixels = np.asarray(png.convert("RGB"))
    assert width >= WINDOW_SIZE[0] * 0.9 and height >= WINDOW_SIZE[1] * 0.8  # window, not canvas
    assert pixels.std() > 10
    assert Project.open(project.root).reviewer == "dr-shot"


def test_not_a_project(qapp, tmp_path):
    with pytest.raises(NoisyFixError, match="not a noisyfix project"):
        launch(tmp_path, screenshot=tmp_path / "x.png")
