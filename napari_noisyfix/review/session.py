"""The review session: walk the queue of flagged regions and accept, reject, edit, skip, undo.

Every action (accept, reject, edit, accept-all, undo, redo) is one transaction
(:mod:`.transaction`): the working masks and reviewed maps of every image it touches and its
audit-log row are all on disk before the method returns, or none of them are. A region counts
as reviewed when all its pixels are confirmed, so a reopened session (even after a crash)
resumes with exactly the regions that are still open, and its undo history is rebuilt from
the log and the journal.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable

import numpy as np
from scipy import ndimage

from ..errors import NoisyFixError
from ..instance_labels import apply_region, reconcile, semantic
from ..quality.estimate import dice_terms, expected_dice
from ..quality.index import ReviewIndex, read_index
from ..quality.params import PARAMS
from ..quality.queue import ReviewQueue
from .history import Action, ImageState
from .journal import read_state, rebuild_history, same_state
from .progress import ReviewProgress
from .transaction import Change, Journal, change_from, one_line_faults

DONE = {"accept": "accepted", "reject": "rejected", "edit": "edited", "accept_all": "accepted"}
REFINE_MARGIN = 6
#: Images whose reviewed-pixel map a session keeps in memory (the most recently used ones):
#: a project of thousands of images is walked without holding a map per image.
REVIEWED_CACHE = 32


def latest_scored_version(project) -> int | None:
    """The newest scored model version, or None before anything was scored."""
    from ..quality.score import scored_version

    try:
        return scored_version(project)
    except NoisyFixError:
        return None


def order_regions(regions: Iterable) -> list:
    """Regions in review order: the quality stage's queue (largest expected gain first)."""
    return list(ReviewQueue(regions))


class ReviewSession:
    """Review state of one project for one reviewer and one scored model version.

    Parameters
    ----------
    project : Project
        The open project.
    reviewer : str
        Name written into every audit-log row.
    version : int, optional
        Scored model version whose regions are reviewed (default: the newest scored one).
    regions : list of Region, optional
        Regions to review instead of those stored with the scores (scripts, simulations).

    Attributes
    ----------
    history : History
        Undo / redo stacks, rebuilt from the audit log and the journal when the session opens.
    last_row : int or None
        Audit-log row of the last committed transaction (action, undo or redo).
    """

    def __init__(self, project, reviewer: str, version: int | None = None, regions=None):
        if not reviewer or not str(reviewer).strip():
            raise NoisyFixError(f"{project.root}: a reviewer name is required to review")
        self.project = project
        self.instance = bool(getattr(project, "is_instance", False))
        self.reviewer = str(reviewer).strip()
        self.version = version if version is not None else latest_scored_version(project)
        self._index = self._stored_index()
        # the working files' stamps as the session opens (one listing); an image's is dropped
        # once the session writes it or is told it changed
        self._stamps = project.all_working_stamps() if self._index.summaries else {}
        if regions is None:
            regions = self._stored_regions()
        self.regions = order_regions(regions)
        self._by_id = {r.id: r for r in self.regions}
        self._order = {r.id: i for i, r in enumerate(self.regions)}
        self._by_image: dict[str, list] = {}
        for r in self.regions:
            self._by_image.setdefault(r.image, []).append(r)
        self._open: dict[str, dict[str, bool]] = {}
        self._reviewed: OrderedDict[str, np.ndarray] = OrderedDict()
        self._any_reviewed: dict[str, bool] = {}
        self._terms: dict[str, np.ndarray | None] = {}
        self.status = self._initial_status()
        self.journal = Journal(project)
        self.history = rebuild_history(project)
        self.last_row: int | None = None
        self.current = None
        self.next()

    # ------------------------------------------------------------------ loading
    def _stored_index(self) -> ReviewIndex:
        """The scored version's review index: its regions and each image's summary, read once."""
        if self.version is None:
            return ReviewIndex()
        return read_index(self.project.scores_dir(self.version))

    def _stored_regions(self) -> list:
        if self.version is None:
            return []
        from ..quality.score import load_regions

        # the queue leaves out regions below its bar: they are not made at all
        bar = PARAMS.queue.min_prob_correct
        return load_regions(self.project, self.version, self._index, min_prob=bar)

    def _summary(self, name: str):
        """The index's summary of ``name`` while its working files are as it was made from."""
        stamps = self._stamps.get(name)
        return self._index.summary(name, stamps or self.project.working_stamps(name))

    def _initial_status(self) -> dict[str, str]:
        status = {r.id: "pending" for r in self.regions}
        for row in self.project.log.rows("review"):
            if row["model_version"] != self.version or row["action"] not in DONE:
                continue
            for rid in row["details"].get("regions", []):
                if rid in status:
                    status[rid] = DONE[row["action"]]
        for region in self.regions:
            if self.is_open(region):
                status[region.id] = "pending"
            elif status[region.id] == "pending":
                status[region.id] = "reviewed"
        return status

    # ------------------------------------------------------------------ state
    def reviewed_map(self, name: str) -> np.ndarray:
        """Pixels of ``name`` an expert confirmed (the project's file; the last
        :data:`REVIEWED_CACHE` images used are kept in memory)."""
        if name in self._reviewed:
            self._reviewed.move_to_end(name)
            return self._reviewed[name]
        return self._remember(name, self.project.reviewed(name))

    def _remember(self, name: str, reviewed: np.ndarray) -> np.ndarray:
        self._reviewed[name] = reviewed
        self._reviewed.move_to_end(name)
        while len(self._reviewed) > REVIEWED_CACHE:
            self._reviewed.popitem(last=False)
        return reviewed

    def _has_reviewed(self, name: str) -> bool:
        """Whether any pixel of ``name`` was confirmed (cached per image)."""
        if name not in self._any_reviewed:
            summary = self._summary(name)
            self._any_reviewed[name] = (
                summary.any_reviewed if summary else bool(self.reviewed_map(name).any())
            )
        return self._any_reviewed[name]

    def region(self, region_id: str | None = None):
        """The region with ``region_id`` (default: the current one)."""
        if region_id is None:
            if self.current is None:
                raise NoisyFixError(f"{self.project.root}: no region left in the review queue")
            return self.current
        try:
            return self._by_id[region_id]
        except KeyError as exc:
            raise NoisyFixError(f"{self.project.root}: no flagged region {region_id!r}") from exc

    def footprint(self, region) -> np.ndarray:
        """The region's pixels as an image-shaped bool map."""
        full = np.zeros(tuple(self.project.entry(region.image)["shape"]), dtype=bool)
        r0, c0, r1, c1 = region.bbox
        full[r0:r1, c0:c1] = region.region
        return full

    def is_done(self, region) -> bool:
        """Whether the region counts as reviewed (the queue's rule on its confirmed pixels)."""
        return ReviewQueue([], {region.image: self.reviewed_map(region.image)}).is_reviewed(region)

    def is_open(self, region) -> bool:
        """Whether the region is still to review (cached per image until its pixels change)."""
        if region.image not in self._open:
            regions = self._by_image.get(region.image, [])
            # an image without a reviewed pixel has every region open (its map is not read)
            reviewed = self._has_reviewed(region.image)
            self._open[region.image] = {r.id: not (reviewed and self.is_done(r)) for r in regions}
        return self._open[region.image][region.id]

    def forget(self, names) -> None:
        """Re-read the reviewed pixels of ``names`` (changed elsewhere) and redo their regions' status."""
        names = set(names)
        for name in names:
            self._stamps.pop(name, None)
            self._reviewed.pop(name, None)
            self._any_reviewed.pop(name, None)
            self._terms.pop(name, None)
            self._open.pop(name, None)
        for region in self.regions:
            if region.image in names:
                self.status[region.id] = "pending" if self.is_open(region) else "reviewed"
        if self.current is not None and not self.is_open(self.current):
            self.next()

    @property
    def queue(self) -> ReviewQueue:
        """Regions still open, in review order (the queue's own rule, applied by :meth:`is_open`
        one image at a time, so that no reviewed map of every image is held at once)."""
        return ReviewQueue([r for r in self.regions if self.is_open(r)])

    # ------------------------------------------------------------------ navigation
    def next(self):
        """Move to the next open region after the current one (wrapping); return it or None."""
        return self._step(+1)

    def previous(self):
        """Move to the previous open region (wrapping); return it or None."""
        return self._step(-1)

    def goto(self, region_id: str):
        """Make ``region_id`` the current region (open or not) and return it."""
        self.current = self.region(region_id)
        return self.current

    def resume_at(self, region):
        """Make the open region nearest ``region`` (a region of an earlier scoring) current.

        After a rescoring the regions are new. The reviewer stays where they were: the open
        region of the same image that overlaps ``region`` most, else the one whose box centre is
        nearest, else the first open region of the images that follow in the queue, else the
        first open one. Returns it (None when nothing is open).
        """
        open_ = [r for r in self.regions if self.is_open(r)]
        if region is None or not open_:
            self.current = open_[0] if open_ else None
            return self.current
        same = [r for r in open_ if r.image == region.image]
        if same:
            self.current = min(same, key=lambda r: (-_overlap(r, region), _distance(r, region)))
            return self.current
        order = list(dict.fromkeys(r.image for r in self.regions))
        rank = {name: i for i, name in enumerate(order)}
        here = rank.get(region.image, -1)
        ahead = [r for r in open_ if rank[r.image] > here]
        self.current = (ahead or open_)[0]
        return self.current

    def _step(self, direction: int):
        open_ = [r for r in self.regions if self.is_open(r)]
        if not open_:
            self.current = None
            return None
        pick = 0 if direction > 0 else -1
        if self.current is not None:
            here = self._order[self.current.id]
            ahead = [r for r in open_ if (self._order[r.id] - here) * direction > 0]
            if ahead:
                self.current = ahead[pick]
                return self.current
        self.current = open_[pick]
        return self.current

    # ------------------------------------------------------------------ proposals
    @property
    def dtype(self):
        """The working masks' dtype: uint8 class ids, uint16 object ids (instance projects)."""
        return np.uint16 if self.instance else np.uint8

    def working(self, name: str) -> np.ndarray:
        """The working mask of ``name`` as stored: class ids, or an instance project's ids."""
        return self.project.labels(name) if self.instance else self.project.mask(name)

    def _applied(self, region, mask: np.ndarray) -> np.ndarray:
        """``mask`` with ``region``'s proposal; an instance project's ids are kept
        (:func:`~napari_noisyfix.instance_labels.apply_region`)."""
        return apply_region(region, mask) if self.instance else region.apply(mask)

    def preview(self, region_id: str | None = None, refine: str | None = None, **params):
        """The working mask of the region's image with its proposal applied (optionally refined)."""
        region = self.region(region_id)
        new = self._applied(region, self.working(region.image))
        if refine and self.instance:
            new = reconcile(new, self._refined(region, semantic(new), refine, params))
        elif refine:
            new = self._refined(region, new, refine, params)
        return np.asarray(new, dtype=self.dtype)

    def _refined(self, region, mask: np.ndarray, tool: str, params: dict) -> np.ndarray:
        from ..refine.registry import refine as run_refine

        near = ndimage.binary_dilation(self.footprint(region), iterations=REFINE_MARGIN)
        rows, cols = np.nonzero(near)
        box = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
        probs = self.project.load_probs(region.image, self.version)
        refined = run_refine(
            tool,
            self.project.image(region.image)[box],
            mask[box],
            probs=None if probs is None else probs[(slice(None), *box)],
            **params,
        )
        out = mask.copy()
        out[box] = np.where(near[box], np.asarray(refined, dtype=np.uint8), mask[box])
        return out

    # ------------------------------------------------------------------ actions
    @one_line_faults
    def accept(self, region_id: str | None = None, refine: str | None = None, **params) -> Action:
        """Write the region's proposal (refined with tool ``refine`` if given) into the mask."""
        region = self.region(region_id)
        new = self.preview(region.id, refine, **params)
        covered = self.footprint(region) | (new != self.working(region.image))
        extra = {"refine": refine, "params": params} if refine else None
        return self._save("accept", [region], {region.image: (new, covered)}, extra)

    @one_line_faults
    def reject(self, region_id: str | None = None) -> Action:
        """The given mask was right here: confirm the region's pixels as they are."""
        region = self.region(region_id)
        mask = self.working(region.image)
        return self._save("reject", [region], {region.image: (mask, self.footprint(region))})

    @one_line_faults
    def skip(self, region_id: str | None = None):
        """Leave the region open, log it, and move on; returns the new current region."""
        region = self.region(region_id)
        self._log("skip", [region], region.image, 0)
        self.status[region.id] = "skipped"
        self.current = region
        return self.next()

    @one_line_faults
    def commit_edit(self, name: str, new_mask: np.ndarray, region_id: str | None = None) -> Action:
        """Save a hand edit of image ``name``; changed pixels (and ``region_id``'s) become reviewed."""
        old = self.working(name)
        new_mask = np.asarray(new_mask)
        if new_mask.shape != old.shape:
            raise NoisyFixError(f"{name}: edited mask shape {new_mask.shape} != {old.shape}")
        covered = new_mask != old
        regions = []
        if region_id is not None:
            region = self.region(region_id)
            if region.image != name:
                raise NoisyFixError(f"{name}: region {region_id!r} belongs to {region.image}")
            covered = covered | self.footprint(region)
            regions = [region]
        return self._save("edit", regions, {name: (new_mask, covered)})

    @one_line_faults
    def accept_all(self, threshold: float, preview: bool = False) -> dict:
        """Accept every open region whose proposal helps with probability ``threshold`` or more
        (its calibrated ``prob_correct``) as one audited action.

        Returns ``{"regions", "images", "pixels", "precision"}``: what it changes
        (``preview=True``: would change) and the expected share of those regions whose proposal
        brings the mask closer to the truth (the mean of their calibrated probabilities).
        """
        chosen = [r for r in self.queue if r.prob_correct >= threshold]
        updates: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for r in chosen:
            mask, covered = updates.get(r.image, (self.working(r.image), None))
            cover = self.footprint(r) if covered is None else covered | self.footprint(r)
            updates[r.image] = (self._applied(r, mask), cover)
        pixels = sum(int((m != self.working(n)).sum()) for n, (m, _) in updates.items())
        precision = float(np.mean([r.prob_correct for r in chosen])) if chosen else float("nan")
        counts = {"regions": len(chosen), "images": len(updates), "pixels": pixels}
        counts["precision"] = precision
        if chosen and not preview:
            self._save("accept_all", chosen, updates, {"threshold": float(threshold)})
        return counts

    def _save(self, kind: str, regions: list, updates: dict, extra: dict | None = None) -> Action:
        changes = []
        for name, (new, covered) in updates.items():
            stamp, before = read_state(self.project, name)
            after = ImageState(np.asarray(new, dtype=self.dtype), before.reviewed | covered)
            changes.append(change_from(name, stamp, before, after))
        changed = sum(int((c.after.mask != c.before.mask).sum()) for c in changes)
        row = self._transact(kind, regions, changes, changed, extra)
        action = Action(
            kind,
            [r.id for r in regions],
            {c.name: c.before for c in changes},
            {c.name: c.after for c in changes},
            changed,
            row,
            extra or {},
            {c.name: c.before_stamp for c in changes},
            {c.name: c.after_stamp for c in changes},
        )
        self.history.push(action)
        for r in regions:
            self.status[r.id] = DONE[kind]
        if self.current is None or self.current.id in action.region_ids:
            self.next()
        return action

    def _transact(self, kind, regions, changes: list[Change], pixels: int, extra=None) -> int:
        """Run ``changes`` as one logged transaction, then take their states into the caches."""
        ids = [r.id for r in regions]
        row = self.journal.run(
            kind,
            changes,
            reviewer=self.reviewer,
            image=changes[0].name if len(changes) == 1 else None,
            region=ids[0] if len(ids) == 1 else None,
            model_version=self.version,
            pixels_changed=pixels,
            details={"regions": ids, **(extra or {})},
        )
        for c in changes:
            self._set_state(c.name, c.after)
        self.last_row = row
        return row

    def _set_state(self, name: str, state: ImageState) -> None:
        self._stamps.pop(name, None)
        self._remember(name, state.reviewed.copy())
        self._any_reviewed.pop(name, None)
        self._terms.pop(name, None)
        self._open.pop(name, None)

    def _log(self, action, regions, image, pixels, extra=None, event="review") -> int:
        ids = [r.id for r in regions]
        return self.project.log.record(
            event,
            reviewer=self.reviewer,
            image=image,
            region=ids[0] if len(ids) == 1 else None,
            action=action,
            model_version=self.version,
            pixels_changed=pixels,
            details={"regions": ids, **(extra or {})},
        )

    # ------------------------------------------------------------------ undo / redo
    @one_line_faults
    def undo(self) -> Action | None:
        """Restore the state before the last saved action (on disk and logged); None if none."""
        action = self.history.last_done()
        if action is not None:
            self._restore(action, "undo")
            self.history.pop_undo()
        return action

    @one_line_faults
    def redo(self) -> Action | None:
        """Re-apply the last undone action; None if none."""
        action = self.history.last_undone()
        if action is not None:
            self._restore(action, "redo")
            self.history.pop_redo()
        return action

    def _restore(self, action: Action, how: str) -> None:
        undo = how == "undo"
        changes = self._restore_changes(action, undo)
        regions = [self._by_id[i] for i in action.region_ids if i in self._by_id]
        extra = {"of": action.kind, "row": action.row}
        self._transact(how, regions, changes, action.pixels_changed, extra)
        for r in regions:
            self.status[r.id] = "pending" if undo else DONE[action.kind]
        if regions and undo:
            self.current = regions[0]
        elif self.current is None or self.current.id in action.region_ids:
            self.next()

    def _restore_changes(self, action: Action, undo: bool) -> list[Change]:
        """Changes back to the action's before (undo) or after (redo) state, refused when an
        image no longer holds what the action left (newer work would be overwritten)."""
        states = action.before if undo else action.after
        stamps = action.before_stamps if undo else action.after_stamps
        expected = action.after_stamps if undo else action.before_stamps
        changes = []
        for name, stamp in stamps.items():
            now, current = read_state(self.project, name)
            if not same_state(self.project, name, now, expected[name]):
                how = "undo" if undo else "redo"
                raise NoisyFixError(
                    f"{name}: changed on disk since this {action.kind}; {how} refused so that"
                    " the newer work is kept"
                )
            changes.append(Change(name, current, states[name], now, stamp))
        return changes

    # ------------------------------------------------------------------ progress
    def progress(self) -> ReviewProgress:
        """Reviewed / total regions and images, and the estimated label quality."""
        names = self.project.names
        return ReviewProgress(
            regions_reviewed=sum(not self.is_open(r) for r in self.regions),
            regions_total=len(self.regions),
            images_reviewed=sum(self._has_reviewed(n) for n in names),
            images_total=len(names),
            label_quality=self.label_quality(),
        )

    def label_quality(self) -> float | None:
        """Expected Dice of the working masks against the truth (None without probabilities)."""
        terms = [t for t in (self._image_terms(n) for n in self.project.names) if t is not None]
        return expected_dice(terms)

    def _image_terms(self, name: str) -> np.ndarray | None:
        if name not in self._terms and self.version:
            summary = self._summary(name)
            if summary is not None:
                self._terms[name] = summary.terms
        if name not in self._terms:
            probs = self.project.load_probs(name, self.version) if self.version else None
            self._terms[name] = (
                None
                if probs is None
                else dice_terms(probs, self.project.mask(name), self.reviewed_map(name))
            )
        return self._terms[name]


def _overlap(a, b) -> int:
    """Pixels two regions of one image share."""
    r0, c0 = max(a.bbox[0], b.bbox[0]), max(a.bbox[1], b.bbox[1])
    r1, c1 = min(a.bbox[2], b.bbox[2]), min(a.bbox[3], b.bbox[3])
    if r0 >= r1 or c0 >= c1:
        return 0
    ra = a.region[r0 - a.bbox[0] : r1 - a.bbox[0], c0 - a.bbox[1] : c1 - a.bbox[1]]
    rb = b.region[r0 - b.bbox[0] : r1 - b.bbox[0], c0 - b.bbox[1] : c1 - b.bbox[1]]
    return int((ra & rb).sum())


def _distance(a, b) -> float:
    """Distance between the centres of two regions' boxes."""
    ca = ((a.bbox[0] + a.bbox[2]) / 2, (a.bbox[1] + a.bbox[3]) / 2)
    cb = ((b.bbox[0] + b.bbox[2]) / 2, (b.bbox[1] + b.bbox[3]) / 2)
    return float(np.hypot(ca[0] - cb[0], ca[1] - cb[1]))
