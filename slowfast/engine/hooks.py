"""The training loop's step hooks: data health, finiteness, iteration and epoch logging, data
time, time split.

Each takes its settings as arguments (``trainer.build_hooks`` picks them from the run spec's sections)
and reaches the loop through ``self.trainer``. The epoch-end hooks (precise BN, evaluation,
checkpoints) are in ``epoch_hooks.py``. The state of an epoch in progress (its running sums, its
failed videos) is the hooks' own: a mid-epoch checkpoint keeps it, and the epoch a run resumed
in (``trainer.first_batch`` > 0) continues from it.
"""
import time
from typing import Callable, Optional

import torch

from slowfast.engine.checkpoint import newest_checkpoint
from slowfast.engine.data_health import FailedVideoCounter
from slowfast.engine.data_time import EpochDataTimer, describe_data_time
from slowfast.engine.finite_guard import BadStep, LossWatch, NonFiniteLossError, weights_are_finite
from slowfast.engine.loop import HookBase, Step
from slowfast.engine.meters import format_eta
from slowfast.engine.time_split import format_time_split
from slowfast.engine.train_stats import RunningSums, top1_top5_correct
from slowfast.utils import distributed
from slowfast.utils.distributed import unwrap
from slowfast.utils.logging import MetricsWriter, get_logger, log_json_stats

logger = get_logger(__name__)


def is_log_iteration(iteration: int, num_batches: int, log_period: int) -> bool:
    """Every ``log_period``-th iteration of an epoch, and its last."""
    return (iteration + 1) % log_period == 0 or iteration + 1 == num_batches


def correct_predictions(step: Step, multi_label: bool) -> Optional[torch.Tensor]:
    """The step's top-1/top-5 correct counts on the device (computed once per step), None if multi-label."""
    if multi_label:
        return None
    if step.correct is None:
        step.correct = top1_top5_correct(step.logits, step.labels)
    return step.correct


def position(trainer, epoch: int) -> dict:
    """The ``epoch`` and ``stage`` fields of a record."""
    return {"epoch": f"{epoch + 1}/{trainer.schedule.max_epoch}", "stage": trainer.schedule.stage_at(epoch).index}


def sum_over_ranks(values: list[int], device: torch.device) -> list[int]:
    """``values`` added over all ranks (one small all-reduce)."""
    total = distributed.all_reduce_sum(torch.tensor(values, dtype=torch.float64, device=device))
    return [int(round(v)) for v in total.cpu().tolist()]


class DataHealth(HookBase):
    """Counts the clips whose video failed to decode (a substitute took its place), names newly
    failed files, and stops the run when more than the allowed share of an epoch's clips failed.
    ``sampler`` is the training loader's batch sampler (its ``clips_in(epoch)`` and batches)."""

    state_per_rank = True  # this rank's clips

    def __init__(self, counter: FailedVideoCounter, sampler, video_path: Callable[[int], str],
                 log_period: int, world_size: int, device: torch.device) -> None:
        self.counter, self.sampler, self.video_path = counter, sampler, video_path
        self.log_period, self.world_size, self.device = log_period, world_size, device
        self.requested = iter(())

    def before_epoch(self) -> None:
        self.counter.start_epoch(self.sampler.clips_in(self.trainer.epoch), resumed=self.trainer.first_batch > 0)
        self.requested = iter(self.sampler)  # the loader asks for the same batches in this order

    def before_step(self) -> None:
        """Judge the epoch's share so far: every iteration in one process; with several, at logged
        iterations, summed over ranks."""
        step, counter = self.trainer.step, self.counter
        where = f"epoch {step.epoch + 1}, iteration {step.iteration + 1}"
        new = counter.check_batch(next(self.requested), step.used_videos, where)
        for number, index in enumerate(new, start=len(counter.failed_videos) - len(new) + 1):
            logger.warning(f"training video {self.video_path(index)} failed to decode ({number} of the "
                           f"{counter.num_videos} files in {counter.source} so far); a replacement took its place")
        so_far = f"epoch {step.epoch + 1} so far (iteration {step.iteration + 1})"
        if self.world_size == 1:
            counter.judge(so_far)
        elif is_log_iteration(step.iteration, step.num_batches, self.log_period):
            counter.judge(so_far, lambda values: sum_over_ranks(values, self.device))

    def state_dict(self) -> dict:
        return self.counter.state()

    def load_state_dict(self, state: dict) -> None:
        self.counter.load_state(state)

    def epoch_record(self) -> dict:
        return {"skipped_videos": self.counter.epoch_count}


def describe(bad: BadStep, schedule) -> str:
    """Where the first non-finite loss appeared."""
    if bad.epoch is None:
        return "the loss is not finite on another rank (its log names the iteration)"
    return (f"loss is {bad.value} at epoch {bad.epoch + 1}, iteration {bad.iteration + 1}, "
            f"stage {schedule.stage_at(bad.epoch).index}, batch shape {bad.batch_shape}")


def resume_note(output_dir: str) -> str:
    """What rerunning the command does: resume from the newest checkpoint (all hold finite weights)."""
    latest = newest_checkpoint(output_dir)
    if latest is None:
        return "There is no checkpoint: rerunning starts afresh"
    return f"No checkpoint was written after it: rerunning resumes from {latest}"


class FiniteLoss(HookBase):
    """Watches every step's loss on the device; at logged iterations and at the epoch's end (all
    ranks together) stops the run at the first non-finite one. Checkpoint hooks ask it too."""

    def __init__(self, device: torch.device, output_dir: str, log_period: int) -> None:
        self.watch, self.output_dir, self.log_period = LossWatch(device), output_dir, log_period

    def after_step(self) -> None:
        step = self.trainer.step
        if step.skipped:
            logger.warning(
                f"skipped the update of epoch {step.epoch + 1}, iteration {step.iteration + 1}, stage "
                f"{self.trainer.schedule.stage_at(step.epoch).index}, batch shape {tuple(step.clips.shape)}: "
                "the loss is not finite (TRAIN.NON_FINITE_LOSS skip)"
            )
            return
        self.watch.observe(step.loss, step.epoch, step.iteration, tuple(step.clips.shape))
        if is_log_iteration(step.iteration, step.num_batches, self.log_period):
            self.stop_if_diverged()

    def after_epoch(self) -> None:
        self.stop_if_diverged()

    def stop_if_diverged(self) -> None:
        """Raise NonFiniteLossError if a step since the last check had a non-finite loss (all ranks call it)."""
        bad = self.watch.first_non_finite()
        if bad is not None:
            raise NonFiniteLossError(f"{describe(bad, self.trainer.schedule)}; lower SOLVER.BASE_LR or check the data. "
                                     f"{resume_note(self.output_dir)}")

    def require_finite_weights(self, where: str) -> None:
        """Refuse to checkpoint non-finite weights (all ranks check: DDP keeps their weights equal)."""
        if not weights_are_finite(unwrap(self.trainer.model)):
            raise NonFiniteLossError(
                f"the weights hold NaN or infinite values at {where} although every loss was finite; "
                f"they were not saved; lower SOLVER.BASE_LR or check the data. {resume_note(self.output_dir)}"
            )


class IterationLogger(HookBase):
    """``train_iter`` records (loss, error, LR, seconds, ETA) every ``log_period`` iterations and
    of each epoch's last, also to TensorBoard (``writer``, closed at the end)."""

    def __init__(self, log_period: int, stats_dir: Optional[str], writer: MetricsWriter, multi_label: bool,
                 batches_in: Callable[[int], int]) -> None:
        self.log_period, self.stats_dir, self.writer = log_period, stats_dir, writer
        self.multi_label, self.batches_in = multi_label, batches_in

    def before_epoch(self) -> None:
        self._new_window()

    def _new_window(self) -> None:
        self.window, self.data_seconds, self.last_log = RunningSums(self.trainer.device), 0.0, time.perf_counter()

    def after_step(self) -> None:
        step = self.trainer.step
        self.data_seconds += step.data_seconds
        if step.skipped:
            return
        self.window.add(step.loss, correct_predictions(step, self.multi_label), step.clips.shape[0])
        if not is_log_iteration(step.iteration, step.num_batches, self.log_period):
            return
        iters, global_iter = self.window.steps, self.trainer.state.global_iter
        stats = {
            "_type": "train_iter", **position(self.trainer, step.epoch),
            "iter": f"{step.iteration + 1}/{step.num_batches}",
            "shape": "x".join(str(d) for d in (step.clips.shape[0], *step.clips.shape[2:4])), **self.window.means(),
            "lr": step.lr, "dt": (time.perf_counter() - self.last_log) / iters, "dt_data": self.data_seconds / iters,
            "global_iter": global_iter,
        }
        stats["eta"] = format_eta(stats["dt"] * self._remaining_iters(step.epoch, step.iteration))
        log_json_stats(stats, self.stats_dir)
        self.writer.add_scalars({"Train/loss": stats["loss"], "Train/lr": step.lr}, global_iter)
        self._new_window()

    def _remaining_iters(self, epoch: int, iteration: int) -> int:
        later = sum(self.batches_in(e) for e in range(epoch + 1, self.trainer.schedule.max_epoch))
        return later + self.batches_in(epoch) - iteration - 1

    def after_train(self) -> None:
        self.writer.close()


class EpochStats(HookBase):
    """The ``train_epoch`` record: the epoch's mean loss and errors over all its steps (a resumed
    epoch's included), LR, samples seen, and what other hooks add (``epoch_record``)."""

    state_per_rank = True  # sums over this rank's clips

    def __init__(self, stats_dir: Optional[str], multi_label: bool) -> None:
        self.stats_dir, self.multi_label = stats_dir, multi_label
        self.sums: Optional[RunningSums] = None

    def before_epoch(self) -> None:
        if self.sums is None or not self.trainer.first_batch:
            self.sums = RunningSums(self.trainer.device)

    def after_step(self) -> None:
        step = self.trainer.step
        if not step.skipped:
            self.sums.add(step.loss, correct_predictions(step, self.multi_label), step.clips.shape[0])

    def after_epoch(self) -> None:
        trainer = self.trainer
        extra = {key: value for hook in trainer.hooks for key, value in hook.epoch_record().items()}
        log_json_stats(
            {"_type": "train_epoch", **position(trainer, trainer.epoch), **self.sums.means(), "lr": trainer.lr,
             "samples_seen": trainer.state.samples_seen, **extra},
            self.stats_dir,
        )

    def state_dict(self) -> dict:
        return {} if self.sums is None else self.sums.state()

    def load_state_dict(self, state: dict) -> None:
        if state:
            self.sums = RunningSums(self.trainer.device)
            self.sums.load_state(state)


class DataTime(HookBase):
    """Per epoch: the mean seconds per iteration and of it waiting for data; flags an input-bound run."""

    def __init__(self, is_main: bool) -> None:
        self.is_main = is_main
        self.timer = EpochDataTimer()

    def before_epoch(self) -> None:
        self.timer = EpochDataTimer()

    def before_step(self) -> None:
        self.timer.add_wait(self.trainer.step.data_seconds)

    def epoch_record(self) -> dict:
        return self.timer.summary()

    def after_epoch(self) -> None:
        if self.is_main:
            where = f"epoch {self.trainer.epoch + 1} (stage {self.trainer.schedule.stage_at(self.trainer.epoch).index})"
            logger.info(describe_data_time(self.timer.summary(), where))


class StepTimeSplit(HookBase):
    """Counts each step's data wait and the rest of it (its hooks' logging included) in the time
    split; with ``compiling``, a batch shape's first step counts as compile time. Logs the split
    per multigrid stage at the end (precise BN, validation and checkpoints count their own)."""

    def __init__(self, compiling: bool, stats_dir: Optional[str], is_main: bool) -> None:
        self.compiled_shapes: Optional[set[tuple[int, ...]]] = set() if compiling else None
        self.stats_dir, self.is_main = stats_dir, is_main

    def before_step(self) -> None:
        step = self.trainer.step
        self.trainer.state.time_split.add(self.trainer.schedule.stage_at(step.epoch).index, "data", step.data_seconds)

    def after_step(self) -> None:
        step, split = self.trainer.step, self.trainer.state.time_split
        stage, shape = self.trainer.schedule.stage_at(step.epoch).index, tuple(step.clips.shape)
        seconds = time.perf_counter() - step.ready
        if self.compiled_shapes is None or shape in self.compiled_shapes:
            split.add(stage, "step", seconds)
            return
        self.compiled_shapes.add(shape)
        split.add(stage, "compile", seconds)
        logger.info(f"compiled the model for batch shape {shape}: {seconds:.1f} s (its first step)")

    def after_train(self) -> None:
        records = self.trainer.state.time_split.records()
        for record in records:
            log_json_stats(record, self.stats_dir)
        if self.is_main and records:
            logger.info("seconds per multigrid stage (share of the stage):\n" + format_time_split(records))
