"""Where the grouped BN's time goes: forward + backward of every BN layer a config's model runs
at one schedule shape, as plain BatchNorm3d, as the grouped layer, as the grouped layer's kernel
call without the running-stat update, as the folded F.batch_norm alone (no weight, bias or
running stats) and as plain F.batch_norm alone; variants interleaved, medians of ROUNDS rounds.

python projects/multigrid/results/design/bn_parts.py CFG BATCH FRAMES CROP ROUNDS
"""
import os
import sys
from collections import Counter

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..")))

from slowfast.benchmark.model import median_seconds_interleaved  # noqa: E402
from slowfast.config import load_config  # noqa: E402
from slowfast.models import build_model  # noqa: E402
from slowfast.models.norm import GroupedBatchNorm3d, _normalise_strided_groups  # noqa: E402


def plain_module(x, grouped, plain):
    return plain(x)


def grouped_module(x, grouped, plain):
    return grouped(x)


def kernel_call_without_running_stats(x, grouped, plain):
    num_groups = x.shape[0] // grouped.group_size
    return _normalise_strided_groups(x, num_groups, grouped.weight, grouped.bias, grouped.eps)[0]


def folded_kernel_only(x, grouped, plain):
    num_groups = x.shape[0] // grouped.group_size
    folded = x.reshape(grouped.group_size, num_groups * x.shape[1], *x.shape[2:])
    return F.batch_norm(folded, None, None, None, None, True, 0.0, 1e-5).reshape(x.shape)


def plain_kernel_only(x, grouped, plain):
    return F.batch_norm(x, None, None, None, None, True, 0.0, 1e-5)


def bn_inputs(cfg_file: str, batch: int, frames: int, crop: int) -> Counter:
    """(input shape, group size) -> calls, for every grouped BN layer of the config's model in
    one forward pass at ``frames`` x ``crop`` with ``batch`` clips."""
    cfg = load_config(cfg_file, [])
    model = build_model(cfg).train()
    seen = Counter()
    hooks = [layer.register_forward_pre_hook(lambda m, a: seen.update([(tuple(a[0].shape), m.group_size)]))
             for layer in model.modules() if isinstance(layer, GroupedBatchNorm3d)]
    inputs = [torch.randn(batch, 3, frames, crop, crop)]
    if cfg.MODEL.ARCH == "slowfast":
        inputs.insert(0, torch.randn(batch, 3, frames // cfg.SLOWFAST.ALPHA, crop, crop))
    model(inputs)
    for hook in hooks:
        hook.remove()
    return seen


def report(steps: dict, rounds: int, title: str, baseline: str, width: int) -> None:
    """Warm each step up once, then print the medians of ``rounds`` interleaved rounds, also as
    multiples of step ``baseline``."""
    for step in steps.values():
        step()
    medians = median_seconds_interleaved(steps, rounds, torch.device("cpu"))
    print(f"{title}; fwd + bwd, medians of {rounds} interleaved rounds")
    for name, median in medians.items():
        print(f"{name:{width}s} {median * 1e3:9.2f} ms  {median / medians[baseline]:5.2f}x plain")


def main() -> None:
    cfg_file, batch, frames, crop, rounds = sys.argv[1], *map(int, sys.argv[2:6])
    seen = bn_inputs(cfg_file, batch, frames, crop)
    layers = [(torch.randn(shape).requires_grad_(), GroupedBatchNorm3d(shape[1], group_size=group_size).train(),
               nn.BatchNorm3d(shape[1]).train(), count) for (shape, group_size), count in seen.items()]

    def run(variant):
        for x, grouped, plain, count in layers:
            for _ in range(count):
                y = variant(x, grouped, plain)
                y.backward(torch.ones_like(y))
                x.grad = None

    variants = (plain_module, grouped_module, kernel_call_without_running_stats, folded_kernel_only,
                plain_kernel_only)
    steps = {variant.__name__: (lambda variant=variant: run(variant)) for variant in variants}
    report(steps, rounds, f"{cfg_file}: {sum(seen.values())} BN calls at {frames}x{crop}, batch {batch}",
           "plain_module", 36)

if __name__ == "__main__":
    main()
