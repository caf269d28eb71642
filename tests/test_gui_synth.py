"""The widget's synthetic-pairs tab (Xvfb): train a generator on the image on screen in a worker,
preview its pairs as layers, Cancel, and add them to the project as ``synth generate`` does."""

import json

import numpy as np
import pytest
from gui_settings import private_settings  # noqa: F401 (autouse: no user settings touched)

from napari_noisyfix.gui.synth_panel import preview_names
from napari_noisyfix.gui.widget import NoisyFixWidget
from napari_noisyfix.project import Project
from napari_noisyfix.synth.store import generator_versions

WAIT = 120_000


def _project(root):
    """Three 28x30 grey images with one bright object each; ``c`` has none."""
    images, masks = {}, {}
    rng = np.random.default_rng(0)
    for k, name in enumerate("abc"):
        mask = np.zeros((28, 30), np.uint8)
        if name != "c":
            mask[5 + k : 15 + k, 6:18] = 1
        images[name] = (mask * 150 + rng.integers(0, 60, mask.shape)).astype(np.uint8)
        masks[name] = mask
    Project.create(root, images, masks).close()
    return root


@pytest.fixture
def widget(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    w = NoisyFixWidget(viewer)
    viewer.window.add_dock_widget(w, name="NoisyFix review")
    assert w.open_project(_project(tmp_path / "p"), reviewer="dr-synth")
    panel = w.synth_panel
    for spin, value in ((panel.gen_size, 24), (panel.gen_scales, 2), (panel.gen_width, 8)):
        spin.setValue(value)
    panel.gen_iters.setValue(30)
    panel.lr.setValue(3e-3)
    panel.n_pairs.setValue(2)
    yield w
    w.close()


def _done(qtbot, w):
    qtbot.waitUntil(lambda: not w.controller.runner.busy, timeout=WAIT)


def test_defaults_are_small_and_shown(widget):
    config = widget.synth_panel.config()  # as the test set them, through the same controls
    assert (config.size, config.scales, config.iters, config.width) == (24, 2, 30, 8)
    assert config.min_size == 16 and config.lr == pytest.approx(3e-3)


def test_train_previews_pairs_as_layers_then_add_writes_them(widget, qtbot):
    panel, viewer = widget.synth_panel, widget.viewer
    panel.train()
    assert widget.controller.runner.busy  # off the UI thread
    _done(qtbot, widget)
    project = widget.controller.project
    assert generator_versions(project, "a") == [1]  # stored as `synth train` stores it
    for j in (1, 2):
        image, mask = (viewer.layers[n] for n in preview_names(j, "a"))
        assert image.data.shape == (28, 30) and mask.data.shape == (28, 30)
        assert set(np.unique(mask.data)) == {0, 1}  # binary and not empty
        assert image.data.dtype == np.uint8
    assert preview_names(3, "a")[0] not in viewer.layers
    assert "2 pairs previewed" in panel.text.text()
    shown = [np.array(viewer.layers[preview_names(j, "a")[1]].data) for j in (1, 2)]

    panel.add()
    config = json.loads((project.root / "project.json").read_text())
    syn = config["synthetic"]
    assert [e["name"] for e in syn] == ["a.syn000", "a.syn001"]
    assert all(e["synthetic"] and e["source"] == "a" and e["generator_version"] == 1 for e in syn)
    assert len(config["images"]) == 3  # the real list is untouched
    for j, name in enumerate(("a.syn000", "a.syn001")):
        np.testing.assert_array_equal(project.mask(name), shown[j])  # what was previewed
    assert "2 pairs of a added" in panel.text.text()

    panel.n_pairs.setValue(1)  # a new preview replaces the layers; adding replaces the pairs
    panel.draw()
    _done(qtbot, widget)
    assert preview_names(1, "a")[0] in viewer.layers
    assert preview_names(2, "a")[0] not in viewer.layers
    panel.add()
    assert project.synthetic_names() == ["a.syn000"]


def test_cancel_stops_training_and_leaves_nothing(widget, qtbot):
    panel = widget.synth_panel
    panel.gen_iters.setValue(5000)
    panel.train()
    qtbot.waitUntil(lambda: "generator 1/1 (a)" in widget.status.text(), timeout=WAIT)
    panel.controller.runner.cancel()
    _done(qtbot, widget)
    assert "cancelled" in widget.status.text()
    assert generator_versions(widget.controller.project, "a") == []
    assert not [layer for layer in widget.viewer.layers if layer.name.startswith("synthetic")]
    panel.add()
    assert "preview pairs first" in widget.status.text()


def test_an_image_without_objects_is_refused_in_one_line(widget):
    widget.viewer.dims.set_current_step(0, 2)  # image c: empty mask
    widget.synth_panel.train()
    assert not widget.controller.runner.busy
    assert "c: mask is empty; a generator needs objects" in widget.status.text()
    widget.synth_panel.draw()
    assert "c: mask is empty" in widget.status.text()
