"""Retraining from the widget: a real (tiny) model update runs in a worker and refreshes the layers."""

import shutil

import numpy as np
import pytest
from gui_settings import private_settings  # noqa: F401 (autouse: no user settings touched)

from napari_noisyfix.gui.layers import NAMES
from napari_noisyfix.gui.widget import NoisyFixWidget
from napari_noisyfix.model.config import TrainConfig
from napari_noisyfix.progress import drive
from napari_noisyfix.review.jobs import train_job
from napari_noisyfix.synth.sample import make_sample_project

TINY = TrainConfig(
    epochs=1, steps_per_epoch=2, batch_size=2, image_size=64, device="cpu", amp=False, seed=0
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    project = make_sample_project(
        tmp_path_factory.mktemp("trained") / "p", n=6, size=64, seed=0, noise=1.0
    )
    drive(train_job(project, folds=2, config=TINY), quiet=True)
    return project.root


def test_auto_retrain_refreshes_overlays_and_keeps_edits(
    make_napari_viewer, qtbot, trained, tmp_path
):
    root = shutil.copytree(trained, tmp_path / "p")
    viewer = make_napari_viewer()
    widget = NoisyFixWidget(viewer)
    viewer.window.add_dock_widget(widget)
    assert widget.open_project(root, reviewer="dr-retrain")
    c = widget.controller
    c.train_config = TINY
    widget.steps.setValue(2)
    widget.auto.setValue(1)
    assert "model v1" in widget.state.text()
    heat_before = np.array(viewer.layers[NAMES["uncertainty"]].data)
    refreshed = c.refreshed_at

    c.accept()  # one correction -> automatic retrain in the background
    assert c.runner.busy and c.runner.name == "retrain"
    here = c.session.current
    name = c.layers.current_name()
    layer = viewer.layers[NAMES["mask"]]
    with layer.block_history():  # an edit in progress while the worker runs
        layer.data_setitem(
            tuple(np.array([v]) for v in (c.layers.index(name), 0, 0)), np.array([1])
        )

    qtbot.waitUntil(lambda: not c.runner.busy and c.refreshed_at != refreshed, timeout=180_000)
    assert c.session.version == 2
    # the reviewer's place is kept: a region of the image they were on, when one is still open
    open_there = [r for r in c.session.regions if r.image == here.image and c.session.is_open(r)]
    assert c.session.current is not None
    assert c.session.current.image == here.image or not open_there
    assert widget.queue_panel.selected_id() == c.session.current.id
    assert "model v2" in widget.state.text() and "scores v2" in widget.state.text()
    qtbot.waitUntil(lambda: "retrain done" in widget.status.text(), timeout=10_000)
    assert "update guard: " in widget.status.text()  # what the guard kept, where results go
    assert not np.array_equal(viewer.layers[NAMES["uncertainty"]].data, heat_before)
    assert layer.data[c.layers.index(name), 0, 0] == 1  # the uncommitted stroke is still there
    assert c.project.mask(name)[0, 0] == 0
    assert len(c.session.history.done) == 1  # undo still reaches the pre-retrain action
    assert len(widget.queue_panel.visible_ids()) == len(c.session.queue)
    events = [r["event"] for r in c.project.log.rows()]
    assert "update" in events or any(e.startswith("update") for e in events)
    widget.close()
