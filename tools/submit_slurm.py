#!/usr/bin/env python
"""Submit a training run to SLURM through submitit (or run it locally with --local).

python tools/submit_slurm.py --cfg FILE --nodes N --gpus-per-node G --partition P --time H
    [--account A] [--local] [KEY VALUE ...]
Logs go to OUTPUT_DIR/slurm/<job id>_*; the job requeues itself on preemption or timeout and
resumes from the last checkpoint in OUTPUT_DIR. Each task runs OMP_NUM_THREADS torch threads when
set, else --cpus-per-task on SLURM, else (--local) this machine's cores // --tasks-per-node; its
log's first line says how many.
"""
import argparse
import os
import sys

# This checkout's slowfast/ before any installed one (`python tools/X.py` from a checkout).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from slowfast.config import ConfigError  # noqa: E402
from slowfast.engine.slurm import TrainingJob, build_executor  # noqa: E402
from slowfast.utils import cli  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = cli.parser(__doc__)
    cli.add_config_arguments(parser, "KEY VALUE config overrides")
    parser.add_argument("--nodes", type=int, default=1, help="machines (sets NUM_SHARDS)")
    parser.add_argument("--gpus-per-node", type=int, default=8, help="GPUs per machine (sets NUM_GPUS; 0 = CPU)")
    parser.add_argument("--tasks-per-node", type=int, default=None,
                        help="processes per machine (default: one per GPU, 1 on CPU; CPU runs may use more)")
    parser.add_argument("--partition", default="", help="SLURM partition")
    parser.add_argument("--account", default="", help="SLURM account")
    parser.add_argument("--time", type=float, default=72.0, help="time limit per job in hours (requeued after)")
    parser.add_argument("--cpus-per-task", type=int, default=10,
                        help="CPU cores per process on SLURM (its torch threads and data loading)")
    parser.add_argument("--name", default="slowfast", help="SLURM job name")
    parser.add_argument("--local", action="store_true", help="run here through submitit's local executor")
    parser.add_argument("--wait", action="store_true", help="wait for the job and print its result")
    return parser.parse_args(argv)


def submit(args: argparse.Namespace):
    """Validate the config here (not in the queue), then submit the job; returns the submitit job."""
    tasks = args.tasks_per_node or max(args.gpus_per_node, 1)
    if args.gpus_per_node and tasks != args.gpus_per_node:
        raise ConfigError(f"--tasks-per-node {tasks} must equal --gpus-per-node {args.gpus_per_node} "
                          "(one process per GPU)")
    devices = ["NUM_GPUS", str(args.gpus_per_node), "NUM_SHARDS", str(args.nodes)]
    cfg = cli.load(args, devices)
    # tasks may start elsewhere: an absolute OUTPUT_DIR
    overrides = [*args.overrides, *devices, "OUTPUT_DIR", os.path.abspath(cfg.OUTPUT_DIR)]
    executor = build_executor(
        os.path.join(os.path.abspath(cfg.OUTPUT_DIR), "slurm", "%j"), args.nodes, tasks, args.gpus_per_node,
        max(1, int(args.time * 60)), args.partition, args.account, args.cpus_per_task, args.name, args.local,
    )
    return executor.submit(TrainingJob(os.path.abspath(args.cfg_file), overrides))


@cli.one_line_errors(ConfigError, ValueError)
def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    job = submit(args)
    print(f"submitted job {job.job_id}; logs in {job.paths.folder}")
    if args.wait:
        job.results()
        print(f"job {job.job_id} finished")
    return 0


if __name__ == "__main__":
    sys.exit(main())
