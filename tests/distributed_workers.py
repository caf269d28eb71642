"""What each process of a 2-process gloo test runs: importing only torch and the distributed
helpers, so that a spawned process starts fast."""

import torch

from napari_noisyfix.errors import NoisyFixError
from napari_noisyfix.model.distributed import current_ranks


def agreeing(rank: int, store: str, results) -> None:
    """One of 2 gloo processes: share a result, combine a step's shares, average a gradient,
    fail on rank 0."""
    torch.distributed.init_process_group("gloo", init_method=store, rank=rank, world_size=2)
    ranks = current_ranks()
    shared = ranks.on_main(lambda: ["from", rank])
    stats = {"loss": float(rank + 1), "dice": 0.5 * rank, "filtered": 0.0}
    factor, merged = ranks.combine(stats, torch.ones(rank + 1, 4, 4))  # 1 and 2 crops
    learned = torch.nn.Linear(1, 1, bias=False)  # a loss's own parameter, outside DDP
    learned.weight.grad = torch.full((1, 1), float(rank))
    ranks.average_grads(learned)
    merged["learned_grad"] = float(learned.weight.grad)
    merged["counted_share"] = ranks.shares(torch.device("cpu"), 16.0 * (rank + 1))[0]
    try:
        ranks.on_main(_fail)
        error = None
    except (NoisyFixError, RuntimeError) as exc:
        error = (type(exc).__name__, str(exc))
    torch.distributed.destroy_process_group()
    results.put((rank, shared, factor, merged, error))


def _fail():
    raise RuntimeError("disk on fire")
