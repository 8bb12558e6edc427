"""Statistics over the group dimension of a [2, G, C] tensor: torch.var_mean against a mean and
squared deviations (what GroupedBatchNorm3d now uses); microseconds per call, CPU. Each "check"
line is the largest difference between the formulations' results.

python projects/multigrid/results/design/var_mean_cost.py
"""
import time

import torch


def per_call_us(function, calls: int = 300) -> float:
    for _ in range(50):
        function()
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return round((time.perf_counter() - start) / calls * 1e6, 1)


for channels in (64, 2048):
    for groups in (2, 16):
        stats = torch.rand(2, groups, channels)

        def mean_and_squares():
            centre = stats.mean(dim=1)
            return centre, torch.sub(stats[0], centre[0]).square_().mean(dim=0)

        def var_mean_transposed():
            return torch.var_mean(stats.transpose(1, 2), dim=2, correction=0)

        def var_mean():
            return torch.var_mean(stats, dim=1, correction=0)

        def var_and_mean():
            return torch.var(stats[0], dim=0, correction=0), stats.mean(dim=1)

        reference, ours, transposed = var_mean(), mean_and_squares(), var_mean_transposed()
        print("check", (ours[0] - reference[1]).abs().max().item(), (ours[1] - reference[0][0]).abs().max().item(),
              (transposed[0] - reference[0]).abs().max().item())
        timings = {name: per_call_us(function) for name, function in (
            ("mean+sub/sq/mean", mean_and_squares), ("var_mean_T", var_mean_transposed),
            ("var_mean", var_mean), ("var+mean", var_and_mean))}
        print(channels, groups, timings, "us")
