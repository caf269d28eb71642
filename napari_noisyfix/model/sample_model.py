"""The sample project's shipped model, so that the demo reviews at once instead of training first.

``sample_data/make_sample_model.py`` trains it on the sample project the demo makes
(:data:`DEMO_SAMPLE`): out-of-fold, one model per fold and a final one, with the light encoder;
it stores them in :data:`SAMPLE_MODEL` (weights in float16) with ``manifest.json``, which names
the images' digest, the fold of every image and the figures measured when it was made.

:func:`install_sample_model` commits those models as a new version of a project that is that
sample (same digest), with the probabilities each fold model predicts for the images it held
out: the scores are out-of-fold exactly as after ``noisyfix train``, and ``update`` resumes the
fold models as usual.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from .._atomic import read_json
from ..errors import NoisyFixError
from ..progress import Progress
from ..reservations import reserve
from .folds import fold_root

#: Where the package keeps the shipped model.
SAMPLE_MODEL = Path(__file__).resolve().parent.parent / "data" / "sample_model"
MANIFEST = "manifest.json"
FINAL = "final"
#: The sample project the shipped model was trained on (``noisyfix demo``'s defaults).
DEMO_SAMPLE = {"n": 24, "size": 128, "seed": 0}


def images_digest(project) -> str:
    """SHA-256 over the project's image names, shapes and pixels (not its masks)."""
    sha = hashlib.sha256()
    for name in project.names:
        image = np.ascontiguousarray(project.image(name))
        sha.update(f"{name}:{image.dtype}:{image.shape};".encode())
        sha.update(image.tobytes())
    return sha.hexdigest()


def read_manifest(root: Path = SAMPLE_MODEL) -> dict | None:
    """The shipped model's manifest; None when the package holds no sample model."""
    path = Path(root) / MANIFEST
    return read_json(path) if path.is_file() else None


def sample_model_fits(project, root: Path = SAMPLE_MODEL) -> bool:
    """Whether the shipped model was trained on exactly this project's images."""
    manifest = read_manifest(root)
    return manifest is not None and manifest["images_sha256"] == images_digest(project)


def install_sample_model(project, root: Path = SAMPLE_MODEL):
    """Commit the shipped models as a new version of ``project``; yields Progress, returns it.

    Raises
    ------
    NoisyFixError
        The package holds no sample model, it was trained on other images, or a checkpoint of
        it is damaged.
    """
    from .checkpoints import load_checkpoint
    from .oof import write_fold_record
    from .versions import checkpoint_result, commit_version, predict_names

    root = Path(root)
    if not sample_model_fits(project, root):
        raise NoisyFixError(
            f"{root}: the shipped sample model was not trained on the images of {project.root}"
        )
    manifest = read_manifest(root)
    final_ckpt = load_checkpoint(root / FINAL)
    final = checkpoint_result(final_ckpt, manifest["best_epochs"][FINAL])
    reservation = reserve(project, "train")
    try:
        probs, fold_models, summaries = {}, [], []
        paths = sorted(p for p in fold_root(root).iterdir() if p.name.isdigit())
        for i, path in enumerate(paths):
            ckpt = load_checkpoint(path)
            held_out = list(ckpt.meta["held_out"])
            yield Progress("shipped model", i, len(paths), f"predicting {len(held_out)} images")
            result = checkpoint_result(ckpt, manifest["best_epochs"][path.name])
            probs.update(predict_names(project, result, held_out))
            fold_models.append((int(path.name), held_out, result))
            summaries.append({"fold": int(path.name), "held_out": held_out, "shipped": True})
        yield Progress("shipped model", len(paths), len(paths), "saving")
        write_fold_record(project, reservation.version, summaries, fold_models)
        details = {"shipped": str(root), "folds": len(paths), "made": manifest["made"]}
        meta = {**final_ckpt.meta, "shipped": True}
        return commit_version(
            project, final, probs, meta, "train", details, reservation, fold_models
        )
    finally:
        reservation.abandon()
