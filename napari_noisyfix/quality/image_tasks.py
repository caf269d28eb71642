"""The per-image tasks of scoring, which may run in a worker process (:mod:`.pool`).

Each task takes the project (or, in a worker, its folder, opened read-only once per process),
computes, and returns what the scoring pass writes: nothing here writes a file. The module
imports only what the analysis needs, so that a worker starts quickly.
"""

from __future__ import annotations

import numpy as np

from .analysis import analyse
from .calibration_data import image_samples
from .outliers import describe_objects
from .pool import opened
from .storage import regions_arrays


def analyse_image(source, version, name, calibration, extra=None) -> tuple[dict, dict, dict]:
    """Analyse one image of the project ``source`` (a project, or its folder for a worker
    process) with ``calibration``: its raw image features, maps and region archive (a task of
    :func:`~.pool.run_tasks`; nothing is written)."""
    project = opened(source)
    probs, mask, image = project.load_probs(name, version), project.mask(name), project.image(name)
    samples = feats = None
    if extra is not None:
        pred = extra[0].get().predict(image, tta=extra[1], return_features=True)
        samples, feats = pred.samples, pred.features
    ids = project.labels(name) if project.is_instance else None
    found = analyse(name, probs, mask, calibration, image, samples, ids)
    table = describe_objects(name, mask, image=image, probs=probs, features=feats)
    archive = regions_arrays(found.regions)
    archive.update(
        object_X=table.X,
        object_classes=table.classes,
        object_columns=np.array(table.columns),
        prediction=table.proposal,
    )
    return {**found.raw, "foreground": int(np.count_nonzero(mask))}, found.maps, archive


def calibration_image(
    source, version: int, name: str, index: int, group: int, calibration, plants, params
):
    """The calibration samples of one image of the project ``source`` (a project, or its
    folder for a worker process): its untouched mask and ``plants`` copies with a planted
    error each, seeded by ``params.seed`` and ``index`` (a task of :func:`~.pool.run_tasks`)."""
    project = opened(source)
    rng = np.random.default_rng([params.seed, index])
    found = image_samples(
        name,
        group,
        project.load_probs(name, version),
        project.mask(name),
        calibration,
        rng,
        plants,
        project.image(name),
        params,
        instances=project.labels(name) if project.is_instance else None,
    )
    trusted = project.is_clean(name)
    for sample in found:
        sample.trusted = trusted
    return found
