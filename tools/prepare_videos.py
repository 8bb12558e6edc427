#!/usr/bin/env python
"""Re-encode a Kinetics-style folder (train/val/test.csv of "<path> <label>") for fast training decode.

python tools/prepare_videos.py INPUT_DIR OUTPUT_DIR [--short-sides 128,181,256] [--keyframe-interval 32] [--workers N]

The defaults (copies at 128, 181 and 256, a keyframe every 32 frames) make every clip shape of
the K400 multigrid schedule cost what its FLOPs allow (GETTING_STARTED.md, "Preparing Kinetics
for multigrid"); for another schedule, give the short sides at the bottom of its jitter ranges.

The largest short side is the primary copy, at the path the new CSVs list; a smaller side S of
videos/abc.mp4 is videos/abc.sS.mp4 beside it; OUTPUT_DIR/prepared.json lists the sides. Every
copy keeps its source's frames and timestamps and is decoded and checked once written; a video
that fails is left out of the CSVs and named (exit status 1). Bad CSVs: exit status 2. Ctrl-C:
one line saying so, exit status 130 (the CSVs and prepared.json are written only at the end).
"""
import argparse
import os
import sys

# This checkout's slowfast/ before any installed one (`python tools/X.py` from a checkout).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.datasets import reencode  # noqa: E402
from slowfast.datasets.errors import DataError  # noqa: E402
from slowfast.utils import cli  # noqa: E402

EXIT_VIDEOS_FAILED = 1


def short_sides(text: str) -> tuple[int, ...]:
    """``"128,256"`` -> (128, 256): positive integers, given once each."""
    try:
        sides = tuple(int(item) for item in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of integers, got '{text}'") from None
    if min(sides) < 1 or len(set(sides)) != len(sides):
        raise argparse.ArgumentTypeError(f"expected distinct positive integers, got '{text}'")
    return tuple(sorted(sides))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = cli.parser(__doc__)
    parser.add_argument("input_dir")
    parser.add_argument("output_dir")
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--short-sides", type=short_sides, default=reencode.DEFAULT_SHORT_SIDES,
                       help="short sides of the copies, comma-separated; the largest is the primary copy "
                            f"(default {','.join(map(str, reencode.DEFAULT_SHORT_SIDES))})")
    sizes.add_argument("--short-side", type=int, help="one short side (same as --short-sides N)")
    parser.add_argument("--keyframe-interval", type=int, default=reencode.DEFAULT_KEYFRAME_INTERVAL,
                        help="frames between keyframes")
    parser.add_argument("--crf", type=int, default=reencode.DEFAULT_CRF,
                        help="x264 quality (lower is better and larger)")
    parser.add_argument("--preset", default=reencode.DEFAULT_PRESET, help="x264 preset (speed against size)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel encoders")
    parser.add_argument("--separator", default=" ", help="CSV separator (DATA.PATH_LABEL_SEPARATOR)")
    args = parser.parse_args(argv)
    cli.at_least_one(parser, args, "short_side", "keyframe_interval", "workers")
    if args.short_side is not None:
        args.short_sides = (args.short_side,)
    if os.path.abspath(args.input_dir) == os.path.abspath(args.output_dir):
        parser.error("OUTPUT_DIR must differ from INPUT_DIR (the CSVs would be overwritten)")
    return args


def interrupted_message(output_dir: str) -> str:
    """The line a run stopped by Ctrl-C ends with: what rerunning the same command does."""
    return (f"interrupted by Ctrl-C (SIGINT) before {output_dir} was complete; rerunning the same command "
            "prepares it again from the start")


@cli.one_line_errors(FileNotFoundError, DataError)
def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    options = reencode.EncodeOptions(short_sides=args.short_sides, keyframe_interval=args.keyframe_interval,
                                     crf=args.crf, preset=args.preset)
    with cli.SigintWatch():
        try:
            result = reencode.prepare_folder(args.input_dir, args.output_dir, options, args.workers, args.separator)
        except KeyboardInterrupt:
            return cli.interrupted(interrupted_message(args.output_dir))
        except Exception:
            if cli.sigint_received():  # an error of the same Ctrl-C (e.g. of an encoder it stopped)
                return cli.interrupted(interrupted_message(args.output_dir))
            raise
    for source, notes in sorted(result.notes.items()):
        for note in notes:
            print(f"note: {source}: {note}", file=sys.stderr)
    for source, reason in sorted(result.failures.items()):
        cli.error(f"{source}: {reason}")
    for csv_path in result.empty_csvs:
        cli.error(f"{csv_path}: not written, none of its videos was prepared")
    for csv_path, rows in result.rows.items():
        print(f"wrote {csv_path} ({rows} rows)")
    if result.failures or result.empty_csvs:
        print(f"videos failed: {len(result.failures)}; the CSVs list the others", file=sys.stderr)
        return EXIT_VIDEOS_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main())
