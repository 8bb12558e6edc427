#!/usr/bin/env python
"""Print a config's training schedule (multigrid stages or baseline) as a table or JSON.

python tools/show_schedule.py --cfg FILE [--num-gpus N] [--num-clips N] [--json] [KEY VALUE ...]
"""
import argparse
import json
import sys

try:
    import slowfast  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    import os

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.config import ConfigError, load_config
from slowfast.multigrid.report import format_schedule_table, schedule_to_json
from slowfast.multigrid.schedule import build_schedule


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options; trailing KEY VALUE pairs override the config."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cfg", dest="cfg_file", required=True, help="YAML config file")
    parser.add_argument(
        "--num-gpus", type=int, default=None, help="devices in all (default NUM_GPUS x NUM_SHARDS)"
    )
    parser.add_argument("--num-clips", type=int, default=None, help="training clips per epoch")
    parser.add_argument("--json", action="store_true", help="print one JSON object, not the table")
    parser.add_argument("overrides", nargs="*", help="KEY VALUE pairs, e.g. SOLVER.MAX_EPOCH 100")
    args = parser.parse_args(argv)
    for option, value in (("--num-gpus", args.num_gpus), ("--num-clips", args.num_clips)):
        if value is not None and value < 1:
            parser.error(f"{option} must be >= 1, got {value}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        cfg = load_config(args.cfg_file, args.overrides)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    schedule = build_schedule(cfg)
    if args.json:
        print(json.dumps(schedule_to_json(schedule)))
        return 0
    num_devices = args.num_gpus or max(1, cfg.NUM_GPUS) * cfg.NUM_SHARDS
    print(format_schedule_table(schedule, num_devices, args.num_clips))
    return 0


if __name__ == "__main__":
    sys.exit(main())
