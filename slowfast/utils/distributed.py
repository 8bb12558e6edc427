"""Process groups for multi-process runs: how a process joins, who it is, and the few collectives we need.

A run has ``world_size = NUM_GPUS x NUM_SHARDS`` processes (or torchrun's WORLD_SIZE). The
process of local rank ``l`` on machine ``SHARD_ID`` has global rank ``SHARD_ID * NUM_GPUS + l``.
NCCL is the backend on GPUs, gloo on the CPU. Everything here is a no-op in a single process.
"""
import os
import socket
from dataclasses import dataclass

import torch
import torch.distributed as dist

from slowfast.utils import bn_groups

# torchrun (and tools/submit_slurm.py) set these; their presence means "join that job".
TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK")

# Process groups of consecutive ranks, by ranks per group: {k: (group of this rank, its ranks)}.
_bn_groups: dict[int, tuple[object, tuple[int, ...]]] = {}


@dataclass(frozen=True)
class ProcessPlace:
    """Where this process stands: its global rank, the run's size and its index on this machine."""

    rank: int
    world_size: int
    local_rank: int


def launched_by_torchrun() -> bool:
    """True when RANK, WORLD_SIZE and LOCAL_RANK are all in the environment (torchrun, SLURM)."""
    return all(name in os.environ for name in TORCHRUN_VARIABLES)


def place_from_environment() -> ProcessPlace:
    """This process's place as torchrun's environment variables give it."""
    return ProcessPlace(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ["LOCAL_RANK"]))


def processes_per_machine(num_gpus: int) -> int:
    """Training processes on one machine: one per GPU (NUM_GPUS), or one on the CPU (NUM_GPUS 0)."""
    return max(num_gpus, 1)


def num_devices(num_gpus: int, num_shards: int) -> int:
    """Training processes (devices) over all NUM_SHARDS machines: the run's world size when
    run_net starts it, and what TRAIN/TEST.BATCH_SIZE is split over."""
    return processes_per_machine(num_gpus) * num_shards


def place_from_config(num_gpus: int, num_shards: int, shard_id: int, local_rank: int) -> ProcessPlace:
    """The place of worker ``local_rank`` that run_net started on machine ``shard_id``."""
    per_machine = processes_per_machine(num_gpus)
    return ProcessPlace(shard_id * per_machine + local_rank, num_devices(num_gpus, num_shards), local_rank)


def find_free_port() -> int:
    """A TCP port nobody listens on now, for a single-machine rendezvous."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("", 0))
        return sock.getsockname()[1]


def default_init_method(num_shards: int, init_method: str | None) -> str:
    """``init_method`` when given; on one machine a free localhost port; else a clear error."""
    if init_method:
        return init_method
    if num_shards > 1:
        raise ValueError(
            f"NUM_SHARDS is {num_shards}: pass --init_method tcp://<host of shard 0>:<port> "
            "so the machines can find each other (or launch with torchrun)"
        )
    return f"tcp://localhost:{find_free_port()}"


def backend_for(device: torch.device) -> str:
    """NCCL for CUDA devices, gloo otherwise."""
    return "nccl" if device.type == "cuda" else "gloo"


def init_process_group(place: ProcessPlace, device: torch.device, init_method: str = "env://") -> None:
    """Join the run's default process group (once); nothing to do in a one-process run."""
    if place.world_size == 1 or is_distributed():
        return
    dist.init_process_group(
        backend=backend_for(device), init_method=init_method,
        rank=place.rank, world_size=place.world_size,
    )


def destroy_process_group() -> None:
    """Leave the default group and forget the BN groups built on it."""
    _bn_groups.clear()
    if is_distributed():
        dist.destroy_process_group()


def is_distributed() -> bool:
    """True inside an initialised process group."""
    return dist.is_available() and dist.is_initialized()


def world_size() -> int:
    """Processes in the run (1 when not distributed)."""
    return dist.get_world_size() if is_distributed() else 1


def rank() -> int:
    """This process's global rank (0 when not distributed)."""
    return dist.get_rank() if is_distributed() else 0


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum ``tensor`` over all ranks, in place; returned for chaining."""
    if world_size() > 1:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


@torch.no_grad()
def gather_ints(value: int) -> list[int]:
    """``value`` of every rank, in rank order (``[value]`` in a one-process run)."""
    if world_size() == 1:
        return [int(value)]
    device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")
    mine = torch.tensor([int(value)], dtype=torch.int64, device=device)
    gathered = [torch.zeros_like(mine) for _ in range(world_size())]
    dist.all_gather(gathered, mine)
    return [int(t.item()) for t in gathered]


def average_bn_buffers(model: torch.nn.Module) -> None:
    """Pool every BN's running statistics over the ranks (precise BN's last step).

    Each rank estimated them on as many clips, so the pooled mean is the average of the means
    and the pooled variance, by the law of total variance, the average variance plus the spread
    of the ranks' means around the pooled mean.
    """
    world = world_size()
    if world == 1:
        return
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm) and module.track_running_stats:
            mean, var = module.running_mean, module.running_var
            pooled = all_reduce_sum(torch.stack([mean, var, mean.square()])) / world
            mean.copy_(pooled[0])
            var.copy_(pooled[1] + pooled[2] - pooled[0].square())


def ranks_per_bn_group(per_device_batch: int, group_size: int) -> int:
    """Ranks pooling BN statistics in this run (see :func:`bn_groups.ranks_per_bn_group`)."""
    return bn_groups.ranks_per_bn_group(per_device_batch, group_size, world_size())


def bn_process_group(ranks_per_group: int):
    """The process group of consecutive ranks this rank pools BN statistics with.

    Built on first use for each size: every rank builds every group of that size in the same
    order (``new_group`` is collective), which holds because all ranks see the same batch sizes
    at the same iteration (the multigrid sampler's contract).
    """
    if ranks_per_group not in _bn_groups:
        world, own = world_size(), rank()
        for first in range(0, world, ranks_per_group):
            members = tuple(range(first, first + ranks_per_group))
            group = dist.new_group(ranks=list(members))
            if own in members:
                _bn_groups[ranks_per_group] = (group, members)
    return _bn_groups[ranks_per_group][0]


def barrier() -> None:
    """Wait for every rank (e.g. until rank 0 has written a checkpoint the others will read)."""
    if world_size() > 1:
        dist.barrier()


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The module inside a DistributedDataParallel / DataParallel wrapper (or the model itself)."""
    wrappers = (torch.nn.parallel.DistributedDataParallel, torch.nn.DataParallel)
    return model.module if isinstance(model, wrappers) else model


def wrap_for_ranks(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """``model`` in DistributedDataParallel when the run has several processes, else itself."""
    if world_size() == 1:
        return model
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=device_ids)


class _AllReduceSum(torch.autograd.Function):
    """Sum over a process group whose backward sums the gradients over the same group."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor, group) -> torch.Tensor:
        ctx.group = group
        summed = tensor.clone()
        dist.all_reduce(summed, op=dist.ReduceOp.SUM, group=group)
        return summed

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        grad = grad.clone()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM, group=ctx.group)
        return grad, None


def differentiable_all_reduce_sum(tensor: torch.Tensor, group=None) -> torch.Tensor:
    """``tensor`` summed over ``group`` (default: all ranks), with gradients flowing to every rank."""
    return _AllReduceSum.apply(tensor, group)


def states_of_all_ranks(own_state: dict) -> dict:
    """``own_state`` in one process; else every rank's state under "per_rank" (a collective call).

    A checkpoint written by rank 0 then lets each rank of a resumed run continue from its own
    state (RNG draws, a hook's per-rank sums).
    """
    if world_size() == 1:
        return own_state
    states: list = [None] * world_size()
    dist.all_gather_object(states, own_state)
    return {"per_rank": states}


def state_of_this_rank(saved: dict) -> dict:
    """This rank's state from what :func:`states_of_all_ranks` saved (rank 0's if ranks differ)."""
    if "per_rank" not in saved:
        return saved
    states = saved["per_rank"]
    return states[rank()] if len(states) == world_size() else states[0]
