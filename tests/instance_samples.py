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
