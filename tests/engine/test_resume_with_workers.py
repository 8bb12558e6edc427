"""Exact resume with loader workers: a run interrupted at an epoch boundary or inside an epoch and
started again ends bit-identical to an uninterrupted one, with 0 and with 2 workers.

The issue's scenario (configs/Synthetic/SLOWFAST_R18_MG.yaml, SOLVER.STEPS [0,2,3], MAX_EPOCH 4,
validation after epochs): a persistent validation loader drew its workers' base seed from the
global RNG once per process, so a resumed process drew once more than an uninterrupted one and
every later dropout mask moved. The interruption is an exception raised inside the training
loop of this process (what the SIGKILL test in test_exact_resume.py does with a process, faster).
"""
from pathlib import Path

import pytest
import torch

from slowfast.engine import checkpoint as ckpt
from slowfast.engine import trainer as trainer_module
from slowfast.engine.launch import run
from slowfast.engine.run_spec import build_run_spec

MG_CONFIG = str(Path(__file__).resolve().parents[2] / "configs" / "Synthetic" / "SLOWFAST_R18_MG.yaml")
ISSUE_RUN = {
    "SOLVER.STEPS": [0, 2, 3],
    "SOLVER.LRS": [1, 0.1, 0.01],
    "SOLVER.MAX_EPOCH": 4,
    "SOLVER.WARMUP_EPOCHS": 0.0,
    "SOLVER.BASE_LR": 0.01,
    "TEST.ENABLE": False,
    "MULTIGRID.LONG_CYCLE_FACTORS": [[0.5, 0.7071], [0.5, 1], [1, 0.7071], [1, 1]],
    "MULTIGRID.EPOCH_FACTOR": 1.0,
    "MULTIGRID.BN_BASE_SIZE": 4,
    "MULTIGRID.EVAL_FREQ": 1,
    "TRAIN.BATCH_SIZE": 2,
    "TRAIN.CHECKPOINT_PERIOD": 1,
    "MODEL.DROPOUT_RATE": 0.5,  # dropout draws from the global RNG: any drift of it shows
}


class Interrupted(Exception):
    """Stands for a kill inside the training loop."""


def interrupt_at_step(monkeypatch, step: int) -> None:
    """Make the ``step``-th training step (1-based, counted in this process) raise."""
    real_step = trainer_module.Trainer.train_step
    calls = {"count": 0}

    def train_step(self, inputs, labels):
        calls["count"] += 1
        if calls["count"] == step:
            raise Interrupted()
        return real_step(self, inputs, labels)

    monkeypatch.setattr(trainer_module.Trainer, "train_step", train_step)


def final_weights(cfg) -> dict:
    from slowfast.multigrid.schedule import build_schedule

    last_epoch = build_schedule(cfg).max_epoch - 1
    return ckpt.load_checkpoint_file(ckpt.checkpoint_path(cfg.OUTPUT_DIR, last_epoch))["model_state"]


def epochs_in_log(cfg) -> int:
    return (Path(cfg.OUTPUT_DIR) / "stdout.log").read_text().count('"_type": "train_epoch"')


@pytest.mark.parametrize("workers", [0, pytest.param(2, marks=pytest.mark.slow)])  # 2: loader processes
def test_interrupted_run_ends_bit_identical_with_and_without_workers(make_cfg, monkeypatch, workers):
    values = {**ISSUE_RUN, "DATA_LOADER.NUM_WORKERS": workers}
    whole = make_cfg(values, output="whole", config_file=MG_CONFIG)
    run(build_run_spec(whole))

    # At an epoch boundary: stopped at the first step of the third epoch (after epoch 2's checkpoint
    # and validation), resumed from checkpoint_epoch_00002 with two validations still to come.
    at_boundary = make_cfg(values, output="at_boundary", config_file=MG_CONFIG)
    interrupt_at_step(monkeypatch, steps_before_epoch(at_boundary, 2) + 1)
    with pytest.raises(Interrupted):
        run(build_run_spec(at_boundary))
    monkeypatch.undo()
    assert epochs_in_log(at_boundary) == 2
    run(build_run_spec(at_boundary))

    # Inside an epoch: a "last" checkpoint after every iteration, stopped in the middle of epoch 3.
    mid_epoch = make_cfg({**values, "TRAIN.CHECKPOINT_MINUTES": 1e-9}, output="mid_epoch", config_file=MG_CONFIG)
    interrupt_at_step(monkeypatch, steps_before_epoch(mid_epoch, 2) + 2)
    with pytest.raises(Interrupted):
        run(build_run_spec(mid_epoch))
    monkeypatch.undo()
    run(build_run_spec(mid_epoch))
    assert "continuing at epoch 3, batch 2" in (Path(mid_epoch.OUTPUT_DIR) / "stdout.log").read_text()

    expected = final_weights(whole)
    for resumed in (at_boundary, mid_epoch):
        actual = final_weights(resumed)
        assert expected.keys() == actual.keys()
        different = [key for key, value in expected.items() if not torch.equal(value, actual[key])]
        assert different == [], f"{resumed.OUTPUT_DIR}: {len(different)} tensors differ, e.g. {different[:3]}"


def steps_before_epoch(cfg, epoch: int) -> int:
    """Training steps of the epochs before 0-based ``epoch``."""
    from slowfast.multigrid.sampler import count_batches
    from slowfast.multigrid.schedule import build_schedule

    schedule = build_schedule(cfg)
    return sum(count_batches(32, schedule.stage_at(e).short_cycle_batch_sizes) for e in range(epoch))
