"""Resuming with another SOLVER.MAX_EPOCH: allowed where the trained epochs keep their layout,
refused in one line (naming the key) where the new schedule would have trained them otherwise."""
from pathlib import Path

import pytest

from slowfast.engine import checkpoint as ckpt
from slowfast.engine import trainer as trainer_module
from slowfast.engine.launch import exit_code_for, run
from slowfast.engine.run_spec import build_run_spec

MG_CONFIG = str(Path(__file__).resolve().parents[2] / "configs" / "Synthetic" / "SLOWFAST_R18_MG.yaml")
MULTIGRID = {
    "MULTIGRID.LONG_CYCLE_FACTORS": [[0.5, 0.7071], [1, 1]],
    "MULTIGRID.EPOCH_FACTOR": 1.0,
    "MULTIGRID.BN_BASE_SIZE": 4,
    "TRAIN.BATCH_SIZE": 4,
    "TRAIN.CHECKPOINT_PERIOD": 1,
    "SOLVER.MAX_EPOCH": 3,
    "SOLVER.BASE_LR": 0.01,
    "SOLVER.STEPS": [0, 2],
    "SOLVER.LRS": [1, 0.1],
    "TEST.ENABLE": False,
}


class Interrupted(Exception):
    """Stands for a kill: raised from inside the training loop."""


def interrupt_after(monkeypatch, steps: int) -> None:
    real_step = trainer_module.Trainer.train_step
    calls = {"count": 0}

    def step(self, inputs, labels):
        calls["count"] += 1
        if calls["count"] > steps:
            raise Interrupted()
        return real_step(self, inputs, labels)

    monkeypatch.setattr(trainer_module.Trainer, "train_step", step)


def test_multigrid_run_resumed_with_another_max_epoch_is_refused_in_one_line(make_cfg):
    cfg = make_cfg(MULTIGRID, config_file=MG_CONFIG)
    run(build_run_spec(cfg))
    longer = make_cfg({**MULTIGRID, "SOLVER.MAX_EPOCH": 6}, config_file=MG_CONFIG)
    with pytest.raises(ckpt.CheckpointError) as raised:
        run(build_run_spec(longer))
    assert exit_code_for(raised.value) == 2 and "\n" not in str(raised.value)
    assert str(raised.value) == (
        f"SOLVER.MAX_EPOCH is 6 but checkpoint '{ckpt.checkpoint_path(cfg.OUTPUT_DIR, 2)}' was trained with 3, "
        "and the new schedule gives its epoch 3 other shapes, batch sizes or learning rates; resume with "
        "SOLVER.MAX_EPOCH 3, or start afresh in another OUTPUT_DIR"
    )


def test_mid_epoch_checkpoint_of_the_old_layout_is_refused_without_a_sampler_traceback(make_cfg, monkeypatch):
    values = {**MULTIGRID, "TRAIN.CHECKPOINT_MINUTES": 1e-9}
    cfg = make_cfg(values, config_file=MG_CONFIG)
    interrupt_after(monkeypatch, 3)  # 1 + 1 + 3 iterations: stopped inside epoch 3
    with pytest.raises(Interrupted):
        run(build_run_spec(cfg))
    assert ckpt.load_checkpoint_file(ckpt.last_checkpoint_path(cfg.OUTPUT_DIR))["next_batch"] > 0
    monkeypatch.undo()
    changed = make_cfg({**values, "SOLVER.MAX_EPOCH": 4}, config_file=MG_CONFIG)
    with pytest.raises(ckpt.CheckpointError, match=r"^SOLVER.MAX_EPOCH is 4 but checkpoint '.*checkpoint_last.pyth' "
                                                   r"was trained with 3, and the new schedule gives its epoch "
                                                   r"\d other"):
        run(build_run_spec(changed))


def test_extending_max_epoch_of_a_step_schedule_resumes_where_it_stopped(make_cfg):
    values = {"SOLVER.MAX_EPOCH": 1, "SOLVER.STEPS": [0], "SOLVER.LRS": [1], "TRAIN.CHECKPOINT_PERIOD": 1,
              "TEST.ENABLE": False}
    cfg = make_cfg(values)
    run(build_run_spec(cfg))
    run(build_run_spec(make_cfg({**values, "SOLVER.MAX_EPOCH": 2})))
    log = (Path(cfg.OUTPUT_DIR) / "stdout.log").read_text()
    assert "resumed from the checkpoint of epoch 1; continuing at epoch 2" in log
    assert ckpt.checkpoint_path(cfg.OUTPUT_DIR, 1).is_file()


def test_checkpoint_past_the_end_of_a_shorter_epoch_is_refused(make_cfg, monkeypatch, synthetic_dir, tmp_path):
    values = {"SOLVER.MAX_EPOCH": 1, "SOLVER.STEPS": [0], "SOLVER.LRS": [1], "TRAIN.BATCH_SIZE": 4,
              "TRAIN.CHECKPOINT_MINUTES": 1e-9, "TEST.ENABLE": False}
    cfg = make_cfg(values)
    interrupt_after(monkeypatch, 6)
    with pytest.raises(Interrupted):
        run(build_run_spec(cfg))
    monkeypatch.undo()
    # The training list lost half its videos (DATA.PATH_TO_DATA_DIR may change on resume).
    smaller = tmp_path / "smaller"
    smaller.mkdir()
    for split in ("train", "val", "test"):
        lines = [f"{synthetic_dir / line}" for line in (synthetic_dir / f"{split}.csv").read_text().splitlines()]
        (smaller / f"{split}.csv").write_text("\n".join(lines[: 16 if split == "train" else None]) + "\n")
    last = ckpt.last_checkpoint_path(cfg.OUTPUT_DIR)
    with pytest.raises(ckpt.CheckpointError) as raised:
        run(build_run_spec(make_cfg({**values, "DATA.PATH_TO_DATA_DIR": str(smaller)})))
    assert str(raised.value) == (f"checkpoint '{last}' stopped after batch 6 of epoch 1, which now has 4 batches "
                                 f"(did the training list change?); restore it, or move {last} away")
