"""The hooks at an epoch's end, in this order: precise BN, validation, checkpoints.

Epoch checkpoints are written after validation, so they hold the epoch's best accuracies and
the RNG state the next epoch starts from; the mid-epoch "last" checkpoint is written every
TRAIN.CHECKPOINT_MINUTES. Both hold the loop's counters and every hook's ``state_dict``. Each
hook counts its seconds in the trainer's time split.
"""
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Callable, Optional

import torch

from slowfast.datasets.loader import build_train_loader
from slowfast.engine import checkpoint as ckpt
from slowfast.engine.evaluator import run_views
from slowfast.engine.hooks import FiniteLoss
from slowfast.engine.loop import HookBase
from slowfast.engine.metrics import ViewEnsemble
from slowfast.engine.precise_bn import recompute_bn_stats
from slowfast.engine.train_stats import error_rates
from slowfast.multigrid.sampler import MultigridBatchSampler
from slowfast.utils import distributed
from slowfast.utils.distributed import unwrap
from slowfast.utils.logging import MetricsWriter, get_logger, log_json_stats

logger = get_logger(__name__)


def _stage(trainer) -> int:
    return trainer.schedule.stage_at(trainer.epoch).index


class PreciseBN(HookBase):
    """Before validation and epoch checkpoints, BN statistics recomputed at the shape validation
    and test use (the full shape, with the baseline batch), whatever the stage trained: multigrid's
    coarse stages would otherwise leave statistics of other frame counts and crops in the model.
    The training sampler lays out its batches (``full_shape_batches``)."""

    def __init__(self, dataset, sampler: MultigridBatchSampler, batch_size: int, num_batches: int, seed: int,
                 num_workers: int, prepare: Callable) -> None:
        self.dataset, self.sampler, self.batch_size, self.num_batches = dataset, sampler, batch_size, num_batches
        self.seed, self.num_workers, self.prepare = seed, num_workers, prepare

    def after_epoch(self) -> None:
        trainer = self.trainer
        if trainer.schedule.is_eval_epoch(trainer.epoch) or trainer.schedule.is_checkpoint_epoch(trainer.epoch):
            with trainer.state.time_split.timing(_stage(trainer), "precise_bn"):
                self.recompute(trainer.epoch)

    def recompute(self, epoch: int) -> None:
        batches = self.sampler.full_shape_batches(epoch, self.batch_size, self.num_batches)
        loader = build_train_loader(self.dataset, batches, self.num_workers, False,
                                    seed=self.seed + epoch, persistent=False)
        model = unwrap(self.trainer.model)
        recompute_bn_stats(model, loader, len(batches), self.prepare)
        distributed.average_bn_buffers(model)
        clips = len(batches[0]) if batches else 0
        logger.info(f"precise BN over {len(batches)} batches of {clips} clips at {self.sampler.schedule.full_shape}")


@dataclass
class BestMetrics:
    """The best validation ``top1``/``top5``/``map`` so far (None before the first with them)."""

    top1: Optional[float] = None
    top5: Optional[float] = None
    map: Optional[float] = None

    def value(self, metric: str) -> float:
        """The best value of ``metric`` so far (0 before any validation)."""
        value = getattr(self, metric)
        return 0.0 if value is None else value

    def update(self, results: dict) -> None:
        """Keep the best of each metric the validation ``results`` hold."""
        for metric in ("top1", "top5", "map"):
            if metric in results:
                setattr(self, metric, max(self.value(metric), results[metric]))


def val_metrics(results: dict, best: BestMetrics) -> dict:
    """PySlowFast's keys: errors and their running minimum (single-label), or mAP and its best (multi-label)."""
    if "map" in results:
        return {"map": results["map"], "best_map": best.value("map")}
    best_so_far = {key: best.value(key) for key in ("top1", "top5")}
    return {**error_rates(results), **{f"min_{k}": v for k, v in error_rates(best_so_far).items()}}


class Evaluation(HookBase):
    """Validation at the schedule's eval epochs: centre clip, centre crop, full target shape, so
    comparable across multigrid stages; keeps the best metrics (its checkpointed state)."""

    def __init__(self, dataset, loader, num_classes: int, ensemble_method: str, head_act: str,
                 prepare: Callable, autocast: AbstractContextManager, stats_dir: Optional[str],
                 writer: MetricsWriter) -> None:
        self.dataset, self.loader, self.num_classes = dataset, loader, num_classes
        self.ensemble_method = ensemble_method
        self.head_act, self.prepare, self.autocast = head_act, prepare, autocast
        self.stats_dir, self.writer = stats_dir, writer
        self.last_stats: dict = {}
        self.best = BestMetrics()

    def after_epoch(self) -> None:
        trainer = self.trainer
        if trainer.schedule.is_eval_epoch(trainer.epoch):
            with trainer.state.time_split.timing(_stage(trainer), "val"):
                self.last_stats = self.validate(trainer.epoch)

    def validate(self, epoch: int) -> dict:
        ensemble = ViewEnsemble(self.dataset.num_videos, 1, self.num_classes, self.ensemble_method)
        # The bare model: ranks hold different numbers of val batches, DDP's forward would wait.
        model = unwrap(self.trainer.model)
        results = run_views(model, self.loader, self.prepare, ensemble, self.head_act, self.autocast)
        self.best.update(results)
        counts = {key: results[key] for key in ("num_videos", "num_failed", "incomplete") if key in results}
        stats = {"_type": "val_epoch", "epoch": f"{epoch + 1}/{self.trainer.schedule.max_epoch}",
                 **val_metrics(results, self.best), **counts}
        log_json_stats(stats, self.stats_dir)
        self.writer.add_scalars(
            {f"Val/{key}": value for key, value in results.items() if key in ("top1", "top5", "map")},
            self.trainer.state.global_iter,
        )
        return stats

    def state_dict(self) -> dict:
        """``best_top1`` (always, as checkpoints always had it), ``best_top5`` and ``best_map`` once set."""
        state = {"best_top1": self.best.value("top1")}
        for metric in ("top5", "map"):
            if getattr(self.best, metric) is not None:
                state[f"best_{metric}"] = getattr(self.best, metric)
        return state

    def load_state_dict(self, state: dict) -> None:
        self.best = BestMetrics(**{metric: state.get(f"best_{metric}") for metric in ("top1", "top5", "map")})


def run_state(trainer) -> dict:
    """What a checkpoint holds besides the model and optimizer: the loop's counters, every hook's
    state and every rank's RNG state (all ranks call this: it gathers the per-rank parts)."""
    return {"trainer_state": trainer.state.state_dict(), "hooks": trainer.hook_states(),
            "rng_state": distributed.states_of_all_ranks(ckpt.capture_rng_state())}


class EpochCheckpointer(HookBase):
    """Epoch checkpoints at the schedule's checkpoint epochs, the ``keep`` newest kept (0: all);
    never with non-finite weights."""

    def __init__(self, output_dir: str, cfg_yaml: str, keep: int, finite: FiniteLoss, is_main: bool) -> None:
        self.output_dir, self.cfg_yaml, self.keep = output_dir, cfg_yaml, keep
        self.finite, self.is_main = finite, is_main

    def after_epoch(self) -> None:
        trainer = self.trainer
        if trainer.schedule.is_checkpoint_epoch(trainer.epoch):
            with trainer.state.time_split.timing(_stage(trainer), "checkpoint"):
                self.save(trainer.epoch)

    def save(self, epoch: int) -> None:
        self.finite.require_finite_weights(f"epoch {epoch + 1}")
        state = run_state(self.trainer)
        if self.is_main:
            path = ckpt.save_checkpoint(self.output_dir, epoch, unwrap(self.trainer.model), self.trainer.optimizer,
                                        self.cfg_yaml, **state)
            logger.info(f"saved checkpoint {path}")
        distributed.barrier()  # the others may read it next (test, resume)
        if self.is_main:
            ckpt.prune_epoch_checkpoints(self.output_dir, self.keep)


class LastCheckpointer(HookBase):
    """The mid-epoch checkpoint_last.pyth every ``minutes`` of wall clock (0: never), with the
    hooks' epoch state; never after a non-finite loss or with non-finite weights."""

    def __init__(self, output_dir: str, cfg_yaml: str, minutes: float, finite: FiniteLoss, is_main: bool,
                 world_size: int, device: torch.device) -> None:
        self.output_dir, self.cfg_yaml, self.finite, self.is_main = output_dir, cfg_yaml, finite, is_main
        self.world_size, self.device, self.timer = world_size, device, ckpt.CheckpointTimer(minutes)

    def after_step(self) -> None:
        step = self.trainer.step
        if not step.skipped and self._due():
            with self.trainer.state.time_split.timing(_stage(self.trainer), "checkpoint"):
                self.save(step.epoch, step.iteration + 1)

    def save(self, epoch: int, next_batch: int) -> None:
        """Write checkpoint_last.pyth: ``next_batch`` batches of ``epoch`` are done (all ranks call this)."""
        self.finite.stop_if_diverged()
        self.finite.require_finite_weights(f"epoch {epoch + 1}, iteration {next_batch}")
        state = run_state(self.trainer)
        if self.is_main:
            ckpt.save_last_checkpoint(self.output_dir, epoch, next_batch, unwrap(self.trainer.model),
                                      self.trainer.optimizer, self.cfg_yaml, **state)
        self.timer.reset()

    def _due(self) -> bool:
        """Whether the minutes have passed; with several ranks, on any of them (one small
        all-reduce per iteration, only when the option is on), so all save together."""
        due = self.timer.due()
        if self.world_size > 1 and self.timer.seconds > 0:
            flag = torch.tensor([float(due)], device=self.device)
            due = distributed.all_reduce_sum(flag).item() > 0
        return due
