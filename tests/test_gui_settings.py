"""Remembered settings survive a widget restart; finished jobs are napari notifications."""

from pathlib import Path

import numpy as np
import pytest
from gui_settings import private_settings  # noqa: F401 (autouse: no user settings touched)

from napari_noisyfix.gui import controller as controller_module
from napari_noisyfix.gui import settings
from napari_noisyfix.gui.layers import NAMES
from napari_noisyfix.gui.widget import NoisyFixWidget
from napari_noisyfix.progress import Progress
from napari_noisyfix.project import Project


@pytest.fixture
def project_root(tmp_path):
    images = {
        f"im{i}": np.random.default_rng(i).random((32, 32)).astype(np.float32) for i in (0, 1)
    }
    masks = {n: np.zeros((32, 32), np.uint8) for n in images}
    with Project.create(tmp_path / "p", images, masks) as project:
        project.set_reviewer("dr-settings")
    return project.root


def test_settings_survive_a_widget_restart(make_napari_viewer, project_root, tmp_path_factory):
    viewer = make_napari_viewer()
    first = NoisyFixWidget(viewer)
    assert first.steps.value() == 30 and first.threshold.value() == pytest.approx(0.9)
    assert first.heat_opacity.value() == 50
    first.steps.setValue(7)
    first.threshold.setValue(0.55)
    first.heat_opacity.setValue(30)
    assert first.budget.currentText() == "auto" and first.controller.train_budget == "auto"
    first.budget.setCurrentText("thorough")
    first.auto.setValue(4)
    first.close()
    stored = Path(settings.store().fileName())  # in the tests' folder, not the user's
    assert stored.is_file() and stored.is_relative_to(tmp_path_factory.getbasetemp())

    second = NoisyFixWidget(viewer)
    viewer.window.add_dock_widget(second)
    assert second.steps.value() == 7 and second.controller.retrain_steps == 7
    assert second.threshold.value() == pytest.approx(0.55)
    assert second.heat_opacity.value() == 30
    assert (
        second.budget.currentText() == "thorough" and second.controller.train_budget == "thorough"
    )
    assert "5 folds + a final model" in second.budget_text.text()
    assert second.auto.value() == 4 and second.controller.auto_retrain == 4
    assert second.open_project(project_root)
    assert viewer.layers[NAMES["uncertainty"]].opacity == pytest.approx(0.3)
    assert viewer.layers[NAMES["errors"]].opacity == pytest.approx(0.3)
    second.close()


def test_unusable_stored_values_read_as_defaults(qapp):
    store = settings.store()
    store.setValue("retrain_steps", "many")
    store.setValue("heat_opacity", 7.5)
    store.sync()
    assert settings.read("retrain_steps") == settings.SETTINGS["retrain_steps"].default
    assert settings.read("heat_opacity") == settings.SETTINGS["heat_opacity"].default
    settings.write("heat_opacity", 0.25)
    assert settings.read("heat_opacity") == pytest.approx(0.25)


def test_a_finished_job_is_a_notification(make_napari_viewer, qtbot, project_root, monkeypatch):
    from napari.utils import notifications

    told = []
    monkeypatch.setattr(notifications, "show_info", told.append)

    def quick_score(project):
        yield Progress("score", 1, 1)

    monkeypatch.setattr(controller_module, "score_job", quick_score)
    viewer = make_napari_viewer()
    widget = NoisyFixWidget(viewer)
    viewer.window.add_dock_widget(widget)
    assert widget.open_project(project_root)
    widget.controller.score()
    qtbot.waitUntil(lambda: not widget.controller.runner.busy and bool(told), timeout=30_000)
    assert told == ["NoisyFix score done: p, no model yet, 0 of 0 regions to review"]
    assert widget.status.text() == told[0]
    widget.close()
