#!/usr/bin/env python
"""Train a config on one GPU and count the host-device synchronisations per line of our code.

python tools/count_host_syncs.py --cfg FILE [--device cuda|cpu] [KEY VALUE ...]

Runs the real Trainer (train, precise BN, validation, checkpoints; no test) under
torch.cuda.set_sync_debug_mode("warn") and prints, for each line of slowfast/ that synchronised,
how many times, next to the number of training iterations. A training step that stays
asynchronous shows no site whose count grows with the iterations (logging, evaluation and
checkpointing sync on purpose, at their own cadence). On a CPU-only machine nothing syncs and
the count is 0; use it there only to check that a config runs.
"""
import argparse
import json
import os
import sys

# This checkout's slowfast/ before any installed one (`python tools/X.py` from a checkout).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

from slowfast.config import ConfigError  # noqa: E402
from slowfast.datasets.errors import DataError  # noqa: E402
from slowfast.engine.context import RunContext  # noqa: E402
from slowfast.engine.launch import prepare_data, prepare_output_dir  # noqa: E402
from slowfast.engine.run_spec import RunSpec, build_run_spec  # noqa: E402
from slowfast.utils import cli  # noqa: E402
from slowfast.utils.env import seed_everything  # noqa: E402
from slowfast.utils.host_syncs import HostSyncRecorder  # noqa: E402
from slowfast.utils.logging import setup_logging  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = cli.parser(__doc__)
    cli.add_config_arguments(parser, "KEY VALUE pairs, e.g. SOLVER.MAX_EPOCH 2")
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--json", action="store_true", help="print one JSON object, not a table")
    return parser.parse_intermixed_args(argv)


def count_syncs(spec: RunSpec, device: torch.device) -> dict:
    """Train ``spec`` on ``device`` in this process; the sync sites, their counts and the iterations."""
    from slowfast.engine.trainer import Trainer

    setup_logging(spec.place.output_dir)
    prepare_output_dir(spec)
    prepare_data(spec)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    seed_everything(spec.place.rng_seed)
    trainer = Trainer(spec, RunContext(device=device))
    with HostSyncRecorder() as recorder:
        trainer.fit()
    iterations = trainer.state.global_iter
    sites = [
        {"site": str(site) if site is not None else "(outside slowfast)", "count": count,
         "per_iteration": count / max(iterations, 1)}
        for site, count in recorder.counts.most_common()
    ]
    return {"device": str(device), "iterations": iterations, "total_syncs": recorder.total, "sites": sites}


def format_report(report: dict) -> str:
    lines = [f"{report['iterations']} training iterations on {report['device']}, "
             f"{report['total_syncs']} host syncs in all"]
    lines += [f"{row['count']:8d}  {row['per_iteration']:8.3f}/iter  {row['site']}" for row in report["sites"]]
    return "\n".join(lines)


@cli.one_line_errors(ConfigError, DataError)
def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        return cli.error("--device cuda but no CUDA device is visible; use --device cpu to dry-run")
    num_gpus = "1" if args.device == "cuda" else "0"
    spec = build_run_spec(cli.load(args, ["NUM_GPUS", num_gpus, "TEST.ENABLE", "False"]))
    report = count_syncs(spec, torch.device(args.device))
    print(json.dumps(report) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
