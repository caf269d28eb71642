"""The NoisyFix dock widget: project, jobs, review queue, actions, refinement and progress."""

from __future__ import annotations

from pathlib import Path

from qtpy.QtCore import QEvent, Qt
from qtpy.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..errors import NoisyFixError
from ..project import Project
from .controller import ReviewController
from .keys import ACTIONS, KeyBinder, key_text
from .layers import HEAT_OPACITY
from .queue_panel import QueuePanel
from .refine_panel import RefinePanel

SAMPLE_DIR = Path.home() / "noisyfix-sample"


def _button(text: str, slot, tip: str = "") -> QPushButton:
    button = QPushButton(text)
    button.setToolTip(tip)
    button.clicked.connect(lambda *_: slot())
    return button


def _spin(cls, lo, hi, value, step=1, prefix="", suffix=""):
    spin = cls()
    spin.setRange(lo, hi)
    spin.setSingleStep(step)
    spin.setValue(value)
    spin.setPrefix(prefix)
    spin.setSuffix(suffix)
    return spin


class NoisyFixWidget(QWidget):
    """Review noisy segmentation labels: open a project, walk its queue, fix, retrain.

    Parameters
    ----------
    napari_viewer : napari.Viewer
        The viewer the widget is docked in.
    """

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.controller = ReviewController(napari_viewer, self.refresh, self.show_status)
        self.keys = KeyBinder(napari_viewer)
        self.queue_panel = QueuePanel()
        self.refine_panel = RefinePanel()
        self.controller.refine_choice = self.refine_panel.selection
        self._shown_session = None
        self.queue_panel.region_selected.connect(self.controller.goto)
        self._build()
        self.keys.bind(self.controller)
        self.refresh()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        box = QVBoxLayout(self)
        box.addWidget(self._project_box())
        box.addWidget(self._jobs_box())
        queue = QGroupBox("Review queue")
        QVBoxLayout(queue).addWidget(self.queue_panel)
        box.addWidget(queue, stretch=1)
        box.addWidget(self._actions_box())
        box.addWidget(self._refine_box())
        self.status = QLabel()
        self.status.setWordWrap(True)
        box.addWidget(self.status)

    def _project_box(self) -> QGroupBox:
        group = QGroupBox("Project")
        grid = QGridLayout(group)
        grid.addWidget(_button("Open project…", self.choose_project), 0, 0)
        grid.addWidget(_button("Open sample", self.open_sample, str(SAMPLE_DIR)), 0, 1)
        self.state = QLabel()
        self.progress_line = QLabel()
        self.progress_line.setStyleSheet("font-weight: bold")
        grid.addWidget(self.state, 1, 0, 1, 2)
        grid.addWidget(self.progress_line, 2, 0, 1, 2)
        return group

    def _jobs_box(self) -> QGroupBox:
        group = QGroupBox("Model")
        grid = QGridLayout(group)
        c = self.controller
        for i, (text, slot) in enumerate(
            (
                ("Train", c.train),
                ("Score", c.score),
                ("Retrain", c.retrain),
                ("Cancel", c.runner.cancel),
            )
        ):
            grid.addWidget(_button(text, slot), 0, i)
        self.steps = _spin(QSpinBox, 1, 10000, c.retrain_steps, prefix="retrain ", suffix=" steps")
        self.auto = _spin(QSpinBox, 0, 1000, 0, prefix="auto after ", suffix=" fixes")
        self.auto.setSpecialValueText("auto retrain off")
        self.steps.valueChanged.connect(lambda v: setattr(c, "retrain_steps", v))
        self.auto.valueChanged.connect(lambda v: setattr(c, "auto_retrain", v))
        grid.addWidget(self.steps, 1, 0, 1, 2)
        grid.addWidget(self.auto, 1, 2, 1, 2)
        self.heat_opacity = QSlider(Qt.Horizontal)
        self.heat_opacity.setRange(0, 100)
        self.heat_opacity.setValue(round(HEAT_OPACITY * 100))
        self.heat_opacity.valueChanged.connect(lambda v: c.layers.set_heat_opacity(v / 100))
        grid.addWidget(QLabel("heatmap opacity"), 2, 0)
        grid.addWidget(self.heat_opacity, 2, 1, 1, 3)
        return group

    def _actions_box(self) -> QGroupBox:
        group = QGroupBox("Actions (keys)")
        grid = QGridLayout(group)
        for i, action in enumerate(ACTIONS):
            text = f"{action.label}  [{key_text(action.key)}]"
            slot = getattr(self.controller, action.method)
            grid.addWidget(_button(text, slot, action.help), i // 4, i % 4)
        keys = "  ·  ".join(f"{key_text(a.key)} {a.label.lower()}" for a in ACTIONS)
        hint = QLabel(keys + "  ·  paint with napari's brush (P), eraser (E), fill (F), Ctrl+Z")
        hint.setWordWrap(True)
        grid.addWidget(hint, 2, 0, 1, 4)
        return group

    def _refine_box(self) -> QGroupBox:
        group = QGroupBox("Refinement and bulk accept")
        box = QVBoxLayout(group)
        box.addWidget(self.refine_panel)
        box.addWidget(_button("Preview refinement", self.controller.preview_refinement))
        row = QHBoxLayout()
        self.threshold = _spin(QDoubleSpinBox, 0.0, 1.0, 0.9, 0.05, prefix="score ≥ ")
        row.addWidget(self.threshold)
        row.addWidget(_button("Preview", lambda: self.accept_all(preview=True)))
        row.addWidget(_button("Accept all", lambda: self.accept_all(preview=False)))
        box.addLayout(row)
        self.bulk = QLabel()
        box.addWidget(self.bulk)
        return group

    # ------------------------------------------------------------------ project
    def choose_project(self) -> None:
        """Ask for a project folder and open it."""
        path = QFileDialog.getExistingDirectory(self, "Open a noisyfix project")
        if path:
            self.open_project(path)

    def open_sample(self) -> None:
        """Open the sample project (generated on first use)."""
        from ..synth.sample import make_sample_project

        if not (SAMPLE_DIR / "project.json").exists():
            make_sample_project(SAMPLE_DIR, n=12, size=128)
        self.open_project(SAMPLE_DIR)

    def open_project(self, path, reviewer: str | None = None) -> bool:
        """Open a project; the reviewer is asked once when neither given nor remembered."""
        try:
            project = Project.open(path)
        except NoisyFixError as exc:
            self.show_status(str(exc))
            return False
        name = reviewer or project.reviewer or self._ask_reviewer()
        if not name:
            self.show_status("a reviewer name is needed to review")
            return False
        self.controller.open(project, name)
        return True

    def _ask_reviewer(self) -> str | None:
        text, ok = QInputDialog.getText(self, "Reviewer", "Your name (kept in the audit log):")
        return text.strip() if ok and text.strip() else None

    # ------------------------------------------------------------------ view
    def accept_all(self, preview: bool) -> None:
        """Preview or apply 'accept all above the threshold'."""
        counts = self.controller.accept_all(self.threshold.value(), preview)
        if counts is not None:
            verb = "would change" if preview else "changed"
            self.bulk.setText(
                f"{counts['regions']} regions in {counts['images']} images {verb} "
                f"{counts['pixels']} pixels"
            )

    def refresh(self) -> None:
        """Update the state line, the progress line and the queue table."""
        c = self.controller
        if c.project is None:
            self.state.setText("no project open")
            self.progress_line.setText("")
            return
        s = c.session
        self.state.setText(f"{c.project.root.name} · reviewer {s.reviewer} · {c.model_text()}")
        self.progress_line.setText(s.progress().text())
        if s is not self._shown_session:
            self.queue_panel.set_regions(s.regions, s.status)
            self._shown_session = s
        else:
            self.queue_panel.update_status(s.status)
        self.queue_panel.select(s.current.id if s.current else None)

    def show_status(self, text: str) -> None:
        """Show a one-line message under the widget."""
        self.status.setText(text)

    def teardown(self) -> None:
        """Unbind the review keys and stop background work (idempotent)."""
        self.keys.unbind()
        self.controller.close()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """Tear down when the widget is closed."""
        self.teardown()
        super().closeEvent(event)

    def event(self, event) -> bool:
        """Tear down when napari takes the widget out of its dock (its parent becomes None)."""
        if event.type() == QEvent.ParentChange and self.parent() is None and self.keys.bound:
            self.teardown()
        return super().event(event)
