"""python projects/multigrid/results/design/alternation.py [--mallopt]

Training-step time of the full shape when the short cycle alternates shapes every iteration,
against the same shape run on its own, for the README's SlowFast R18 (forward, backward, SGD)."""
import ctypes
import resource
import statistics
import sys
import time

import torch

from slowfast.config import load_config
from slowfast.engine.inputs import input_shapes
from slowfast.models import build_model
from slowfast.models.spec import model_spec

cfg = load_config("configs/Synthetic/SLOWFAST_R18_MG.yaml", [])
torch.manual_seed(0)
model = build_model(cfg)
model.train()
optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
SHORT_CYCLE = [(16, 24, 16), (16, 34, 8), (16, 48, 4)]  # frames, crop, batch: the last stage's cycle
spec = model_spec(cfg)
inputs = {(t, s, b): [torch.randn(b, *shape) for shape in input_shapes(spec, t, s)] for t, s, b in SHORT_CYCLE}
labels = {key: torch.randint(0, 8, (key[2],)) for key in inputs}


def step(key):
    optimizer.zero_grad(set_to_none=True)
    loss = torch.nn.functional.cross_entropy(model(inputs[key]), labels[key])
    loss.backward()
    optimizer.step()


def timed_full_shape_steps(order, rounds):
    times, faults = [], []
    for _ in range(rounds):
        for key in order:
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            start = time.perf_counter()
            step(key)
            if key == SHORT_CYCLE[-1]:
                times.append(time.perf_counter() - start)
                faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    return statistics.median(times), statistics.median(faults)


def report(label, rounds=6):
    results = {"alone": [], "alternating": []}
    for _ in range(rounds):  # interleaved blocks
        results["alone"].append(timed_full_shape_steps([SHORT_CYCLE[-1]], 9))
        results["alternating"].append(timed_full_shape_steps(SHORT_CYCLE, 3))
    alone = statistics.median(t for t, _ in results["alone"])
    alternating = statistics.median(t for t, _ in results["alternating"])
    faults_alone = statistics.median(f for _, f in results["alone"])
    faults_alternating = statistics.median(f for _, f in results["alternating"])
    print(f"{label}: 16x48 batch 4 step alone {alone * 1000:.1f} ms ({faults_alone:.0f} page faults), "
          f"between 16x24/16x34 steps {alternating * 1000:.1f} ms ({faults_alternating:.0f} page faults): "
          f"{alternating / alone:.2f}x", flush=True)


for key in SHORT_CYCLE:
    step(key)
report("glibc defaults")
if "--mallopt" in sys.argv:
    libc = ctypes.CDLL("libc.so.6")
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    libc.mallopt(M_MMAP_THRESHOLD, 32 * 2**20)
    libc.mallopt(M_TRIM_THRESHOLD, 2**30)
    report("mallopt mmap threshold 32 MB, trim threshold 1 GB")
    report("the same, second sample")
