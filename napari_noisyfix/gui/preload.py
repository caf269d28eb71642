"""The model code, loaded once the widget shows: before the expert's first job, not before the
window.

Importing torch initialises C extensions that hold the GIL for seconds; done first inside a
job's worker, that would freeze the interface while the expert works. torch._dynamo too, which
the first optimizer imports (seconds more). The triton it loads is loaded already, by the gui
package (:mod:`~napari_noisyfix.model.triton_load` says why). The widget's first show schedules
:func:`preload_model_stack` :data:`PRELOAD_DELAY_MS` later: the window is painted and the expert
reads the first region while the code loads (a few seconds in which the window does not
respond), instead of waiting that long for the window. napari's unit registry (pint, which reads
its unit definitions the first time a layer asks for a unit: about 0.4-0.9 s here) is made then
too, so that opening a project from the widget does not pay it. ``noisyfix demo`` loads it
earlier still (:func:`preload_now`), while its window waits for the child process that prepares
the project.
"""

from __future__ import annotations

#: Milliseconds from the widget's first show to :func:`preload_model_stack`.
PRELOAD_DELAY_MS = 500
_scheduled = []


def preload_model_stack() -> None:
    """Import torch, torch._dynamo, the update and the scoring code, and make napari's unit
    registry (instant once done)."""
    import pint
    import torch._dynamo  # noqa: F401

    from ..model import update  # noqa: F401
    from ..quality import score  # noqa: F401

    pint.get_application_registry().pixel  # noqa: B018 (the first unit reads the definitions)


def preload_now() -> None:
    """Run :func:`preload_model_stack` now, for a caller with time to spare (the demo's window,
    waiting for its child process), so that the widget's first show schedules nothing."""
    if not _scheduled:
        _scheduled.append(True)
        preload_model_stack()


def schedule_preload() -> None:
    """Run :func:`preload_model_stack` on the UI thread shortly, once per process."""
    if _scheduled:
        return
    from qtpy.QtCore import QTimer

    _scheduled.append(True)
    # the name is looked up when the timer fires, not now (a test replaces the function)
    QTimer.singleShot(PRELOAD_DELAY_MS, lambda: preload_model_stack())
