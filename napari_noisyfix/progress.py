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
    """Run ``job`` to the end with one tqdm bar per stage and return its result."""
    from tqdm.auto import tqdm

    bar, stage = None, None
    try:
        while True:
            try:
                p = next(job)
            except StopIteration as stop:
                return stop.value
            if quiet:
                continue
            if p.stage != stage:
                if bar is not None:
                    bar.close()
                stage = p.stage
                bar = tqdm(total=p.total or None, desc=desc or p.stage, unit="step", leave=True)
            bar.total = p.total or bar.total
            bar.n = p.step
            if p.metrics:
                bar.set_postfix({k: _fmt(v) for k, v in p.metrics.items()}, refresh=False)
            bar.refresh()
    finally:
        if bar is not None:
            bar.close()
        job.close()


def _fmt(value):
    return f"{value:.4g}" if isinstance(value, float) else value
