"""Training step (forward + backward) of the README's SlowFast R18 at its multigrid shapes, with
the grouped BN layers' running-stat updates made one by one or batched at the end of the forward
(``batch_running_stat_updates``; the .txt was measured with its predecessor, a
``batched_running_stats()`` block around the forward), in one process, interleaved round by round.

python projects/multigrid/results/design/batched_running_stats.py [ROUNDS]
"""
import copy
import sys

import torch

from slowfast.benchmark.model import median_seconds_interleaved
from slowfast.config import load_config
from slowfast.engine.inputs import input_shapes
from slowfast.models import build_model
from slowfast.models.norm import batch_running_stat_updates
from slowfast.models.spec import model_spec

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 21
SHAPES = [(4, 24, 64), (8, 24, 32), (4, 34, 32), (16, 24, 16), (8, 48, 8), (16, 48, 4)]  # frames, crop, batch

cfg = load_config("configs/Synthetic/SLOWFAST_R18_MG.yaml", [])
torch.manual_seed(0)
one_by_one = build_model(cfg).train()
batching = copy.deepcopy(one_by_one)  # the same weights
batch_running_stat_updates(batching)


def training_step(frames, crop, batch, batched):
    inputs = [torch.randn(batch, *shape) for shape in input_shapes(model_spec(cfg), frames, crop)]

    model = batching if batched else one_by_one

    def step():
        model.zero_grad(set_to_none=True)
        logits = model(inputs)
        logits.sum().backward()

    return step


steps = {(shape, batched): training_step(*shape, batched) for shape in SHAPES for batched in (False, True)}
for step in steps.values():
    step()
medians = median_seconds_interleaved(steps, ROUNDS, torch.device("cpu"))
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, medians of {ROUNDS} interleaved rounds")
print("shape    batch  one by one (ms)  batched (ms)  batched / one by one")
for shape in SHAPES:
    alone, batched = medians[(shape, False)], medians[(shape, True)]
    name = f"{shape[0]}x{shape[1]}"
    print(f"{name:<8} {shape[2]:>5}  {alone * 1000:>15.1f}  {batched * 1000:>12.1f}  {batched / alone:>20.3f}")
