#!/usr/bin/env python
"""Run the multigrid ablation on one config: baseline, long cycle, short cycle, long+short.

python projects/multigrid/reproduce.py --cfg FILE [--output-dir DIR] [--variants a,b] [KEY VALUE ...]

Each variant trains to completion (tools/run_net.py, OUTPUT_DIR = DIR/<variant>) with the
config's SOLVER.MAX_EPOCH and MULTIGRID.EPOCH_FACTOR. Writes DIR/ablation.md, DIR/ablation.json
and DIR/val_vs_wallclock.png (validation accuracy against wall-clock, like the paper's Figure 1).
"""
import argparse
import json
import os
import sys

_CHECKOUT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if os.path.isdir(os.path.join(_CHECKOUT, "slowfast")):
    sys.path.insert(0, _CHECKOUT)

from slowfast.benchmark import ablation  # noqa: E402
from slowfast.benchmark.commands import training_cost  # noqa: E402
from slowfast.config import ConfigError, load_config  # noqa: E402

RUN_NET = os.path.join(_CHECKOUT, "tools", "run_net.py")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Config, output folder, variants; trailing KEY VALUE pairs override the config for every run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cfg", dest="cfg_file", required=True, help="YAML config file")
    parser.add_argument("--output-dir", default=None, help="default: the config's OUTPUT_DIR + '_ablation'")
    parser.add_argument("--variants", default=",".join(ablation.VARIANTS),
                        help=f"comma-separated subset of {','.join(ablation.VARIANTS)}")
    parser.add_argument("overrides", nargs="*", help="KEY VALUE pairs for every run")
    args = parser.parse_intermixed_args(argv)
    args.variants = [name for name in args.variants.split(",") if name]
    unknown = [name for name in args.variants if name not in ablation.VARIANTS]
    if unknown or not args.variants:
        parser.error(f"--variants must name some of {list(ablation.VARIANTS)}, got {unknown or 'none'}")
    return args


def _num_train_clips(cfg) -> int:
    with open(os.path.join(cfg.DATA.PATH_TO_DATA_DIR, "train.csv")) as handle:
        return sum(1 for line in handle if line.strip())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        cfg = load_config(args.cfg_file, args.overrides)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    output_dir = args.output_dir or cfg.OUTPUT_DIR.rstrip("/") + "_ablation"
    os.makedirs(output_dir, exist_ok=True)
    runs = []
    for name in args.variants:
        overrides = list(args.overrides) + ablation.variant_overrides(name, output_dir)
        print(f"[{name}] training in {os.path.join(output_dir, name)}", flush=True)
        run = ablation.run_variant(ablation.run_net_command(RUN_NET, args.cfg_file, overrides), name,
                                   os.path.join(output_dir, name))
        if run.returncode != 0:
            print("\n".join(run.log_tail), file=sys.stderr)
            print(f"error: variant {name} exited with {run.returncode}; see {run.output_dir}/stdout.log",
                  file=sys.stderr)
            return 1
        run.iterations, run.train_gflops = training_cost(load_config(args.cfg_file, overrides), _num_train_clips(cfg))
        runs.append(run)
    metric = "mAP" if cfg.DATA.MULTI_LABEL else "top-1"
    table = ablation.markdown_table(runs, metric)
    with open(os.path.join(output_dir, "ablation.md"), "w") as handle:
        handle.write(table + "\n")
    with open(os.path.join(output_dir, "ablation.json"), "w") as handle:
        json.dump({"cfg": args.cfg_file, "overrides": args.overrides, "runs": [run.to_json() for run in runs]}, handle, indent=1)
    ablation.plot_curves(runs, os.path.join(output_dir, "val_vs_wallclock.png"), metric)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
