#!/usr/bin/env python
"""Print a config's training schedule (multigrid stages or baseline) as a table or JSON.

python tools/show_schedule.py --cfg FILE [--num-gpus N] [--num-clips N] [--json] [KEY VALUE ...]
"""
import argparse
import json
import os
import sys

# This checkout's slowfast/ before any installed one (`python tools/X.py` from a checkout).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.config import ConfigError  # noqa: E402
from slowfast.multigrid.report import format_schedule_table, schedule_to_json  # noqa: E402
from slowfast.multigrid.schedule import build_schedule  # noqa: E402
from slowfast.utils import cli  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options; trailing KEY VALUE pairs override the config."""
    parser = cli.parser(__doc__)
    cli.add_config_arguments(parser, "KEY VALUE pairs, e.g. SOLVER.MAX_EPOCH 100")
    parser.add_argument(
        "--num-gpus", type=int, default=None, help="devices in all (default NUM_GPUS x NUM_SHARDS)"
    )
    parser.add_argument("--num-clips", type=int, default=None, help="training clips per epoch")
    parser.add_argument("--json", action="store_true", help="print one JSON object, not the table")
    args = parser.parse_args(argv)
    cli.at_least_one(parser, args, "num_gpus", "num_clips")
    return args


@cli.one_line_errors(ConfigError)
def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    cfg = cli.load(args)
    schedule = build_schedule(cfg)
    if args.json:
        print(json.dumps(schedule_to_json(schedule)))
        return 0
    num_devices = args.num_gpus or max(1, cfg.NUM_GPUS) * cfg.NUM_SHARDS
    print(format_schedule_table(schedule, num_devices, args.num_clips))
    return 0


if __name__ == "__main__":
    sys.exit(main())
