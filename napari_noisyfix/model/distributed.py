"""Multi-process training with torch.distributed: one process per GPU (or several on a CPU).

``torchrun --nproc-per-node N -m napari_noisyfix train PROJECT`` (or ``noisyfix train --nproc N``,
which starts it through :func:`launch`) runs the command in N processes. :func:`start` joins them
in a process group (NCCL on CUDA, gloo on the CPU); every process then runs the same training,
and :class:`Ranks` is what the trainer asks about its place in it:

- every process holds the same seeded generator and so draws the same global batch (images from
  the fold's own training images, by the sampling frequencies, with their crops, augmentation and
  MixUp), then keeps its own contiguous share of it (:meth:`Ranks.part`): together the processes
  train on exactly the batch one process would;
- the network is wrapped in DistributedDataParallel (:meth:`Ranks.wrap`; with SyncBatchNorm on
  CUDA, so batch statistics are those of the global batch);
- each share's loss is weighted by its share of the batch's pixel weight (:meth:`Ranks.combine`),
  so the averaged gradient is the one-process gradient for the pixel-averaged losses (CE, GCE,
  SCE), and the logged loss is the global batch's (for Dice and the T-Loss, batch statistics,
  the weighted mean of the shares' losses); a loss's own parameters are averaged too;
- what needs the whole model's judgement (validation, the curriculum's losses, the noise
  estimate) runs on the main process alone and is shared with the others (:meth:`Ranks.on_main`),
  so that every process takes the same decisions; a failure there stops every process.

Only the main process (rank 0) writes: version, checkpoints, fold models, audit log, progress
bars. When one process dies, no other waits for it: their next collective fails (gloo: the
connection closed) or torchrun stops them (SIGTERM, which :func:`start` turns into an exit through
every ``finally`` block, so the main process releases the version it reserved; one killed inside a
collective leaves a reservation that the next opening for writing removes as stale). Every
collective also gives up after :data:`TIMEOUT`.

Two things differ from one process: gloo has no SyncBatchNorm (on the CPU each process
normalises over its own share), and each process prepares the whole batch on the CPU before
keeping its share (the price of drawing exactly the one-process batch; crops and flips are cheap
next to the network's passes). MixMatch (the default recipe) costs more: each process also makes
the label-guessing passes (no gradient) over the whole batch before it trains on its share of the
mixed views (:mod:`.mixmatch`). The out-of-fold models are trained one after another, each by all
the processes.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

from ..errors import NoisyFixError
from .device import resolve_device

#: How long a process waits for the others at one collective: long enough for the main process
#: to predict a fold's held-out images while the others wait for the next fold.
TIMEOUT = timedelta(minutes=30)


@dataclass(frozen=True)
class Ranks:
    """This process's place among ``world`` training processes (one process: rank 0 of 1)."""

    rank: int = 0
    world: int = 1
    local: int = 0

    @property
    def main(self) -> bool:
        """Whether this process writes (rank 0)."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        """Whether more than one process trains."""
        return self.world > 1

    def device(self, name: str) -> torch.device:
        """The device of ``name`` for this process: ``cuda:LOCAL_RANK`` when several share CUDA.

        Raises
        ------
        NoisyFixError
            When several processes are asked to share one numbered GPU, or there are fewer
            GPUs on this machine than processes.
        """
        dev = resolve_device(name)
        if not self.active or dev.type != "cuda":
            return dev
        if dev.index is not None:
            raise NoisyFixError(
                f"device {name!r}: with several processes each uses its own GPU; pass --device "
                "cuda (or auto) and choose the GPUs with CUDA_VISIBLE_DEVICES"
            )
        if self.local >= torch.cuda.device_count():
            raise NoisyFixError(
                f"process {self.local} on this machine: only {torch.cuda.device_count()} CUDA "
                "GPU(s); start fewer processes or pass --device cpu"
            )
        return torch.device("cuda", self.local)

    def part(self, n: int) -> slice:
        """This process's contiguous share of a global batch of ``n`` (shares differ by at most 1).

        Raises
        ------
        NoisyFixError
            When the batch has fewer crops than there are processes.
        """
        if n < self.world:
            raise NoisyFixError(
                f"a batch of {n} crops cannot be shared by {self.world} processes; raise "
                "--batch-size or start fewer processes"
            )
        return slice(self.rank * n // self.world, (self.rank + 1) * n // self.world)

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """``model`` wrapped in DistributedDataParallel (itself for one process).

        On CUDA its BatchNorm layers become SyncBatchNorm in place (same parameters, same state
        keys), so that the saved weights are those of a one-process network.
        """
        if not self.active:
            return model
        device = next(model.parameters()).device
        if device.type == "cuda":
            synced = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
            if synced is not model:
                raise NoisyFixError("a network whose root module is a BatchNorm cannot be synced")
            return torch.nn.parallel.DistributedDataParallel(
                model, device_ids=[device.index], output_device=device.index
            )
        return torch.nn.parallel.DistributedDataParallel(model)

    def combine(self, stats: dict, weights: torch.Tensor) -> tuple[float, dict]:
        """The factor for this share's loss, and the step's statistics over the global batch.

        The factor is ``world`` times this share of the batch's pixel weight (``weights``, the
        weights the loss used): DDP averages the gradients over processes, so each share then
        counts as much as its pixels do. ``loss`` becomes the weighted mean of the shares'
        losses (the global batch's loss for the pixel-averaged losses); ``dice`` and ``filtered``
        the means over crops.
        """
        if not self.active:
            return 1.0, stats
        n = float(weights.shape[0])
        w = float(weights.sum())
        local = [w, w * stats["loss"], n * stats["dice"], n * stats["filtered"], n]
        total = torch.tensor(local, dtype=torch.float64, device=weights.device)
        dist.all_reduce(total)
        w_all, loss, dice, filtered, n_all = total.tolist()
        factor = self.world * w / w_all if w_all > 0 else 1.0
        merged = {"loss": loss / w_all if w_all > 0 else stats["loss"]}
        merged.update(dice=dice / n_all, filtered=filtered / n_all)
        return factor, {**stats, **merged}

    def shares(self, device: torch.device, *amounts: float) -> list[float]:
        """For each of this process's ``amounts`` (pixels a loss term averages over), ``world``
        times its share of the sum over processes: the factor that makes DDP's mean of the
        shares' gradients the global batch's (1 for one process, or when the sum is 0).
        ``device`` is the one the processes reduce on (the model's: NCCL reduces on the GPU)."""
        if not self.active:
            return [1.0] * len(amounts)
        total = torch.tensor(amounts, dtype=torch.float64, device=device)
        dist.all_reduce(total)
        return [
            self.world * a / t if t > 0 else 1.0
            for a, t in zip(amounts, total.tolist(), strict=True)
        ]

    def average_grads(self, module) -> None:
        """Average over the processes the gradients of a module that DDP does not wrap (a loss's
        learned parameters, the T-Loss's ``nu``), so that every process takes the same step."""
        if not self.active or not isinstance(module, torch.nn.Module):
            return
        for param in module.parameters():
            if param.grad is not None:
                dist.all_reduce(param.grad)
                param.grad /= self.world

    def on_main(self, fn, *args, share: bool = True):
        """``fn(*args)`` run by the main process alone; with ``share``, every process gets its
        result (it must pickle), else the others get None.

        When it fails, every process raises: the main process its own error, the others a
        :class:`~napari_noisyfix.errors.NoisyFixError` that says the main process failed.
        """
        if not self.active:
            return fn(*args)
        box, value = [None], None
        if self.main:
            try:
                value = fn(*args)
                box[0] = ("ok", value if share else None)
            except BaseException as exc:
                box[0] = ("failed", f"{type(exc).__name__}: {exc}")
                dist.broadcast_object_list(box, src=0)
                raise
        dist.broadcast_object_list(box, src=0)
        status, payload = box[0]
        if status == "failed":
            raise NoisyFixError(f"training stopped: the main process failed ({payload})")
        return value if self.main else payload


#: The signals torchrun's agent handles in the process that launches (restored after).
_AGENT_SIGNALS = tuple(
    getattr(signal, name)
    for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT")
    if hasattr(signal, name)
)

#: One process alone.
ONE = Ranks()


def current_ranks() -> Ranks:
    """This process's :class:`Ranks` in the default process group (:data:`ONE` without one)."""
    if not (dist.is_available() and dist.is_initialized()):
        return ONE
    local = int(os.environ.get("LOCAL_RANK", dist.get_rank()))
    return Ranks(dist.get_rank(), dist.get_world_size(), local)


def launched_world() -> int:
    """How many processes torchrun started for this command (1 when it was not started so)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def start(device: str) -> Ranks:
    """Join the process group torchrun set up (NCCL for CUDA, gloo for the CPU); a no-op for one
    process. SIGTERM (torchrun stopping the others when one process failed) then ends this one
    with a message, through the cleanup of every ``finally`` block."""
    world = launched_world()
    if world <= 1 or dist.is_initialized():
        return current_ranks()
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    dev = Ranks(rank, world, local).device(device)
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    dist.init_process_group(
        "nccl" if dev.type == "cuda" else "gloo",
        timeout=TIMEOUT,
        device_id=dev if dev.type == "cuda" else None,
    )
    signal.signal(signal.SIGTERM, _stopped)
    return current_ranks()


def stop() -> None:
    """Leave the process group, if this process joined one."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _stopped(signum, frame):
    raise SystemExit("noisyfix: stopped: another training process ended")


def check_launch(nproc: int, device: str, batch_size: int) -> None:
    """Refuse, before any process starts, a count of processes the run cannot use.

    Raises
    ------
    NoisyFixError
        When ``nproc`` is below 1 or exceeds the batch's crops, when the device cannot give each
        process its own GPU (a numbered GPU, fewer GPUs than processes) or is no device here;
        or when torchrun started this command with another count.
    """
    world = launched_world()
    if world > 1:
        if nproc not in (1, world):
            raise NoisyFixError(f"--nproc {nproc}: torchrun started this command {world} times")
        return
    if nproc < 1:
        raise NoisyFixError(f"--nproc {nproc}: give 1 or more processes")
    if nproc == 1:
        return
    if nproc > batch_size:
        raise NoisyFixError(
            f"--nproc {nproc}: more processes than the {batch_size} crops of a batch "
            "(raise --batch-size)"
        )
    try:  # the last process's device: its own GPU on CUDA
        Ranks(nproc - 1, nproc, nproc - 1).device(device)
    except NoisyFixError as exc:
        raise NoisyFixError(f"--nproc {nproc}: {exc}") from None


def launch(nproc: int, argv: list[str]) -> int:
    """Run ``python -m napari_noisyfix ARGV`` in ``nproc`` processes on this machine with
    torchrun (``torch.distributed.run``, standalone rendezvous on a free port); 0 when every
    process succeeded. The signal handlers torchrun's agent installs here are restored after.

    Raises
    ------
    NoisyFixError
        When one process failed (its own error is printed above, by itself).
    KeyboardInterrupt
        When the run was interrupted (Ctrl-C reaches every process; each stops).
    """
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args, run

    package = __package__.split(".")[0]
    args = parse_args(["--standalone", f"--nproc-per-node={nproc}", "--module", package])
    args.training_script_args = list(argv)  # never parsed by torchrun: --nproc is its prefix
    saved = {sig: signal.getsignal(sig) for sig in _AGENT_SIGNALS}
    try:
        run(args)
    except ChildFailedError as exc:
        rank, failure = exc.get_first_failure()
        raise NoisyFixError(
            f"training process {rank} of {nproc} ended with exit code {failure.exitcode} "
            "(its message is above)"
        ) from None
    except SignalException as exc:
        if exc.sigval == signal.SIGINT:
            raise KeyboardInterrupt from None
        raise SystemExit(f"noisyfix: stopped by {exc.sigval.name}") from None
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    return 0
