#!/usr/bin/env python
"""Print a config's training schedule (multigrid stages or baseline) as a table or JSON.

python tools/show_schedule.py --cfg FILE [--num-gpus N] [--num-clips N] [--json] [--plot FILE.png]
                              [KEY VALUE ...]

--plot draws frames, crop, global batch and learning rate over the training iterations (the
long cycle's stages and the short cycle's alternating crops); it needs the clips per epoch,
from --num-clips or the config's DATA.PATH_TO_DATA_DIR/train.csv.
"""
import argparse
import json
import os
import sys

# This checkout's slowfast/ before any installed one (`python tools/X.py` from a checkout).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.config import ConfigError  # noqa: E402
from slowfast.multigrid.plot import iteration_points, plot_schedule  # noqa: E402
from slowfast.multigrid.report import epochs_note, format_schedule_table, schedule_to_json  # noqa: E402
from slowfast.multigrid.schedule import build_schedule  # noqa: E402
from slowfast.utils import cli, distributed  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options; trailing KEY VALUE pairs override the config."""
    parser = cli.parser(__doc__)
    cli.add_config_arguments(parser, "KEY VALUE pairs, e.g. SOLVER.MAX_EPOCH 100")
    parser.add_argument(
        "--num-gpus", type=int, default=None, help="devices in all (default NUM_GPUS x NUM_SHARDS)"
    )
    parser.add_argument("--num-clips", type=int, default=None, help="training clips per epoch")
    parser.add_argument("--json", action="store_true", help="print one JSON object, not the table")
    parser.add_argument("--plot", metavar="FILE", default=None,
                        help="also draw the schedule over iterations into FILE (.png, .pdf, .svg)")
    args = parser.parse_args(argv)
    cli.at_least_one(parser, args, "num_gpus", "num_clips")
    return args


@cli.one_line_errors(ConfigError)
def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.plot and not _has_matplotlib():
        return cli.error("--plot draws with matplotlib, which is not installed: pip install matplotlib "
                         "(or pip install -e '.[plot]')")
    cfg = cli.load(args)
    schedule = build_schedule(cfg)
    note = epochs_note(schedule, cfg.SOLVER.MAX_EPOCH, cfg.MULTIGRID.EPOCH_FACTOR)
    if note:
        print(note, file=sys.stderr)
    if args.plot:
        _plot(schedule, args, cfg)
    if args.json:
        print(json.dumps(schedule_to_json(schedule)))
        return 0
    num_devices = args.num_gpus or distributed.num_devices(cfg.NUM_GPUS, cfg.NUM_SHARDS)
    print(format_schedule_table(schedule, num_devices, args.num_clips))
    return 0


def _plot(schedule, args, cfg) -> None:
    num_clips = args.num_clips or _clips_in_train_list(cfg.DATA.PATH_TO_DATA_DIR)
    if num_clips is None:
        raise ConfigError(f"--plot needs the training clips per epoch: pass --num-clips N (no train.csv "
                          f"in DATA.PATH_TO_DATA_DIR '{cfg.DATA.PATH_TO_DATA_DIR}')")
    if os.path.splitext(args.plot)[1].lower() not in (".png", ".pdf", ".svg"):
        raise ConfigError(f"--plot {args.plot!r}: name a .png, .pdf or .svg file")
    points = iteration_points(schedule, num_clips)
    plot_schedule(points, args.plot, f"{os.path.basename(args.cfg_file)}, {num_clips} clips per epoch")
    print(f"wrote {args.plot}", file=sys.stderr)


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _clips_in_train_list(data_dir: str) -> int | None:
    try:
        with open(os.path.join(data_dir, "train.csv")) as handle:
            return sum(1 for line in handle if line.strip())
    except OSError:
        return None


if __name__ == "__main__":
    sys.exit(main())
