"""Training in several processes (torch.distributed, gloo on the CPU) against one process."""

import dataclasses

import numpy as np
import pytest
import torch
from distributed_workers import agreeing
from test_model_steps import context, samples

from napari_noisyfix.cli import main
from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.model.checkpoints import load_checkpoint
from napari_noisyfix.model.distributed import ONE, Ranks, check_launch
from napari_noisyfix.model.folds import fold_root, load_folds
from napari_noisyfix.model.steps import prepare_batch
from napari_noisyfix.model.trainer import split_validation, train
from napari_noisyfix.progress import drive
from napari_noisyfix.project import Project
from napari_noisyfix.synth.sample import make_sample_project

#: Two steps of a light network on 64-px crops; a global batch of 2 crops, one per process.
TINY = ["--budget", "quick", "--device", "cpu", "--folds", "2", "--epochs", "1"]
TINY += ["--steps-per-epoch", "2", "--batch-size", "2", "--image-size", "64"]


def test_the_processes_share_out_exactly_the_one_process_batch():
    ctx = context(mixup_alpha=0.4, mixup_prob=1.0, augment_intensity=0.2)
    batch = ([0, 0, 0], samples(), (64, 64))
    whole = prepare_batch(ctx, batch, np.random.default_rng(3))
    shares = [
        prepare_batch(dataclasses.replace(ctx, ranks=Ranks(r, 2)), batch, np.random.default_rng(3))
        for r in range(2)
    ]
    assert [len(s[0]) for s in shares] == [1, 2]  # contiguous, disjoint, covering
    for part, joined in zip(whole, zip(*shares, strict=True), strict=True):
        assert torch.equal(part, torch.cat(joined))


def test_a_batch_smaller_than_the_processes_is_refused():
    with pytest.raises(NoisyFixError, match="batch of 1 crops cannot be shared by 2"):
        Ranks(1, 2).part(1)
    assert ONE.part(1) == slice(0, 1)


def test_each_process_gets_its_own_gpu_and_a_shared_one_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert Ranks(1, 2, 1).device("auto") == torch.device("cuda", 1)
    assert Ranks(3, 4, 1).device("cuda") == torch.device("cuda", 1)  # second machine
    assert ONE.device("cuda:1") == torch.device("cuda", 1)
    assert Ranks(1, 2, 1).device("cpu") == torch.device("cpu")
    with pytest.raises(NoisyFixError, match="each uses its own GPU"):
        Ranks(0, 2, 0).device("cuda:1")
    with pytest.raises(NoisyFixError, match="--nproc 3: process 2 on this machine: only 2 CUDA"):
        check_launch(3, "auto", 8)


@pytest.mark.parametrize(
    ("nproc", "batch", "device", "problem"),
    [
        (0, 8, "cpu", "--nproc 0: give 1 or more processes"),
        (3, 2, "cpu", "--nproc 3: more processes than the 2 crops of a batch"),
        (2, 8, "gpu", "--nproc 2: 'gpu' is not a device"),
    ],
)
def test_check_launch_refuses_what_the_run_cannot_use(nproc, batch, device, problem):
    with pytest.raises(NoisyFixError, match=problem):
        check_launch(nproc, device, batch)


def test_nproc_errors_are_one_line_before_any_process_starts(tmp_path, capfd):
    make_sample_project(tmp_path / "p", n=6, size=64, seed=0).close()
    assert main(["train", str(tmp_path / "p"), *TINY, "--nproc", "0"]) == 2
    assert main(["train", str(tmp_path / "p"), *TINY, "--nproc", "3"]) == 2
    err = capfd.readouterr().err.splitlines()
    assert err == [
        "noisyfix: error: --nproc 0: give 1 or more processes",
        "noisyfix: error: --nproc 3: more processes than the 2 crops of a batch (raise --batch-size)",
    ]
    assert Project.open(tmp_path / "p", mode="read").model_versions() == []


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch without distributed")
def test_processes_share_the_main_result_weigh_shares_and_all_stop_on_its_failure(tmp_path):
    ctx = torch.multiprocessing.get_context("spawn")
    results = ctx.SimpleQueue()
    store = f"file://{tmp_path / 'store'}"
    torch.multiprocessing.start_processes(
        agreeing, (store, results), nprocs=2, start_method="spawn"
    )
    got = {r[0]: r[1:] for r in (results.get(), results.get())}
    for rank, (shared, factor, merged, _) in got.items():
        assert shared == ["from", 0]  # the main process's result, everywhere
        # pixel weights 16 and 32: DDP's mean of the weighted shares is the global mean
        assert factor == pytest.approx([2 / 3, 4 / 3][rank])
        assert merged["loss"] == pytest.approx((16 * 1 + 32 * 2) / 48)
        assert merged["dice"] == pytest.approx(2 * 0.5 / 3)
        assert merged["learned_grad"] == 0.5  # the mean of 0 and 1
        assert merged["counted_share"] == pytest.approx([2 / 3, 4 / 3][rank])  # 16 and 32 px
    assert got[0][3] == ("RuntimeError", "disk on fire")
    assert got[1][3] == (
        "NoisyFixError",
        "training stopped: the main process failed (RuntimeError: disk on fire)",
    )


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch without distributed")
def test_two_gloo_processes_train_one_version_with_the_one_process_loss(tmp_path, capfd):
    root = tmp_path / "p"
    make_sample_project(root, n=6, size=64, seed=0).close()
    assert main(["train", str(root), *TINY, "--nproc", "2"]) == 0
    out = capfd.readouterr().out
    assert out.count("model version 1 saved") == 1  # the main process alone reports

    project = Project.open(root, mode="read")
    assert project.model_versions() == [1] and len(project.log.rows("train")) == 1
    assert sorted(p.name for p in project.model_dir(1).parent.iterdir()) == ["v0001"]
    final = load_checkpoint(project.model_dir(1))
    one = _one_process_final_model(project)
    for path in (project.model_dir(1), *sorted(fold_root(project.model_dir(1)).iterdir())):
        got = load_checkpoint(path)  # what score, update and export load: verified, built
        assert {k: v.shape for k, v in got.state.items()} == {
            k: v.shape for k, v in one.state.items()
        }  # the bare network's keys: no DDP "module." prefix, nothing added
        assert got.config == one.config
    assert {n for f in load_folds(project, 1) for n in f.held_out} == set(project.names)
    assert final.meta["train_names"] == one.train_names
    # the same global batches; each process normalises over its own share (gloo has no
    # SyncBatchNorm), which is all that differs: close, yet not the one-process run itself
    got, want = ([h["train_loss"] for h in r.history] for r in (final, one))
    assert got == pytest.approx(want, rel=0.02) and got != want


def _one_process_final_model(project):
    """The final model ``noisyfix train TINY`` trains, trained here in one process."""
    from napari_noisyfix.cli import build_parser, training_plan

    plan = training_plan(build_parser().parse_args(["train", str(project.root), *TINY]))
    names = project.names
    return drive(train(project, plan.config, *split_validation(project, names, plan.config)))
