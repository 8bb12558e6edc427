"""Grouped BN before and after the running-stat rewrite, in one process: forward + backward of
every BN layer a config's model runs at one schedule shape, as plain BatchNorm3d, the grouped
layer of an earlier commit (norm.py read from git) and the grouped layer of this checkout;
variants interleaved, medians of ROUNDS rounds.

python projects/multigrid/results/design/bn_before_after.py CFG BATCH FRAMES CROP ROUNDS [COMMIT]
"""
import importlib.util
import os
import subprocess
import sys
import tempfile

import torch
import torch.nn as nn

_CHECKOUT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
sys.path.insert(0, _CHECKOUT)

from bn_parts import bn_inputs, report  # noqa: E402  (this folder: sys.path[0] when run as a script)

from slowfast.models.norm import GroupedBatchNorm3d  # noqa: E402


def old_module(commit: str):
    source = subprocess.run(["git", "-C", _CHECKOUT, "show", f"{commit}:slowfast/models/norm.py"],
                            check=True, capture_output=True, text=True).stdout
    path = os.path.join(tempfile.mkdtemp(), "norm_old.py")
    with open(path, "w") as handle:
        handle.write(source)
    spec = importlib.util.spec_from_file_location("norm_old", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.GroupedBatchNorm3d


def main() -> None:
    cfg_file, batch, frames, crop, rounds = sys.argv[1], *map(int, sys.argv[2:6])
    commit = sys.argv[6] if len(sys.argv) > 6 else "9c7ba38"
    seen = bn_inputs(cfg_file, batch, frames, crop)
    before = old_module(commit)
    layers = []
    for (shape, group_size), count in seen.items():
        x = torch.randn(shape).requires_grad_()
        layers.append((x, count, {"plain": nn.BatchNorm3d(shape[1]).train(),
                                  f"grouped {commit}": before(shape[1], group_size=group_size).train(),
                                  "grouped now": GroupedBatchNorm3d(shape[1], group_size=group_size).train()}))

    def run(name: str) -> None:
        for x, count, modules in layers:
            for _ in range(count):
                y = modules[name](x)
                y.backward(torch.ones_like(y))
                x.grad = None

    steps = {name: (lambda name=name: run(name)) for name in layers[0][2]}
    report(steps, rounds, f"{cfg_file}: {sum(seen.values())} BN calls at {frames}x{crop}, batch {batch}", "plain", 24)

if __name__ == "__main__":
    main()
