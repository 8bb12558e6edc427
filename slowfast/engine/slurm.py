"""A training run as a submitit job: one task per GPU, rendezvous from SLURM, requeued when stopped.

SLURM (or submitit's local executor) starts ``nodes x tasks_per_node`` tasks; each exports the
torch.distributed variables submitit derives from SLURM (MASTER_ADDR/PORT, RANK, WORLD_SIZE,
LOCAL_RANK) and joins by env://, exactly as under torchrun. On preemption or timeout submitit
calls :meth:`TrainingJob.checkpoint`, which requeues the same job; the run resumes from the last
checkpoint in OUTPUT_DIR (TRAIN.AUTO_RESUME is forced on). A run stopped by bad inputs (config,
data, checkpoint) prints one ``error: ...`` line to the task's stderr log and exits 2, so SLURM
marks the job FAILED.

Each task sets its own thread count (:func:`task_threads`), as torchrun does with OMP_NUM_THREADS:
tasks that each start one thread per core of the machine oversubscribe it.
"""
import os
import sys
from collections.abc import Mapping, Sequence

import slowfast
from slowfast.config import ConfigError, load_config
from slowfast.engine.launch import exit_code_for, run
from slowfast.engine.run_spec import build_run_spec


def _submitit():
    try:
        import submitit
    except ImportError as err:  # an optional dependency
        raise ImportError(
            "SLURM submission needs submitit: pip install 'slowfast[slurm]' (or pip install submitit)"
        ) from err
    return submitit


def task_threads(environ: Mapping[str, str], available_cores: int, tasks_on_node: int) -> tuple[int, str]:
    """(intra-op threads for one task, why): OMP_NUM_THREADS when the user set it; in a SLURM job,
    the task's SLURM_CPUS_PER_TASK; otherwise (submitit's local executor, or SLURM without
    --cpus-per-task) this machine's usable cores shared evenly by the node's tasks, at least 1."""
    in_slurm = environ.get("SUBMITIT_EXECUTOR") == "slurm"
    for name in ("OMP_NUM_THREADS", "SLURM_CPUS_PER_TASK") if in_slurm else ("OMP_NUM_THREADS",):
        value = environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value), f"{name}={value}"
    threads = max(1, available_cores // max(tasks_on_node, 1))
    return threads, f"{available_cores} cores // {tasks_on_node} tasks; set OMP_NUM_THREADS to change"


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells it)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def set_task_threads(tasks_on_node: int) -> str:
    """Set this task's torch threads and OMP_NUM_THREADS (for the processes it starts); a log line."""
    import torch

    threads, reason = task_threads(os.environ, usable_cores(), tasks_on_node)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    torch.set_num_threads(threads)
    return f"{torch.get_num_threads()} torch threads per task ({reason})"


class TrainingJob:
    """The callable submitit pickles: loads the config in the task and runs it."""

    def __init__(self, cfg_file: str, overrides: Sequence[str]) -> None:
        self.cfg_file = cfg_file
        self.user_overrides = list(overrides)

    def __call__(self) -> dict:
        submitit = _submitit()
        # All GPUs stay visible: the process picks cuda:LOCAL_RANK itself (select_device).
        place = submitit.helpers.TorchDistributedEnvironment().export(set_cuda_visible_devices=False, overwrite=True)
        threads = set_task_threads(place.local_world_size)
        print(f"job {os.environ.get('SLURM_JOB_ID', '(local)')}: rank {place.rank} of {place.world_size}, "
              f"local rank {place.local_rank}, rendezvous at {place.master_addr}:{place.master_port}; {threads}",
              flush=True)
        try:
            cfg = load_config(self.cfg_file, self.user_overrides + ["TRAIN.AUTO_RESUME", "True"])
            return run(build_run_spec(cfg))
        except Exception as err:
            code = 2 if isinstance(err, ConfigError) else exit_code_for(err)
            if code is None:
                raise  # a bug: submitit logs the traceback
            print(f"error: {err}", file=sys.stderr, flush=True)
            # SystemExit, unlike an exception, passes submitit's handler: no traceback, exit status 2.
            raise SystemExit(code) from None

    def checkpoint(self, *args, **kwargs):
        """Requeue this job (called by submitit on preemption or timeout)."""
        return _submitit().helpers.DelayedSubmission(TrainingJob(self.cfg_file, self.user_overrides))


def build_executor(
    log_folder: str, nodes: int, tasks_per_node: int, gpus_per_node: int, timeout_min: int,
    partition: str = "", account: str = "", cpus_per_task: int = 10, job_name: str = "slowfast",
    local: bool = False,
):
    """A submitit executor for SLURM, or for this machine's processes when ``local``."""
    submitit = _submitit()
    if local:
        if nodes != 1:
            raise ValueError(f"--local runs on this machine only: --nodes must be 1, got {nodes}")
        executor = submitit.LocalExecutor(folder=log_folder)
        executor.update_parameters(tasks_per_node=tasks_per_node, gpus_per_node=gpus_per_node,
                                   timeout_min=timeout_min)
        return executor
    executor = submitit.AutoExecutor(folder=log_folder, cluster="slurm")
    # The tasks unpickle the job with this package, not whichever one their python would find first.
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(slowfast.__file__)))
    slurm_options = {"slurm_setup": [f'export PYTHONPATH="{package_root}${{PYTHONPATH:+:$PYTHONPATH}}"']}
    if partition:
        slurm_options["slurm_partition"] = partition
    if account:
        slurm_options["slurm_account"] = account
    executor.update_parameters(
        name=job_name, nodes=nodes, tasks_per_node=tasks_per_node, gpus_per_node=gpus_per_node,
        cpus_per_task=cpus_per_task, timeout_min=timeout_min, slurm_signal_delay_s=120, **slurm_options,
    )
    return executor
