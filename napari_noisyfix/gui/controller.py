"""Turns review events into session calls and session results into layers (no widgets here)."""

from __future__ import annotations

import time
from collections.abc import Callable

from ..errors import NoisyFixError
from ..faults import FAULTS, one_line
from ..model.update_guard import version_summary
from ..review import ReviewSession
from ..review.jobs import retrain_job, score_job, train_job
from .layers import ProjectLayers
from .scores import ScoreView, prepare_scores
from .workers import JobRunner, run_in_turns

#: Optimisation steps of a retrain from the widget (until the user picks another number).
RETRAIN_STEPS = 30


class ReviewController:
    """Project, review session, layers and background jobs behind the NoisyFix widget.

    Parameters
    ----------
    viewer : napari.Viewer
        The viewer whose layers are managed.
    on_change : callable
        Called (no arguments) after anything the widget shows has changed.
    on_status : callable
        Called with a one-line message (job progress, errors, confirmations).
    """

    def __init__(self, viewer, on_change: Callable[[], None], on_status: Callable[[str], None]):
        self.viewer = viewer
        self.layers = ProjectLayers(viewer)
        self.runner = JobRunner(on_status, log_file=self._log_file)
        self.on_change, self.on_status = on_change, on_status
        self.project = None
        self.reviewer: str | None = None
        self.session: ReviewSession | None = None
        self.view: ScoreView | None = None
        self.refine_choice: Callable[[], tuple[str | None, dict]] = lambda: (None, {})
        self.retrain_steps = RETRAIN_STEPS
        self.auto_retrain = 0
        self.corrections = 0
        self.train_config = None
        self.train_budget = "auto"
        self.refreshed_at: float | None = None
        self._touched: set[str] = set()
        self.closed = False

    # ------------------------------------------------------------------ project
    def open(self, project, reviewer: str) -> None:
        """Show ``project`` and start reviewing as ``reviewer`` (remembered in the project
        when it is open for writing)."""
        self.runner.cancel()
        if project.writable and project.reviewer != reviewer:
            project.set_reviewer(reviewer)
        self.project, self.session, self.corrections = project, None, 0
        self.reviewer = reviewer
        self.layers.load_project(project)
        self.load_scores(None)
        if project.notes:  # what opening recovered (an interrupted action rolled back)
            self.announce("; ".join(project.notes))

    def announce(self, text: str, warning: bool = False) -> None:
        """Say ``text`` in the status line and as a napari notification (results of long jobs,
        projects made, opened or recovered; ``warning`` for what was refused)."""
        from napari.utils import notifications

        self.on_status(text)
        (notifications.show_warning if warning else notifications.show_info)(text)

    def load_scores(self, version: int | None) -> None:
        """(Re)load the regions, proposal and heatmaps of a scored version; masks stay as they are."""
        self.show_scores(self._prepare(version)(), focus=True)

    def _prepare(self, version: int | None) -> Callable[[], ScoreView]:
        """A function (safe to run in a worker) that builds the ScoreView of ``version``."""
        project, reviewer, layers = self.project, self.reviewer, self.layers
        names, shapes, canvas = list(layers.names), dict(layers.shapes), layers.canvas_shape
        return lambda: prepare_scores(project, reviewer, names, shapes, canvas, version)

    def show_scores(
        self, view: ScoreView, focus: bool = False, staged: bool = False, job: str | None = None
    ) -> None:
        """Swap in a prepared session and its overlays (on the UI thread; masks untouched).

        ``staged`` spreads the layer updates over several event-loop turns, so that a refresh
        arriving from a worker never holds the interface for the whole update. ``job`` names the
        job that made ``view``: once the layers are updated, a notification says what it made.
        """
        steps = [
            lambda: self._swap_session(view),
            *self.layers.score_steps(view),
            lambda: self.layers.show_flags(
                self.session.regions, self.session.status, self.current_id
            ),
            lambda: self.layers.show_outliers(self.session.regions),
            lambda: self._refreshed(focus),
        ]
        if job is not None:
            steps.append(lambda: self._tell_finished(job, view))
        if staged:
            project = self.project
            run_in_turns(steps, alive=lambda: not self.closed and self.project is project)
        else:
            for step in steps:
                step()

    def _swap_session(self, view: ScoreView) -> None:
        """Swap in a rescored session; the reviewer stays at the region they were on (or the
        nearest open one) and keeps their undo history."""
        session, self.view = view.session, view
        session.forget(self._touched)
        self._touched = set()
        if self.session is not None:
            session.history = self.session.history
            session.resume_at(self.session.current)
        self.session = session

    def _refreshed(self, focus: bool) -> None:
        self._refresh(focus=focus)
        self.refreshed_at = time.perf_counter()

    @property
    def current_id(self) -> str | None:
        """Id of the region under review, or None."""
        region = self.session.current if self.session else None
        return None if region is None else region.id

    def refocus(self) -> None:
        """Fit the view to the window again and zoom onto the current region (after a resize)."""
        region = self.session.current if self.session else None
        if region is not None:
            self.layers.focus(region)
        else:
            self.viewer.reset_view()

    def model_text(self) -> str:
        """Model and score versions, for the state line."""
        if self.project is None:
            return "no project"
        latest = self.project.latest_model_version()
        scored = self.session.version if self.session else None
        model = f"model v{latest}" if latest else "no model yet"
        return model + (f" · scores v{scored}" if scored else " · not scored")

    # ------------------------------------------------------------------ actions
    def _run(self, call: Callable):
        if self.session is None:
            self.on_status("open a project first")
            return None
        try:
            return call()
        except FAULTS as exc:
            self.report(exc)
            return None

    def _log_file(self):
        return None if self.project is None else self.project.root / "log.sqlite"

    def report(self, exc: BaseException) -> None:
        """Show an error as one line ``FILE: problem`` in the status line; a fault from outside
        (disk full, permission denied, SQLite, memory) also as a napari notification."""
        text = one_line(exc, log=self._log_file())
        self.on_status(text)
        if not isinstance(exc, NoisyFixError):
            from napari.utils import notifications

            notifications.show_error(text)

    def accept(self) -> None:
        """Accept the current region's proposal (refined with the chosen tool)."""
        tool, params = self.refine_choice()
        self._saved(self._run(lambda: self.session.accept(refine=tool, **params)))

    def reject(self) -> None:
        """The given mask was right for the current region."""
        self._saved(self._run(lambda: self.session.reject()))

    def commit_edit(self) -> None:
        """Save the brush edits of the image on screen (and close the current region there)."""
        name = self.layers.current_name()
        if self.session is None or name is None:
            return
        region = self.session.current
        rid = region.id if region is not None and region.image == name else None
        new, saved = self.layers.mask_of(name), self._run(lambda: self.session.working(name))
        if saved is None:
            return
        if rid is None and (new == saved).all():
            self.on_status(f"{name}: no edit to commit")
            return
        self._saved(self._run(lambda: self.session.commit_edit(name, new, region_id=rid)))

    def skip(self) -> None:
        """Leave the current region open and go to the next one."""
        self._run(lambda: self.session.skip())
        self._refresh(focus=True)

    def next(self) -> None:
        """Go to the next open region."""
        self._run(lambda: self.session.next())
        self._refresh(focus=True)

    def previous(self) -> None:
        """Go to the previous open region."""
        self._run(lambda: self.session.previous())
        self._refresh(focus=True)

    def goto(self, region_id: str) -> None:
        """Make a region current and zoom onto it."""
        self._run(lambda: self.session.goto(region_id))
        self._refresh(focus=True)

    def undo(self) -> None:
        """Undo the last saved action (layer and disk)."""
        action = self._run(lambda: self.session.undo())
        self._show(action, "after", "before")
        self.on_status("nothing to undo" if action is None else f"undid {action.kind}")

    def redo(self) -> None:
        """Redo the last undone action."""
        action = self._run(lambda: self.session.redo())
        self._show(action, "before", "after")
        self.on_status("nothing to redo" if action is None else f"redid {action.kind}")

    def accept_all(self, threshold: float, preview: bool) -> dict | None:
        """Counts and expected precision of accepting every open region whose proposal helps
        with probability ``threshold`` or more (what it would change, or did)."""
        counts = self._run(lambda: self.session.accept_all(threshold, preview=preview))
        if counts and counts["regions"] and not preview:
            self._saved(self.session.history.done[-1])
        return counts

    def preview_refinement(self) -> None:
        """Show the current region's proposal, refined with the chosen tool, as contours."""
        tool, params = self.refine_choice()
        region = self.session.current if self.session else None
        mask = self._run(lambda: self.session.preview(refine=tool, **params))
        if region is not None and mask is not None:
            self.layers.show_preview(region.image, mask)
            self.on_status(f"{region.id}: preview with {tool or 'no refinement'}")

    def _saved(self, action) -> None:
        if action is None:
            return
        self._show(action, "before", "after")
        self.on_status(f"{action.kind}: {action.pixels_changed} pixels saved")
        self.corrections += 1
        if self.auto_retrain and self.corrections >= self.auto_retrain and not self.runner.busy:
            self.retrain()

    def _show(self, action, old: str, new: str) -> None:
        if action is not None:
            self._touched.update(action.after)
            for name, state in getattr(action, new).items():
                before = getattr(action, old)[name].mask
                self.layers.write_mask(name, state.mask, only=before != state.mask)
        self._refresh(focus=True)

    def _refresh(self, focus: bool) -> None:
        if self.session is not None:
            self.layers.show_preview(None, None)
            self.layers.update_status(self.session.status, self.current_id)
            if focus and self.session.current is not None:
                self.layers.focus(self.session.current)
        self.on_change()

    def close(self) -> None:
        """Stop background work: cancel the job and drop refresh steps still queued."""
        if not self.closed:
            self.layers.disconnect()
        self.closed = True
        self.runner.cancel()

    # ------------------------------------------------------------------ jobs
    def train(self, folds: int | None = None) -> None:
        """Train out-of-fold models from scratch and score (in a worker): the plan of
        ``train_budget``, or ``train_config`` when one is set."""
        project, config, budget = self.project, self.train_config, self.train_budget
        self._start("train", lambda: train_job(project, folds, config, budget))

    def score(self) -> None:
        """Score the newest model (in a worker)."""
        self._start("score", lambda: score_job(self.project))

    def retrain(self) -> None:
        """Update the model from the corrections and rescore (in a worker)."""
        steps, project, config = self.retrain_steps, self.project, self.train_config
        self.corrections = 0
        self._start("retrain", lambda: retrain_job(project, steps, config))

    def _start(self, name: str, make_job: Callable) -> None:
        if self.project is None:
            self.on_status("open a project first")
            return
        prepare_latest = self._prepare(None)

        def job():
            yield from make_job()
            return prepare_latest()

        self._touched = set()
        project = self.project
        try:
            self.runner.start(name, job, lambda view: self._finished(name, project, view))
        except FAULTS as exc:
            self.report(exc)

    def _finished(self, name: str, project, view: ScoreView) -> None:
        """Show a finished job's scores, unless another project was opened meanwhile."""
        if project is not self.project:
            self.on_status(
                f"{name} of {project.root.name} finished; its project is no longer shown"
            )
            return
        self.show_scores(view, staged=True, job=name)

    def _tell_finished(self, job: str, view: ScoreView) -> None:
        """What a finished job made, as a notification."""
        project = self.project
        session, latest = view.session, project.latest_model_version()
        model = f"model v{latest}" if latest else "no model yet"
        to_review = sum(map(session.is_open, session.regions))
        text = (
            f"NoisyFix {job} done: {project.root.name}, {model}, "
            f"{to_review} of {len(session.regions)} regions to review"
        )
        guard = version_summary(project, latest) if job == "retrain" else None
        self.announce(text if guard is None else f"{text}; {guard}")
