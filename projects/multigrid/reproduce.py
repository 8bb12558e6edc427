#!/usr/bin/env python
"""Run the multigrid ablation on one config: baseline, long cycle, short cycle, long+short.

python projects/multigrid/reproduce.py --cfg FILE [--output-dir DIR] [--variants a,b] [--seeds N]
                                      [--first-seed K] [--rerun] [KEY VALUE ...]

Each variant trains to completion (tools/run_net.py, OUTPUT_DIR = DIR/<variant>) with the
config's SOLVER.MAX_EPOCH and MULTIGRID.EPOCH_FACTOR; a synthetic dataset is generated first,
outside every variant's clock. DIR/ablation.md has the table (speedup, FLOP ratio, efficiency)
and each variant's seconds per stage (steps, data wait, compile, validation, precise BN,
checkpoints) next to the stage's predicted share of the FLOPs. Writes DIR/ablation.md, DIR/ablation.json
and DIR/val_vs_wallclock.png (validation accuracy against wall-clock, like the paper's Figure 1).
A variant that completed earlier with the same command (DIR/<variant>/ablation_run.json) is
reused, so an interrupted ablation continues where it stopped; any other earlier folder of a
variant is renamed aside (never resumed, which would time only the rest of the run).
--seeds N repeats every variant with RNG_SEED, RNG_SEED + 1, ... (DIR/<variant>_seed<S>), seed
by seed, and adds a table of means, spreads and each variant's difference to the baseline with
its standard error (from the seeds, and from the test set's size). --first-seed K starts at
RNG_SEED + K, so more seeds can be added later to the same DIR: a second run with --seeds K + N
and no --first-seed reuses them all and tables every seed.
"""
import argparse
import json
import os
import sys

_CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, _CHECKOUT)  # this checkout's slowfast/ before any installed one

from slowfast.benchmark import ablation  # noqa: E402
from slowfast.benchmark.commands import training_costs  # noqa: E402
from slowfast.config import ConfigError  # noqa: E402
from slowfast.datasets.build import ensure_synthetic_data, fill_decoded_stores  # noqa: E402
from slowfast.datasets.spec import DataSpec  # noqa: E402
from slowfast.engine.run_spec import build_run_spec  # noqa: E402
from slowfast.utils import cli  # noqa: E402

RUN_NET = os.path.join(_CHECKOUT, "tools", "run_net.py")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Config, output folder, variants; trailing KEY VALUE pairs override the config for every run."""
    parser = cli.parser(__doc__)
    cli.add_config_arguments(parser, "KEY VALUE pairs for every run")
    parser.add_argument("--output-dir", default=None, help="default: the config's OUTPUT_DIR + '_ablation'")
    parser.add_argument("--variants", default=",".join(ablation.VARIANTS),
                        help=f"comma-separated subset of {','.join(ablation.VARIANTS)}")
    parser.add_argument("--rerun", action="store_true",
                        help="train every variant again, even one whose completed run with the same command is in DIR")
    parser.add_argument("--seeds", type=int, default=1,
                        help="runs of every variant, RNG_SEED + 0..N-1 (default 1: the config's seed)")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="offset of the first seed from RNG_SEED (default 0); with it, DIR/<variant>_seed<S> "
                             "even for one seed")
    args = parser.parse_intermixed_args(argv)
    cli.at_least_one(parser, args, "seeds")
    if args.first_seed < 0:
        parser.error(f"--first-seed must be 0 or more, got {args.first_seed}")
    args.variants = [name for name in args.variants.split(",") if name]
    unknown = [name for name in args.variants if name not in ablation.VARIANTS]
    if unknown or not args.variants:
        parser.error(f"--variants must name some of {list(ablation.VARIANTS)}, got {unknown or 'none'}")
    return args


def _num_train_clips(data: DataSpec) -> int:
    with open(os.path.join(data.path_to_data_dir, "train.csv")) as handle:
        return sum(1 for line in handle if line.strip())


@cli.one_line_errors(ConfigError)
def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    spec = build_run_spec(cli.load(args))
    output_dir = args.output_dir or spec.place.output_dir.rstrip("/") + "_ablation"
    os.makedirs(output_dir, exist_ok=True)
    data = spec.data
    ensure_synthetic_data(data)  # before any variant's clock starts
    splits = (("train", "val") if spec.train.enable else ()) + (("test",) if spec.test.enable else ())
    fill_decoded_stores(data, splits)  # so every variant maps the decoded frames rather than decoding them
    runs = []
    # One seed keeps the config's RNG_SEED and DIR/<variant>; several interleave the variants
    # seed by seed, so machine noise hits them alike.
    seeds = ([None] if args.seeds == 1 and args.first_seed == 0
             else [spec.place.rng_seed + args.first_seed + k for k in range(args.seeds)])
    for seed, name in ((seed, name) for seed in seeds for name in args.variants):
        variant = ablation.variant_overrides(name, output_dir, seed)
        command = ablation.run_net_command(RUN_NET, args.cfg_file, list(args.overrides) + variant)
        variant_dir = ablation.variant_dir(output_dir, name, seed)
        run = None if args.rerun else ablation.load_record(variant_dir, command)
        if run is not None:
            print(f"[{name}] reusing the completed run in {variant_dir} (--rerun to train it again)", flush=True)
            runs.append(run)
            continue
        moved = ablation.set_aside(variant_dir)
        if moved:
            print(f"[{name}] moved the earlier run in {variant_dir} to {moved}", flush=True)
        print(f"[{name}] training in {variant_dir}", flush=True)
        run = ablation.run_variant(command, name, variant_dir)
        run.seed = seed
        if run.returncode != 0:
            print("\n".join(run.log_tail), file=sys.stderr)
            cli.error(f"variant {name} exited with {run.returncode}; "
                      f"see {run.output_dir}/stdout.log")
            return 1
        costs = training_costs(build_run_spec(cli.load(args, variant)), _num_train_clips(data))
        run.iterations, run.stage_gflops = sum(c.iterations for c in costs), [c.total_gflops for c in costs]
        run.train_gflops = sum(run.stage_gflops)
        ablation.save_record(run, command)
        runs.append(run)
    metric = "mAP" if data.multi_label else "top-1"
    table = ablation.markdown_table(runs, metric)
    if len(seeds) > 1:
        table += f"\n\nOver {len(seeds)} seeds:\n\n" + ablation.seeds_table(runs, metric)
    table += "\n\nWhere the time went (seconds):\n\n" + ablation.time_split_table(runs)
    with open(os.path.join(output_dir, "ablation.md"), "w") as handle:
        handle.write(table + "\n")
    with open(os.path.join(output_dir, "ablation.json"), "w") as handle:
        record = {"cfg": args.cfg_file, "overrides": args.overrides, "runs": [run.to_json() for run in runs]}
        json.dump(record, handle, indent=1)
    ablation.plot_curves(runs, os.path.join(output_dir, "val_vs_wallclock.png"), metric)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
