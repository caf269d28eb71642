"""The NoisyFix dock widget: project, jobs, review queue, actions, refinement, synthetic pairs and
progress."""

from __future__ import annotations

from pathlib import Path

from qtpy.QtCore import QEvent, Qt
from qtpy.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QInputDialog,
    QLabel,
    QScrollArea,
    QSlider,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..errors import NoisyFixError
from ..io.formats import safe_name
from ..model import budget as budgets
from ..project import Project
from . import settings
from .bulk_panel import BulkPanel
from .controller import ReviewController
from .controls import button, spin
from .from_layers import pick_layers, project_from_layers
from .keys import ACTIONS, KeyBinder, key_text
from .legend import Legend
from .preload import schedule_preload
from .queue_panel import QueuePanel
from .refine_panel import RefinePanel
from .synth_panel import SynthPanel
from .why_panel import VerdictBanner, WhyPanel

SAMPLE_DIR = Path.home() / "noisyfix-sample"
#: Narrowest the widget gets (pixels), so the queue's "what" column stays readable.
MIN_WIDTH = 560


def _group(title: str, widget: QWidget) -> QGroupBox:
    group = QGroupBox(title)
    QVBoxLayout(group).addWidget(widget)
    return group


def _login_name() -> str:
    """Who is looking, for a read-only view (nothing is logged under this name)."""
    import getpass

    try:
        return getpass.getuser() or "viewer"
    except (OSError, KeyError, ImportError):
        return "viewer"


def _same_folder(a, b) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


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
        self.synth_panel = SynthPanel(self.controller)
        self.bulk_panel = BulkPanel(self.controller.accept_all)
        self.threshold, self.bulk = self.bulk_panel.threshold, self.bulk_panel.text
        self.banner, self.why, self.legend = VerdictBanner(), WhyPanel(), Legend()
        self.controller.refine_choice = self.refine_panel.selection
        self._shown_session = None
        self.queue_panel.region_selected.connect(self.controller.goto)
        self._build()
        self._remember_settings()
        self.keys.bind(self.controller)
        self.refresh()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """Load the model code once the widget is on screen (:mod:`.preload`)."""
        super().showEvent(event)
        schedule_preload()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 2, 4, 2)
        outer.addWidget(self.banner)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        content = QWidget()
        box = QVBoxLayout(content)
        self.state, self.progress_line, self.status = QLabel(), QLabel(), QLabel()
        self.progress_line.setStyleSheet("font-weight: bold")
        self.status.setWordWrap(True)
        self.status.setContentsMargins(6, 0, 6, 0)
        box.addWidget(self.state)
        box.addWidget(self.progress_line)
        box.addWidget(self._tabs())
        box.addWidget(_group("Review queue", self.queue_panel), stretch=1)
        box.addWidget(_group("Why this region", self.why))
        box.addWidget(self._actions_box())
        scroll.setWidget(content)
        bar = scroll.verticalScrollBar().sizeHint().width()
        scroll.setMinimumWidth(max(content.minimumSizeHint().width(), MIN_WIDTH) + bar)
        outer.addWidget(scroll)
        outer.addWidget(self.status)

    def _tabs(self) -> QTabWidget:
        self.tabs = QTabWidget()
        self.tabs.addTab(self._legend_tab(), "Legend")
        self.tabs.addTab(self._project_tab(), "Project and model")
        self.tabs.addTab(self._refine_tab(), "Refine and bulk accept")
        self.tabs.addTab(
            _group("SinGAN-Seg on the image on screen", self.synth_panel), "Synthetic pairs"
        )
        self.tabs.setCurrentIndex(1)  # the legend is shown once a project is open
        return self.tabs

    def _legend_tab(self) -> QWidget:
        tab = QWidget()
        grid = QGridLayout(tab)
        grid.addWidget(self.legend, 0, 0, 1, 2)
        self.heat_opacity = QSlider(Qt.Horizontal)
        self.heat_opacity.setRange(0, 100)
        self.heat_opacity.valueChanged.connect(
            lambda v: self.controller.layers.set_heat_opacity(v / 100)
        )
        grid.addWidget(QLabel("heatmap opacity"), 1, 0)
        grid.addWidget(self.heat_opacity, 1, 1)
        return tab

    def _project_tab(self) -> QWidget:
        tab = QWidget()
        grid = QGridLayout(tab)
        c = self.controller
        grid.addWidget(button("Open project…", self.choose_project), 0, 0, 1, 2)
        sample_tip = f"The synthetic sample project ({SAMPLE_DIR}; asks before writing it)"
        grid.addWidget(button("Open sample", self.open_sample, sample_tip), 0, 2, 1, 2)
        from_layers = button(
            "New project from layers…",
            self.new_project_from_layers,
            "A project from the selected (or only) Image and Labels layers in the viewer",
        )
        grid.addWidget(from_layers, 1, 0, 1, 4)
        jobs = (("Train", c.train), ("Score", c.score), ("Retrain", c.retrain))
        for i, (text, slot) in enumerate((*jobs, ("Cancel", c.runner.cancel))):
            grid.addWidget(button(text, slot), 2, i)
        grid.addWidget(self._training_box(), 3, 0, 1, 4)
        return tab

    def _training_box(self) -> QGroupBox:
        """Train's budget (what it trains, shown beside it; the estimated duration is announced
        when training starts) and Retrain's steps and automatic retraining."""
        c = self.controller
        group = QGroupBox("Training and retraining")
        grid = QGridLayout(group)
        self.budget = QComboBox()
        self.budget.addItems(budgets.CHOICES)
        self.budget.setToolTip("Train's network, schedule, crop size and folds")
        self.budget_text = QLabel()
        self.budget_text.setWordWrap(True)
        self.budget.currentTextChanged.connect(self._budget_chosen)
        steps = settings.SETTINGS["retrain_steps"]
        self.steps = spin(
            QSpinBox, steps.low, steps.high, c.retrain_steps, prefix="retrain ", suffix=" steps"
        )
        self.auto = spin(QSpinBox, 0, 1000, 0, prefix="auto after ", suffix=" fixes")
        self.auto.setSpecialValueText("auto retrain off")
        self.steps.valueChanged.connect(lambda v: setattr(c, "retrain_steps", v))
        self.auto.valueChanged.connect(lambda v: setattr(c, "auto_retrain", v))
        grid.addWidget(QLabel("Train budget"), 0, 0)
        grid.addWidget(self.budget, 0, 1)
        grid.addWidget(self.budget_text, 1, 0, 1, 4)
        grid.addWidget(self.steps, 2, 0, 1, 2)
        grid.addWidget(self.auto, 2, 2, 1, 2)
        self._budget_chosen(self.budget.currentText())
        return group

    def _budget_chosen(self, name: str) -> None:
        self.controller.train_budget = name
        self.budget_text.setText(f"{name}: {budgets.budget_text(name)}")

    def _remember_settings(self) -> None:
        """Start from the remembered settings and remember every change (see :mod:`.settings`)."""
        index = settings.read("train_budget")
        self.budget.setCurrentIndex(index)
        self.budget.currentIndexChanged.connect(lambda i: settings.write("train_budget", i))
        controls = {
            "retrain_steps": (self.steps, 1),
            "auto_retrain": (self.auto, 1),
            "bulk_threshold": (self.threshold, 1),
            "heat_opacity": (self.heat_opacity, 100),
        }
        for key, (control, scale) in controls.items():
            value = settings.read(key)
            control.setValue(value if scale == 1 else round(value * scale))
            control.valueChanged.connect(lambda v, k=key, s=scale: settings.write(k, v / s))
        self.controller.layers.set_heat_opacity(self.heat_opacity.value() / 100)

    def _actions_box(self) -> QGroupBox:
        group = QGroupBox("Actions (keys)")
        grid = QGridLayout(group)
        for i, action in enumerate(ACTIONS):
            text = f"{action.label}  [{key_text(action.key)}]"
            slot = getattr(self.controller, action.method)
            grid.addWidget(button(text, slot, action.help), i // 4, i % 4)
        hint = QLabel("Paint: brush P · eraser E · fill F · Ctrl+Z undoes a stroke")
        hint.setWordWrap(True)
        grid.addWidget(hint, 2, 0, 1, 4)
        return group

    def _refine_tab(self) -> QWidget:
        tab = QWidget()
        box = QVBoxLayout(tab)
        box.addWidget(self.refine_panel)
        box.addWidget(button("Preview refinement", self.controller.preview_refinement))
        box.addWidget(self.bulk_panel)
        box.addStretch(1)
        return tab

    # ------------------------------------------------------------------ project
    def choose_project(self) -> None:
        """Ask for a project folder and open it."""
        path = QFileDialog.getExistingDirectory(self, "Open a noisyfix project")
        if path:
            self.open_project(path)

    def open_sample(self, folder=None) -> bool:
        """Open the sample project in ``folder``, made there on first use; without ``folder``,
        the one in :data:`SAMPLE_DIR` when it exists, else ask first where to write it (the
        home folder, another folder, or not at all)."""
        from ..synth.sample import make_sample_project

        if folder is None:
            folder = SAMPLE_DIR if (SAMPLE_DIR / "project.json").exists() else self._ask_sample()
        if folder is None:
            return False
        folder = Path(folder)
        if not (folder / "project.json").exists():
            try:
                make_sample_project(folder, n=12, size=128).close()
            except NoisyFixError as exc:
                self.controller.announce(str(exc), warning=True)
                return False
        return self.open_project(folder)

    def _ask_sample(self) -> Path | None:
        """Where to write the sample project: :data:`SAMPLE_DIR`, a chosen folder, or nowhere."""
        from qtpy.QtWidgets import QMessageBox

        box = QMessageBox(self)
        box.setWindowTitle("Open sample")
        box.setText(
            f"The sample project (12 synthetic images, under 1 MB) is written to {SAMPLE_DIR}."
        )
        here = box.addButton("Write it there", QMessageBox.AcceptRole)
        other = box.addButton("Choose a folder…", QMessageBox.ActionRole)
        box.addButton(QMessageBox.Cancel)
        box.exec_()
        if box.clickedButton() is here:
            return SAMPLE_DIR
        if box.clickedButton() is other:
            path = QFileDialog.getExistingDirectory(self, "Folder for the sample project")
            return Path(path) / "noisyfix-sample" if path else None
        return None

    def open_project(self, path, reviewer: str | None = None) -> bool:
        """Open a project folder (or a :class:`Project` opened already) for review.

        The reviewer is asked once when neither given nor remembered. When another program has
        the project open for writing, or its folder cannot be written, it opens read-only and
        says so (status line, state line and a notification); its actions are then refused in
        one line. The project shown before is closed (its lock released).
        """
        previous = self.controller.project
        try:
            project = path if isinstance(path, Project) else self._open(path)
        except NoisyFixError as exc:
            self.controller.announce(str(exc), warning=True)
            return False
        name = reviewer or project.reviewer
        name = name or (self._ask_reviewer() if project.writable else _login_name())
        if not name:
            if project is not path:
                project.close()
            self.show_status("a reviewer name is needed to review")
            return False
        self.bulk.setText("")
        self.show_status(f"{project.root.name}: {len(project.names)} images")
        self.controller.open(project, name)
        self.legend.show_palette(self.controller.layers.palette)
        if previous is not None and previous is not project:
            previous.close()
        self.tabs.setCurrentIndex(0)
        if not project.writable:
            self._say_read_only(project)
        return True

    def new_project_from_layers(self, folder=None, reviewer: str | None = None) -> bool:
        """Make a project of the viewer's selected (or only) Image and Labels layers in
        ``folder`` (asked for when not given; it must not exist yet) and open it for review.

        The layers it was made from are hidden, not removed: the project's own layers show the
        same pixels.
        """
        try:
            layers = pick_layers(self.viewer)
            folder = folder or self._ask_new_folder(layers[0].name)
            project = project_from_layers(folder, *layers) if folder else None
        except NoisyFixError as exc:
            self.controller.announce(str(exc), warning=True)
            return False
        if project is None:
            return False
        if not self.open_project(project, reviewer=reviewer):
            project.close()
            return False
        for layer in layers:
            layer.visible = False
        self.controller.announce(
            f"NoisyFix: new project {project.root} with {len(project.names)} images; "
            "Train gives it a review queue"
        )
        return True

    def _ask_new_folder(self, name: str) -> str | None:
        start = str(Path.home() / f"noisyfix-{safe_name(name)}")
        path, _ = QFileDialog.getSaveFileName(self, "Folder for the new noisyfix project", start)
        return path or None

    def _open(self, path) -> Project:
        """Open for writing, else read-only; the project on screen is closed first when it is
        the same folder (it holds the lock)."""
        current = self.controller.project
        if current is not None and _same_folder(current.root, path):
            current.close()
        return Project.open_for_review(path)

    def _say_read_only(self, project: Project) -> None:
        from napari.utils.notifications import show_warning

        text = f"{project.root.name} is open read-only: {project.read_only_reason}"
        self.show_status(text + "; review actions, training and scoring are refused")
        show_warning(f"NoisyFix: {text}. You can view and export it; close it there to review.")

    def _ask_reviewer(self) -> str | None:
        text, ok = QInputDialog.getText(self, "Reviewer", "Your name (kept in the audit log):")
        return text.strip() if ok and text.strip() else None

    # ------------------------------------------------------------------ view
    def accept_all(self, preview: bool) -> None:
        """Preview or apply 'accept every open region whose fix helps with P >= threshold'."""
        self.bulk_panel.run(preview)

    def refresh(self) -> None:
        """Update the banner, state and progress lines, the queue table and the why-box."""
        c = self.controller
        if c.project is None:
            self.state.setText("no project open")
            self.progress_line.setText("")
            return
        s, view = c.session, c.view
        mode = "" if c.project.writable else " · READ-ONLY"
        self.state.setText(
            f"{c.project.root.name}{mode} · reviewer {s.reviewer} · {c.model_text()}"
        )
        self.progress_line.setText(s.progress().text())
        if s is not self._shown_session:
            self.banner.show_verdict(view.verdict)
            self.queue_panel.set_regions(s.regions, s.status, view.est_dice)
            self._shown_session = s
        else:
            self.queue_panel.update_status(s.status)
        self.queue_panel.select(s.current.id if s.current else None)
        self._explain(s.current)

    def _explain(self, region) -> None:
        view = self.controller.view
        name = region.image if region is not None else None
        self.why.show_region(region, view.est_dice.get(name), view.image_error.get(name))

    def show_status(self, text: str) -> None:
        """Show a one-line message under the widget."""
        self.status.setText(text)

    def teardown(self) -> None:
        """Unbind the review keys, stop background work and release the project (idempotent)."""
        self.keys.unbind()
        self.controller.close()
        if self.controller.project is not None:
            self.controller.project.close()

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """Tear down when the widget is closed."""
        self.teardown()
        super().closeEvent(event)

    def event(self, event) -> bool:
        """Tear down when napari takes the widget out of its dock (its parent becomes None)."""
        if event.type() == QEvent.ParentChange and self.parent() is None and self.keys.bound:
            self.teardown()
        return super().event(event)
