"""Run a loaded config's spec (``run_spec.build_run_spec``): prepare the output folder and data, train, then test."""
import os
import sys
from typing import Optional

from slowfast.config.loading import ConfigError
from slowfast.datasets.errors import DataError
from slowfast.engine import checkpoint as ckpt
from slowfast.engine.checkpoint import CheckpointError
from slowfast.engine.context import RunContext
from slowfast.engine.finite_guard import NonFiniteLossError
from slowfast.engine.preflight import check_before_start
from slowfast.engine.run_spec import RunSpec
from slowfast.engine.time_split import timed
from slowfast.engine.trainer import Trainer
from slowfast.utils import distributed
from slowfast.utils.cli import sigint_received
from slowfast.utils.distributed import ProcessPlace
from slowfast.utils.env import seed_everything, select_device
from slowfast.utils.logging import get_logger, log_json_stats, log_to_file, setup_logging

logger = get_logger(__name__)

CONFIG_FILE = "config.yaml"  # the config of the run that trains in OUTPUT_DIR
TEST_CONFIG_FILE = "config_test.yaml"  # that of a run that only tests (or only prepares data)


def exit_code_for(error: BaseException) -> Optional[int]:
    """The exit status of a run stopped by ``error`` when it needs no traceback, else None.

    Bad inputs found while running (config, data, checkpoints) exit 2 like a bad config found
    at loading; a diverged loss exits 1. Anything else is a bug and keeps its traceback.
    """
    if isinstance(error, (ConfigError, DataError, CheckpointError)):
        return 2
    if isinstance(error, NonFiniteLossError):
        return 1
    return None


def interrupted_message(spec: RunSpec) -> str:
    """The line a run stopped by Ctrl-C (SIGINT) ends with: what rerunning the same command does."""
    stopped, output_dir = "interrupted by Ctrl-C (SIGINT)", spec.place.output_dir
    if not spec.train.enable:
        return f"{stopped}; this run only tests: rerunning the same command tests again from the start"
    latest = ckpt.newest_checkpoint(output_dir)
    if latest is None:
        return f"{stopped} before the first checkpoint in {output_dir}; rerunning the same command starts afresh"
    if not spec.train.auto_resume:
        return f"{stopped}; the last checkpoint is {latest}: rerun with TRAIN.AUTO_RESUME True to resume from it"
    return f"{stopped}; rerunning the same command resumes from {latest}"


class WorkerExit(RuntimeError):
    """A worker started by run() stopped with a one-line error it printed itself."""

    def __init__(self, exit_code: int) -> None:
        super().__init__(f"a training process exited with status {exit_code}")
        self.exit_code = exit_code


def run(spec: RunSpec, init_method: str | None = None) -> dict:
    """Train if TRAIN.ENABLE, then test if TEST.ENABLE, in as many processes as the run needs.

    Under torchrun (RANK/WORLD_SIZE/LOCAL_RANK set) this process is one worker joining by env://.
    Otherwise NUM_GPUS x NUM_SHARDS > 1 starts max(NUM_GPUS, 1) workers on this machine that meet
    at ``init_method`` (a free localhost port on one machine when None), and one device runs
    here. Returns this process's results (rank 0's when this process is rank 0; {} in the parent
    of spawned workers). Mistakes found by check_before_start stop it before it starts anything.
    """
    check_before_start(spec)
    if distributed.launched_by_torchrun():
        return _run_worker(spec, distributed.place_from_environment(), "env://")
    place = spec.place
    if place.num_devices == 1:
        return _run_worker(spec, ProcessPlace(0, 1, 0), "")
    import torch.multiprocessing as mp

    address = distributed.default_init_method(place.num_shards, init_method)
    try:
        mp.spawn(_spawned_worker, args=(spec, address), nprocs=distributed.processes_per_machine(place.num_gpus),
                 join=True)
    except mp.ProcessExitedException as err:
        if err.exit_code in (1, 2):
            raise WorkerExit(err.exit_code) from None
        raise
    return {}


def _spawned_worker(local_rank: int, spec: RunSpec, init_method: str) -> None:
    """Entry point of a worker started by run() (torch.multiprocessing passes ``local_rank``)."""
    place = distributed.place_from_config(spec.place.num_gpus, spec.place.num_shards, spec.place.shard_id,
                                          local_rank)
    try:
        _run_worker(spec, place, init_method)
    except Exception as err:
        code = exit_code_for(err)
        if code is None:
            raise
        print(f"error: {err}", file=sys.stderr, flush=True)
        sys.exit(code)


def _run_worker(spec: RunSpec, place: ProcessPlace, init_method: str) -> dict:
    """Join the process group (when there is one), run, and leave it even on error."""
    device = select_device(spec.place.num_gpus, place.local_rank)
    if device.type == "cuda":
        import torch

        # Multigrid uses a handful of shapes per stage: each is tuned once, then reused.
        torch.backends.cudnn.benchmark = True
    distributed.init_process_group(place, device, init_method)
    try:
        return _run_in_process(spec, RunContext(device=device, rank=place.rank, world_size=place.world_size))
    finally:
        distributed.destroy_process_group()


def _run_in_process(spec: RunSpec, ctx: RunContext) -> dict:
    """Log to OUTPUT_DIR/stdout.log and run; why the run stopped, if it did, ends up there too."""
    setup_logging(spec.place.output_dir, rank=ctx.rank)
    try:
        return _train_and_test(spec, ctx)
    except KeyboardInterrupt:
        log_to_file(interrupted_message(spec))
        raise
    except Exception as err:
        if sigint_received():  # an error of the same Ctrl-C (e.g. of the loader workers it stopped)
            log_to_file(interrupted_message(spec))
        elif exit_code_for(err) is None:
            log_to_file("the run stopped with an unexpected error:", err)
        else:
            log_to_file(f"error: {err}")
        raise


def _train_and_test(spec: RunSpec, ctx: RunContext) -> dict:
    """Rank 0 prepares the output folder and data while the others wait; then every rank runs."""
    seconds = dict.fromkeys(("data_prep", "setup", "train", "test"), 0.0)
    with _timing(seconds, "data_prep"):
        if ctx.is_main:
            prepare_output_dir(spec)
            prepare_data(spec)
        distributed.barrier()  # the others wait for the output folder and data
    logger.info(f"running on {ctx.device} (rank {ctx.rank} of {ctx.world_size}); "
                f"config written to {config_path(spec)}")
    results: dict = {}
    seed = spec.place.rng_seed + ctx.rank
    if spec.train.enable:
        seed_everything(seed)
        with _timing(seconds, "setup"):
            trainer = Trainer(spec, ctx)
        with _timing(seconds, "train"):
            results["val"] = trainer.fit()
        del trainer  # its datasets' decoded frames and loader workers are not needed to test
    if spec.test.enable:
        from slowfast.engine.tester import run_test

        seed_everything(seed)
        with _timing(seconds, "test"):
            results["test"] = run_test(spec, ctx)
    # Data preparation (dataset generation), building (model, datasets, loaders), training, test.
    log_json_stats({"_type": "run_time", **{f"{name}_s": round(value, 3) for name, value in seconds.items()}},
                   spec.place.output_dir if ctx.is_main else None)
    return results


def _timing(seconds: dict, name: str):
    return timed(lambda elapsed: seconds.__setitem__(name, seconds[name] + elapsed))


def config_path(spec: RunSpec) -> str:
    """Where the run's config goes: OUTPUT_DIR/config.yaml when it trains, else config_test.yaml,
    so that testing a trained run leaves that run's config.yaml as it was."""
    return os.path.join(spec.place.output_dir, CONFIG_FILE if spec.train.enable else TEST_CONFIG_FILE)


def prepare_output_dir(spec: RunSpec) -> None:
    """Create OUTPUT_DIR (with checkpoints/ when training) and write the user's config to config_path."""
    output_dir = spec.place.output_dir
    os.makedirs(os.path.join(output_dir, ckpt.CHECKPOINT_SUBDIR) if spec.train.enable else output_dir, exist_ok=True)
    with open(config_path(spec), "w") as file:
        file.write(spec.config_yaml)


def prepare_data(spec: RunSpec) -> None:
    """Generate the bundled synthetic dataset (in TRAIN.DATASET's layout) on first use when the config asks for it."""
    from slowfast.datasets.build import ensure_synthetic_data

    ensure_synthetic_data(spec.data)
