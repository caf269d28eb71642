"""Progress reports shared by every long job, and a tqdm driver for the command line.

Long work (training, scoring, export, benchmarks) is written as a generator that yields
:class:`Progress` and returns its result. The GUI runs it in a napari worker (progress bar,
Cancel = stop iterating); the CLI runs it with :func:`drive`.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

Job = Generator["Progress", None, Any]


@dataclass
class Progress:
    """One step of a long job."""

    stage: str
    step: int
    total: int
    message: str = ""
    metrics: dict = field(default_factory=dict)

    @property
    def fraction(self) -> float:
        """Done fraction in [0, 1] (0 when the total is unknown)."""
        return min(1.0, self.step / self.total) if self.total else 0.0


def restage(job: Job, stage: str) -> Job:
    """Re-yield a sub-job's progress under ``stage`` (its own stage kept as the message).

    Use as ``result = yield from restage(sub_job, "fold 1/3")``; closing the outer job closes
    the sub-job.
    """
    try:
        while True:
            try:
                p = next(job)
            except StopIteration as stop:
                return stop.value
            yield Progress(stage, p.step, p.total, p.message or p.stage, p.metrics)
    finally:
        job.close()


def drive(job: Job, desc: str | None = None, quiet: bool = False) -> Any:
    """Run ``job`` to the end with one tqdm bar per phase and return its result.

    A phase is a stage (``fold 1/3``, ``final model``) or, within a stage, a report without a
    step count (``total`` 0, such as ``predicting 12 held-out images``): it gets its own bar
    labelled ``stage: message``, so a finished count is not shown again as ``0/N``. A bar starts
    at the step it is first reported at, and the rate is tqdm's average over the steps it saw
    happen: the step that was done before the bar existed is never counted as instantaneous.
    """
    from tqdm.auto import tqdm

    bar, phase = None, None
    try:
        while True:
            try:
                p = next(job)
            except StopIteration as stop:
                return stop.value
            if quiet:
                continue
            if _phase(p) != phase or p.step < bar.n:
                if bar is not None:
                    bar.close()
                phase = _phase(p)
                bar = tqdm(
                    total=p.total or None,
                    initial=p.step,
                    desc=desc or _label(p),
                    unit="step",
                    leave=True,
                    bar_format=None if p.total else "{desc} [{elapsed}]",
                )
            _advance(bar, p)
    finally:
        if bar is not None:
            bar.close()
        job.close()


def _phase(p: Progress) -> tuple[str, str | None]:
    """What a bar stands for: the stage, and the message of a report without a step count."""
    return (p.stage, None if p.total else p.message)


def _label(p: Progress) -> str:
    return p.stage if p.total or not p.message else f"{p.stage}: {p.message}"


def _advance(bar, p: Progress) -> None:
    """Move ``bar`` to ``p`` through tqdm's own update, which measures the rate."""
    bar.total = p.total or bar.total
    if p.metrics:
        bar.set_postfix({k: _fmt(v) for k, v in p.metrics.items()}, refresh=False)
    if p.step > bar.n:
        bar.update(p.step - bar.n)


def _fmt(value):
    return f"{value:.4g}" if isinstance(value, float) else value
