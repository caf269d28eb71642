"""Open napari with the NoisyFix widget docked and a project loaded (``noisyfix review`` / ``demo``)."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

from ..errors import NoisyFixError
from ..project import Project

WINDOW_SIZE = (1600, 1000)
#: Seconds to let the window settle before a screenshot (napari's start-up toasts fade after 4 s).
SETTLE_SECONDS = 2.5


def preload_model_stack() -> None:
    """Import torch and the model code before the window exists.

    Importing torch initialises C extensions that hold the GIL for seconds; done first inside a
    retrain worker, that would freeze the interface while the expert works.
    """
    from ..model import update  # noqa: F401
    from ..quality import score  # noqa: F401


def dock(viewer):
    """Add the NoisyFix widget to ``viewer`` and return it."""
    from .widget import NoisyFixWidget

    widget = NoisyFixWidget(viewer)
    viewer.window.add_dock_widget(widget, name="NoisyFix review", area="right")
    return widget


def _settle() -> None:
    """Let Qt lay out and paint the window."""
    import time

    from qtpy.QtWidgets import QApplication

    end = time.monotonic() + SETTLE_SECONDS
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def launch(project_path, screenshot=None, reviewer: str | None = None) -> int:
    """Open ``project_path`` for review in napari.

    Parameters
    ----------
    project_path : path
        A noisyfix project folder.
    screenshot : path, optional
        Render the whole window (widget included) to this PNG and exit instead of running.
    reviewer : str, optional
        Reviewer name; else the one remembered in the project, else asked in a dialog
        (``screenshot`` runs fall back to the login name).

    Returns
    -------
    int
        Exit status (0).
    """
    import napari

    project = Project.open(project_path)
    preload_model_stack()
    if screenshot is not None and not (reviewer or project.reviewer):
        reviewer = getpass.getuser() or "reviewer"
    viewer = napari.Viewer(
        title=f"NoisyFix — {project.config.get('name', Path(project_path).name)}"
    )
    viewer.window.resize(*WINDOW_SIZE)
    widget = dock(viewer)
    if not widget.open_project(project.root, reviewer=reviewer):
        viewer.close()
        raise NoisyFixError(f"{project_path}: could not open the project for review")
    viewer.window.show()
    viewer.window.activate()  # napari's toasts fade only in an active window
    if screenshot is None:
        from qtpy.QtCore import QTimer

        QTimer.singleShot(0, widget.controller.refocus)
        napari.run()
        return 0
    _settle()
    widget.controller.refocus()
    _settle()
    out = Path(os.fspath(screenshot))
    out.parent.mkdir(parents=True, exist_ok=True)
    viewer.screenshot(str(out), canvas_only=False)
    viewer.close()
    return 0
