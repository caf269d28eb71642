"""Open napari with the NoisyFix widget docked and a project loaded (``noisyfix review`` / ``demo``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ..errors import NoisyFixError
from ..project import Project

WINDOW_SIZE = (1600, 1000)
#: Seconds to let the window settle before a screenshot (napari's start-up toasts fade after 4 s).
SETTLE_SECONDS = 2.5
#: Who reviews in a ``--screenshot`` run when nobody was named: for that run only.
SCREENSHOT_REVIEWER = "screenshot"


def dock(viewer):
    """Add the NoisyFix widget to ``viewer`` and return it."""
    from .widget import NoisyFixWidget

    widget = NoisyFixWidget(viewer)
    viewer.window.add_dock_widget(widget, name="NoisyFix review", area="right")
    return widget


def quiet_binding_notice() -> None:
    """Keep napari's "PyQt5 backend is deprecated" toast off our windows.

    The notice speaks to napari's own developers and covers the canvas (and every screenshot);
    the app installs PyQt5 as its binding and reaches Qt only through qtpy, so PyQt6 works as
    well. napari has no setting for this notice, only the module flag it checks once per run.
    """
    try:
        from napari._qt import qt_main_window
    except ImportError:  # another napari layout: the notice, if any, stays
        return
    if hasattr(qt_main_window, "SHOW_QT_WARNING"):
        qt_main_window.SHOW_QT_WARNING = False


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
    project_path : path, Project or callable
        A noisyfix project folder, a project opened already, or a function returning either,
        called once the window and its widget exist (``noisyfix demo`` prepares its project in
        another process meanwhile). A folder is opened for writing or, when another program has
        it open for writing (or the folder cannot be written), read-only: the window and the
        terminal say so.
    screenshot : path, optional
        Render the whole window (widget included) to this PNG and exit instead of running.
    reviewer : str, optional
        Reviewer name; else the one remembered in the project, else asked in a dialog. A
        ``screenshot`` run with neither reviews as :data:`SCREENSHOT_REVIEWER` for that run only:
        the project remembers no reviewer afterwards (and never the login name).

    Returns
    -------
    int
        Exit status (0).
    """
    import napari

    pending = callable(project_path)
    project = None if pending else _opened(project_path)
    quiet_binding_notice()
    viewer = napari.Viewer(title="NoisyFix")
    viewer.window.resize(*WINDOW_SIZE)
    widget = dock(viewer)
    if pending:
        from .preload import preload_now

        try:
            preload_now()  # while the project is prepared elsewhere: no wait after the show
            project = _opened(project_path())
        except BaseException:
            viewer.close()
            raise
    title = f"NoisyFix — {project.config.get('name', project.root.name)}"
    viewer.title = title + ("" if project.writable else " (read-only)")
    session_only = screenshot is not None and not (reviewer or project.reviewer)
    if session_only:
        reviewer = SCREENSHOT_REVIEWER
    if not widget.open_project(project, reviewer=reviewer):
        viewer.close()
        project.close()
        raise NoisyFixError(f"{project.root}: could not open the project for review")
    if session_only and project.writable:
        project.set_reviewer(None)  # opening remembered the name; a screenshot run keeps none
    viewer.window.show()
    viewer.window.activate()  # napari's toasts fade only in an active window
    if screenshot is None:
        from qtpy.QtCore import QTimer

        QTimer.singleShot(0, widget.controller.refocus)
        napari.run()
        project.close()
        return 0
    _settle()
    widget.controller.refocus()
    _settle()
    out = Path(os.fspath(screenshot))
    out.parent.mkdir(parents=True, exist_ok=True)
    viewer.screenshot(str(out), canvas_only=False)
    viewer.close()
    project.close()
    return 0


def _opened(project) -> Project:
    """``project`` as an open project: a folder is opened for review (read-only, and said so on
    the terminal, when it cannot be written)."""
    if not isinstance(project, Project):
        project = Project.open_for_review(project)
    if not project.writable:
        print(
            f"noisyfix: {project.root}: {project.read_only_reason}; opened read-only",
            file=sys.stderr,
        )
    return project
