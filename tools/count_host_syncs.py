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
import sys

try:
    import slowfast  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    import os

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch

from slowfast.config import ConfigError, load_config
from slowfast.datasets.errors import DataError
from slowfast.engine.context import RunContext
from slowfast.engine.launch import prepare_data, prepare_output_dir
from slowfast.utils.env import seed_everything
from slowfast.utils.host_syncs import HostSyncRecorder
from slowfast.utils.logging import setup_logging


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cfg", dest="cfg_file", required=True, help="YAML config file")
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--json", action="store_true", help="print one JSON object, not a table")
    parser.add_argument("overrides", nargs="*", help="KEY VALUE pairs, e.g. SOLVER.MAX_EPOCH 2")
    return parser.parse_intermixed_args(argv)


def count_syncs(cfg, device: torch.device) -> dict:
    """Train ``cfg`` on ``device`` in this process; the sync sites, their counts and the iterations."""
    from slowfast.engine.trainer import Trainer

    setup_logging(cfg.OUTPUT_DIR)
    prepare_output_dir(cfg)
    prepare_data(cfg)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    seed_everything(cfg.RNG_SEED)
    trainer = Trainer(cfg, RunContext(device=device))
    with HostSyncRecorder() as recorder:
        trainer.fit()
    iterations = trainer.state["global_iter"]
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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda but no CUDA device is visible; use --device cpu to dry-run", file=sys.stderr)
        return 2
    overrides = list(args.overrides) + ["NUM_GPUS", "1" if args.device == "cuda" else "0", "TEST.ENABLE", "False"]
    try:
        cfg = load_config(args.cfg_file, overrides)
        report = count_syncs(cfg, torch.device(args.device))
    except (ConfigError, DataError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(report) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
