"""Measure 2, fixing errors fast: a simulated reviewer walks a queue of flagged regions through
the real :class:`~napari_noisyfix.review.session.ReviewSession` (so every step is the tool's own
accept / edit / reject logic, saved to disk and logged; one session per image).

For each region: if the working mask already equals the expert mask on the region's pixels, the
reviewer rejects the flag (the label was right); else it accepts the proposal when that lowers the
number of wrong pixels in the image, otherwise it paints the expert mask over the region's pixels
(an edit). Every action counts 1; the label Dice (mean over all images of the working mask against
the expert mask) is recorded after each, and the figures at each budget of actions per image come
from :mod:`~napari_noisyfix.benchmark.review_metrics`.

Orders: the tool's queue (``noisyfix``), the same regions shuffled (``random``), and regions built
from cleanlab's ``find_label_issues`` pixels (connected components after a 3x3 closing) ranked by
cleanlab's image score, worst image first, larger regions first within an image (``cleanlab``).
The ``oracle`` order is :mod:`~napari_noisyfix.benchmark.oracle`.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import ndimage

from ..instance_labels import paint_truth, semantic, wrong_pixels
from .review_metrics import LabelDice

REVIEWER = "simulated-reviewer"


def review_region(session, region, truth: np.ndarray) -> str:
    """Review one region like an expert who knows ``truth``; return the action taken.

    On an instance project ``truth`` holds the true object ids and the working ids are kept: a
    pixel is wrong when its class or its object is
    (:func:`~napari_noisyfix.instance_labels.wrong_pixels`), and an edit paints the true objects
    under the working mask's own ids (:func:`~napari_noisyfix.instance_labels.paint_truth`).
    """
    mask = session.working(region.image)
    where = region.full_region(mask.shape)
    wrong = _wrong_pixels(session.instance)
    if not wrong(mask, truth)[where].any():
        session.reject(region.id)
        return "reject"
    proposal = session.preview(region.id)
    if np.count_nonzero(wrong(proposal, truth)) < np.count_nonzero(wrong(mask, truth)):
        session.accept(region.id)
        return "accept"
    if session.instance:
        painted = paint_truth(mask, truth, where)
    else:
        painted = mask.copy()
        painted[where] = truth[where]
    session.commit_edit(region.image, painted, region.id)
    return "edit"


def _wrong_pixels(instance: bool):
    """The reviewer's test of which pixels of a mask are wrong against the truth."""
    return wrong_pixels if instance else np.not_equal


class _Sessions:
    """One :class:`ReviewSession` per image, each knowing only that image's regions.

    The actions are the session's own; splitting by image keeps the session's per-action queue
    refresh proportional to one image's regions rather than to the whole queue.
    """

    def __init__(self, project, regions: list, version):
        self.project, self.version = project, version
        self.by_image: dict[str, list] = {}
        for r in regions:
            self.by_image.setdefault(r.image, []).append(r)
        self.by_id = {r.id: r for r in regions}
        self.open: dict = {}

    def of(self, image: str):
        from ..review.session import ReviewSession

        if image not in self.open:
            regions = self.by_image[image]
            self.open[image] = ReviewSession(self.project, REVIEWER, self.version, regions)
        return self.open[image]

    def next_open(self, todo):
        """The next region of ``todo`` (an iterator of ids) that is not reviewed yet, or None."""
        for rid in todo:
            region = self.by_id[rid]
            if not self.of(region.image).is_done(region):
                return region
        return None


def simulate(
    project, regions: list, order: list[str] | None, truth: dict, n_actions: int, version=None
):
    """Walk ``regions`` on ``project`` with the review session's actions (a generator).

    Parameters
    ----------
    project : Project
        A project holding the noisy masks (its working masks are changed).
    regions : list of Region
        The regions under review.
    order : list of str or None
        Region ids in review order; None walks the tool's review queue
        (:class:`~napari_noisyfix.quality.queue.ReviewQueue`). Regions whose pixels an earlier
        action confirmed are skipped, as the queue drops them.
    truth : dict
        Expert masks by name, as the project stores them (an instance project's object ids;
        the label Dice reads their union).
    n_actions : int
        Actions to take at most (the walk stops earlier when the regions run out).
    version : int, optional
        Scored model version the sessions review.

    Returns
    -------
    dict
        ``dice_before`` (label Dice before any action), ``trace`` (label Dice after each action),
        ``actions`` (``accept``, ``edit`` or ``reject``, in order) and ``seconds_per_action``.
    """
    from ..progress import Progress
    from ..quality.queue import ReviewQueue

    sessions = _Sessions(project, regions, version)
    unions = {n: semantic(t) for n, t in truth.items()} if project.is_instance else truth
    tracker = LabelDice(project.mask, unions)
    out = {"dice_before": tracker.mean, "trace": [], "actions": []}
    todo = iter(order if order is not None else [r.id for r in ReviewQueue(regions)])
    start = time.perf_counter()
    while len(out["actions"]) < n_actions:
        region = sessions.next_open(todo)
        if region is None:
            break
        session = sessions.of(region.image)
        out["actions"].append(review_region(session, region, truth[region.image]))
        tracker.update(region.image)
        out["trace"].append(tracker.mean)
        yield Progress("review simulation", len(out["actions"]), n_actions, region.id)
    out["seconds_per_action"] = (time.perf_counter() - start) / max(len(out["actions"]), 1)
    return out


def random_order(regions: list, seed: int) -> list[str]:
    """Region ids in a random order fixed by ``seed``."""
    rng = np.random.default_rng([seed, 7])
    return [regions[i].id for i in rng.permutation(len(regions))]


def cleanlab_regions(
    names: list[str],
    issues: np.ndarray,
    probs: np.ndarray,
    given: np.ndarray,
    image_error: np.ndarray,
) -> list:
    """Regions from cleanlab's issue pixels, proposing the model's labels, in cleanlab's ranking.

    Parameters
    ----------
    names : list of str
        Image names (N).
    issues : ndarray
        (N, H, W) bool from ``find_label_issues``.
    probs : ndarray
        (N, C, H, W) the probabilities cleanlab saw.
    given : ndarray
        (N, H, W) given labels.
    image_error : ndarray
        (N,) cleanlab's image error score (1 - softmin quality).

    Returns
    -------
    list of Region
        Worst image first, larger regions first within an image.
    """
    out = []
    for i in np.argsort(-image_error, kind="stable"):
        found = _issue_regions(names[i], issues[i], probs[i], given[i], float(image_error[i]))
        out += sorted(found, key=lambda r: (-r.area, r.id))
    return out


def _issue_regions(name: str, issues, probs, given, image_error: float) -> list:
    """One region per group of issue pixels (issue pixels within 1 px of each other)."""
    from ..quality.region import Region

    pred = probs.argmax(0).astype(np.uint8)
    conf = probs.max(0)
    grouped = ndimage.binary_closing(issues, np.ones((3, 3))) | issues
    labels, _ = ndimage.label(grouped, np.ones((3, 3)))
    found = []
    for k, sl in enumerate(ndimage.find_objects(labels), start=1):
        region = (labels[sl] == k) & issues[sl]
        area = int(region.sum())
        if not area:
            continue
        prob = float(conf[sl][region].mean())
        adds = int(np.count_nonzero(pred[sl][region] > given[sl][region]))
        found.append(
            Region(
                id=f"{name}#cl{k}",
                image=name,
                kind="missing" if 2 * adds >= area else "spurious",
                cls=int(np.maximum(pred[sl], given[sl])[region].max()),
                score=image_error,
                prob_correct=prob,
                gain=area * prob,
                area=area,
                bbox=(sl[0].start, sl[1].start, sl[0].stop, sl[1].stop),
                region=region,
                proposal=pred[sl].copy(),
                reason="cleanlab find_label_issues",
            )
        )
    return found
