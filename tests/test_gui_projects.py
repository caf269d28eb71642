"""Projects in one window: switching replaces everything, and a project made from the viewer's layers."""

import shutil

import numpy as np
import pytest
from gui_settings import private_settings  # noqa: F401 (autouse: no user settings touched)
from test_gui_widget import scored_sample

from napari_noisyfix.gui import commands
from napari_noisyfix.gui.layers import NAMES
from napari_noisyfix.gui.widget import NoisyFixWidget
from napari_noisyfix.project import Project


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    """Project A: three scored 48 x 48 images (flagged regions, outliers, a verdict)."""
    return scored_sample(tmp_path_factory.mktemp("a") / "alpha", n=3, size=48).root


def project_b(root):
    """Project B: two unscored 24 x 32 RGB images."""
    rng = np.random.default_rng(1)
    images = {f"b{i}": rng.integers(0, 255, (24, 32, 3), dtype=np.uint8) for i in range(2)}
    masks = {n: np.eye(24, 32, dtype=np.uint8) for n in images}
    with Project.create(root, images, masks) as project:
        project.set_reviewer("dr-b")
    return root, images, masks


def select(viewer, *layers):
    viewer.layers.selection.clear()
    viewer.layers.selection.update(layers)


@pytest.fixture
def widget(make_napari_viewer):
    viewer = make_napari_viewer()
    w = NoisyFixWidget(viewer)
    viewer.window.add_dock_widget(w, name="NoisyFix review")
    yield w
    w.close()


def test_switching_projects_leaves_nothing_of_the_first(widget, first, tmp_path):
    viewer, c = widget.viewer, widget.controller
    assert widget.open_project(shutil.copytree(first, tmp_path / "alpha"), reviewer="dr-a")
    assert viewer.dims.nsteps[0] == 3 and c.session.regions
    c.preview_refinement()
    c.accept()
    widget.accept_all(preview=True)
    assert "pixels saved" in widget.status.text() and widget.bulk.text()

    root, images, masks = project_b(tmp_path / "beta")
    assert widget.open_project(root)
    names = [layer.name for layer in viewer.layers]
    # each review layer once, nothing else; the preview layer waits for a preview of beta's own
    assert sorted(names) == sorted(v for k, v in NAMES.items() if k != "preview")
    assert viewer.dims.nsteps[:3] == (2, 24, 32)
    image, mask = viewer.layers[NAMES["image"]], viewer.layers[NAMES["mask"]]
    assert image.rgb and np.array_equal(image.data, np.stack(list(images.values())))
    assert np.array_equal(mask.data, np.stack(list(masks.values())))
    for key in ("proposal", "uncertainty", "errors"):
        layer = viewer.layers[NAMES[key]]
        assert layer.data.shape == (2, 24, 32) and not np.asarray(layer.data).any(), key
    assert len(viewer.layers[NAMES["flags"]].data) == 0
    assert len(viewer.layers[NAMES["outliers"]].data) == 0
    assert widget.status.text() == "beta: 2 images" and widget.bulk.text() == ""
    assert widget.state.text().startswith("beta · reviewer dr-b · no model yet")
    assert widget.queue_panel.model.rowCount() == 0 and widget.banner.text() == ""
    assert widget.why.text().startswith("No region under review")
    assert c.layers.current_name() == "b0"
    assert Project.open(tmp_path / "alpha").writable  # the first project's lock was released


def test_new_project_from_the_plugins_sample_layers(widget, tmp_path):
    viewer = widget.viewer
    viewer.open_sample("napari-noisyfix", "noisy_sample")
    stack, noisy = viewer.layers["sample image"], viewer.layers["noisy mask"]
    select(viewer, stack)  # two Labels layers and none selected: refused
    assert not widget.new_project_from_layers(tmp_path / "refused", reviewer="dr-l")
    assert "2 Labels layers ('noisy mask', 'true mask'): select" in widget.status.text()
    assert not (tmp_path / "refused").exists()

    select(viewer, stack, noisy)
    assert widget.new_project_from_layers(tmp_path / "from_layers", reviewer="dr-l")
    project = widget.controller.project
    assert project.names == [f"sample_image_z{z:03d}" for z in range(4)]
    assert project.patients() == {n: n for n in project.names}  # a stack of separate images
    for z, name in enumerate(project.names):
        assert np.array_equal(project.mask(name), noisy.data[z])
        assert np.array_equal(project.image(name), stack.data[z])
    assert np.array_equal(viewer.layers[NAMES["mask"]].data, noisy.data)
    assert not stack.visible and not noisy.visible and "true mask" in viewer.layers
    assert "new project" in widget.status.text() and "4 images" in widget.status.text()
    assert project.config["from_layers"] == {
        "image_layer": "sample image",
        "labels_layer": "noisy mask",
    }


def test_new_project_from_a_2d_image_and_labels(widget, tmp_path):
    viewer = widget.viewer
    image = np.random.default_rng(2).random((20, 30)).astype(np.float32)
    labels = np.zeros((20, 30), np.int32)
    labels[4:9, 5:12] = 255  # binary 0/255 becomes 0/1, as on import
    viewer.add_image(image, name="scan 7")
    viewer.add_labels(labels, name="outline")
    assert widget.new_project_from_layers(tmp_path / "p2d", reviewer="dr-2d")
    project = widget.controller.project
    assert project.names == ["scan_7"] and project.n_classes == 2
    assert np.array_equal(project.mask("scan_7"), (labels > 0).astype(np.uint8))
    assert np.allclose(project.image("scan_7"), image)
    viewer.add_labels(np.zeros((20, 31), np.uint8), name="wrong size")
    select(viewer, viewer.layers["scan 7"], viewer.layers["wrong size"])
    assert not widget.new_project_from_layers(tmp_path / "p_bad", reviewer="dr-2d")
    assert "'wrong size': labels shape (20, 31) does not match" in widget.status.text()


def test_file_menu_command_docks_the_widget_and_opens_the_project(
    make_napari_viewer, tmp_path, monkeypatch
):
    from qtpy.QtWidgets import QFileDialog

    root, _, _ = project_b(tmp_path / "beta")
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(root))
    viewer = make_napari_viewer()
    commands.open_project(viewer)
    widget = commands.review_widget(viewer)
    assert isinstance(widget, NoisyFixWidget) and widget.controller.project.root == root
    assert [w for w in viewer.window.dock_widgets.values() if w is widget] == [widget]
    assert viewer.layers[NAMES["mask"]].data.shape == (2, 24, 32)


def test_open_sample_asks_before_writing_to_the_home_folder(
    make_napari_viewer, tmp_path, monkeypatch
):
    from napari_noisyfix.gui import widget as widget_module

    home_sample = tmp_path / "home" / "noisyfix-sample"
    monkeypatch.setattr(widget_module, "SAMPLE_DIR", home_sample)
    viewer = make_napari_viewer()
    widget = NoisyFixWidget(viewer)
    monkeypatch.setattr(widget, "_ask_reviewer", lambda: "dr-sample")
    answers = []
    monkeypatch.setattr(widget, "_ask_sample", lambda: answers.pop(0))

    answers.append(None)  # the user cancels: nothing is written
    assert not widget.open_sample()
    assert not home_sample.exists() and widget.controller.project is None

    chosen = tmp_path / "elsewhere" / "noisyfix-sample"
    answers.append(chosen)  # the user picks another folder
    assert widget.open_sample()
    assert (chosen / "project.json").is_file() and not home_sample.exists()
    assert (
        widget.controller.project.root == chosen.resolve()
        or widget.controller.project.root == chosen
    )
    assert len(viewer.layers[NAMES["image"]].data) == 12
    widget.close()
