"""The training loop: one schedule drives shapes, batch sizes, LR, eval and checkpoints."""
import time
from contextlib import nullcontext

import torch
from fvcore.common.config import CfgNode

from slowfast.datasets.build import build_dataset
from slowfast.datasets.errors import DataError
from slowfast.datasets.loader import build_eval_loader, build_train_loader
from slowfast.engine import checkpoint as ckpt
from slowfast.engine.caffe2_weights import load_pretrained_weights
from slowfast.engine.compile import compile_model, training_batch_shapes
from slowfast.engine.data_health import FailedVideoCounter
from slowfast.engine.data_time import EpochDataTimer, describe_data_time
from slowfast.engine.context import RunContext, check_ranks_agree
from slowfast.engine.inputs import InputPreparer, input_shapes, memory_format
from slowfast.engine.losses import build_loss
from slowfast.engine.evaluator import run_views
from slowfast.engine.finite_guard import BadStep, LossWatch, NonFiniteLossError, weights_are_finite
from slowfast.engine.meters import format_eta
from slowfast.engine.time_split import TimeSplit, format_time_split
from slowfast.engine.train_stats import RunningSums, error_rates, top1_top5_correct
from slowfast.engine.metrics import ViewEnsemble
from slowfast.engine.optimizer import build_optimizer, set_lr
from slowfast.engine.precise_bn import recompute_bn_stats
from slowfast.models import build_model
from slowfast.models.build import bn_group_size
from slowfast.models.complexity import model_info_line
from slowfast.multigrid.report import format_schedule_table
from slowfast.multigrid.sampler import MultigridBatchSampler, count_batches, phase_batch_counts
from slowfast.multigrid.schedule import build_schedule, first_differing_epoch
from slowfast.utils import distributed
from slowfast.utils.bn_groups import rank_share
from slowfast.utils.distributed import unwrap
from slowfast.utils.logging import MetricsWriter, get_logger, log_json_stats

logger = get_logger(__name__)


class SkippedStep(Exception):
    """The step's loss was not finite and TRAIN.NON_FINITE_LOSS is "skip": no update was made."""


def _finite_on_every_rank(loss: torch.Tensor) -> bool:
    """Whether the loss is finite on all ranks (so every rank skips or steps together)."""
    bad = (~torch.isfinite(loss.detach())).float().reshape(1)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.all_reduce(bad)
    return bad.item() == 0


class Trainer:
    """Builds everything once (model, optimizer, loaders) and trains to the schedule's end."""

    def __init__(self, cfg: CfgNode, ctx: RunContext) -> None:
        self.cfg, self.ctx = cfg, ctx
        self.schedule = build_schedule(cfg)
        self.model = distributed.wrap_for_ranks(build_model(cfg).to(ctx.device, memory_format=memory_format(cfg)), ctx.device)
        self.optimizer = build_optimizer(
            self.model, lr=cfg.SOLVER.BASE_LR, momentum=cfg.SOLVER.MOMENTUM,
            dampening=cfg.SOLVER.DAMPENING, nesterov=cfg.SOLVER.NESTEROV,
            weight_decay=cfg.SOLVER.WEIGHT_DECAY, bn_weight_decay=cfg.BN.WEIGHT_DECAY,
        )
        self.loss_fn = build_loss(cfg.MODEL.LOSS_FUNC)
        # Batch shapes the compiled model has met; None when TRAIN.COMPILE is off.
        self.compiled_shapes: set[tuple[int, ...]] | None = None
        if cfg.TRAIN.COMPILE:
            shapes = training_batch_shapes(self.schedule, ctx.world_size)
            limit = compile_model(unwrap(self.model), len(shapes))
            self.compiled_shapes = set()
            logger.info(f"TRAIN.COMPILE: {len(shapes)} training shapes, each compiled at its first step "
                        f"(recompile limit {limit})")
        self.prepare = InputPreparer(cfg, ctx.device)
        self.autocast = _autocast(cfg, ctx.device)
        self.train_set = build_dataset(cfg, "train")
        self.val_set = build_dataset(cfg, "val")
        check_ranks_agree(len(self.train_set), "training videos", getattr(self.train_set, "source", "train list"))
        check_ranks_agree(len(self.val_set), "validation videos", getattr(self.val_set, "source", "val list"))
        self.sampler = MultigridBatchSampler(
            len(self.train_set), self.schedule, world_size=ctx.world_size, rank=ctx.rank,
            seed=cfg.RNG_SEED, bn_group_size=bn_group_size(cfg),
        )
        pin = cfg.DATA_LOADER.PIN_MEMORY and ctx.device.type == "cuda"
        self.train_loader = build_train_loader(
            self.train_set, self.sampler, cfg.DATA_LOADER.NUM_WORKERS, pin, seed=cfg.RNG_SEED + ctx.rank,
        )
        self.val_loader = build_eval_loader(
            self.val_set, cfg.TEST.BATCH_SIZE // ctx.world_size, cfg.DATA_LOADER.NUM_WORKERS,
            pin, rank=ctx.rank, world_size=ctx.world_size,
        )
        self.writer = MetricsWriter(
            cfg.OUTPUT_DIR if ctx.is_main and cfg.TENSORBOARD.ENABLE else None,
            log_dir=cfg.TENSORBOARD.LOG_DIR, dataset=cfg.TRAIN.DATASET,
        )
        self._check_epochs_have_batches()
        self.state = {"global_iter": 0, "samples_seen": 0, "best_top1": 0.0}
        self.start_epoch = 0
        # Where a resumed run re-enters its first epoch (a mid-epoch "last" checkpoint).
        self.start_batch, self.resumed_sums = 0, None
        self.last_timer = ckpt.CheckpointTimer(cfg.TRAIN.CHECKPOINT_MINUTES)
        self.loss_watch = LossWatch(ctx.device)
        self.failed_videos = FailedVideoCounter(
            cfg.DATA.MAX_FAILED_SHARE, len(self.train_set), getattr(self.train_set, "source", "the train list"),
        )
        self.time_split = TimeSplit()

    def fit(self) -> dict:
        """Resume or initialise, then train every remaining epoch; returns the last val stats."""
        self._log_setup()
        self._restore()
        val_stats: dict = {}
        for epoch in range(self.start_epoch, self.schedule.max_epoch):
            stage = self.schedule.stage_at(epoch).index
            self.train_epoch(epoch)
            self._stop_if_diverged()
            evaluate = self.schedule.is_eval_epoch(epoch)
            save = self.schedule.is_checkpoint_epoch(epoch)
            if (evaluate or save) and self.cfg.BN.USE_PRECISE_STATS:
                with self.time_split.timing(stage, "precise_bn"):
                    self._precise_bn(epoch)
            if evaluate:
                with self.time_split.timing(stage, "val"):
                    val_stats = self.validate(epoch)
            if save:
                with self.time_split.timing(stage, "checkpoint"):
                    self._save_epoch_checkpoint(epoch)
        self._log_time_split()
        self.writer.close()
        return val_stats

    def _save_epoch_checkpoint(self, epoch: int) -> None:
        """Saved after validation, so the checkpoint holds this epoch's best accuracies and the RNG
        state the next epoch starts from; never with non-finite weights."""
        self._require_finite_weights(f"epoch {epoch + 1}")
        rng_state = distributed.rng_states_of_all_ranks(ckpt.capture_rng_state())
        if self.ctx.is_main:
            path = ckpt.save_checkpoint(
                self.cfg.OUTPUT_DIR, epoch, unwrap(self.model), self.optimizer,
                self.cfg.dump(), self._trainer_state(), rng_state=rng_state,
            )
            logger.info(f"saved checkpoint {path}")
        distributed.barrier()  # the others may read it next (test, resume)
        if self.ctx.is_main:
            ckpt.prune_epoch_checkpoints(self.cfg.OUTPUT_DIR, self.cfg.TRAIN.CHECKPOINT_KEEP)

    def _trainer_state(self) -> dict:
        """What a checkpoint keeps of the trainer: counters, best metric, the time split so far."""
        return {**self.state, "time_split": self.time_split.state_dict()}

    def _log_time_split(self) -> None:
        records = self.time_split.records()
        for record in records:
            log_json_stats(record, self._stats_dir())
        if self.ctx.is_main and records:
            logger.info("seconds per multigrid stage (share of the stage):\n" + format_time_split(records))

    def train_epoch(self, epoch: int) -> None:
        """One pass over the sampler's batches for this epoch's stage."""
        start_batch, self.start_batch = self.start_batch, 0
        self.sampler.set_epoch(epoch, start_batch=start_batch)
        num_batches = self.sampler.batches_in_epoch
        window, epoch_total = RunningSums(self.ctx.device), self._epoch_sums_so_far()
        requested_batches = iter(self.sampler)  # the loader asks for the same batches in this order
        lr = self.schedule.lr_at(epoch + max(start_batch - 1, 0) / num_batches)
        self.model.train()
        data_time, tic, last_log = 0.0, time.perf_counter(), time.perf_counter()
        epoch_timer = EpochDataTimer()
        stage = self.schedule.stage_at(epoch).index
        for it, (clips, labels, used_videos) in enumerate(self.train_loader, start=start_batch):
            waited = time.perf_counter() - tic
            data_time += waited
            epoch_timer.add_wait(waited)
            self.time_split.add(stage, "data", waited)
            ready = tic + waited
            self._check_data_health(next(requested_batches), used_videos, epoch, it, num_batches)
            lr = self.schedule.lr_at(epoch + it / num_batches)
            set_lr(self.optimizer, lr)
            labels = labels.to(self.ctx.device, non_blocking=True)
            try:
                loss, logits = self.train_step(self.prepare(clips), labels)
            except SkippedStep:
                logger.warning(
                    f"skipped the update of epoch {epoch + 1}, iteration {it + 1}, stage "
                    f"{self.schedule.stage_at(epoch).index}, batch shape {tuple(clips.shape)}: "
                    "the loss is not finite (TRAIN.NON_FINITE_LOSS skip)"
                )
                self.state["global_iter"] += 1
                self.state["samples_seen"] += clips.shape[0] * self.ctx.world_size
                tic = time.perf_counter()
                self._record_step(stage, clips.shape, tic - ready)
                continue
            self.loss_watch.observe(loss, epoch, it, tuple(clips.shape))
            correct = None if self.cfg.DATA.MULTI_LABEL else top1_top5_correct(logits, labels)
            for sums in (window, epoch_total):
                sums.add(loss, correct, clips.shape[0])
            self.state["global_iter"] += 1
            self.state["samples_seen"] += clips.shape[0] * self.ctx.world_size
            if (it + 1) % self.cfg.LOG_PERIOD == 0 or it + 1 == num_batches:
                elapsed = time.perf_counter() - last_log
                iters = window.steps
                stats = {
                    "_type": "train_iter", **self._position(epoch), "iter": f"{it + 1}/{num_batches}",
                    "shape": "x".join(str(d) for d in (clips.shape[0], *clips.shape[2:4])),
                    **window.means(), "lr": lr, "dt": elapsed / iters, "dt_data": data_time / iters,
                    "global_iter": self.state["global_iter"],
                }
                stats["eta"] = format_eta(stats["dt"] * self._remaining_iters(epoch, it))
                self._stop_if_diverged()
                log_json_stats(stats, self._stats_dir())
                self.writer.add_scalars({"Train/loss": stats["loss"], "Train/lr": lr}, self.state["global_iter"])
                window, data_time, last_log = RunningSums(self.ctx.device), 0.0, time.perf_counter()
            self._record_step(stage, clips.shape, time.perf_counter() - ready)
            if self._last_checkpoint_due():
                with self.time_split.timing(stage, "checkpoint"):
                    self._save_last(epoch, it + 1, epoch_total)
            tic = time.perf_counter()
        log_json_stats(
            {"_type": "train_epoch", **self._position(epoch), **epoch_total.means(), "lr": lr,
             "samples_seen": self.state["samples_seen"], "skipped_videos": self.failed_videos.epoch_count,
             **epoch_timer.summary()},
            self._stats_dir(),
        )
        if self.ctx.is_main:
            where = f"epoch {epoch + 1} (stage {self.schedule.stage_at(epoch).index})"
            logger.info(describe_data_time(epoch_timer.summary(), where))

    def _check_data_health(self, requested: list, used_videos: torch.Tensor, epoch: int, it: int, num_batches: int) -> None:
        """Count the batch's substitutes, name newly failed files, judge the epoch's share so far
        (every iteration in one process; with several, at logged iterations, summed over ranks)."""
        where = f"epoch {epoch + 1}, iteration {it + 1}"
        counter = self.failed_videos
        new = counter.check_batch(requested, used_videos, where)
        for number, index in enumerate(new, start=len(counter.failed_videos) - len(new) + 1):
            path = getattr(self.train_set, "video_path", lambda i: f"entry {i}")(index)
            logger.warning(f"training video {path} failed to decode ({number} of the "
                           f"{counter.num_videos} files in {counter.source} so far); a replacement took its place")
        logged = (it + 1) % self.cfg.LOG_PERIOD == 0 or it + 1 == num_batches
        if self.ctx.world_size == 1:
            counter.judge(f"epoch {epoch + 1} so far (iteration {it + 1})")
        elif logged:
            counter.judge(f"epoch {epoch + 1} so far (iteration {it + 1})", _sum_over_ranks(self.ctx.device))

    def train_step(self, inputs: list[torch.Tensor], labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward, loss, backward, update; returns the detached loss and logits."""
        with self.autocast:
            logits = self.model(inputs)
            loss = self.loss_fn(logits.float(), labels)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.TRAIN.NON_FINITE_LOSS == "skip" and not _finite_on_every_rank(loss):
            self.optimizer.zero_grad(set_to_none=True)
            self.state["skipped_steps"] = self.state.get("skipped_steps", 0) + 1
            raise SkippedStep()
        self.optimizer.step()
        return loss.detach(), logits.detach()

    def validate(self, epoch: int) -> dict:
        """Centre clip, centre crop, full target shape: comparable across multigrid stages."""
        ensemble = ViewEnsemble(
            self.val_set.num_videos, 1, self.cfg.MODEL.NUM_CLASSES, self.cfg.DATA.ENSEMBLE_METHOD,
        )
        # The bare model: ranks hold different numbers of val batches, DDP's forward would wait.
        results = run_views(unwrap(self.model), self.val_loader, self.prepare, ensemble, self.cfg.MODEL.HEAD_ACT, self.autocast)
        for metric in ("top1", "top5", "map"):
            if metric in results:
                self.state[f"best_{metric}"] = max(self.state.get(f"best_{metric}", 0.0), results[metric])
        counts = {key: results[key] for key in ("num_videos", "num_failed", "incomplete") if key in results}
        # PySlowFast's keys: errors and their running minimum (single-label), or mAP (multi-label).
        if "map" in results:
            metrics = {"map": results["map"], "best_map": self.state["best_map"]}
        else:
            best = {key: self.state.get(f"best_{key}", 0.0) for key in ("top1", "top5")}
            metrics = {**error_rates(results), **{f"min_{k}": v for k, v in error_rates(best).items()}}
        stats = {"_type": "val_epoch", "epoch": f"{epoch + 1}/{self.schedule.max_epoch}", **metrics, **counts}
        log_json_stats(stats, self._stats_dir())
        self.writer.add_scalars(
            {f"Val/{key}": value for key, value in results.items() if key in ("top1", "top5", "map")},
            self.state["global_iter"],
        )
        return stats

    def _record_step(self, stage: int, batch_shape: torch.Size, seconds: float) -> None:
        """Count a step's seconds; with TRAIN.COMPILE, a shape's first step counts as compile time."""
        if self.compiled_shapes is None or tuple(batch_shape) in self.compiled_shapes:
            self.time_split.add(stage, "step", seconds)
            return
        self.compiled_shapes.add(tuple(batch_shape))
        self.time_split.add(stage, "compile", seconds)
        logger.info(f"compiled the model for batch shape {tuple(batch_shape)}: {seconds:.1f} s (its first step)")

    def _position(self, epoch: int) -> dict:
        stage = self.schedule.stage_at(epoch)
        return {"epoch": f"{epoch + 1}/{self.schedule.max_epoch}", "stage": stage.index}

    def _stop_if_diverged(self) -> None:
        """Raise NonFiniteLossError if any step since the last check had a non-finite loss (all ranks call it)."""
        bad = self.loss_watch.first_non_finite()
        if bad is None:
            return
        raise NonFiniteLossError(f"{self._describe(bad)}; lower SOLVER.BASE_LR or check the data. {self._resume_note()}")

    def _describe(self, bad: BadStep) -> str:
        if bad.epoch is None:
            return "the loss is not finite on another rank (its log names the iteration)"
        return (f"loss is {bad.value} at epoch {bad.epoch + 1}, iteration {bad.iteration + 1}, "
                f"stage {self.schedule.stage_at(bad.epoch).index}, batch shape {bad.batch_shape}")

    def _require_finite_weights(self, where: str) -> None:
        """Refuse to checkpoint non-finite weights (all ranks check: DDP keeps their weights equal)."""
        if not weights_are_finite(unwrap(self.model)):
            raise NonFiniteLossError(
                f"the weights hold NaN or infinite values at {where} although every loss was finite; "
                f"they were not saved; lower SOLVER.BASE_LR or check the data. {self._resume_note()}"
            )

    def _resume_note(self) -> str:
        """What rerunning the command does: resume from the newest checkpoint (all hold finite weights)."""
        latest = ckpt.newest_checkpoint(self.cfg.OUTPUT_DIR)
        if latest is None:
            return "There is no checkpoint: rerunning starts afresh"
        return f"No checkpoint was written after it: rerunning resumes from {latest}"

    def _batches_in(self, epoch: int) -> int:
        sizes = self.schedule.stage_at(epoch).short_cycle_batch_sizes
        return count_batches(len(self.train_set), sizes, self.ctx.world_size)

    def _remaining_iters(self, epoch: int, it: int) -> int:
        later = sum(self._batches_in(e) for e in range(epoch + 1, self.schedule.max_epoch))
        return later + self._batches_in(epoch) - it - 1

    def _check_epochs_have_batches(self) -> None:
        for stage in self.schedule.stages:
            if self._batches_in(stage.start_epoch) == 0:
                raise DataError(
                    f"multigrid stage {stage.index} (epochs {stage.start_epoch}-{stage.end_epoch - 1}) "
                    f"needs batches of {list(stage.short_cycle_batch_sizes)} clips but the train split "
                    f"has {len(self.train_set)}; lower TRAIN.BATCH_SIZE or add training videos"
                )

    def _precise_bn(self, epoch: int) -> None:
        """BN statistics recomputed at the shape validation and test use (the full shape, with the
        baseline batch), whatever the stage trained: multigrid's coarse stages would otherwise
        leave statistics of other frame counts and crops in the model that is evaluated."""
        shape = self.train_set.options.full_train_shape
        world, rank = self.ctx.world_size, self.ctx.rank
        global_size = max(self.cfg.TRAIN.BATCH_SIZE // world, 1) * world
        order = torch.randperm(len(self.train_set), generator=torch.Generator().manual_seed(self.cfg.RNG_SEED + epoch))
        # Each rank takes its share of every global batch; all ranks run as many batches.
        num_batches = min(self.cfg.BN.NUM_BATCHES_PRECISE, len(order) // global_size)
        share = rank_share(global_size, world, rank, bn_group_size(self.cfg))
        batches = [[(int(order[b * global_size + p]), shape, epoch) for p in share] for b in range(num_batches)]
        loader = build_train_loader(self.train_set, batches, self.cfg.DATA_LOADER.NUM_WORKERS, False,
                                    seed=self.cfg.RNG_SEED + epoch, persistent=False)
        recompute_bn_stats(unwrap(self.model), loader, num_batches, self.prepare)
        distributed.average_bn_buffers(unwrap(self.model))
        logger.info(f"precise BN over {num_batches} batches of {len(share)} clips at {shape}")

    def _epoch_sums_so_far(self) -> RunningSums:
        """Fresh epoch sums, or those a mid-epoch checkpoint saved (with the skipped-video count)."""
        sums = RunningSums(self.ctx.device)
        saved, self.resumed_sums = self.resumed_sums, None
        stage = self.schedule.stage_at(self.sampler.epoch)
        sizes = stage.short_cycle_batch_sizes
        epoch_clips = sum(n * size for n, size in zip(phase_batch_counts(len(self.train_set), sizes), sizes))
        self.failed_videos.load_state(saved or {}, epoch_clips)
        if saved is not None:
            sums.load_state(saved)
        return sums

    def _last_checkpoint_due(self) -> bool:
        """Whether TRAIN.CHECKPOINT_MINUTES have passed; with several ranks, on any of them
        (one small all-reduce per iteration, only when the option is on), so all save together."""
        due = self.last_timer.due()
        if self.ctx.world_size > 1 and self.last_timer.seconds > 0:
            flag = torch.tensor([float(due)], device=self.ctx.device)
            due = distributed.all_reduce_sum(flag).item() > 0
        return due

    def _save_last(self, epoch: int, next_batch: int, epoch_total: RunningSums) -> None:
        """Write checkpoint_last.pyth: ``next_batch`` batches of ``epoch`` are done (all ranks call this)."""
        self._stop_if_diverged()
        self._require_finite_weights(f"epoch {epoch + 1}, iteration {next_batch}")
        rng_state = distributed.rng_states_of_all_ranks(ckpt.capture_rng_state())
        if self.ctx.is_main:
            ckpt.save_last_checkpoint(
                self.cfg.OUTPUT_DIR, epoch, next_batch,
                {**epoch_total.state(), **self.failed_videos.state()}, unwrap(self.model),
                self.optimizer, self.cfg.dump(), self._trainer_state(), rng_state=rng_state,
            )
        self.last_timer.reset()

    def _restore(self) -> None:
        resumed = None
        if self.cfg.TRAIN.AUTO_RESUME:
            resumed = ckpt.resume_latest(self.cfg.OUTPUT_DIR, unwrap(self.model), self.optimizer, self.cfg.dump())
        if resumed is not None:
            self._check_resumable_layout(resumed)
            self.start_epoch, self.start_batch = resumed["epoch"], resumed["start_batch"]
            self.resumed_sums = resumed["epoch_sums"]
            trainer_state = dict(resumed["trainer_state"])
            self.time_split.load_state_dict(trainer_state.pop("time_split", {}))
            self.state.update(trainer_state)
            if resumed["rng_state"] is not None:
                ckpt.restore_rng_state(distributed.rng_state_of_this_rank(resumed["rng_state"]))
            if self.start_batch:
                logger.info(f"resumed from {resumed['path'].name}; continuing at epoch {self.start_epoch + 1}, batch {self.start_batch + 1}")
            else:
                logger.info(f"resumed from the checkpoint of epoch {self.start_epoch}; continuing at epoch {self.start_epoch + 1}")
        elif self.cfg.TRAIN.CHECKPOINT_FILE_PATH:
            load_pretrained_weights(
                self.cfg.TRAIN.CHECKPOINT_FILE_PATH, unwrap(self.model),
                self.cfg.TRAIN.CHECKPOINT_TYPE, self.cfg.TRAIN.CHECKPOINT_INFLATE,
            )
            logger.info(f"initialised from {self.cfg.TRAIN.CHECKPOINT_FILE_PATH}")

    def _check_resumable_layout(self, resumed: dict) -> None:
        """Refuse a checkpoint whose trained epochs this config would lay out otherwise.

        SOLVER.MAX_EPOCH may change on resume, but under multigrid (or a cosine LR) it moves every
        stage and LR: the epochs already trained then belong to another schedule.
        """
        path, epoch, start_batch = resumed["path"], resumed["epoch"], resumed["start_batch"]
        trained_max = ckpt.saved_value(resumed["cfg"], "SOLVER.MAX_EPOCH")
        if trained_max is not None and trained_max != self.cfg.SOLVER.MAX_EPOCH:
            old_cfg = self.cfg.clone()
            old_cfg.defrost()
            old_cfg.SOLVER.MAX_EPOCH = trained_max
            differs = first_differing_epoch(build_schedule(old_cfg), self.schedule, epoch + (start_batch > 0))
            if differs is not None:
                raise ckpt.CheckpointError(
                    f"SOLVER.MAX_EPOCH is {self.cfg.SOLVER.MAX_EPOCH} but checkpoint '{path}' was trained with "
                    f"{trained_max}, and the new schedule gives its epoch {differs + 1} other shapes, batch sizes "
                    f"or learning rates; resume with SOLVER.MAX_EPOCH {trained_max}, or start afresh in another OUTPUT_DIR"
                )
        batches = self._batches_in(epoch)
        if start_batch > batches:
            raise ckpt.CheckpointError(
                f"checkpoint '{path}' stopped after batch {start_batch} of epoch {epoch + 1}, which now has "
                f"{batches} batches (did the training list change?); restore it, or move {path} away"
            )

    def _log_setup(self) -> None:
        if not self.ctx.is_main:
            return
        if self.cfg.LOG_MODEL_INFO:
            shapes = input_shapes(self.cfg, self.cfg.DATA.NUM_FRAMES, self.cfg.DATA.TRAIN_CROP_SIZE)
            logger.info(model_info_line(unwrap(self.model), shapes))
        logger.info("training schedule:\n" + format_schedule_table(self.schedule, self.ctx.world_size, len(self.train_set)))

    def _stats_dir(self) -> str | None:
        return self.cfg.OUTPUT_DIR if self.ctx.is_main else None


def _sum_over_ranks(device: torch.device):
    """A function adding a list of ints over all ranks (one small all-reduce)."""

    def add(values: list[int]) -> list[int]:
        total = distributed.all_reduce_sum(torch.tensor(values, dtype=torch.float64, device=device))
        return [int(round(v)) for v in total.cpu().tolist()]

    return add


def _autocast(cfg: CfgNode, device: torch.device):
    """bf16 autocast on CUDA when TRAIN.MIXED_PRECISION (bf16 needs no loss scaling)."""
    if not cfg.TRAIN.MIXED_PRECISION or device.type != "cuda":
        return nullcontext()
    if not torch.cuda.is_bf16_supported():
        raise RuntimeError("TRAIN.MIXED_PRECISION needs a GPU with bfloat16 support; set it to False")
    return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
