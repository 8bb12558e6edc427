#!/usr/bin/env python
"""Re-encode a Kinetics-style folder (train/val/test.csv of "<path> <label>") for fast training decode.

python tools/prepare_videos.py INPUT_DIR OUTPUT_DIR [--short-side 256] [--keyframe-interval 60] [--workers N]
"""
import argparse
import os
import sys

# This checkout's slowfast/ before any installed one (`python tools/X.py` from a checkout).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.datasets.reencode import EncodeOptions, prepare_folder  # noqa: E402
from slowfast.utils import cli  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = cli.parser(__doc__)
    parser.add_argument("input_dir")
    parser.add_argument("output_dir")
    parser.add_argument("--short-side", type=int, default=256, help="short side of the output frames")
    parser.add_argument("--keyframe-interval", type=int, default=60, help="frames between keyframes")
    parser.add_argument("--crf", type=int, default=23, help="x264 quality (lower is better and larger)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel encoders")
    parser.add_argument("--separator", default=" ", help="CSV separator (DATA.PATH_LABEL_SEPARATOR)")
    args = parser.parse_args(argv)
    cli.at_least_one(parser, args, "short_side", "keyframe_interval", "workers")
    if os.path.abspath(args.input_dir) == os.path.abspath(args.output_dir):
        parser.error("OUTPUT_DIR must differ from INPUT_DIR (the CSVs would be overwritten)")
    return args


@cli.one_line_errors(FileNotFoundError)
def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    options = EncodeOptions(short_side=args.short_side, keyframe_interval=args.keyframe_interval,
                            crf=args.crf)
    failures = prepare_folder(args.input_dir, args.output_dir, options, args.workers,
                              args.separator)
    for source, error in sorted(failures.items()):
        print(f"warning: dropped {source} from the CSVs: {error}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
