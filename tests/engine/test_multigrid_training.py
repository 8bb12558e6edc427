"""Multigrid end to end in one process: logged shapes, LRs, checkpoints and evals follow the schedule."""
import logging
from pathlib import Path

import pytest
import torch

from slowfast.datasets.errors import DataError
from slowfast.engine import checkpoint as ckpt
from slowfast.engine.context import RunContext
from slowfast.engine.launch import run
from slowfast.engine.run_spec import build_run_spec
from slowfast.engine.trainer import Trainer
from slowfast.multigrid.sampler import count_batches
from slowfast.multigrid.schedule import Schedule, build_schedule

MG_CONFIG = str(Path(__file__).resolve().parents[2] / "configs" / "Synthetic" / "SLOWFAST_R18_MG.yaml")
NUM_TRAIN = 32
# Long-cycle shapes that keep T a multiple of SLOWFAST.ALPHA 4 at NUM_FRAMES 8.
TINY_FACTORS = [[0.5, 0.7071], [0.5, 1], [1, 0.7071], [1, 1]]
MULTIGRID = {
    "MULTIGRID.LONG_CYCLE_FACTORS": TINY_FACTORS,
    "MULTIGRID.EPOCH_FACTOR": 2.0,
    "MULTIGRID.BN_BASE_SIZE": 4,
    "MULTIGRID.EVAL_FREQ": 1,
    "TRAIN.BATCH_SIZE": 2,
    "TRAIN.EVAL_PERIOD": 2,
    "TRAIN.CHECKPOINT_PERIOD": 2,
    "SOLVER.MAX_EPOCH": 3,
    "SOLVER.BASE_LR": 0.01,
    "TEST.ENABLE": False,
}
STEP = {"SOLVER.LR_POLICY": "steps_with_relative_lrs", "SOLVER.STEPS": [0, 2], "SOLVER.LRS": [1, 0.1]}
COSINE = {"SOLVER.LR_POLICY": "cosine", "SOLVER.STEPS": [], "SOLVER.LRS": [1], "SOLVER.COSINE_END_LR": 0.001}
LONG_AND_SHORT = {"MULTIGRID.LONG_CYCLE": True, "MULTIGRID.SHORT_CYCLE": True}
LONG_ONLY = {"MULTIGRID.LONG_CYCLE": True, "MULTIGRID.SHORT_CYCLE": False, "TRAIN.BATCH_SIZE": 4}
SHORT_ONLY = {"MULTIGRID.LONG_CYCLE": False, "MULTIGRID.SHORT_CYCLE": True, "MULTIGRID.EPOCH_FACTOR": 1.0}
WARMUP = {"SOLVER.WARMUP_EPOCHS": 1.0, "SOLVER.WARMUP_START_LR": 0.001}

MODES = {
    "long+short, step, warmup": {**LONG_AND_SHORT, **STEP, **WARMUP},
    "long+short, cosine": {**LONG_AND_SHORT, **COSINE},
    "long only, step": {**LONG_ONLY, **STEP},
    "short only, step, warmup": {**SHORT_ONLY, **STEP, **WARMUP},
    "short only, cosine": {**SHORT_ONLY, **COSINE},
}


def expected_iterations(schedule: Schedule, epochs: range) -> list[tuple[str, str, int, str]]:
    """(epoch, iter, stage, "BxTxS") of every iteration of ``epochs``, as the trainer logs them."""
    rows = []
    for epoch in epochs:
        stage = schedule.stage_at(epoch)
        num_batches = count_batches(NUM_TRAIN, stage.short_cycle_batch_sizes)
        phases = len(stage.short_cycle_shapes)
        for it in range(num_batches):
            shape, batch = stage.short_cycle_shapes[it % phases], stage.short_cycle_batch_sizes[it % phases]
            rows.append((f"{epoch + 1}/{schedule.max_epoch}", f"{it + 1}/{num_batches}", stage.index,
                         f"{batch}x{shape.num_frames}x{shape.crop_size}"))
    return rows


def logged_iterations(records: list[dict]) -> list[tuple[str, str, int, str]]:
    return [(r["epoch"], r["iter"], r["stage"], r["shape"]) for r in records]


def expected_lr(schedule: Schedule, record: dict) -> float:
    """schedule.lr_at(epoch + it / batches_in_epoch) for a train_iter record."""
    epoch = int(record["epoch"].split("/")[0]) - 1
    it, num_batches = (int(part) for part in record["iter"].split("/"))
    return schedule.lr_at(epoch + (it - 1) / num_batches)


@pytest.mark.parametrize("mode", list(MODES))
def test_multigrid_run_follows_its_schedule(make_cfg, read_stats, mode):
    cfg = make_cfg({**MULTIGRID, **MODES[mode]}, config_file=MG_CONFIG)
    schedule = build_schedule(cfg)
    assert len({stage.base_shape for stage in schedule.stages}) == (1 if mode.startswith("short") else 4)
    assert len(schedule.stages[0].short_cycle_shapes) == (1 if mode.startswith("long only") else 3)
    run(build_run_spec(cfg))

    iters = read_stats(cfg.OUTPUT_DIR, "train_iter")
    assert logged_iterations(iters) == expected_iterations(schedule, range(schedule.max_epoch))
    for record in iters:
        assert record["lr"] == pytest.approx(expected_lr(schedule, record), abs=6e-6), record
    assert [r["global_iter"] for r in iters] == list(range(1, len(iters) + 1))

    saved = [p.name for p in ckpt.list_checkpoints(cfg.OUTPUT_DIR)]
    due = [e for e in range(schedule.max_epoch) if schedule.is_checkpoint_epoch(e)]
    assert saved == [ckpt.checkpoint_path(cfg.OUTPUT_DIR, e).name for e in due]
    assert len(due) < schedule.max_epoch  # some epochs are not due, so the comparison means something
    evaluated = [v["epoch"] for v in read_stats(cfg.OUTPUT_DIR, "val_epoch")]
    eval_due = [e for e in range(schedule.max_epoch) if schedule.is_eval_epoch(e)]
    assert evaluated == [f"{e + 1}/{schedule.max_epoch}" for e in eval_due]

    split = read_stats(cfg.OUTPUT_DIR, "time_split")
    assert [r["stage"] for r in split] == sorted({schedule.stage_at(e).index for e in range(schedule.max_epoch)})
    for record in split:
        epochs = [e for e in range(schedule.max_epoch) if schedule.stage_at(e).index == record["stage"]]
        assert record["step_s"] > 0 and record["data_s"] > 0 and record["compile_s"] == 0
        assert (record["val_s"] > 0) == any(schedule.is_eval_epoch(e) for e in epochs)
        assert (record["checkpoint_s"] > 0) == any(schedule.is_checkpoint_epoch(e) for e in epochs)
        parts = sum(value for key, value in record.items() if key.endswith("_s") and key != "total_s")
        assert record["total_s"] == pytest.approx(parts, abs=0.01)
    (run_time,) = read_stats(cfg.OUTPUT_DIR, "run_time")
    assert run_time["train_s"] >= sum(r["total_s"] for r in split) and run_time["test_s"] == 0


class Interrupted(Exception):
    """Stands for a run killed between two epochs."""


def group_layout(optimizer: torch.optim.Optimizer) -> list[tuple[str, list[int], dict]]:
    """Each param group's name, parameter identities and settings other than the LR."""
    return [
        (group["name"], [id(p) for p in group["params"]],
         {k: v for k, v in group.items() if k not in ("params", "lr")})
        for group in optimizer.param_groups
    ]


def test_stage_change_keeps_model_optimizer_state_and_loader_workers(make_cfg, read_metrics):
    cfg = make_cfg({**MULTIGRID, **LONG_AND_SHORT, **STEP, "DATA_LOADER.NUM_WORKERS": 2}, config_file=MG_CONFIG)
    trainer = Trainer(build_run_spec(cfg), RunContext(torch.device("cpu")))
    last_of_stage0 = trainer.schedule.stages[0].end_epoch - 1
    assert trainer.schedule.stage_at(last_of_stage0 + 1).index == 1
    model, optimizer, loader = trainer.model, trainer.optimizer, trainer.train_loader
    modules = list(model.modules())
    groups = group_layout(optimizer)

    trainer.train_epoch(last_of_stage0)
    workers = list(loader._iterator._workers)
    buffers = {p: optimizer.state[p]["momentum_buffer"] for p in model.parameters()}
    before = {p: buffer.clone() for p, buffer in buffers.items()}
    trainer.train_epoch(last_of_stage0 + 1)

    assert trainer.model is model and trainer.optimizer is optimizer and trainer.train_loader is loader
    assert all(a is b for a, b in zip(model.modules(), modules)) and len(list(model.modules())) == len(modules)
    assert group_layout(optimizer) == groups and [name for name, _, _ in groups] == ["bn", "non_bn"]
    # SGD updates its momentum buffers in place: the same tensors, carried on with new values.
    assert all(optimizer.state[p]["momentum_buffer"] is buffer for p, buffer in buffers.items())
    assert sum(not torch.equal(before[p], buffer) for p, buffer in buffers.items()) == len(buffers)
    # Persistent workers serve both stages: the sampler's items carry the new shapes.
    assert loader._iterator._workers == workers and all(w.is_alive() for w in workers)
    shapes = [(r["epoch"], r["shape"]) for r in read_metrics(cfg.OUTPUT_DIR, "train_iter")]
    expected = [(epoch, shape) for epoch, _, _, shape in
                expected_iterations(trainer.schedule, range(last_of_stage0, last_of_stage0 + 2))]
    assert shapes == expected and expected[0][1] != expected[-1][1]


def test_run_resumed_inside_a_stage_and_at_a_stage_change_repeats_the_uninterrupted_run(
    make_cfg, read_stats, monkeypatch
):
    # EVAL_FREQ 3: every epoch of the 2-epoch stage 0 is a checkpoint epoch. Dropout draws from
    # the global RNG, so this also checks that checkpoints carry and restore the RNG state.
    overrides = {**MULTIGRID, **LONG_AND_SHORT, **STEP, **WARMUP, "MULTIGRID.EVAL_FREQ": 3, "MODEL.DROPOUT_RATE": 0.5}
    whole = make_cfg(overrides, output="whole", config_file=MG_CONFIG)
    run(build_run_spec(whole))
    resumed = make_cfg(overrides, output="resumed", config_file=MG_CONFIG)
    schedule = build_schedule(resumed)
    assert [s.start_epoch for s in schedule.stages[:2]] == [0, 2]
    train_epoch = Trainer.train_epoch
    for stop_epoch in (1, 2):  # 1: inside stage 0; 2: the first epoch of stage 1

        def interrupt(self, epoch, stop_epoch=stop_epoch):
            if epoch == stop_epoch:
                raise Interrupted
            train_epoch(self, epoch)

        monkeypatch.setattr(Trainer, "train_epoch", interrupt)
        with pytest.raises(Interrupted):
            run(build_run_spec(resumed))
    monkeypatch.undo()
    run(build_run_spec(resumed))

    log = (Path(resumed.OUTPUT_DIR) / "stdout.log").read_text()
    assert "resumed from the checkpoint of epoch 1; continuing at epoch 2" in log
    assert "resumed from the checkpoint of epoch 2; continuing at epoch 3" in log

    def without_timing(records):
        return [{k: v for k, v in r.items() if k not in ("dt", "dt_data", "eta", "time_s")} for r in records]

    for kind in ("train_iter", "train_epoch", "val_epoch"):
        expected = without_timing(read_stats(whole.OUTPUT_DIR, kind))
        assert without_timing(read_stats(resumed.OUTPUT_DIR, kind)) == expected, kind
    # The time split comes back from the checkpoints: the last attempt reports every stage. Each
    # interrupted attempt reported its split too (stage 0: all its checkpoints had).
    stages = [r["stage"] for r in read_stats(whole.OUTPUT_DIR, "time_split")]
    assert stages == [0, 1, 2, 3, 4]
    assert [r["stage"] for r in read_stats(resumed.OUTPUT_DIR, "time_split")] == [0, 0] + stages
    last = schedule.max_epoch - 1
    whole_state = torch.load(ckpt.checkpoint_path(whole.OUTPUT_DIR, last), weights_only=True)["model_state"]
    resumed_state = torch.load(ckpt.checkpoint_path(resumed.OUTPUT_DIR, last), weights_only=True)["model_state"]
    assert all(torch.equal(whole_state[key], resumed_state[key]) for key in whole_state)


def small_train_split(synthetic_dir: Path, folder: Path, num_videos: int) -> Path:
    """A data folder whose train.csv holds the first ``num_videos`` synthetic training videos."""
    folder.mkdir()
    for split in ("train", "val", "test"):
        lines = [f"{synthetic_dir / line}" for line in (synthetic_dir / f"{split}.csv").read_text().splitlines()]
        (folder / f"{split}.csv").write_text("\n".join(lines[:num_videos] if split == "train" else lines) + "\n")
    return folder


@pytest.mark.parametrize(
    "num_videos, batch_size, message",
    [
        (32, 8, "multigrid stage 0 (epochs 0-1) needs batches of [64, 32, 32] clips (8 x TRAIN.BATCH_SIZE 8 first) but "
                "{train} lists 32 training videos; set TRAIN.BATCH_SIZE 4 or lower, or add training videos"),
        (6, 1, "multigrid stage 0 (epochs 0-1) needs batches of [8, 4, 4] clips (8 x TRAIN.BATCH_SIZE 1 first) but "
               "{train} lists 6 training videos: the dataset is too small for this schedule (at the smallest "
               "TRAIN.BATCH_SIZE, 1, stage 0 needs 8 videos); add training videos, or turn off "
               "MULTIGRID.SHORT_CYCLE or MULTIGRID.LONG_CYCLE, whose small shapes come in large batches"),
    ],
    ids=["a smaller batch fits", "too few videos for any batch"],
)
def test_a_train_split_smaller_than_a_stage_batch_says_what_fits(make_cfg, synthetic_dir, tmp_path, num_videos,
                                                                  batch_size, message):
    data = small_train_split(synthetic_dir, tmp_path / "data", num_videos)
    cfg = make_cfg({**MULTIGRID, **LONG_AND_SHORT, **STEP, "TRAIN.BATCH_SIZE": batch_size,
                    "DATA.PATH_TO_DATA_DIR": str(data)}, config_file=MG_CONFIG)
    with pytest.raises(DataError) as raised:
        Trainer(build_run_spec(cfg), RunContext(torch.device("cpu")))
    assert str(raised.value) == message.format(train=data / "train.csv")


def test_the_log_says_why_the_schedule_trains_more_epochs_than_max_epoch(make_cfg, caplog):
    cfg = make_cfg({**MULTIGRID, **LONG_AND_SHORT, **STEP, "SOLVER.MAX_EPOCH": 1, "SOLVER.STEPS": [0],
                    "SOLVER.LRS": [1], "MULTIGRID.EPOCH_FACTOR": 1.5}, config_file=MG_CONFIG)
    trainer = Trainer(build_run_spec(cfg), RunContext(torch.device("cpu")))
    with caplog.at_level(logging.INFO):
        trainer._log_setup()
    assert trainer.schedule.max_epoch == 2
    assert caplog.records[-1].getMessage() == (
        "training runs 2 epochs for SOLVER.MAX_EPOCH 1: the long cycle trains SOLVER.MAX_EPOCH x "
        "MULTIGRID.EPOCH_FACTOR 1.5 = 1.5 epochs, stage ends rounded to whole epochs; MULTIGRID.EPOCH_FACTOR 1.0 "
        "trains exactly SOLVER.MAX_EPOCH epochs")
