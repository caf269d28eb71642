"""Menu commands (``menus`` in napari.yaml): each docks the review widget and starts an action.

napari passes the current viewer to a command by its type annotation.
"""

from __future__ import annotations

from napari.viewer import Viewer

PLUGIN, WIDGET = "napari-noisyfix", "NoisyFix review"


def review_widget(viewer: Viewer):
    """The viewer's NoisyFix review widget (also one docked by ``noisyfix review``), docked
    first when there is none."""
    from .widget import NoisyFixWidget

    docked = [w for w in viewer.window.dock_widgets.values() if isinstance(w, NoisyFixWidget)]
    if docked:
        return docked[0]
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, WIDGET)
    return widget


def open_project(viewer: Viewer) -> None:
    """File ▸ IO utilities ▸ Open a NoisyFix project…: ask for a folder and review it."""
    review_widget(viewer).choose_project()


def new_project_from_layers(viewer: Viewer) -> None:
    """Layers ▸ Annotate ▸ New NoisyFix project from these layers…: ask for a folder, build a
    project from the selected (or only) Image and Labels layers and review it."""
    review_widget(viewer).new_project_from_layers()
