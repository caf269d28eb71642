"""What a plain ``napari`` window does before and during the widget's first jobs, in a fresh process:
the window (and its OpenGL context) first, then the widget, Train, one accepted fix and Retrain.

Run as ``python plain_window_jobs.py PROJECT``; prints one JSON line. torch is not imported before
the window exists, as in ``napari`` started from a shell (``noisyfix review`` imports it first).
"""

import json
import sys
import time

import napari
from qtpy.QtWidgets import QApplication

WAIT_S = 240


def wait_idle(controller) -> None:
    """Run the event loop until the controller's job has finished (or fail after ``WAIT_S``)."""
    end = time.monotonic() + WAIT_S
    while controller.runner.busy:
        if time.monotonic() > end:
            raise SystemExit(f"{controller.runner.name} still running after {WAIT_S} s")
        QApplication.processEvents()
        time.sleep(0.02)
    QApplication.processEvents()


def main(root: str) -> None:
    viewer = napari.Viewer(show=True)
    QApplication.processEvents()  # the canvas's OpenGL context: Mesa's LLVM under Xvfb

    from napari_noisyfix.model.triton_load import llvm_in_global_scope

    llvm_first = llvm_in_global_scope()
    loaded_before = [m for m in ("torch", "torch._dynamo", "triton") if m in sys.modules]

    from napari_noisyfix.gui.widget import NoisyFixWidget  # as napari does: after the window
    from napari_noisyfix.model.config import TrainConfig  # smp, timm, torchvision: torch._dynamo

    widget = NoisyFixWidget(viewer)
    viewer.window.add_dock_widget(widget, name="NoisyFix review")
    assert widget.open_project(root, reviewer="dr-gl")
    c = widget.controller
    c.train_config = TrainConfig(
        epochs=1, steps_per_epoch=1, batch_size=2, image_size=64, device="cpu", amp=False, seed=0
    )
    c.train(folds=2)
    wait_idle(c)
    trained = c.session.version
    widget.steps.setValue(1)
    widget.auto.setValue(1)
    c.accept()  # one fix: the automatic retrain
    wait_idle(c)
    print(
        json.dumps(
            {
                "llvm_first": llvm_first,
                "loaded_before": loaded_before,
                "trained": trained,
                "retrained": c.session.version,
                "dynamo": "torch._dynamo" in sys.modules,
                "status": widget.status.text(),
            }
        ),
        flush=True,
    )
    widget.close()
    viewer.close()


if __name__ == "__main__":
    main(sys.argv[1])
