"""One review queue over the regions of all images, ordered by expected gain.

The expected gain of a region is what accepting it is expected to add to its image's Dice: the
calibrated probability that the proposal helps times the Dice change it makes. Label quality is
judged per image (a mean Dice over images), so a wrong nucleus in a mask of three matters more
than a sliver of a large lesion; the gain in pixels is shown beside it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from ..errors import NoisyFixError
from .params import PARAMS
from .region import Region


def expected_gain(region: Region) -> float:
    """The expected gain in the image's Dice of accepting the proposal (``region.dice_gain``)."""
    return float(region.dice_gain)


class ReviewQueue:
    """Regions awaiting review, largest expected gain first.

    Parameters
    ----------
    regions : iterable of Region
        Candidate errors of any number of images.
    reviewed : dict, optional
        ``{image name: bool (H, W) array}`` of pixels an expert already confirmed; regions mostly
        inside them are left out.
    min_prob : float
        Regions whose ``prob_correct`` is below this are left out (0 keeps every region).
    """

    def __init__(
        self,
        regions: Iterable[Region],
        reviewed: dict[str, np.ndarray] | None = None,
        min_prob: float = PARAMS.queue.min_prob_correct,
    ):
        self.reviewed = {k: np.asarray(v, dtype=bool) for k, v in (reviewed or {}).items()}
        self.min_prob = float(min_prob)
        self._items: list[Region] = []
        self.rerank(regions)

    def rerank(self, new_regions: Iterable[Region]) -> None:
        """Replace the regions (e.g. after a model update), keeping what was reviewed out."""
        kept = [
            r for r in new_regions if r.prob_correct >= self.min_prob and not self.is_reviewed(r)
        ]
        kept.sort(key=lambda r: (-expected_gain(r), -float(r.gain), -float(r.score), r.id))
        self._items = kept
        self._index = {r.id: i for i, r in enumerate(kept)}

    def is_reviewed(self, region: Region) -> bool:
        """Whether most pixels of ``region`` are marked reviewed."""
        done = self.reviewed.get(region.image)
        if done is None or region.area == 0:
            return False
        window = done[region.slices]
        r0, c0, r1, c1 = region.bbox
        if window.shape != (r1 - r0, c1 - c0):
            raise NoisyFixError(
                f"{region.image}: reviewed map of shape {done.shape} does not hold region {region.bbox}"
            )
        # the region's pixels are read only where something was reviewed (stored regions)
        hits = np.count_nonzero(window & region.region) if window.any() else 0
        return hits >= PARAMS.queue.reviewed_share * region.area

    def mark_reviewed(self, image: str, pixels: np.ndarray) -> None:
        """Add reviewed pixels of ``image`` and drop the regions they cover."""
        pixels = np.asarray(pixels, dtype=bool)
        old = self.reviewed.get(image)
        self.reviewed[image] = pixels if old is None else (old | pixels)
        self.rerank(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Region]:
        return iter(self._items)

    def __getitem__(self, i: int) -> Region:
        return self._items[i]

    def index(self, region_id: str) -> int:
        """Position of a region in the queue."""
        try:
            return self._index[region_id]
        except KeyError as exc:
            raise NoisyFixError(f"no region {region_id!r} in the review queue") from exc

    def get(self, region_id: str) -> Region:
        """The region with id ``region_id``."""
        return self._items[self.index(region_id)]

    def for_image(self, image: str) -> list[Region]:
        """Queued regions of one image, in queue order."""
        return [r for r in self._items if r.image == image]

    def total_gain(self) -> float:
        """Sum of the expected gains (pixels) of the queued regions."""
        return float(sum(r.gain for r in self._items))
