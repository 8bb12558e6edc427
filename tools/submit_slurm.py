#!/usr/bin/env python
"""Submit a training run to SLURM through submitit (or run it locally with --local).

python tools/submit_slurm.py --cfg FILE --nodes N --gpus-per-node G --partition P --time H
    [--account A] [--local] [KEY VALUE ...]
Logs go to OUTPUT_DIR/slurm/<job id>_*; the job requeues itself on preemption or timeout and
resumes from the last checkpoint in OUTPUT_DIR.
"""
import argparse
import os
import sys

_CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if os.path.isdir(os.path.join(_CHECKOUT, "slowfast")):  # a checkout: its package, not another install
    sys.path.insert(0, _CHECKOUT)

from slowfast.config import ConfigError, load_config
from slowfast.engine.slurm import TrainingJob, build_executor


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cfg", dest="cfg_file", required=True, help="YAML config file")
    parser.add_argument("--nodes", type=int, default=1, help="machines (sets NUM_SHARDS)")
    parser.add_argument("--gpus-per-node", type=int, default=8, help="GPUs per machine (sets NUM_GPUS; 0 = CPU)")
    parser.add_argument("--tasks-per-node", type=int, default=None,
                        help="processes per machine (default: one per GPU, 1 on CPU; CPU runs may use more)")
    parser.add_argument("--partition", default="", help="SLURM partition")
    parser.add_argument("--account", default="", help="SLURM account")
    parser.add_argument("--time", type=float, default=72.0, help="time limit per job in hours (requeued after)")
    parser.add_argument("--cpus-per-task", type=int, default=10, help="CPU cores per process (data loading)")
    parser.add_argument("--name", default="slowfast", help="SLURM job name")
    parser.add_argument("--local", action="store_true", help="run here through submitit's local executor")
    parser.add_argument("--wait", action="store_true", help="wait for the job and print its result")
    parser.add_argument("overrides", nargs="*", help="KEY VALUE config overrides")
    return parser.parse_args(argv)


def submit(args: argparse.Namespace):
    """Validate the config here (not in the queue), then submit the job; returns the submitit job."""
    tasks = args.tasks_per_node or max(args.gpus_per_node, 1)
    if args.gpus_per_node and tasks != args.gpus_per_node:
        raise ConfigError(f"--tasks-per-node {tasks} must equal --gpus-per-node {args.gpus_per_node} "
                          "(one process per GPU)")
    overrides = list(args.overrides) + ["NUM_GPUS", str(args.gpus_per_node), "NUM_SHARDS", str(args.nodes)]
    cfg = load_config(args.cfg_file, overrides)
    overrides += ["OUTPUT_DIR", os.path.abspath(cfg.OUTPUT_DIR)]  # tasks may start elsewhere
    executor = build_executor(
        os.path.join(os.path.abspath(cfg.OUTPUT_DIR), "slurm", "%j"), args.nodes, tasks, args.gpus_per_node,
        max(1, int(args.time * 60)), args.partition, args.account, args.cpus_per_task, args.name, args.local,
    )
    return executor.submit(TrainingJob(os.path.abspath(args.cfg_file), overrides))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        job = submit(args)
    except (ConfigError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"submitted job {job.job_id}; logs in {job.paths.folder}")
    if args.wait:
        job.results()
        print(f"job {job.job_id} finished")
    return 0


if __name__ == "__main__":
    sys.exit(main())
