"""`launch`: napari with the widget docked and the project loaded, rendered to a PNG and closed."""

import numpy as np
import pytest
from PIL import Image

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.gui.launch import WINDOW_SIZE, launch
from napari_noisyfix.project import Project


def test_screenshot_of_the_whole_window(window_app, tmp_path):
    images = {
        f"im{i}": np.random.default_rng(i).random((48, 48)).astype(np.float32) for i in range(2)
    }
    masks = {n: np.zeros((48, 48), np.uint8) for n in images}
    project = Project.create(tmp_path / "p", images, masks)
    out = tmp_path / "shots" / "review.png"
    assert launch(project, screenshot=out, reviewer="dr-shot") == 0
    with Image.open(out) as png:
        width, height = png.size
        pixels = np.asarray(png.convert("RGB"))
    assert width >= WINDOW_SIZE[0] * 0.9 and height >= WINDOW_SIZE[1] * 0.8  # window, not canvas
    assert pixels.std() > 10
    assert Project.open(project.root, mode="read").reviewer == "dr-shot"


def test_not_a_project(window_app, tmp_path):
    with pytest.raises(NoisyFixError, match="not a noisyfix project"):
        launch(tmp_path, screenshot=tmp_path / "x.png")


def test_the_launcher_shows_no_binding_deprecation_toast(window_app, tmp_path, monkeypatch):
    from napari._qt import qt_main_window

    shown = []
    monkeypatch.setattr(qt_main_window, "SHOW_QT_WARNING", True)
    monkeypatch.setattr(qt_main_window, "show_warning", shown.append)
    masks = {"a": np.zeros((32, 32), np.uint8)}
    project = Project.create(tmp_path / "p", {"a": np.ones((32, 32), np.float32)}, masks)
    assert launch(project, screenshot=tmp_path / "s.png", reviewer="dr-toast") == 0
    assert shown == [] and (tmp_path / "s.png").stat().st_size > 0


def test_the_window_shows_before_the_model_code_is_preloaded(window_app, tmp_path, monkeypatch):
    """The window shows first and the widget loads the model code (torch._dynamo, the update)
    once it shows, so that neither a first retrain nor the window waits for it."""
    import time

    import napari
    from qtpy.QtWidgets import QApplication

    from napari_noisyfix.gui import preload

    seen = []
    monkeypatch.setattr(preload, "_scheduled", [])  # another test's widget may have scheduled it
    monkeypatch.setattr(
        preload,
        "preload_model_stack",
        lambda: seen.append(napari.current_viewer().window._qt_window.isVisible()),
    )

    def run():  # napari's event loop, until the preload's timer has fired
        end = time.monotonic() + 10
        while not seen and time.monotonic() < end:
            QApplication.processEvents()
            time.sleep(0.02)
        napari.current_viewer().close()

    monkeypatch.setattr(napari, "run", run)
    masks = {"a": np.zeros((32, 32), np.uint8)}
    project = Project.create(tmp_path / "p", {"a": np.ones((32, 32), np.float32)}, masks)
    assert launch(project, reviewer="dr-live") == 0
    assert seen == [True]


def test_the_widget_is_imported_without_torch():
    """napari imports a plugin's widget on its UI thread: without torch (seconds), the widget
    opens at once and loads the model code after it shows."""
    import subprocess
    import sys

    code = "import sys, napari_noisyfix.gui.widget; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_the_preload_makes_napari_s_unit_registry():
    """pint reads its unit definitions the first time a layer asks for a unit; the preload does
    it, so that opening a project from the widget does not."""
    import subprocess
    import sys

    code = (
        "import pint; from napari_noisyfix.gui.preload import preload_model_stack; "
        "lazy = type(pint.get_application_registry().get()).__name__; preload_model_stack(); "
        "print(lazy, type(pint.get_application_registry().get()).__name__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["LazyRegistry", "UnitRegistry"]
