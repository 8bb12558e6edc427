"""The hooks at an epoch's end, in this order: precise BN, validation, checkpoints.

Epoch checkpoints are written after validation, so they hold the epoch's best accuracies and
the RNG state the next epoch starts from; the mid-epoch "last" checkpoint is written every
TRAIN.CHECKPOINT_MINUTES. Each hook counts its seconds in the trainer's time split.
"""
from contextlib import AbstractContextManager
from typing import Callable, Optional

import torch

from slowfast.datasets.loader import build_train_loader
from slowfast.engine import checkpoint as ckpt
from slowfast.engine.evaluator import run_views
from slowfast.engine.hooks import FiniteLoss
from slowfast.engine.loop import HookBase
from slowfast.engine.metrics import ViewEnsemble
from slowfast.engine.precise_bn import recompute_bn_stats
from slowfast.engine.state import TrainerState
from slowfast.engine.train_stats import error_rates
from slowfast.utils import distributed
from slowfast.utils.bn_groups import rank_share
from slowfast.utils.distributed import unwrap
from slowfast.utils.logging import MetricsWriter, get_logger, log_json_stats

logger = get_logger(__name__)


def _stage(trainer) -> int:
    return trainer.schedule.stage_at(trainer.epoch).index


class PreciseBN(HookBase):
    """Before validation and epoch checkpoints, BN statistics recomputed at the shape validation
    and test use (the full shape, with the baseline batch), whatever the stage trained: multigrid's
    coarse stages would otherwise leave statistics of other frame counts and crops in the model."""

    def __init__(self, dataset, batch_size: int, num_batches: int, seed: int, num_workers: int,
                 rank: int, world_size: int, bn_group_size: int, prepare: Callable) -> None:
        self.dataset, self.batch_size, self.num_batches, self.seed = dataset, batch_size, num_batches, seed
        self.num_workers, self.rank, self.world_size = num_workers, rank, world_size
        self.bn_group_size, self.prepare = bn_group_size, prepare

    def after_epoch(self) -> None:
        trainer = self.trainer
        if trainer.schedule.is_eval_epoch(trainer.epoch) or trainer.schedule.is_checkpoint_epoch(trainer.epoch):
            with trainer.state.time_split.timing(_stage(trainer), "precise_bn"):
                self.recompute(trainer.epoch)

    def recompute(self, epoch: int) -> None:
        shape, world = self.dataset.options.full_train_shape, self.world_size
        global_size = max(self.batch_size // world, 1) * world
        order = torch.randperm(len(self.dataset), generator=torch.Generator().manual_seed(self.seed + epoch))
        # Each rank takes its share of every global batch; all ranks run as many batches.
        num_batches = min(self.num_batches, len(order) // global_size)
        share = rank_share(global_size, world, self.rank, self.bn_group_size)
        batches = [[(int(order[b * global_size + p]), shape, epoch) for p in share] for b in range(num_batches)]
        loader = build_train_loader(self.dataset, batches, self.num_workers, False,
                                    seed=self.seed + epoch, persistent=False)
        model = unwrap(self.trainer.model)
        recompute_bn_stats(model, loader, num_batches, self.prepare)
        distributed.average_bn_buffers(model)
        logger.info(f"precise BN over {num_batches} batches of {len(share)} clips at {shape}")


def val_metrics(results: dict, state: TrainerState) -> dict:
    """PySlowFast's keys: errors and their running minimum (single-label), or mAP and its best (multi-label)."""
    if "map" in results:
        return {"map": results["map"], "best_map": state.best("map")}
    best = {key: state.best(key) for key in ("top1", "top5")}
    return {**error_rates(results), **{f"min_{k}": v for k, v in error_rates(best).items()}}


class Evaluation(HookBase):
    """Validation at the schedule's eval epochs: centre clip, centre crop, full target shape, so
    comparable across multigrid stages; keeps the best metrics in the trainer state."""

    def __init__(self, dataset, loader, num_classes: int, ensemble_method: str, head_act: str,
                 prepare: Callable, autocast: AbstractContextManager, stats_dir: Optional[str],
                 writer: MetricsWriter) -> None:
        self.dataset, self.loader, self.num_classes = dataset, loader, num_classes
        self.ensemble_method = ensemble_method
        self.head_act, self.prepare, self.autocast = head_act, prepare, autocast
        self.stats_dir, self.writer = stats_dir, writer
        self.last_stats: dict = {}

    def after_epoch(self) -> None:
        trainer = self.trainer
        if trainer.schedule.is_eval_epoch(trainer.epoch):
            with trainer.state.time_split.timing(_stage(trainer), "val"):
                self.last_stats = self.validate(trainer.epoch)

    def validate(self, epoch: int) -> dict:
        state = self.trainer.state
        ensemble = ViewEnsemble(self.dataset.num_videos, 1, self.num_classes, self.ensemble_method)
        # The bare model: ranks hold different numbers of val batches, DDP's forward would wait.
        model = unwrap(self.trainer.model)
        results = run_views(model, self.loader, self.prepare, ensemble, self.head_act, self.autocast)
        state.update_best(results)
        counts = {key: results[key] for key in ("num_videos", "num_failed", "incomplete") if key in results}
        stats = {"_type": "val_epoch", "epoch": f"{epoch + 1}/{self.trainer.schedule.max_epoch}",
                 **val_metrics(results, state), **counts}
        log_json_stats(stats, self.stats_dir)
        self.writer.add_scalars(
            {f"Val/{key}": value for key, value in results.items() if key in ("top1", "top5", "map")},
            state.global_iter,
        )
        return stats


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
        rng_state = distributed.rng_states_of_all_ranks(ckpt.capture_rng_state())
        if self.is_main:
            path = ckpt.save_checkpoint(self.output_dir, epoch, unwrap(self.trainer.model), self.trainer.optimizer,
                                        self.cfg_yaml, self.trainer.state.state_dict(), rng_state=rng_state)
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
        rng_state = distributed.rng_states_of_all_ranks(ckpt.capture_rng_state())
        if self.is_main:
            trainer = self.trainer
            ckpt.save_last_checkpoint(
                self.output_dir, epoch, next_batch, trainer.epoch_state(), unwrap(trainer.model),
                trainer.optimizer, self.cfg_yaml, trainer.state.state_dict(), rng_state=rng_state,
            )
        self.timer.reset()

    def _due(self) -> bool:
        """Whether the minutes have passed; with several ranks, on any of them (one small
        all-reduce per iteration, only when the option is on), so all save together."""
        due = self.timer.due()
        if self.world_size > 1 and self.timer.seconds > 0:
            flag = torch.tensor([float(due)], device=self.device)
            due = distributed.all_reduce_sum(flag).item() > 0
        return due
