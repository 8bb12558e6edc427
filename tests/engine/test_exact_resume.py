"""A multigrid run killed with SIGKILL at several points and restarted ends bit-identical to an uninterrupted one."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from slowfast.engine import checkpoint as ckpt
from slowfast.engine.launch import run
from slowfast.engine.run_spec import build_run_spec

pytestmark = pytest.mark.slow  # training processes, killed and restarted

ROOT = Path(__file__).resolve().parents[2]
MG_CONFIG = str(ROOT / "configs" / "Synthetic" / "SLOWFAST_R18_MG.yaml")
# 6 epochs in 5 multigrid stages, 27 iterations; epoch 0 is not a checkpoint epoch. Dropout draws
# from the global RNG, so the RNG state must travel in the checkpoints too.
RESUMABLE = {
    "MULTIGRID.LONG_CYCLE_FACTORS": [[0.5, 0.7071], [0.5, 1], [1, 0.7071], [1, 1]],
    "MULTIGRID.EPOCH_FACTOR": 2.0,
    "MULTIGRID.BN_BASE_SIZE": 4,
    "MULTIGRID.EVAL_FREQ": 1,
    "TRAIN.BATCH_SIZE": 2,
    "TRAIN.EVAL_PERIOD": 2,
    "TRAIN.CHECKPOINT_PERIOD": 2,
    "TRAIN.CHECKPOINT_MINUTES": 1e-9,  # a "last" checkpoint after every iteration
    "SOLVER.MAX_EPOCH": 3,
    "SOLVER.BASE_LR": 0.01,
    "SOLVER.LR_POLICY": "steps_with_relative_lrs",
    "SOLVER.STEPS": [0, 2],
    "SOLVER.LRS": [1, 0.1],
    "MODEL.DROPOUT_RATE": 0.5,
    "TEST.ENABLE": False,
}
TOTAL_ITERATIONS = 27
RUN_SCRIPT = (
    "import sys, torch\n"
    "torch.set_num_threads(1)\n"
    "from slowfast.config import load_config\n"
    "from slowfast.engine.launch import run\n"
    "from slowfast.engine.run_spec import build_run_spec\n"
    "run(build_run_spec(load_config(sys.argv[1], sys.argv[2:])))\n"
)


def start_run(cfg) -> subprocess.Popen:
    """The same command every time: a fresh process training ``cfg`` (its YAML on disk)."""
    config_file = Path(cfg.OUTPUT_DIR + ".yaml")
    config_file.write_text(cfg.dump())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", RUN_SCRIPT, str(config_file)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def logged_iterations(output_dir: str) -> int:
    log = Path(output_dir) / "stdout.log"
    return log.read_text().count('"_type": "train_iter"') if log.is_file() else 0


def kill_after(cfg, iterations: int) -> None:
    """Start the run and SIGKILL it once the log holds ``iterations`` train_iter records in all."""
    process = start_run(cfg)
    while logged_iterations(cfg.OUTPUT_DIR) < iterations:
        assert process.poll() is None, process.stderr.read().decode()
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL


def finish(cfg) -> None:
    process = start_run(cfg)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr.decode()


def final_state(cfg) -> dict:
    return torch.load(ckpt.checkpoint_path(cfg.OUTPUT_DIR, 5), weights_only=True)


def last_epoch_records(output_dir: str, read_stats) -> dict:
    """The last train_epoch/val_epoch record of each epoch (a resumed run may repeat one)."""
    timing = ("dt", "dt_data", "eta", "time_s")
    records = {}
    for record in read_stats(output_dir):
        if record.get("_type") in ("train_epoch", "val_epoch"):
            records[(record["_type"], record["epoch"])] = {k: v for k, v in record.items() if k not in timing}
    return records


@pytest.mark.parametrize("workers", [0, 2])
def test_run_killed_with_sigkill_at_several_points_ends_bit_identical(make_cfg, read_stats, workers):
    values = {**RESUMABLE, "DATA_LOADER.NUM_WORKERS": workers}
    whole = make_cfg(values, output="whole", config_file=MG_CONFIG)
    killed = make_cfg(values, output="killed", config_file=MG_CONFIG)
    run(build_run_spec(whole))  # in this process: the same computation as the command, without its start-up time
    # Inside stage 0's first epoch (before any epoch checkpoint), then in later stages, leaving
    # several iterations after the last kill; the log count is cumulative, so each kill lands later.
    for iterations in (2, 12, 20):
        kill_after(killed, iterations)
    assert ckpt.last_checkpoint_path(killed.OUTPUT_DIR).is_file()
    finish(killed)
    # Saves cut short by a kill leave temporary files; resuming deletes them.
    assert sorted(p.name for p in ckpt.checkpoint_dir(killed.OUTPUT_DIR).iterdir() if p.name.startswith(".")) == []

    log = (Path(killed.OUTPUT_DIR) / "stdout.log").read_text()
    assert log.count("continuing at epoch") == 3
    assert ", batch " in log  # at least one resume re-entered an epoch in its middle
    expected, actual = final_state(whole), final_state(killed)
    assert expected["model_state"].keys() == actual["model_state"].keys()
    for key, value in expected["model_state"].items():
        assert torch.equal(value, actual["model_state"][key]), key
    for index, state in expected["optimizer_state"]["state"].items():
        assert torch.equal(state["momentum_buffer"], actual["optimizer_state"]["state"][index]["momentum_buffer"])
    # Everything but the seconds of the time split, which no two runs share.
    assert expected["trainer_state"].pop("time_split").keys() == actual["trainer_state"].pop("time_split").keys()
    assert expected["trainer_state"] == actual["trainer_state"]
    assert expected["trainer_state"]["global_iter"] == TOTAL_ITERATIONS
    assert last_epoch_records(killed.OUTPUT_DIR, read_stats) == last_epoch_records(whole.OUTPUT_DIR, read_stats)
