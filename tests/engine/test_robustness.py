"""Runs that meet broken videos or a diverging loss: skip and count, or stop with a clear message."""
import logging
import math
import re
from pathlib import Path

import pytest
import torch

from slowfast.engine import checkpoint as ckpt
from slowfast.engine import trainer as trainer_module
from slowfast.engine.data_health import TooManyFailedVideosError
from slowfast.engine.finite_guard import NonFiniteLossError
from slowfast.engine.launch import run
from slowfast.engine.run_spec import build_run_spec

ONE_EPOCH = {"SOLVER.MAX_EPOCH": 1, "SOLVER.STEPS": [0], "SOLVER.LRS": [1], "TRAIN.EVAL_PERIOD": 1}


def absolute_lines(data_dir: Path, split: str) -> list[str]:
    """The split's CSV lines with absolute video paths, so a copy of the CSV works anywhere."""
    return [f"{data_dir / line}" for line in (data_dir / f"{split}.csv").read_text().splitlines()]


@pytest.fixture
def data_with_broken_videos(synthetic_dir, tmp_path) -> tuple[Path, Path, Path]:
    """The synthetic dataset plus a zero-byte .mp4 and a text file named .mp4 in every split.

    train.csv keeps 30 good videos + the 2 broken ones (32 = 4 batches of 8, so both are drawn
    in one epoch); val.csv gets the text file, test.csv the empty file.
    """
    folder = tmp_path / "broken_data"
    folder.mkdir()
    empty, text = folder / "empty.mp4", folder / "text.mp4"
    empty.write_bytes(b"")
    text.write_text("this is not a video\n")
    splits = {
        "train": absolute_lines(synthetic_dir, "train")[:30] + [f"{empty} 0", f"{text} 1"],
        "val": absolute_lines(synthetic_dir, "val") + [f"{text} 2"],
        "test": absolute_lines(synthetic_dir, "test") + [f"{empty} 3"],
    }
    for split, lines in splits.items():
        (folder / f"{split}.csv").write_text("\n".join(lines) + "\n")
    return folder, empty, text


def test_broken_training_videos_are_skipped_and_broken_eval_videos_counted(
    make_cfg, read_stats, data_with_broken_videos
):
    folder, empty, text = data_with_broken_videos
    cfg = make_cfg({**ONE_EPOCH, "DATA.PATH_TO_DATA_DIR": str(folder), "TEST.NUM_ENSEMBLE_VIEWS": 2})
    run(build_run_spec(cfg))

    log = (Path(cfg.OUTPUT_DIR) / "stdout.log").read_text()
    warnings = [line for line in log.splitlines() if "[WARNING]" in line]
    for path in (empty, text):
        assert any(f"Skipping training video {path}" in line for line in warnings), warnings
    assert any(f"Counting val video {text} as failed" in line for line in warnings)
    assert any(f"Counting test video {empty} as failed" in line for line in warnings)

    (epoch,) = read_stats(cfg.OUTPUT_DIR, "train_epoch")
    assert epoch["samples_seen"] == 32 and math.isfinite(epoch["loss"])
    assert epoch["skipped_videos"] == 2  # each broken video's clip came from a replacement
    (val,) = read_stats(cfg.OUTPUT_DIR, "val_epoch")
    assert (val["num_videos"], val["num_failed"], val["incomplete"]) == (8, 1, 1)
    (test,) = read_stats(cfg.OUTPUT_DIR, "test_final")
    # Both views (2 temporal x 1 spatial) of the broken test video fail.
    assert (test["num_videos"], test["num_failed"], test["incomplete"]) == (8, 2, 1)


def test_more_failed_clips_than_max_failed_share_over_the_epoch_stops_the_run(make_cfg, data_with_broken_videos):
    folder, _, _ = data_with_broken_videos
    # 2 of the 32 clips are substitutes: 0.0625 of the epoch, judged once the whole (short) epoch
    # was drawn, so the run stops at its last iteration, before any checkpoint.
    cfg = make_cfg({**ONE_EPOCH, "DATA.PATH_TO_DATA_DIR": str(folder), "DATA.MAX_FAILED_SHARE": 0.05})
    with pytest.raises(TooManyFailedVideosError) as raised:
        run(build_run_spec(cfg))
    assert str(raised.value) == (
        "2 of the 32 training clips of epoch 1 so far (iteration 4) come from replacement videos (their own "
        "failed to decode), more than DATA.MAX_FAILED_SHARE=0.05; 2 of the 32 files in "
        f"{folder}/train.csv have failed so far: see the 'Skipping training video' warnings for the files and "
        "reasons, fix or drop them"
    )
    assert ckpt.list_checkpoints(cfg.OUTPUT_DIR) == []


def test_a_third_of_the_list_broken_trains_and_tests_to_the_end_naming_every_broken_file(
    make_cfg, read_stats, synthetic_dir, tmp_path
):
    # The list: 16 videos of which 5 are broken (31 %, under the default share 0.5), batches
    # of 2, so some batch is likely all substitutes; the share is judged over the epoch instead.
    folder = tmp_path / "five_broken"
    folder.mkdir()
    good = absolute_lines(synthetic_dir, "train")[:11]
    video = Path(good[0].rsplit(" ", 1)[0]).read_bytes()
    broken = {"empty.mp4": b"", "text.mp4": b"this is not a video\n", "truncated.mp4": video[: len(video) // 2],
              "garbled.mp4": bytes(reversed(video[: len(video) // 2])) + video[len(video) // 2:]}
    for name, content in broken.items():
        (folder / name).write_bytes(content)
    paths = [folder / name for name in broken] + [folder / "missing.mp4"]
    lines = good[:3] + [f"{paths[0]} 0", f"{paths[1]} 1"] + good[3:7] + [f"{p} 2" for p in paths[2:]] + good[7:]
    (folder / "train.csv").write_text("\n".join(lines) + "\n")
    for split in ("val", "test"):
        (folder / f"{split}.csv").write_text("\n".join(absolute_lines(synthetic_dir, split)) + "\n")
    cfg = make_cfg({"SOLVER.MAX_EPOCH": 2, "SOLVER.STEPS": [0], "SOLVER.LRS": [1], "TRAIN.BATCH_SIZE": 2,
                    "DATA.PATH_TO_DATA_DIR": str(folder)})
    run(build_run_spec(cfg))

    log = (Path(cfg.OUTPUT_DIR) / "stdout.log").read_text()
    named = re.findall(r"training video (\S+) failed to decode \((\d+) of the 16 files in (\S+) so far\)", log)
    assert sorted(path for path, _, _ in named) == sorted(map(str, paths))
    assert [int(count) for _, count, _ in named] == [1, 2, 3, 4, 5]
    assert {source for _, _, source in named} == {f"{folder}/train.csv"}
    epochs = read_stats(cfg.OUTPUT_DIR, "train_epoch")
    assert [e["skipped_videos"] for e in epochs] == [5, 5] and [e["samples_seen"] for e in epochs] == [16, 32]
    (test,) = read_stats(cfg.OUTPUT_DIR, "test_final")
    assert test["num_videos"] == 8


def test_huge_learning_rate_stops_the_run_naming_iteration_stage_and_shape(make_cfg, read_stats):
    cfg = make_cfg({**ONE_EPOCH, "SOLVER.BASE_LR": 1e6, "MODEL.DROPOUT_RATE": 0.0, "TEST.ENABLE": False})
    with pytest.raises(NonFiniteLossError) as raised:
        run(build_run_spec(cfg))
    match = re.fullmatch(
        r"loss is (nan|inf) at epoch 1, iteration (\d), stage 0, batch shape \(8, 3, 8, 32, 32\); "
        r"lower SOLVER.BASE_LR or check the data. There is no checkpoint: rerunning starts afresh",
        str(raised.value),
    )
    assert match, str(raised.value)
    # LOG_PERIOD 1: every iteration before the failing one was logged with a finite loss.
    finite = read_stats(cfg.OUTPUT_DIR, "train_iter")
    assert len(finite) == int(match.group(2)) - 1 and all(math.isfinite(r["loss"]) for r in finite)
    assert ckpt.list_checkpoints(cfg.OUTPUT_DIR) == []


def test_non_finite_loss_inside_a_multigrid_stage_names_that_iteration(make_cfg, monkeypatch):
    calls = {"count": 0}
    real_build_loss = trainer_module.build_loss

    def nan_on_call(target_call: int):
        loss_fn = real_build_loss("cross_entropy")

        def loss(logits, labels):
            calls["count"] += 1
            value = loss_fn(logits, labels)
            return value * float("nan") if calls["count"] == target_call else value

        return loss

    # Long+short cycle, batch 2: stage 0 (epochs 1-2) has 3 iterations per epoch, so call 8 is
    # the 2nd iteration of epoch 3, the first epoch of stage 1 (4 frames, short-cycle crop 23).
    monkeypatch.setattr(trainer_module, "build_loss", lambda name: nan_on_call(8))
    cfg = make_cfg({
        "MULTIGRID.LONG_CYCLE": True, "MULTIGRID.SHORT_CYCLE": True, "MULTIGRID.EPOCH_FACTOR": 2.0,
        "MULTIGRID.LONG_CYCLE_FACTORS": [[0.5, 0.7071], [0.5, 1], [1, 0.7071], [1, 1]],
        "TRAIN.BATCH_SIZE": 2, "SOLVER.MAX_EPOCH": 3, "SOLVER.STEPS": [0, 2], "SOLVER.LRS": [1, 0.1],
        "SOLVER.BASE_LR": 0.01, "TEST.ENABLE": False,
    })
    with pytest.raises(NonFiniteLossError) as raised:
        run(build_run_spec(cfg))
    assert str(raised.value) == (
        "loss is nan at epoch 3, iteration 2, stage 1, batch shape (8, 3, 4, 23, 23); "
        f"lower SOLVER.BASE_LR or check the data. No checkpoint was written after it: rerunning resumes from "
        f"{ckpt.checkpoint_path(cfg.OUTPUT_DIR, 1)}"
    )


def test_non_finite_loss_skips_the_step_when_configured(make_cfg, monkeypatch, caplog):
    real_build_loss = trainer_module.build_loss
    calls = {"count": 0}

    def nan_on_third_call(name):
        loss_fn = real_build_loss(name)

        def loss(logits, labels):
            calls["count"] += 1
            value = loss_fn(logits, labels)
            return value * float("nan") if calls["count"] == 3 else value

        return loss

    monkeypatch.setattr(trainer_module, "build_loss", nan_on_third_call)
    cfg = make_cfg({"TRAIN.NON_FINITE_LOSS": "skip", "SOLVER.MAX_EPOCH": 1, "SOLVER.STEPS": [0],
                    "SOLVER.LRS": [1], "TEST.ENABLE": False, "LOG_PERIOD": 100})
    with caplog.at_level(logging.WARNING):
        run(build_run_spec(cfg))
    skipped = [r.getMessage() for r in caplog.records if "skipped the update" in r.getMessage()]
    assert skipped == [
        "skipped the update of epoch 1, iteration 3, stage 0, batch shape (8, 3, 8, 32, 32): "
        "the loss is not finite (TRAIN.NON_FINITE_LOSS skip)"
    ]
    state = ckpt.load_checkpoint_file(ckpt.find_last_checkpoint(cfg.OUTPUT_DIR))
    assert state["trainer_state"]["skipped_steps"] == 1
    assert state["trainer_state"]["global_iter"] == 4
    assert all(torch.isfinite(t).all() for t in state["model_state"].values() if t.is_floating_point())


def nan_loss_at_call(target_call: int):
    """A build_loss whose loss is NaN at call ``target_call`` only (counted over the process)."""
    real_build_loss = trainer_module.build_loss
    calls = {"count": 0}

    def build(name):
        loss_fn = real_build_loss(name)

        def loss(logits, labels):
            calls["count"] += 1
            value = loss_fn(logits, labels)
            return value * float("nan") if calls["count"] == target_call else value

        return loss

    return build


def all_finite(path: Path) -> bool:
    state = ckpt.load_checkpoint_file(path)["model_state"]
    return all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point())


def test_nan_at_an_unlogged_iteration_writes_no_checkpoint_after_it_and_the_rerun_resumes_before_it(
    make_cfg, monkeypatch, read_stats
):
    # A "last" checkpoint after every iteration, a log line only every 100: the NaN loss of iteration 3
    # must stop the run before that iteration's checkpoint, not at the next log line or the epoch end,
    # so that no checkpoint holds its NaN weights for a rerun to resume from.
    values = {**ONE_EPOCH, "SOLVER.MAX_EPOCH": 2, "TRAIN.CHECKPOINT_MINUTES": 1e-9, "LOG_PERIOD": 100,
              "TEST.ENABLE": False}
    cfg = make_cfg(values)
    monkeypatch.setattr(trainer_module, "build_loss", nan_loss_at_call(7))  # epoch 2, iteration 3
    with pytest.raises(NonFiniteLossError) as raised:
        run(build_run_spec(cfg))
    last = ckpt.last_checkpoint_path(cfg.OUTPUT_DIR)
    assert str(raised.value) == (
        "loss is nan at epoch 2, iteration 3, stage 0, batch shape (8, 3, 8, 32, 32); lower SOLVER.BASE_LR or "
        f"check the data. No checkpoint was written after it: rerunning resumes from {last}"
    )
    saved = [last, *ckpt.list_checkpoints(cfg.OUTPUT_DIR)]
    assert all(all_finite(path) for path in saved)
    assert ckpt.load_checkpoint_file(last)["next_batch"] == 2  # the two finite steps of epoch 2

    monkeypatch.setattr(trainer_module, "build_loss", nan_loss_at_call(0))  # the data is fixed: no NaN
    run(build_run_spec(cfg))
    log = (Path(cfg.OUTPUT_DIR) / "stdout.log").read_text()
    assert "resumed from checkpoint_last.pyth; continuing at epoch 2, batch 3" in log
    assert all_finite(ckpt.checkpoint_path(cfg.OUTPUT_DIR, 1))


def test_non_finite_weights_with_finite_losses_are_never_saved(make_cfg, monkeypatch):
    cfg = make_cfg({**ONE_EPOCH, "TEST.ENABLE": False})
    real_step = trainer_module.Trainer.train_step
    steps = {"count": 0}

    def poisoning_step(self, inputs, labels):
        result = real_step(self, inputs, labels)
        steps["count"] += 1
        if steps["count"] == 4:  # the epoch's last step: its loss was finite, no later step sees the weights
            with torch.no_grad():
                next(iter(self.model.parameters())).fill_(float("inf"))
        return result

    monkeypatch.setattr(trainer_module.Trainer, "train_step", poisoning_step)
    with pytest.raises(NonFiniteLossError, match=r"^the weights hold NaN or infinite values at epoch 1 although "
                                                 r"every loss was finite; they were not saved; .* There is no "
                                                 r"checkpoint: rerunning starts afresh$"):
        run(build_run_spec(cfg))
    assert ckpt.list_checkpoints(cfg.OUTPUT_DIR) == []


def test_resume_skips_checkpoints_with_non_finite_weights_or_says_there_is_none(make_cfg):
    cfg = make_cfg({**ONE_EPOCH, "SOLVER.MAX_EPOCH": 2, "TRAIN.CHECKPOINT_PERIOD": 1, "TEST.ENABLE": False})
    run(build_run_spec(cfg))
    from slowfast.utils.distributed import unwrap

    trainer = trainer_module.Trainer(build_run_spec(cfg), trainer_module.RunContext(torch.device("cpu")))
    model, optimizer = unwrap(trainer.model), trainer.optimizer
    newest = ckpt.checkpoint_path(cfg.OUTPUT_DIR, 1)
    contents = ckpt.load_checkpoint_file(newest)
    key = next(k for k, v in contents["model_state"].items() if v.is_floating_point())
    contents["model_state"][key] = torch.full_like(contents["model_state"][key], float("nan"))
    ckpt.write_checkpoint_file(contents, newest)  # the newest checkpoint now holds NaN weights
    resumed = ckpt.resume_latest(cfg.OUTPUT_DIR, model, optimizer, cfg.dump())
    assert resumed["path"] == ckpt.checkpoint_path(cfg.OUTPUT_DIR, 0)
    ckpt.checkpoint_path(cfg.OUTPUT_DIR, 0).unlink()
    with pytest.raises(ckpt.CheckpointError, match=r"^no readable checkpoint with finite weights among "
                                                   r"\['checkpoint_epoch_00002.pyth'\]"):
        ckpt.resume_latest(cfg.OUTPUT_DIR, model, optimizer, cfg.dump())
