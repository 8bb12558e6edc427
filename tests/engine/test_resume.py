"""The "last" checkpoint, the choice of what to resume, refusing other runs' folders, pruning, full disks."""
import errno
import logging

import pytest
import torch
from torch import nn

from slowfast.engine import checkpoint as ckpt
from slowfast.engine.launch import run
from slowfast.engine.run_spec import build_run_spec

CFG_YAML = "OUTPUT_DIR: /a\nSOLVER:\n  BASE_LR: 0.1\n  MAX_EPOCH: 3\nMODEL:\n  NUM_CLASSES: 4\n"
SUMS = {"loss": 1.5, "correct": 3.0, "samples": 8, "steps": 2, "has_correct": True}


def model_and_optimizer(fill: float) -> tuple[nn.Module, torch.optim.Optimizer]:
    model = nn.Linear(3, 2)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.fill_(fill)
    return model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def save_epoch(folder, epoch: int, fill: float, cfg_yaml: str = CFG_YAML) -> None:
    model, optimizer = model_and_optimizer(fill)
    ckpt.save_checkpoint(folder, epoch, model, optimizer, cfg_yaml, {"global_iter": epoch})


def save_last(folder, epoch: int, next_batch: int, fill: float) -> None:
    model, optimizer = model_and_optimizer(fill)
    ckpt.save_last_checkpoint(folder, epoch, next_batch, model, optimizer, CFG_YAML, {"global_iter": 50},
                              hooks={"EpochStats": SUMS})


def resume(folder, cfg_yaml: str = CFG_YAML) -> tuple[dict, nn.Module]:
    model, optimizer = model_and_optimizer(0.0)
    return ckpt.resume_latest(folder, model, optimizer, cfg_yaml), model


def test_timer_is_due_after_its_period_and_never_when_off():
    now = [100.0]
    timer = ckpt.CheckpointTimer(0.5, clock=lambda: now[0])
    now[0] += 29.9
    assert not timer.due()
    now[0] += 0.1
    assert timer.due()
    timer.reset()
    assert not timer.due()
    off = ckpt.CheckpointTimer(0.0, clock=lambda: now[0])
    now[0] += 1e9
    assert not off.due()
    with pytest.raises(ValueError, match="TRAIN.CHECKPOINT_MINUTES must be >= 0"):
        ckpt.CheckpointTimer(-1)


def test_resume_takes_the_most_advanced_of_last_and_epoch_checkpoints(tmp_path):
    save_epoch(tmp_path, 1, fill=1.0)  # epoch 2 done: next is epoch 2 (0-based), batch 0
    save_last(tmp_path, 2, 3, fill=2.0)  # 3 batches of epoch 2 done
    resumed, model = resume(tmp_path)
    assert (resumed["epoch"], resumed["start_batch"]) == (2, 3)
    assert resumed["hooks"] == {"EpochStats": SUMS} and resumed["trainer_state"] == {"global_iter": 50}
    assert resumed["path"] == ckpt.last_checkpoint_path(tmp_path)
    assert torch.equal(model.weight, torch.full((2, 3), 2.0))

    save_epoch(tmp_path, 2, fill=3.0)  # the epoch finished after the last save
    resumed, model = resume(tmp_path)
    assert (resumed["epoch"], resumed["start_batch"], resumed["hooks"]) == (3, 0, {})
    assert torch.equal(model.weight, torch.full((2, 3), 3.0))


def test_torn_last_checkpoint_is_reported_and_the_epoch_checkpoint_used(tmp_path, caplog):
    save_epoch(tmp_path, 0, fill=1.0)
    save_last(tmp_path, 1, 2, fill=2.0)
    last = ckpt.last_checkpoint_path(tmp_path)
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    with caplog.at_level(logging.ERROR):
        resumed, model = resume(tmp_path)
    assert (resumed["epoch"], resumed["start_batch"]) == (1, 0)
    assert torch.equal(model.weight, torch.full((2, 3), 1.0))
    assert f"Skipping unreadable checkpoint {last}" in caplog.text


def test_resume_deletes_temporary_files_of_interrupted_saves(tmp_path):
    save_epoch(tmp_path, 0, fill=1.0)
    folder = ckpt.checkpoint_dir(tmp_path)
    for name in (".checkpoint_last.pyth.abc123.tmp", ".checkpoint_epoch_00002.123-9f8e7d6c.tmp.pyth"):
        (folder / name).write_bytes(b"\x80partial")  # both torn-save names remove_torn_temporaries matches
    other = folder / "notes.tmp"  # not ours: left alone
    other.write_text("x")
    assert resume(tmp_path)[0]["epoch"] == 1
    assert sorted(p.name for p in folder.iterdir()) == ["checkpoint_epoch_00001.pyth", "notes.tmp"]


def test_checkpoint_of_another_run_is_refused_naming_the_differing_keys(tmp_path):
    save_epoch(tmp_path, 0, fill=1.0)
    other = CFG_YAML.replace("BASE_LR: 0.1", "BASE_LR: 0.2").replace("NUM_CLASSES: 4", "NUM_CLASSES: 5")
    with pytest.raises(ckpt.CheckpointError) as err:
        resume(tmp_path, other)
    message = str(err.value)
    assert "another run" in message and "Choose another OUTPUT_DIR" in message
    assert "SOLVER.BASE_LR: checkpoint 0.1, now 0.2" in message
    assert "MODEL.NUM_CLASSES: checkpoint 4, now 5" in message
    # Moving the folder or training longer is a legitimate resume.
    moved = CFG_YAML.replace("OUTPUT_DIR: /a", "OUTPUT_DIR: /b").replace("MAX_EPOCH: 3", "MAX_EPOCH: 6")
    assert resume(tmp_path, moved)[0]["epoch"] == 1
    # A key the checkpoint's code version did not have yet is not a difference.
    assert resume(tmp_path, CFG_YAML + "NEW_NODE:\n  NEW_KEY: 1\n")[0]["epoch"] == 1
    # Nor is a retired key that its config still holds (SOLVER.GAMMA, see config.defaults.RETIRED_KEYS).
    retired = tmp_path / "retired"
    retired.mkdir()
    save_epoch(retired, 0, fill=1.0, cfg_yaml=CFG_YAML.replace("  BASE_LR: 0.1\n", "  BASE_LR: 0.1\n  GAMMA: 0.1\n"))
    assert resume(retired)[0]["epoch"] == 1


def test_checkpoint_keep_deletes_all_but_the_newest_epoch_checkpoints(tmp_path):
    for epoch in (0, 1, 9, 10):  # epoch 10 sorts before 9 by name, not by number
        save_epoch(tmp_path, epoch, fill=float(epoch))
    save_last(tmp_path, 11, 1, fill=0.0)
    assert ckpt.prune_epoch_checkpoints(tmp_path, 0) == []
    deleted = ckpt.prune_epoch_checkpoints(tmp_path, 2)
    assert [p.name for p in deleted] == ["checkpoint_epoch_00001.pyth", "checkpoint_epoch_00002.pyth"]
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == [
        "checkpoint_epoch_00010.pyth", "checkpoint_epoch_00011.pyth"]
    assert ckpt.last_checkpoint_path(tmp_path).is_file()


def test_full_disk_at_save_fails_loudly_and_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    save_epoch(tmp_path, 0, fill=1.0)
    path = ckpt.checkpoint_path(tmp_path, 0)
    before = path.read_bytes()

    def disk_full(contents, handle):
        handle.write(b"\x80partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    with pytest.raises(ckpt.CheckpointError, match="No space left on device.*Earlier checkpoints are intact"):
        save_epoch(tmp_path, 0, fill=2.0)
    with pytest.raises(ckpt.CheckpointError, match="No space left on device"):
        save_last(tmp_path, 1, 1, fill=2.0)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary files left
    assert torch.equal(resume(tmp_path)[1].weight, torch.full((2, 3), 1.0))


def test_training_keeps_k_checkpoints_and_refuses_a_changed_config(make_cfg):
    values = {"SOLVER.MAX_EPOCH": 3, "SOLVER.STEPS": [0], "SOLVER.LRS": [1], "TRAIN.EVAL_PERIOD": 3,
              "TRAIN.CHECKPOINT_PERIOD": 1, "TRAIN.CHECKPOINT_KEEP": 1, "TEST.ENABLE": False}
    cfg = make_cfg(values)
    run(build_run_spec(cfg))
    assert [p.name for p in ckpt.list_checkpoints(cfg.OUTPUT_DIR)] == ["checkpoint_epoch_00003.pyth"]
    with pytest.raises(ckpt.CheckpointError, match="SOLVER.BASE_LR: checkpoint 0.0125, now 0.5"):
        run(build_run_spec(make_cfg({**values, "SOLVER.BASE_LR": 0.5})))
