"""Run core generators in napari workers with a napari progress bar and a cooperative Cancel.

The generator is created and driven inside the worker thread. Cancel sets a flag the worker checks
between steps; the job is then closed in its own thread, so it cleans up its temporary files there
before the worker finishes.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable

from napari.qt.threading import create_worker
from napari.utils import progress

from ..errors import NoisyFixError
from ..faults import one_line
from ..progress import Progress

CANCELLED = object()
#: Nice increment of worker threads: the UI thread wins the CPU when both want it.
WORKER_NICE = 10


def lower_thread_priority(increment: int = WORKER_NICE) -> None:
    """Make the calling thread nicer to the UI thread (Linux per-thread nice; no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        tid = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(current + increment, 19))


def guarded(make_job: Callable, cancel: threading.Event):
    """Drive ``make_job()`` step by step, stopping (and closing it) once ``cancel`` is set."""
    lower_thread_priority()
    job = make_job()
    try:
        while not cancel.is_set():
            try:
                step = next(job)
            except StopIteration as stop:
                return stop.value
            yield step
        return CANCELLED
    finally:
        job.close()


def run_in_turns(steps: list[Callable], alive: Callable[[], bool] = lambda: True) -> None:
    """Run ``steps`` one per event-loop turn, so input and paint events get through in between.

    The remaining steps are dropped once ``alive()`` is false (the widget was closed).
    """
    from qtpy.QtCore import QTimer

    pending = list(steps)

    def run_next():
        if not alive():
            return
        pending.pop(0)()
        if pending:
            QTimer.singleShot(0, run_next)

    if pending:
        QTimer.singleShot(0, run_next)


class JobRunner:
    """One background job at a time, shown as a napari progress bar.

    Parameters
    ----------
    on_state : callable
        Called with a one-line status text whenever the job starts, steps, ends or fails.
    log_file : callable, optional
        Returns the project's audit log file, named when a job fails on SQLite.
    """

    def __init__(self, on_state: Callable[[str], None], log_file: Callable = lambda: None):
        self.on_state = on_state
        self.log_file = log_file
        self.worker = None
        self.name = ""
        self._cancel = threading.Event()
        self._bar = None
        self._stage = None
        self._latest: Progress | None = None
        self._drawing = False
        self._ended = True

    @property
    def busy(self) -> bool:
        """Whether a job is running."""
        return self.worker is not None

    def start(self, name: str, make_job: Callable, on_done: Callable) -> None:
        """Run ``make_job()`` in a worker; ``on_done(result)`` runs on the UI thread when it ends."""
        if self.busy:
            raise NoisyFixError(f"{self.name} is still running; cancel it or wait")
        self.name, self._cancel, self._ended = name, threading.Event(), False
        worker = create_worker(guarded, make_job, self._cancel, _ignore_errors=True)
        worker.yielded.connect(self._on_step)
        worker.returned.connect(lambda result: self._on_returned(result, on_done))
        worker.errored.connect(self._on_error)
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self.on_state(f"{name}: started")
        worker.start()

    def cancel(self) -> None:
        """Ask the running job to stop at its next step."""
        if self.busy:
            self._cancel.set()
            self.on_state(f"{self.name}: cancelling…")

    def _on_step(self, step: Progress) -> None:
        """Say a step in the status line, then move the bar to the newest step.

        napari's progress bar processes Qt events whenever it changes, so later steps, and even
        the job's end, can be handled inside a bar update of this one. The status line is set
        before the bar is touched, so that steps reach it in order and none is said after the
        job has ended; one loop draws the bar for whichever step is newest, and a bar drawn
        while the job ended is closed.
        """
        if self._ended:
            return
        if step.metrics.get("notify"):  # what the job will do (a training plan, its duration)
            from napari.utils.notifications import show_info

            self.on_state(f"{self.name}: {step.message}")
            show_info(f"NoisyFix {self.name}: {step.message}")
        else:
            text = f"{self.name}: {step.stage} {step.step}/{step.total} {step.message}"
            self.on_state(text.strip())
        self._latest = step
        if self._drawing:
            return
        self._drawing = True
        try:
            while self._latest is not None and not self._ended:
                newest, self._latest = self._latest, None
                self._draw(newest)
        finally:
            self._drawing = False
            if self._ended:
                self._close_bar()

    def _draw(self, step: Progress) -> None:
        if self._bar is None or step.stage != self._stage:
            self._close_bar()
            self._stage = step.stage
            self._bar = progress(total=step.total or 0, desc=f"{self.name}: {step.stage}")
        bar = self._bar
        bar.total = step.total or bar.total
        bar.n = step.step
        if not self._ended:  # making the bar may have handled the job's end
            bar.refresh()

    def _on_returned(self, result, on_done: Callable) -> None:
        self._ended = True
        if result is CANCELLED:
            self.on_state(f"{self.name}: cancelled")
            return
        self.on_state(f"{self.name}: done")
        on_done(result)

    def _on_error(self, exc: BaseException) -> None:
        """A failed job: one line ``FILE: problem`` in the status and as a napari notification."""
        from napari.utils import notifications

        self._ended = True
        text = one_line(exc, log=self.log_file())
        self.on_state(f"{self.name} failed: {text}")
        notifications.show_error(f"NoisyFix {self.name} failed: {text}")

    def _on_finished(self) -> None:
        self._ended = True
        self._close_bar()
        self.worker = None

    def _close_bar(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._bar, self._stage = None, None
