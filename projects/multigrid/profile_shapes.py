#!/usr/bin/env python
"""Profile a training step at a small multigrid shape against the full shape, op by op.

python projects/multigrid/profile_shapes.py --cfg FILE [--shape 4x24] [--num-steps 5] [--top 15] [KEY VALUE ...]

Each shape runs at the per-device batch its schedule trains it with (so both cost about the
same FLOPs), forward + backward on random inputs, under torch.profiler. The table lists the
ops with the most self time, each as milliseconds per training GFLOP at both shapes and their
ratio: an op whose ratio is far above 1 costs more at the small shape than its FLOPs, which is
where a multigrid saving leaks (copies, format conversions, per-clip Python work).
"""
import argparse
import os
import sys

import torch
from torch.profiler import ProfilerActivity, profile

_CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, _CHECKOUT)  # this checkout's slowfast/ before any installed one

from slowfast.benchmark.commands import schedule_batch_sizes  # noqa: E402
from slowfast.benchmark.model import StepCase, training_step  # noqa: E402
from slowfast.config import ConfigError  # noqa: E402
from slowfast.engine.inputs import input_shapes  # noqa: E402
from slowfast.engine.run_spec import build_run_spec  # noqa: E402
from slowfast.models.build import build_model_from_spec  # noqa: E402
from slowfast.models.complexity import gflops_per_clip  # noqa: E402
from slowfast.utils import cli  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = cli.parser(__doc__)
    cli.add_config_arguments(parser, "KEY VALUE pairs, e.g. NUM_SHARDS 8")
    parser.add_argument("--shape", default=None, help="FRAMESxCROP of the small shape (default: the smallest)")
    parser.add_argument("--num-steps", type=int, default=5, help="profiled steps per shape (after one warm-up)")
    parser.add_argument("--top", type=int, default=15, help="ops listed")
    args = parser.parse_intermixed_args(argv)
    cli.at_least_one(parser, args, "num_steps")
    return args


def op_ms_per_gflop(model, case: StepCase, gflops: float, num_steps: int) -> dict[str, float]:
    """Self CPU milliseconds per training GFLOP (forward x 3) of every op over ``num_steps`` steps."""
    step = training_step(model, case, torch.device("cpu"), torch.contiguous_format)
    step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(num_steps):
            step()
    total_gflops = 3 * gflops * case.batch_size * num_steps
    return {event.key: event.self_cpu_time_total / 1e3 / total_gflops for event in prof.key_averages()}


@cli.one_line_errors(ConfigError, ValueError)
def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    spec = build_run_spec(cli.load(args))
    per_shape = schedule_batch_sizes(spec.schedule, spec.place.num_devices)
    full = (spec.schedule.spec.num_frames, spec.schedule.spec.crop_size)
    if args.shape:
        small = tuple(int(v) for v in args.shape.split("x"))
    else:
        small = min(per_shape, key=lambda shape: shape[0] * shape[1] ** 2)
    if small not in per_shape:
        raise ValueError(f"shape {small[0]}x{small[1]} is not in the schedule; it trains "
                         f"{[f'{t}x{c}' for t, c in per_shape]}")
    model = build_model_from_spec(spec.model, spec.schedule.bn_groups)
    costs = {}
    for shape in (small, full):
        case = StepCase(shape, tuple(input_shapes(spec.model, *shape)), per_shape[shape], "fp32")
        costs[shape] = op_ms_per_gflop(model, case, gflops_per_clip(model, case.input_shapes), args.num_steps)
    totals = {shape: sum(ops.values()) for shape, ops in costs.items()}
    print(f"small {small[0]}x{small[1]} at batch {per_shape[small]}, full {full[0]}x{full[1]} at batch "
          f"{per_shape[full]}: {totals[small]:.2f} vs {totals[full]:.2f} ms self CPU per training GFLOP "
          f"(ratio {totals[small] / totals[full]:.2f})")
    names = sorted(set(costs[small]) | set(costs[full]),
                   key=lambda name: -max(costs[small].get(name, 0), costs[full].get(name, 0)))
    print(f"{'op':<45} {'small ms/GFLOP':>14} {'full ms/GFLOP':>14} {'ratio':>6}")
    for name in names[:args.top]:
        a, b = costs[small].get(name, 0.0), costs[full].get(name, 0.0)
        print(f"{name[:45]:<45} {a:>14.3f} {b:>14.3f} {a / b if b else float('inf'):>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
