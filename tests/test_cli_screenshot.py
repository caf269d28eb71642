"""A `--screenshot` run without --reviewer remembers no reviewer (never the login name)."""

import numpy as np

from napari_noisyfix.gui.launch import launch
from napari_noisyfix.project import Project


def test_a_screenshot_run_remembers_no_reviewer(window_app, tmp_path):
    masks = {"a": np.zeros((32, 32), np.uint8)}
    project = Project.create(tmp_path / "p", {"a": np.ones((32, 32), np.float32)}, masks)
    assert launch(project, screenshot=tmp_path / "s.png") == 0
    assert (tmp_path / "s.png").stat().st_size > 0
    config = Project.open(tmp_path / "p", mode="read").config
    assert config["reviewer"] is None
