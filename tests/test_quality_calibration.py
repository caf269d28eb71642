"""Per-project calibration: errors planted in the project's own masks decide what the evidence is
worth, the queue's order, the image scores and the verdict."""

import dataclasses
import json

import numpy as np
import pytest
from scipy import ndimage as ndi
from sklearn.metrics import roc_auc_score

from napari_noisyfix.progress import drive
from napari_noisyfix.project import Project
from napari_noisyfix.quality.calibration import fit_calibration
from napari_noisyfix.quality.params import PARAMS
from napari_noisyfix.quality.queue import ReviewQueue
from napari_noisyfix.quality.regions import find_regions
from napari_noisyfix.quality.score import (
    calibration_images,
    calibration_samples,
    load_image_scores,
    load_regions,
    load_verdict,
    score_project,
)
from napari_noisyfix.quality.synthetic import disk_mask, probs_from_mask
from napari_noisyfix.quality.verdict import Verdict

GRID = [(r, c) for r in (10, 32, 54) for c in (10, 32, 54)]
N_IMAGES = 24


def _artefact_project(root):
    """Nuclei on a background with a bright artefact the model always calls an object.

    The masks rightly leave the artefact out; every fourth mask lacks two nuclei. Uncalibrated,
    the artefact is the most confident "missing object" of every image.
    """
    rng = np.random.default_rng(0)
    truths, masks, images, probs = {}, {}, {}, {}
    for i in range(N_IMAGES):
        name = f"im{i:02d}"
        truth = disk_mask((64, 64), GRID, rng.integers(5, 8, len(GRID)))
        mask = truth.copy()
        if i % 4 == 0:
            labels, n = ndi.label(truth)
            mask[np.isin(labels, rng.choice(np.arange(1, n + 1), 2, replace=False))] = 0
        image = (truth * 120 + rng.integers(0, 60, truth.shape)).astype(np.float32)
        r, c = (0, 21) if i % 2 else (21, 0)
        box = (slice(r, r + 22), slice(c, c + 22))
        artefact = ~ndi.binary_dilation(truth > 0, iterations=2)[box]
        seen = truth.copy()
        seen[box] |= artefact
        image[box] = np.where(artefact, 250, image[box])
        truths[name], masks[name], images[name] = truth, mask, image.astype(np.uint8)
        probs[name] = probs_from_mask(seen, noise=0.03, seed=i)
    project = Project.create(root, images, masks, truth=truths)
    version, _ = project.new_model_dir()
    for name in project.names:
        project.save_probs(version, name, probs[name])
    return project, probs


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    project, probs = _artefact_project(tmp_path_factory.mktemp("cal") / "p")
    summary = drive(score_project(project), quiet=True)
    return project, probs, summary


def _helps(project, region) -> bool:
    mask, truth = project.mask(region.image), project.truth(region.image)
    return np.count_nonzero(region.apply(mask) != truth) < np.count_nonzero(mask != truth)


def _uncalibrated_queue(project, probs):
    manifest = json.loads((project.scores_dir(1) / "quality_manifest.json").read_text())
    thresholds = np.array(manifest["thresholds"], np.float32)
    regions = []
    for name in project.names:
        regions += find_regions(
            name, probs[name], project.mask(name), thresholds, project.image(name),
            fg_shift=manifest["fg_shift"],
        )  # fmt: skip
    return list(ReviewQueue(regions, min_prob=0.0))


def test_calibration_raises_the_precision_of_the_top_of_the_queue(scored):
    project, probs, _ = scored
    calibrated = list(ReviewQueue([r for r in load_regions(project) if r.kind != "outlier"]))
    uncalibrated = _uncalibrated_queue(project, probs)
    k = 2 * N_IMAGES // 4  # as many as there are true errors
    before = np.mean([_helps(project, r) for r in uncalibrated[:k]])
    after = np.mean([_helps(project, r) for r in calibrated[:k]])
    assert before < 0.3  # the artefacts lead the uncalibrated queue
    assert after >= 0.9 and after > before + 0.5


def test_image_scores_and_estimated_dice_follow_the_errors(scored):
    project, _, _ = scored
    rows = {r["image"]: r for r in load_image_scores(project)}
    wrong = np.array([np.any(project.mask(n) != project.truth(n)) for n in project.names])
    score = np.array([rows[n]["error_score"] for n in project.names])
    est = np.array([rows[n]["est_dice"] for n in project.names])
    assert roc_auc_score(wrong, score) > 0.9
    assert est[wrong].mean() < est[~wrong].mean() - 0.05
    assert np.all((est >= 0) & (est <= 1))


def test_calibrated_regions_carry_their_reason_and_gains(scored):
    project, _, _ = scored
    region = ReviewQueue(load_regions(project))[0]
    assert region.label == "object missing from the mask"
    assert "the model sees an object here" in region.reason and "expected gain" in region.reason
    assert region.gain == pytest.approx(region.area * region.prob_correct)
    assert 0 < region.dice_gain <= region.prob_correct


def test_the_verdict_is_stored_printed_and_good_here(scored):
    project, _, summary = scored
    verdict = load_verdict(project)
    assert verdict.status == "good" and verdict.warning is None
    assert verdict.n_images >= 6 and verdict.n_planted > verdict.n_images
    assert verdict.image_auroc > 0.85 and "can judge these masks" in summary
    stored = json.loads((project.scores_dir(1) / "calibration.json").read_text())
    assert Verdict.from_dict(stored) == verdict


def test_rescoring_an_unchanged_project_reuses_the_calibration(scored):
    project, _, _ = scored
    path = project.scores_dir(1) / "maps" / "im01.npz"
    before = path.stat().st_mtime_ns
    summary = drive(score_project(project), quiet=True)
    assert "rescored 0 of" in summary and path.stat().st_mtime_ns == before


def test_a_model_that_cannot_see_the_objects_gets_a_warning(tmp_path):
    rng = np.random.default_rng(3)
    images, masks = {}, {}
    for i in range(16):
        mask = disk_mask((48, 48), [(12, 12), (12, 36), (36, 24)], rng.integers(4, 8, 3))
        noise = rng.integers(0, 255, mask.shape).astype(np.uint8)  # no intensity evidence
        images[f"im{i:02d}"], masks[f"im{i:02d}"] = noise, mask
    project = Project.create(tmp_path / "p", images, masks)
    version, _ = project.new_model_dir()
    for i, name in enumerate(project.names):
        unrelated = disk_mask((48, 48), [tuple(rng.integers(6, 42, 2))], [6])
        project.save_probs(version, name, probs_from_mask(unrelated, noise=0.2, seed=i))
    summary = drive(score_project(project), quiet=True)
    verdict = load_verdict(project)
    assert verdict.status == "weak" and verdict.model_dice < 0.5
    assert verdict.warning in summary and "What would help" in verdict.warning


def test_too_few_images_stay_uncalibrated(tmp_path):
    masks = {f"im{i}": disk_mask((32, 32), [(16, 16)], [6]) for i in range(3)}
    project = Project.create(tmp_path / "p", {k: v * 200 for k, v in masks.items()}, masks)
    version, _ = project.new_model_dir()
    for name, mask in masks.items():
        project.save_probs(version, name, probs_from_mask(mask, seed=1))
    summary = drive(score_project(project), quiet=True)
    verdict = load_verdict(project)
    assert verdict.status == "uncalibrated" and "6 needed" in verdict.note
    assert "not calibrated" in summary.lower()
    assert {r["image"] for r in load_image_scores(project)} == set(masks)


def test_verdict_rules():
    good = Verdict.judge(image_auroc=0.95, region_auroc=0.9, small_auroc=0.8)
    limited = Verdict.judge(image_auroc=0.8, region_auroc=0.9, small_auroc=0.75)
    weak_small = Verdict.judge(image_auroc=0.95, region_auroc=0.9, small_auroc=0.6)
    weak = Verdict.judge(image_auroc=0.6, region_auroc=0.9)
    blind = Verdict.judge(image_auroc=0.9, region_auroc=0.9, dice_r=0.2)
    statuses = [v.status for v in (good, limited, weak_small, weak, blind)]
    assert statuses == ["good", "limited", "weak", "weak", "weak"]
    assert good.warning is None and not good.advice
    assert "cannot reliably judge" in weak.warning and weak.advice
    assert Verdict.from_dict(weak.to_dict()) == weak


def _samples(project):
    manifest = json.loads((project.scores_dir(1) / "quality_manifest.json").read_text())
    raw = {n: manifest["images"][n]["raw"] for n in project.names}
    calibration = (np.array(manifest["thresholds"], np.float32), manifest["fg_shift"])
    base = calibration_images(project, raw)
    return drive(calibration_samples(project, 1, calibration, base, PARAMS.calibration), quiet=True)


def _posing_as_right(sample, name):
    """A copy of a planted sample taken as an untouched mask: a real error that slipped into the
    calibration images, labelled right."""
    n = len(sample.is_error)
    no = np.zeros(n, bool)
    return dataclasses.replace(
        sample, image=name, planted="", true_dice=1.0, is_error=no, helps=no,
        pix_y=np.zeros_like(sample.pix_y),
    )  # fmt: skip


def test_the_calibration_sets_aside_masks_it_judges_wrong(scored):
    project, _, _ = scored
    samples = _samples(project)
    large = sorted((s for s in samples if s.planted), key=lambda s: s.true_dice)[:4]
    wrong = [_posing_as_right(s, f"wrong{i}") for i, s in enumerate(large)]
    names = {s.image for s in wrong}
    screened = fit_calibration(samples + wrong)
    assert len(names & set(screened.set_aside)) >= 3
    assert len(set(screened.set_aside) - names) <= 1
    assert screened.verdict.n_set_aside == len(screened.set_aside)
    assert "left out of the calibration" in screened.verdict.text()
    assert not set(screened.fold_of) & set(screened.set_aside)  # judged by the final model
    # the verdict is the first fit's, not one graded without the masks it doubted
    first = fit_calibration(samples + wrong, dataclasses.replace(PARAMS.calibration, screen=False))
    assert first.set_aside == []
    assert screened.verdict.image_auroc == first.verdict.image_auroc
    trusted = [dataclasses.replace(s, trusted=True) for s in wrong]
    assert not names & set(fit_calibration(samples + trusted).set_aside)


def test_a_pool_of_workers_plants_and_finds_the_same_samples(scored, monkeypatch):
    from napari_noisyfix.quality import pool

    project, _, _ = scored
    monkeypatch.setenv(pool.ENV, "1")
    here = _samples(project)
    monkeypatch.setenv(pool.ENV, "2")
    monkeypatch.setattr(
        pool,
        "PARAMS",
        dataclasses.replace(
            PARAMS, scoring=dataclasses.replace(PARAMS.scoring, pool_min_analyses=1)
        ),
    )
    assert pool.worker_count(12, 4) == 2
    pooled = _samples(project)
    assert [(s.image, s.planted) for s in pooled] == [(s.image, s.planted) for s in here]
    for a, b in zip(pooled, here, strict=True):
        np.testing.assert_array_equal(a.X, b.X)
        np.testing.assert_array_equal(a.pix_X, b.pix_X)
        assert (a.true_dice, a.trusted, a.raw) == (b.true_dice, b.trusted, b.raw)


def test_the_calibration_fits_with_one_thread_and_the_same_result(scored, monkeypatch):
    """OpenMP's second thread only slows these small fits (three times over with the other
    core busy); the models fitted are the same either way."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from napari_noisyfix.quality import calibration

    project, _, _ = scored
    samples = _samples(project)
    seen = []
    fit = calibration._classifier

    def openmp_threads() -> set:
        return {p["num_threads"] for p in threadpool_info() if p["user_api"] == "openmp"}

    def spy(*args, **kwargs):
        seen.append(openmp_threads())
        return fit(*args, **kwargs)

    monkeypatch.setattr(calibration, "_classifier", spy)
    with threadpool_limits(2):
        one = fit_calibration(samples)
        assert openmp_threads() <= {2}
    assert seen and all(s <= {1} for s in seen)
    images = {s.image: (s.raw, s.X) for s in samples if not s.planted}
    other = calibration.fit_calibration.__wrapped__(samples)  # the machine's thread count
    a, b = one.predict(images), other.predict(images)
    for name in images:
        for x, y in zip(a[name], b[name], strict=True):
            np.testing.assert_allclose(x, y, rtol=0, atol=1e-12)


def test_the_image_score_stacks_the_image_models_and_the_softmin():
    """The image score is a logistic fit of "planted" on both image models' held-out outputs and
    the softmin, with weights of at least zero: whichever of the three carries the signal in a
    project, the score follows it."""
    from types import SimpleNamespace

    from napari_noisyfix.quality import calibration

    rng = np.random.default_rng(0)
    n = 300
    planted = rng.random(n) < 0.6
    telling = np.where(planted, rng.uniform(0.6, 0.95, n), rng.uniform(0.05, 0.7, n))
    for k in range(3):  # which reading carries the signal: P(error), Dice shortfall, doubt
        doubt = [telling if j == k else rng.uniform(0.2, 0.8, n) for j in range(3)]
        p_img, est, softmin = doubt[0], 1.0 - doubt[1], 1.0 - doubt[2]
        samples = [
            SimpleNamespace(planted="erode" if p else "", raw={"softmin": q})
            for p, q in zip(planted, softmin, strict=True)
        ]
        held = [(None, None, p, e) for p, e in zip(p_img, est, strict=True)]
        fitted = calibration.Calibration(stack=calibration._fit_stack(samples, held, np.ones(n)))
        score = fitted.image_score(p_img, est, softmin)
        assert roc_auc_score(planted, score) > roc_auc_score(planted, telling) - 0.01
        assert all(
            roc_auc_score(planted, score) > roc_auc_score(planted, d) + 0.3
            for j, d in enumerate(doubt)
            if j != k
        )
    # a reading that runs against the planted errors on this draw gets no weight, never a
    # negative one: more doubt never lowers the score
    softmin = telling  # its doubt, 1 - softmin, is lowest where an error was planted
    samples = [
        SimpleNamespace(planted="erode" if p else "", raw={"softmin": q})
        for p, q in zip(planted, softmin, strict=True)
    ]
    held = [(None, None, p, 0.9) for p in telling]
    stack = calibration._fit_stack(samples, held, np.ones(n))
    assert stack.coef_[0] > 0 and stack.coef_[2] == 0
    fitted = calibration.Calibration(stack=stack)
    assert fitted.image_score([0.5], [0.9], [0.2]) >= fitted.image_score([0.5], [0.9], [0.8])
    # without untouched masks there is nothing to stack against: P(error) alone
    assert calibration._fit_stack(samples[:1] * 3, held[:1] * 3, np.ones(3)) is None
    assert calibration.Calibration().image_score([0.3], [0.9], [0.1]) == pytest.approx([0.3])


def test_the_stored_image_score_is_the_stack_of_the_image_models(scored):
    project, _, _ = scored
    fitted = fit_calibration(_samples(project))
    assert fitted.stack is not None
    # the same P(error) and softmin, a worse estimated Dice: a higher image score
    low, high = fitted.image_score([0.5, 0.5], [0.6, 0.99], [0.3, 0.3])
    assert low > high
    rows = {r["image"]: r for r in load_image_scores(project)}
    manifest = json.loads((project.scores_dir(1) / "quality_manifest.json").read_text())
    name = project.names[0]
    raw = manifest["images"][name]["raw"]
    rng = np.random.default_rng(0)
    pixels = {k: rng.random((8, 8)).astype(np.float32) for k in ("pixel_error", "error_raw")}
    maps = [dict(pixels), dict(pixels)]
    out = [
        fitted.apply([], m, (np.zeros(0), np.zeros(0), 0.5, e, score))
        for m, e, score in zip(maps, (0.6, 0.99), (low, high), strict=True)
    ]
    assert [o["error_score"] for o in out] == [low, high] and out[0]["est_dice"] == 0.6
    # the pixel map still takes the image model's own P(error), as the pixel model was fitted
    np.testing.assert_array_equal(maps[0]["error_score"], maps[1]["error_score"])
    # and the stored image score is the stack of that image's own outputs
    from napari_noisyfix.quality.calibration import evidence

    regions = [r for r in load_regions(project) if r.image == name and r.features is not None]
    predicted = fitted.predict({name: (raw, evidence(regions))})[name]
    assert rows[name]["error_score"] == pytest.approx(predicted[4], abs=1e-5)
    assert predicted[4] != pytest.approx(predicted[2], abs=1e-3)  # not P(error) alone


def test_untouched_masks_the_softmin_doubts_are_believed_less():
    """An untouched calibration mask as doubtful to the softmin as the planted errors counts
    little as an example of a correct mask; masks it finds sure count fully; planted errors and
    the clean subset keep weight one; an uninformative softmin changes nothing after balancing."""
    from types import SimpleNamespace

    from napari_noisyfix.quality import calibration

    rng = np.random.default_rng(1)
    n = 400
    planted = rng.random(n) < 0.6
    real_error = ~planted & (rng.random(n) < 0.3)
    doubt = np.where(planted | real_error, rng.uniform(0.5, 0.95, n), rng.uniform(0.02, 0.3, n))
    trusted = ~planted & ~real_error & (rng.random(n) < 0.1)

    def samples(d):
        return [
            SimpleNamespace(planted="erode" if p else "", raw={"softmin": 1.0 - q}, trusted=t)
            for p, q, t in zip(planted, d, trusted, strict=True)
        ]

    fold = np.arange(n) % 2
    trust = calibration._trust(samples(doubt), fold)
    assert np.all(trust[planted | trusted] == 1.0)
    assert np.all((trust >= 0.0) & (trust <= 1.0))
    clean = ~planted & ~real_error & ~trusted
    assert trust[real_error].mean() < 0.3 < 0.8 < trust[clean].mean()
    # balancing keeps the trust's proportions within each class and equal class totals
    w = calibration._balanced_weights(planted, trust)
    assert w[planted].sum() == pytest.approx(w[~planted].sum()) == pytest.approx(planted.sum())
    np.testing.assert_allclose(
        w[~planted] / w[~planted].max(), trust[~planted] / trust[~planted].max()
    )
    np.testing.assert_array_equal(
        calibration._balanced_weights(planted), calibration._balanced_weights(planted, np.ones(n))
    )
    # a softmin that cannot tell planted from untouched leaves every untouched weight alike
    flat = calibration._trust(samples(rng.uniform(0.2, 0.8, n)), fold)
    assert np.ptp(flat[~planted & ~trusted]) < 0.15
