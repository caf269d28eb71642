"""An instance project in napari: one colour per object, ids kept when a proposal is accepted."""

import shutil

import numpy as np
import pytest
from gui_settings import private_settings  # noqa: F401 (autouse: no user settings touched)
from instance_samples import merged_ids, scored_project, truth_ids
from napari.utils.colormaps import DirectLabelColormap

from napari_noisyfix.gui.layers import NAMES
from napari_noisyfix.gui.widget import NoisyFixWidget


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    return scored_project(tmp_path_factory.mktemp("gui") / "p")


def test_instance_project_layer_shows_ids_and_accepting_a_split_updates_it(
    make_napari_viewer, scored, tmp_path
):
    viewer = make_napari_viewer()
    widget = NoisyFixWidget(viewer)
    viewer.window.add_dock_widget(widget, name="NoisyFix review")
    try:
        assert widget.open_project(shutil.copytree(scored, tmp_path / "p"), reviewer="ann")
        layer = viewer.layers[NAMES["mask"]]
        names = widget.controller.project.names
        assert layer.data.dtype == np.uint16
        assert np.array_equal(layer.data[names.index("b")], merged_ids())
        assert not isinstance(layer.colormap, DirectLabelColormap)  # napari's colour per id
        session = widget.controller.session
        merged = next(r for r in session.regions if r.image == "b" and r.kind == "merged")
        session.goto(merged.id)
        widget.controller.accept()
        shown = layer.data[names.index("b")]
        pair = shown[(truth_ids() == 5) | (truth_ids() == 6)]
        assert len(np.unique(pair)) == 2
        assert np.array_equal(shown, widget.controller.project.labels("b"))
    finally:
        widget.close()
