#!/usr/bin/env python
"""Write the bundled synthetic motion dataset (H.264 videos + Kinetics-format CSVs) into a folder."""
import argparse
import logging
import os
import shlex
import sys

# This checkout's slowfast/ before any installed one (`python tools/X.py` from a checkout).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.datasets.synthetic import SyntheticOptions, generate_synthetic_dataset  # noqa: E402
from slowfast.utils import cli  # noqa: E402

_DEFAULTS = SyntheticOptions()


def parse_args(argv=None) -> argparse.Namespace:
    """Command-line options; the defaults are those of the SYNTHETIC config node."""
    parser = cli.parser(__doc__)
    parser.add_argument("--out", required=True, help="output folder (created; existing files are overwritten)")
    parser.add_argument("--num-classes", type=int, default=_DEFAULTS.num_classes, help="motion classes, 1 to 16")
    parser.add_argument("--clips-per-class", type=int, default=_DEFAULTS.clips_per_class, help="train videos per class")
    parser.add_argument("--num-frames", type=int, default=_DEFAULTS.num_frames, help="frames per video (30 fps)")
    parser.add_argument("--size", type=int, default=_DEFAULTS.size, help="frame height = width, even")
    parser.add_argument("--difficulty", type=int, default=_DEFAULTS.difficulty, help="0 (clean) to 3 (hard)")
    parser.add_argument("--seed", type=int, default=_DEFAULTS.seed, help="generator seed")
    parser.add_argument("--test-clips-per-class", type=int, default=_DEFAULTS.test_clips_per_class,
                        help="test videos per class (0: a quarter of --clips-per-class, at least 2)")
    parser.add_argument("--workers", type=int, default=0, help="processes that render and encode (0: this one)")
    args = parser.parse_args(argv)
    if args.workers < 0:
        parser.error(f"--workers must be >= 0, got {args.workers}")
    return args


@cli.one_line_errors(ValueError)
def main(argv=None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    options = SyntheticOptions(
        num_classes=args.num_classes,
        clips_per_class=args.clips_per_class,
        num_frames=args.num_frames,
        size=args.size,
        difficulty=args.difficulty,
        seed=args.seed,
        test_clips_per_class=args.test_clips_per_class,
    )
    os.makedirs(args.out, exist_ok=True)
    generate_synthetic_dataset(args.out, options, args.workers)
    print(train_command(args.out, args.num_classes))
    return 0


def train_command(data_dir: str, num_classes: int) -> str:
    """The command that trains configs/Synthetic/SLOWFAST_R18.yaml (Kinetics layout, as written here)
    on the dataset in ``data_dir``, with paths relative to the working directory."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    run_net = os.path.relpath(os.path.join(repo, "tools", "run_net.py"))
    config = os.path.relpath(os.path.join(repo, "configs", "Synthetic", "SLOWFAST_R18.yaml"))
    # SYNTHETIC.GENERATE False: train on these videos as they are, whatever the config's SYNTHETIC keys say.
    words = [run_net, "--cfg", config, "DATA.PATH_TO_DATA_DIR", data_dir, "SYNTHETIC.GENERATE", "False",
             "MODEL.NUM_CLASSES", str(num_classes)]
    return f"Train on it with: python {shlex.join(words)} (SLOWFAST_R18_MG.yaml for multigrid)"


if __name__ == "__main__":
    sys.exit(main())
