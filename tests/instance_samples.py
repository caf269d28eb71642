"""Tiny instance label images for the instance tests: disks with one id each."""

import numpy as np

#: Disk centres and radii of the sample image: four lone nuclei and a touching pair.
LONE = [((12, 12), 6), ((12, 50), 6), ((50, 12), 6), ((50, 50), 7)]
PAIR = [((31, 24), 7), ((31, 38), 7)]


def disks(shape, disks_, first_id: int = 1) -> np.ndarray:
    """uint16 ids: disk ``k`` of ``disks_`` gets id ``first_id + k`` (later disks win)."""
    rr, cc = np.ogrid[: shape[0], : shape[1]]
    out = np.zeros(shape, np.uint16)
    for k, ((r, c), rad) in enumerate(disks_):
        out[(rr - r) ** 2 + (cc - c) ** 2 <= rad**2] = first_id + k
    return out


def truth_ids(shape=(64, 64)) -> np.ndarray:
    """Four lone disks (ids 1-4) and a touching pair with a neck (ids 5, 6)."""
    return disks(shape, LONE + PAIR)


def merged_ids(shape=(64, 64)) -> np.ndarray:
    """The truth with the touching pair drawn as one object (id 5)."""
    ids = truth_ids(shape)
    ids[ids == 6] = 5
    return ids


def split_ids(shape=(64, 64)) -> np.ndarray:
    """The truth with the largest lone disk (id 4) drawn as two halves (ids 4 and 7)."""
    ids = truth_ids(shape)
    cols = np.arange(shape[1])[None, :]
    ids[(ids == 4) & (cols >= 50)] = 7
    return ids


def image_of(ids: np.ndarray, seed: int = 0) -> np.ndarray:
    """A gray image: bright nuclei on a dark background, a little noise."""
    rng = np.random.default_rng(seed)
    return np.clip((ids > 0) * 170 + 30 + rng.normal(0, 8, ids.shape), 0, 255).astype(np.uint8)


def scored_project(root):
    """Eight scored images (enough to calibrate), true objects everywhere but in ``b`` (the
    touching pair drawn as one) and ``c`` (object 4 drawn as two halves); the model sees the
    union of the true objects. Returns the folder."""
    from napari_noisyfix.progress import drive
    from napari_noisyfix.project import Project
    from napari_noisyfix.quality.score import score_project
    from napari_noisyfix.quality.synthetic import probs_from_mask

    truths = {n: truth_ids() for n in "abcdefgh"}
    given = dict(truths, b=merged_ids(), c=split_ids())
    images = {n: image_of(t, seed=i) for i, (n, t) in enumerate(sorted(truths.items()))}
    with Project.create(root, images, given, truth=truths, labels="instance") as proj:
        version, _ = proj.new_model_dir()
        for name, truth in truths.items():
            proj.save_probs(version, name, probs_from_mask((truth > 0).astype(np.uint8), seed=1))
        drive(score_project(proj), quiet=True)
    return root
