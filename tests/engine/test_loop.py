"""The training loop and its hooks with a toy model and a fake loader: no video is decoded."""
import gc
import math
import time
import weakref
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from slowfast.engine import checkpoint as ckpt
from slowfast.engine.epoch_hooks import EpochCheckpointer, Evaluation, LastCheckpointer
from slowfast.engine.finite_guard import NonFiniteLossError
from slowfast.engine.hooks import EpochStats, FiniteLoss, IterationLogger, StepTimeSplit
from slowfast.engine.loop import HookBase, TrainerBase
from slowfast.engine.state import TrainerState
from slowfast.engine.time_split import CATEGORIES
from slowfast.utils import distributed
from slowfast.utils.logging import MetricsWriter

CFG_YAML = "MODEL:\n  NUM_CLASSES: 3\n"


class FakeSchedule:
    """Two stages of two epochs; LR falls linearly from 1 over the run; every epoch is evaluated."""

    max_epoch = 4

    def lr_at(self, epoch: float) -> float:
        return 1.0 - epoch / self.max_epoch

    def stage_at(self, epoch: int):
        return SimpleNamespace(index=epoch // 2, short_cycle_batch_sizes=[2])

    def is_eval_epoch(self, epoch: int) -> bool:
        return True

    def is_checkpoint_epoch(self, epoch: int) -> bool:
        return epoch % 2 == 1


class FakeSampler:
    """``batches`` batches of 2 clips per epoch; the first batch of each stage has its own shape."""

    def __init__(self, batches: int = 3) -> None:
        self.batches_in_epoch, self.dataset_size, self.epoch, self.start_batch = batches, 2 * batches, 0, 0

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch, self.start_batch = epoch, start_batch

    def __iter__(self):
        for b in range(self.start_batch, self.batches_in_epoch):
            yield [(2 * b, None, self.epoch), (2 * b + 1, None, self.epoch)]


class FakeLoader:
    """Yields (clips, labels, used videos) for the sampler's batches, waiting ``wait`` seconds each."""

    def __init__(self, sampler: FakeSampler, wait: float = 0.0) -> None:
        self.sampler, self.wait = sampler, wait

    def __iter__(self):
        for batch in self.sampler:
            time.sleep(self.wait)
            indices = torch.tensor([index for index, _, _ in batch])
            generator = torch.Generator().manual_seed(int(indices[0]))
            clips = torch.rand(len(batch), 3, 2, 4, 4, generator=generator)
            yield clips, indices % 3, indices


class Toy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.linear = nn.Linear(3 * 2 * 4 * 4, 3)

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        return self.linear(inputs[0].flatten(1))


def toy_trainer(hooks=(), loss_fn=None, wait: float = 0.0, **kwargs) -> TrainerBase:
    model = Toy()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sampler = FakeSampler()
    return TrainerBase(model, optimizer, FakeLoader(sampler, wait), sampler, FakeSchedule(), hooks,
                       loss_fn=loss_fn or nn.CrossEntropyLoss(), **kwargs)


class Recorder(HookBase):
    """Appends (name, event, epoch, iteration) to a shared list at every event."""

    def __init__(self, name: str, calls: list) -> None:
        self.name, self.calls = name, calls

    def _record(self, event: str) -> None:
        step = self.trainer.step
        iteration = step.iteration if event.endswith("_step") else None
        self.calls.append((self.name, event, self.trainer.epoch, iteration))


for _event in ("before_train", "before_epoch", "before_step", "after_step", "after_epoch", "after_train"):
    setattr(Recorder, _event, lambda self, _event=_event: self._record(_event))


def nan_at_call(number: int):
    """Cross-entropy whose ``number``-th call (1-based) returns NaN."""
    calls = {"count": 0}

    def loss(logits, labels):
        calls["count"] += 1
        value = nn.functional.cross_entropy(logits, labels)
        return value * float("nan") if calls["count"] == number else value

    return loss


def slow_loss(seconds: float):
    """Cross-entropy that sleeps first, so a step lasts longer than any clock's resolution."""

    def loss(logits, labels):
        time.sleep(seconds)
        return nn.functional.cross_entropy(logits, labels)

    return loss


def test_hooks_are_called_in_order_at_every_event():
    calls: list = []
    trainer = toy_trainer([Recorder("a", calls), Recorder("b", calls)])
    trainer.train(0, 2)
    expected = [("a", "before_train", 0, None), ("b", "before_train", 0, None)]
    for epoch in range(2):
        expected += [("a", "before_epoch", epoch, None), ("b", "before_epoch", epoch, None)]
        for it in range(3):
            expected += [(name, event, epoch, it) for event in ("before_step", "after_step") for name in "ab"]
        expected += [("a", "after_epoch", epoch, None), ("b", "after_epoch", epoch, None)]
    expected += [("a", "after_train", 1, None), ("b", "after_train", 1, None)]
    assert calls == expected
    assert (trainer.state.global_iter, trainer.state.samples_seen) == (6, 12)


def test_each_iteration_sets_the_schedules_lr_and_updates_the_model():
    lrs = []

    class LR(HookBase):
        def after_step(self):
            lrs.append((self.trainer.step.lr, self.trainer.optimizer.param_groups[0]["lr"]))

    trainer = toy_trainer([LR()])
    before = trainer.model.linear.weight.clone()
    trainer.train(1, 2)
    assert lrs == [(pytest.approx(1 - (1 + it / 3) / 4),) * 2 for it in range(3)]
    assert not torch.equal(before, trainer.model.linear.weight)


def test_a_resumed_epoch_starts_at_its_first_untrained_batch():
    calls: list = []
    trainer = toy_trainer([Recorder("a", calls)])
    trainer.start_batch = 2
    trainer.train(3, 4)
    assert [it for _, event, _, it in calls if event == "before_step"] == [2]
    assert trainer.state.global_iter == 1 and trainer.start_batch == 0


def test_a_hook_raising_stops_the_loop_and_after_train_still_runs():
    calls: list = []

    class Boom(HookBase):
        def after_step(self):
            if self.trainer.step.iteration == 1:
                raise RuntimeError("boom")

    trainer = toy_trainer([Boom(), Recorder("a", calls)])
    with pytest.raises(RuntimeError, match="boom"):
        trainer.train(0, 2)
    assert [(event, it) for _, event, _, it in calls if event.endswith("step")] == [
        ("before_step", 0), ("after_step", 0), ("before_step", 1)]
    assert trainer.state.global_iter == 2 and calls[-1] == ("a", "after_train", 0, None)


def test_a_non_finite_loss_skips_the_update_when_asked_and_the_run_goes_on(caplog):
    seen, weights = [], []

    class Skips(HookBase):
        def after_step(self):
            seen.append(self.trainer.step.skipped)
            weights.append(self.trainer.model.linear.weight.detach().clone())

    trainer = toy_trainer([Skips(), FiniteLoss(torch.device("cpu"), "unused", log_period=1)],
                          loss_fn=nan_at_call(2), skip_non_finite=True)
    trainer.train(0, 1)
    assert seen == [False, True, False]
    assert torch.equal(weights[0], weights[1]) and not torch.equal(weights[1], weights[2])
    assert (trainer.state.skipped_steps, trainer.state.global_iter) == (1, 3)
    assert trainer.state.state_dict()["skipped_steps"] == 1
    assert "skipped the update of epoch 1, iteration 2, stage 0, batch shape (2, 3, 2, 4, 4)" in caplog.text


def test_a_non_finite_loss_stops_the_run_naming_the_iteration_when_not_skipped(tmp_path):
    trainer = toy_trainer([FiniteLoss(torch.device("cpu"), str(tmp_path), log_period=100)], loss_fn=nan_at_call(2))
    with pytest.raises(NonFiniteLossError, match=r"^loss is nan at epoch 1, iteration 2, stage 0, batch shape "
                                                 r"\(2, 3, 2, 4, 4\); .* There is no checkpoint: "
                                                 r"rerunning starts afresh$"):
        trainer.train(0, 1)  # checked at the epoch's last iteration (always logged)
    assert trainer.state.global_iter == 3


def test_trainer_state_round_trips_and_writes_what_checkpoints_always_held():
    state = TrainerState(global_iter=7, samples_seen=56)
    state.time_split.add(1, "val", 2.5)
    saved = state.state_dict()
    assert saved == {"global_iter": 7, "samples_seen": 56,
                     "time_split": {"1": {**dict.fromkeys(CATEGORIES, 0.0), "val": 2.5}}}
    restored = TrainerState()
    restored.load_state_dict(saved)
    assert restored.state_dict() == saved
    older = TrainerState()
    older.load_state_dict({"global_iter": 3, "samples_seen": 6, "best_top1": 0.0})  # no time split yet
    assert older.global_iter == 3 and older.time_split.records() == []


def test_the_evaluation_hook_keeps_the_best_metrics_as_its_state():
    evaluation = Evaluation(None, None, 3, "sum", "softmax", None, None, None, MetricsWriter(None, "toy"))
    assert evaluation.state_dict() == {"best_top1": 0.0}
    evaluation.best.update({"top1": 50.0, "top5": 90.0})
    evaluation.best.update({"top1": 40.0, "top5": 95.0, "map": 0.3})
    assert evaluation.state_dict() == {"best_top1": 50.0, "best_top5": 95.0, "best_map": 0.3}
    restored = Evaluation(None, None, 3, "sum", "softmax", None, None, None, MetricsWriter(None, "toy"))
    restored.load_state_dict({"best_top1": 50.0, "best_top5": 95.0})
    assert (restored.best.value("top1"), restored.best.value("top5"), restored.best.map) == (50.0, 95.0, None)


def test_time_split_counts_data_steps_and_compile_per_stage(caplog):
    trainer = toy_trainer([StepTimeSplit(compiling=True, stats_dir=None, is_main=True)], loss_fn=slow_loss(0.005),
                          wait=0.01)
    with caplog.at_level("INFO"):
        trainer.train(1, 3)  # epoch 1 in stage 0, epoch 2 in stage 1
    records = trainer.state.time_split.records()
    assert [r["stage"] for r in records] == [0, 1]
    for record in records:
        assert record["data_s"] >= 0.025 and record["step_s"] >= 0.005
        assert record["val_s"] == record["precise_bn_s"] == record["checkpoint_s"] == 0
    # One batch shape: only the run's first step counts as compile time.
    assert records[0]["compile_s"] >= 0.005 and records[1]["compile_s"] == 0
    assert caplog.text.count("compiled the model for batch shape (2, 3, 2, 4, 4)") == 1
    assert "seconds per multigrid stage" in caplog.text


def test_checkpointer_saves_checkpoint_epochs_with_the_state_and_times_itself(tmp_path):
    finite = FiniteLoss(torch.device("cpu"), str(tmp_path), log_period=1)
    checkpointer = EpochCheckpointer(str(tmp_path), CFG_YAML, keep=1, finite=finite, is_main=True)
    trainer = toy_trainer([finite, checkpointer])
    trainer.train(0, 4)
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == ["checkpoint_epoch_00004.pyth"]  # keep 1
    saved = ckpt.load_checkpoint_file(ckpt.checkpoint_path(tmp_path, 3))
    assert saved["trainer_state"]["global_iter"] == 12 and saved["rng_state"] is not None
    assert saved["hooks"] == {}  # neither hook has state
    # Stage 0's checkpoint (epoch 2) was timed; the save in progress counts once it is done.
    assert saved["trainer_state"]["time_split"]["0"]["checkpoint"] > 0

    fresh = toy_trainer()
    resumed = ckpt.resume_latest(tmp_path, fresh.model, fresh.optimizer, CFG_YAML)
    fresh.state.load_state_dict(resumed["trainer_state"])
    assert resumed["epoch"] == 4 and fresh.state.global_iter == 12
    assert torch.equal(fresh.model.linear.weight, trainer.model.linear.weight)


def test_logging_hooks_write_iteration_and_epoch_records(tmp_path, read_metrics):
    logger_hook = IterationLogger(log_period=2, stats_dir=str(tmp_path), writer=MetricsWriter(None, "toy"),
                                  multi_label=False, batches_in=lambda epoch: 3)
    epoch_stats = EpochStats(stats_dir=str(tmp_path), multi_label=False)
    trainer = toy_trainer([logger_hook, epoch_stats])
    trainer.train(0, 2)
    iters = read_metrics(tmp_path, "train_iter")
    assert [(r["epoch"], r["iter"], r["global_iter"], r["shape"]) for r in iters] == [
        ("1/4", "2/3", 2, "2x2x4"), ("1/4", "3/3", 3, "2x2x4"), ("2/4", "2/3", 5, "2x2x4"), ("2/4", "3/3", 6, "2x2x4")]
    assert [r["eta"] for r in iters][-1] is not None and all(math.isfinite(r["loss"]) for r in iters)
    epochs = read_metrics(tmp_path, "train_epoch")
    assert [(r["epoch"], r["stage"], r["samples_seen"]) for r in epochs] == [("1/4", 0, 6), ("2/4", 0, 12)]
    assert set(trainer.hook_states()) == {"EpochStats"}
    assert set(trainer.hook_states()["EpochStats"]) == {"loss", "correct", "samples", "steps", "has_correct"}


class Interrupted(Exception):
    """Stands for a kill."""


def run_with_last_checkpoint(output_dir, stop_at=None, resume=False) -> TrainerBase:
    """One epoch; 61 s pass (a fake clock) before the 2nd step, so checkpoint_last.pyth is written
    after it (TRAIN.CHECKPOINT_MINUTES 1); ``stop_at`` raises after that iteration."""
    cpu, now = torch.device("cpu"), [0.0]
    finite = FiniteLoss(cpu, str(output_dir), log_period=1)
    last = LastCheckpointer(str(output_dir), CFG_YAML, 1, finite, is_main=True, world_size=1, device=cpu)
    last.timer = ckpt.CheckpointTimer(1, clock=lambda: now[0])

    class Clock(HookBase):
        def before_step(self):
            now[0] += 61.0 if self.trainer.step.iteration == 1 else 0.0

    class Stop(HookBase):
        def after_step(self):
            if self.trainer.step.iteration == stop_at:
                raise Interrupted

    trainer = toy_trainer([Clock(), EpochStats(str(output_dir), multi_label=False), finite, last, Stop()])
    start_epoch = 0
    if resume:
        resumed = ckpt.resume_latest(output_dir, trainer.model, trainer.optimizer, CFG_YAML)
        start_epoch, trainer.start_batch = resumed["epoch"], resumed["start_batch"]
        trainer.load_hook_states(resumed["hooks"])
        trainer.state.load_state_dict(resumed["trainer_state"])
    trainer.train(start_epoch, 1)
    return trainer


def test_a_run_resumed_from_the_mid_epoch_checkpoint_ends_like_the_uninterrupted_one(tmp_path, read_metrics):
    whole = run_with_last_checkpoint(tmp_path / "whole")
    with pytest.raises(Interrupted):
        run_with_last_checkpoint(tmp_path / "resumed", stop_at=1)
    saved = ckpt.load_checkpoint_file(ckpt.last_checkpoint_path(tmp_path / "resumed"))
    assert (saved["epoch"], saved["next_batch"], saved["hooks"]["EpochStats"]["steps"]) == (0, 2, 2)
    resumed = run_with_last_checkpoint(tmp_path / "resumed", resume=True)

    assert torch.equal(whole.model.linear.weight, resumed.model.linear.weight)
    assert resumed.state.global_iter == whole.state.global_iter == 3
    (expected,) = read_metrics(tmp_path / "whole", "train_epoch")
    (actual,) = read_metrics(tmp_path / "resumed", "train_epoch")
    assert expected == actual  # the epoch's mean loss and errors include the steps before the kill


class ClosingWriter(MetricsWriter):
    """A disabled writer that counts its closes."""

    def __init__(self) -> None:
        super().__init__(None, "toy")
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def test_a_run_stopped_by_a_non_finite_loss_still_closes_its_writer_and_logs_its_time_split(tmp_path, caplog):
    writer = ClosingWriter()
    hooks = [FiniteLoss(torch.device("cpu"), str(tmp_path), log_period=1),
             IterationLogger(1, None, writer, multi_label=False, batches_in=lambda epoch: 3),
             StepTimeSplit(compiling=False, stats_dir=None, is_main=True)]
    trainer = toy_trainer(hooks, loss_fn=nan_at_call(2))
    with caplog.at_level("INFO"), pytest.raises(NonFiniteLossError, match=r"^loss is nan at epoch 1, iteration 2"):
        trainer.train(0, 2)
    assert writer.closed == 1
    assert "seconds per multigrid stage" in caplog.text


def test_an_after_train_that_fails_while_the_run_stops_leaves_the_runs_error_raised(caplog):
    calls: list = []

    class Boom(HookBase):
        def after_step(self):
            raise RuntimeError("the run's error")

        def after_train(self):
            raise OSError("cannot close")

    trainer = toy_trainer([Boom(), Recorder("a", calls)])
    with pytest.raises(RuntimeError, match="the run's error"):
        trainer.train(0, 1)
    assert calls[-1] == ("a", "after_train", 0, None)  # the hooks after the failing one ran too
    assert "Boom.after_train failed while the run stopped on an error" in caplog.text and "cannot close" in caplog.text


def test_hooks_hold_their_trainer_weakly():
    hook = Recorder("a", [])
    with pytest.raises(ReferenceError, match="hook a has no trainer"):
        hook.trainer
    trainer = toy_trainer([hook])
    assert hook.trainer is trainer
    gone = weakref.ref(trainer)
    gc.disable()
    try:
        del trainer
        assert gone() is None  # freed by its reference count: no cycle through the hook
    finally:
        gc.enable()
    with pytest.raises(ReferenceError):
        hook.trainer


class Counter(HookBase):
    """A hook with state: how many steps it saw."""

    def __init__(self) -> None:
        self.steps = 0

    def after_step(self):
        self.steps += 1

    def state_dict(self) -> dict:
        return {"steps": self.steps}

    def load_state_dict(self, state: dict) -> None:
        self.steps = state["steps"]


def test_hook_state_is_kept_by_hook_name_and_given_back_to_the_hook_of_that_name(caplog):
    trainer = toy_trainer([Recorder("a", []), Counter()])
    trainer.train(0, 1)
    assert trainer.hook_states() == {"Counter": {"steps": 3}}  # only hooks that define state
    fresh = Counter()
    toy_trainer([fresh]).load_hook_states({"Counter": {"steps": 3}, "Gone": {"x": 1}})
    assert fresh.steps == 3 and "holds the state of hooks this run does not have: ['Gone']" in caplog.text
    with pytest.raises(ValueError, match="two hooks with state are named 'Counter'"):
        toy_trainer([Counter(), Counter()])
    second = Counter()
    second.name = "Counter2"
    assert set(toy_trainer([Counter(), second]).hook_states()) == {"Counter", "Counter2"}


def test_per_rank_hook_state_is_saved_for_every_rank_and_each_rank_resumes_its_own(monkeypatch):
    class RankCounter(Counter):
        state_per_rank = True

    class Shared(Counter):
        pass

    trainer = toy_trainer([RankCounter(), Shared()])
    trainer.train(0, 1)
    # As rank 1 of 2, whose peer saw 5 steps: the gather is a collective only for per-rank state.
    monkeypatch.setattr(distributed, "states_of_all_ranks", lambda own: {"per_rank": [{"steps": 5}, own]})
    saved = trainer.hook_states()
    assert saved == {"RankCounter": {"per_rank": [{"steps": 5}, {"steps": 3}]}, "Shared": {"steps": 3}}
    for rank, steps in ((0, 5), (1, 3)):
        monkeypatch.setattr(distributed, "rank", lambda rank=rank: rank)
        monkeypatch.setattr(distributed, "world_size", lambda: 2)
        resumed, shared = RankCounter(), Shared()
        toy_trainer([resumed, shared]).load_hook_states(saved)
        assert (resumed.steps, shared.steps) == (steps, 3)
