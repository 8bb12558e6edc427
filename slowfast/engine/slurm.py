"""A training run as a submitit job: one task per GPU, rendezvous from SLURM, requeued when stopped.

SLURM (or submitit's local executor) starts ``nodes x tasks_per_node`` tasks; each exports the
torch.distributed variables submitit derives from SLURM (MASTER_ADDR/PORT, RANK, WORLD_SIZE,
LOCAL_RANK) and joins by env://, exactly as under torchrun. On preemption or timeout submitit
calls :meth:`TrainingJob.checkpoint`, which requeues the same job; the run resumes from the last
checkpoint in OUTPUT_DIR (TRAIN.AUTO_RESUME is forced on).
"""
from collections.abc import Sequence

from slowfast.config import load_config
from slowfast.engine.launch import run


def _submitit():
    try:
        import submitit
    except ImportError as err:  # an optional dependency
        raise ImportError("SLURM submission needs submitit: pip install 'slowfast[slurm]' (or pip install submitit)") from err
    return submitit


class TrainingJob:
    """The callable submitit pickles: loads the config in the task and runs it."""

    def __init__(self, cfg_file: str, overrides: Sequence[str]) -> None:
        self.cfg_file = cfg_file
        self.user_overrides = list(overrides)

    def __call__(self) -> dict:
        submitit = _submitit()
        # All GPUs stay visible: the process picks cuda:LOCAL_RANK itself (select_device).
        submitit.helpers.TorchDistributedEnvironment().export(set_cuda_visible_devices=False, overwrite=True)
        return run(load_config(self.cfg_file, self.user_overrides + ["TRAIN.AUTO_RESUME", "True"]))

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
    slurm_options = {"slurm_partition": partition} if partition else {}
    if account:
        slurm_options["slurm_account"] = account
    executor.update_parameters(
        name=job_name, nodes=nodes, tasks_per_node=tasks_per_node, gpus_per_node=gpus_per_node,
        cpus_per_task=cpus_per_task, timeout_min=timeout_min, slurm_signal_delay_s=120, **slurm_options,
    )
    return executor
