"""GroupedBatchNorm3d across 2 gloo processes equals one BatchNorm3d over the pooled batch."""
import os

import pytest
import torch
import torch.multiprocessing as mp
from torch import nn

from slowfast.models.norm import GroupedBatchNorm3d
from slowfast.utils import distributed
from slowfast.utils.distributed import ProcessPlace

CHANNELS, PER_RANK = 3, 2


def pooled_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """The union of both ranks' clips and a fixed upstream gradient."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(2 * PER_RANK, CHANNELS, 2, 3, 3, generator=generator) * 2 + 1
    return x, torch.randn(x.shape, generator=generator)


def _layer(group_size: int) -> nn.Module:
    torch.manual_seed(1)
    layer = GroupedBatchNorm3d(CHANNELS, group_size=group_size)
    nn.init.uniform_(layer.weight, 0.5, 1.5)
    nn.init.uniform_(layer.bias, -0.5, 0.5)
    return layer


def _rank_worker(rank: int, port: int, out_dir: str) -> None:
    torch.set_num_threads(1)
    place = ProcessPlace(rank, 2, rank)
    distributed.init_process_group(place, torch.device("cpu"), f"tcp://localhost:{port}")
    try:
        for group_size in (2 * PER_RANK, PER_RANK):  # pooled over both ranks, then local
            torch.save(_one_rank_results(rank, group_size), os.path.join(out_dir, f"rank{rank}_group{group_size}.pt"))
    finally:
        distributed.destroy_process_group()


def _one_rank_results(rank: int, group_size: int) -> dict:
    """This rank's BN output, gradients (summed over ranks, as DDP applies them) and stats."""
    layer = _layer(group_size)
    x, grad = pooled_batch()
    mine = slice(rank * PER_RANK, (rank + 1) * PER_RANK)
    x_local = x[mine].clone().requires_grad_(True)
    y = layer(x_local)
    y.backward(grad[mine])
    grads = [distributed.all_reduce_sum(g) for g in (layer.weight.grad, layer.bias.grad)]
    pooled = nn.BatchNorm3d(2)
    pooled.running_mean.copy_(torch.tensor([1.0, -2.0]) * (rank + 1))
    pooled.running_var.copy_(torch.tensor([0.5, 2.0]) * (rank + 1))
    distributed.average_bn_buffers(pooled)
    return {"pooled_mean": pooled.running_mean, "pooled_var": pooled.running_var, "y": y.detach(),
            "dx": x_local.grad, "dw": grads[0], "db": grads[1],
            "mean": layer.running_mean, "var": layer.running_var}


@pytest.fixture(scope="module")
def two_rank_results(tmp_path_factory) -> dict[int, list[dict]]:
    """Both ranks' results for each group size, from one pair of gloo processes."""
    folder = tmp_path_factory.mktemp("cross_rank_bn")
    mp.spawn(_rank_worker, args=(distributed.find_free_port(), str(folder)), nprocs=2, join=True)
    return {g: [torch.load(folder / f"rank{r}_group{g}.pt") for r in range(2)] for g in (2 * PER_RANK, PER_RANK)}


def _reference(clips: list[slice]) -> dict:
    """BatchNorm3d over the given clips of the pooled batch (each slice its own BN)."""
    x, grad = pooled_batch()
    layer = _layer(group_size=10**6)
    reference = nn.BatchNorm3d(CHANNELS)
    reference.load_state_dict(layer.state_dict())
    x = x.clone().requires_grad_(True)
    y = torch.cat([reference(x[s]) for s in clips])
    y.backward(torch.cat([grad[s] for s in clips]))
    return {"y": y.detach(), "dx": x.grad, "dw": reference.weight.grad, "db": reference.bias.grad,
            "mean": reference.running_mean, "var": reference.running_var}


@pytest.mark.slow
def test_two_ranks_pool_statistics_like_one_bn_over_the_union(two_rank_results):
    ranks = two_rank_results[2 * PER_RANK]
    expected = _reference([slice(0, 2 * PER_RANK)])
    for key in ("y", "dx"):
        got = torch.cat([ranks[0][key], ranks[1][key]])
        torch.testing.assert_close(got, expected[key], rtol=1e-4, atol=1e-5)
    for rank in ranks:
        for key in ("dw", "db", "mean", "var"):
            torch.testing.assert_close(rank[key], expected[key], rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_local_bn_at_group_size_and_precise_bn_pooling_over_ranks(two_rank_results):
    ranks = two_rank_results[PER_RANK]
    # Rank means (1, -2) and (2, -4), variances (0.5, 2) and (1, 4).
    expected_mean = torch.tensor([1.5, -3.0])
    expected_var = torch.tensor([0.75 + 0.25, 3.0 + 1.0])
    for rank in ranks:
        torch.testing.assert_close(rank["pooled_mean"], expected_mean)
        torch.testing.assert_close(rank["pooled_var"], expected_var)
    check_local_statistics(ranks)


def check_local_statistics(ranks: list[dict]) -> None:
    """At group_size == per-device batch, each rank normalises its own clips."""
    expected = _reference([slice(0, PER_RANK), slice(PER_RANK, 2 * PER_RANK)])
    torch.testing.assert_close(torch.cat([ranks[0]["y"], ranks[1]["y"]]), expected["y"])
    torch.testing.assert_close(torch.cat([ranks[0]["dx"], ranks[1]["dx"]]), expected["dx"])


@pytest.mark.parametrize("world, batch, group_size, expected", [
    (1, 2, 8, 1), (2, 2, 8, 2), (8, 2, 8, 4), (8, 3, 8, 2), (6, 2, 8, 3), (4, 8, 8, 1), (4, 16, 8, 1),
    (8, 1, 6, 4),
])
def test_ranks_per_bn_group(monkeypatch, world, batch, group_size, expected):
    monkeypatch.setattr(distributed, "world_size", lambda: world)
    assert distributed.ranks_per_bn_group(batch, group_size) == expected
