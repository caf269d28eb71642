"""The NoisyFix dock widget driven in a real viewer (Xvfb): layers, queue, actions, keys, undo."""

import re
import shutil

import numpy as np
import pytest
from gui_settings import private_settings  # noqa: F401 (autouse: no user settings touched)
from napari.utils.key_bindings import coerce_keybinding
from qtpy.QtCore import Qt
from scipy import ndimage

from napari_noisyfix.gui import scores
from napari_noisyfix.gui.layers import NAMES
from napari_noisyfix.gui.widget import NoisyFixWidget
from napari_noisyfix.progress import drive
from napari_noisyfix.project import Project
from napari_noisyfix.quality.score import load_maps, score_project
from napari_noisyfix.synth.sample import make_sample_project


def scored_sample(root, n=6, size=64):
    """A tiny sample project scored from probabilities that lean towards the true masks."""
    project = make_sample_project(root, n=n, size=size, seed=0, noise=1.0)
    version, _ = project.new_model_dir()
    for name in project.names:
        fg = ndimage.gaussian_filter(project.truth(name).astype(np.float32), 1.0) * 0.9 + 0.05
        project.save_probs(version, name, np.stack([1 - fg, fg]))
    drive(score_project(project, version=version), quiet=True)
    return project


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return scored_sample(tmp_path_factory.mktemp("tpl") / "sample").root


@pytest.fixture
def widget(make_napari_viewer, template, tmp_path):
    root = shutil.copytree(template, tmp_path / "proj")
    viewer = make_napari_viewer()
    w = NoisyFixWidget(viewer)
    viewer.window.add_dock_widget(w, name="NoisyFix review")
    assert w.open_project(root, reviewer="dr-gui")
    yield w
    w.close()


def press(viewer, key):
    """What napari does on a key press that no layer handles: call the viewer's binding."""
    func = viewer.keymap.get(coerce_keybinding(key))
    if func is None:
        return False
    func(viewer)
    return True


def layer_mask(w, name):
    return w.controller.layers.mask_of(name)


def check_every_layer_and_the_queue(widget):
    viewer, session = widget.viewer, widget.controller.session
    shown = {v for k, v in NAMES.items() if k != "preview"}  # made by the first preview
    assert shown <= {layer.name for layer in viewer.layers}
    assert len(viewer.layers) == len(shown)
    flags = viewer.layers[NAMES["flags"]]
    for index, name in enumerate(session.project.names):  # rectangles of the slice on screen
        viewer.dims.set_current_step(0, index)
        flagged = [r.id for r in session.regions if r.kind != "outlier" and r.image == name]
        assert list(flags.features["id"]) == flagged and len(flags.data) == len(flagged)
        assert all(np.all(rect[:, 0] == index) for rect in flags.data)
    assert viewer.layers[NAMES["mask"]].data.shape == (6, 64, 64)
    assert viewer.layers[NAMES["uncertainty"]].colormap.name == "inferno"
    assert widget.queue_panel.model.rowCount() == len(session.regions)
    assert widget.queue_panel.visible_ids() == [r.id for r in session.regions]
    model = widget.queue_panel.model
    shown = [model.index(i, 2).data() for i in range(len(session.regions))]
    assert shown == [r.label for r in session.regions]
    assert any(r.scope == "image" for r in session.regions)  # the sample has whole-mask errors
    assert "whole mask drawn too" in " ".join(shown) or "whole mask misaligned" in " ".join(shown)
    assert f"regions 0/{len(session.regions)}" in widget.progress_line.text()
    assert "model v1" in widget.state.text()
    assert Project.open(session.project.root, mode="read").reviewer == "dr-gui"
    assert viewer.layers.selection.active.name == NAMES["mask"]
    widget.heat_opacity.setValue(80)
    assert viewer.layers[NAMES["uncertainty"]].opacity == pytest.approx(0.8)
    assert viewer.layers[NAMES["errors"]].opacity == pytest.approx(0.8)
    assert session.project.log.rows("review") == []


def check_navigation_moves_camera_and_slider(widget):
    c, viewer = widget.controller, widget.viewer
    c.goto(c.session.current.id)  # the layer checks above moved the slider
    seen = []
    for _ in range(3):
        region = c.session.current
        index = c.layers.index(region.image)
        r0, c0, r1, c1 = region.bbox
        assert viewer.dims.current_step[0] == index
        assert viewer.camera.center[1:] == pytest.approx(((r0 + r1 - 1) / 2, (c0 + c1 - 1) / 2))
        assert widget.queue_panel.selected_id() == region.id
        seen.append(region.id)
        press(viewer, "N")
    assert len(set(seen)) == 3
    last = widget.queue_panel.visible_ids()[-1]
    row = widget.queue_panel.model.rowCount() - 1
    widget.queue_panel.table.selectRow(row)
    assert c.session.current.id == last
    press(viewer, "Shift-N")
    assert c.session.current.id != last


def check_accept_reject_edit_undo(widget):
    c, viewer = widget.controller, widget.viewer
    project = c.project
    region = c.session.current
    press(viewer, "A")
    saved = project.mask(region.image)
    assert np.array_equal(saved, region.apply(project.original_mask(region.image)))
    assert np.array_equal(layer_mask(widget, region.image), saved)
    assert c.session.status[region.id] == "accepted"
    second = c.session.current
    press(viewer, "R")
    assert c.session.status[second.id] == "rejected"
    name = c.layers.current_name()
    layer = viewer.layers[NAMES["mask"]]
    before = project.mask(name)
    rows, cols = np.nonzero(before == 0)
    index = (np.full(5, c.layers.index(name)), rows[:5], cols[:5])
    with layer.block_history():
        layer.data_setitem(index, np.ones(5, np.uint8))
    press(viewer, "C")
    edited = project.mask(name)
    assert int((edited != before).sum()) == 5
    assert np.array_equal(layer_mask(widget, name), edited)
    actions = [(r["action"], r["reviewer"]) for r in project.log.rows("review")]
    assert actions == [("accept", "dr-gui"), ("reject", "dr-gui"), ("edit", "dr-gui")]
    press(viewer, "U")
    assert np.array_equal(project.mask(name), before)
    assert np.array_equal(layer_mask(widget, name), before)
    press(viewer, "Shift-U")
    assert np.array_equal(layer_mask(widget, name), edited)
    done = int(re.search(r"regions (\d+)/", widget.progress_line.text()).group(1))
    assert done >= 2  # an accepted fix may also close regions it overlaps


def check_accept_all_preview_then_apply(widget):
    c = widget.controller
    assert widget.threshold.value() == pytest.approx(0.9)  # P(fix helps) >= 0.90 by default
    widget.threshold.setValue(0.0)
    widget.accept_all(preview=True)
    open_regions = len(c.session.queue)
    precision = np.mean([r.prob_correct for r in c.session.queue])
    assert widget.bulk.text().startswith(f"{open_regions} regions in ")
    assert " pixels; " in widget.bulk.text() and "would change" in widget.bulk.text()
    assert widget.bulk.text().endswith(f"expected precision {precision:.0%}")
    n_rows = len(c.project.log.rows("review"))
    widget.accept_all(preview=False)
    rows = c.project.log.rows("review")[n_rows:]
    assert [r["action"] for r in rows] == ["accept_all"]
    assert len(rows[0]["details"]["regions"]) == open_regions
    assert len(c.session.queue) == 0 and c.session.current is None
    for name in c.project.names:
        assert np.array_equal(layer_mask(widget, name), c.project.mask(name))


def check_refinement_preview_layer(widget):
    c = widget.controller
    panel = widget.refine_panel
    panel.combo.setCurrentText("closing")
    assert "radius" in panel.editors
    assert NAMES["preview"] not in widget.viewer.layers
    c.preview_refinement()
    region = c.session.current
    shown = widget.viewer.layers[NAMES["preview"]].data[c.layers.index(region.image)]
    h, w = c.layers.shapes[region.image]
    assert np.array_equal(shown[:h, :w], c.session.preview(refine="closing", radius=2))


def check_table_filters(widget):
    panel, session = widget.queue_panel, widget.controller.session
    choices = [panel.kind.itemText(i) for i in range(panel.kind.count())]
    assert "outline drawn too wide" in choices and "object missing from the mask" in choices
    label = sorted({r.label for r in session.regions})[0]
    panel.kind.setCurrentText(label)  # the kinds are listed in words
    ids = panel.visible_ids()
    assert ids and all(session.region(i).label == label for i in ids)
    panel.kind.setCurrentIndex(0)
    panel.min_score.setValue(0.9)  # a minimum P(error)
    assert all(session.region(i).score >= 0.9 for i in panel.visible_ids())
    panel.table.sortByColumn(3, Qt.DescendingOrder)
    rows = range(panel.model.rowCount())
    scores = [session.region(panel.model.index(i, 0).data(Qt.UserRole)).score for i in rows]
    assert scores == sorted(scores, reverse=True)  # sorted by the number, not the text
    panel.table.sortByColumn(0, Qt.AscendingOrder)
    assert [panel.model.index(i, 0).data() for i in rows] == [str(i + 1) for i in rows]
    panel.min_score.setValue(0.0)


def check_close_unbinds_keys(widget):
    viewer = widget.viewer
    assert widget.keys.bound
    widget.close()
    assert not widget.keys.bound
    log_before = len(widget.controller.project.log.rows("review"))
    assert press(viewer, "A") is False
    assert len(widget.controller.project.log.rows("review")) == log_before


# One viewer per test keeps the module fast: napari's layer creation dominates the run time.
def test_open_browse_filter_and_preview(widget):
    check_every_layer_and_the_queue(widget)
    check_navigation_moves_camera_and_slider(widget)
    check_table_filters(widget)
    check_refinement_preview_layer(widget)
    widget.viewer.window.remove_dock_widget(widget)  # the dock's close button does this
    assert not widget.keys.bound and press(widget.viewer, "N") is False


def test_review_actions_then_close(widget):
    check_accept_reject_edit_undo(widget)
    check_accept_all_preview_then_apply(widget)
    check_close_unbinds_keys(widget)


def test_layers_read_the_slice_on_screen_and_keep_unsaved_strokes(widget, monkeypatch):
    c, viewer = widget.controller, widget.viewer
    project, names = c.project, c.layers.names
    read = []

    def counted(project, name, shape, version, real=scores.image_overlays):
        read.append(name)
        return real(project, name, shape, version)

    monkeypatch.setattr(scores, "image_overlays", counted)
    shown = c.layers.current_name()
    c.load_scores(None)  # new overlays: only the image on screen is read (and the first,
    # whose dtype napari's label controls take from slice 0)
    assert read and set(read) <= {shown, c.layers.current_name(), names[0]}
    errors, mask = viewer.layers[NAMES["errors"]], viewer.layers[NAMES["mask"]]
    for index, name in enumerate(names):  # the slider shows each image's own map
        viewer.dims.set_current_step(0, index)
        heat = load_maps(project, name)["error_score"]
        r, col = np.unravel_index(np.argmax(heat), heat.shape)
        assert errors.get_value((index, r, col)) == pytest.approx(heat[r, col])
    assert len(set(read)) == len(names)

    viewer.dims.set_current_step(0, 1)
    name, before = names[1], project.mask(names[1])
    r, col = (int(v[0]) for v in np.nonzero(before == 0))
    mask.brush_size, mask.selected_label = 1, 1
    mask.paint((1, r, col), 1)  # napari's brush, not yet committed
    viewer.dims.set_current_step(0, 2)
    viewer.dims.set_current_step(0, 1)
    assert mask.get_value((1, r, col)) == 1 and project.mask(name)[r, col] == 0
    c.commit_edit()  # (the view then moves to the region under review)
    viewer.dims.set_current_step(0, 1)
    assert project.mask(name)[r, col] == 1 and mask.get_value((1, r, col)) == 1
    assert mask.data.edits == {}  # saved: the stack holds no image of its own any more
