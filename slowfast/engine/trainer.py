"""The trainer: builds the model, optimizer, loaders and hooks from the run's spec sections
(``run_spec.py``), restores a run, and trains it with the loop of ``loop.py``."""
from contextlib import nullcontext

import torch

from slowfast.datasets.build import build_dataset
from slowfast.datasets.errors import DataError
from slowfast.datasets.loader import build_eval_loader, build_train_loader
from slowfast.engine import checkpoint as ckpt
from slowfast.engine.caffe2_weights import load_pretrained_weights
from slowfast.engine.compile import compile_model, training_batch_shapes
from slowfast.engine.context import RunContext, check_ranks_agree
from slowfast.engine.data_health import FailedVideoCounter
from slowfast.engine.epoch_hooks import EpochCheckpointer, Evaluation, LastCheckpointer, PreciseBN
from slowfast.engine.hooks import DataHealth, DataTime, EpochStats, FiniteLoss, IterationLogger, StepTimeSplit
from slowfast.engine.inputs import InputPreparer, input_shapes
from slowfast.engine.loop import HookBase, TrainerBase
from slowfast.engine.losses import build_loss
from slowfast.engine.optimizer import build_optimizer
from slowfast.engine.run_spec import RunSpec
from slowfast.engine.solver_spec import SolverSpec
from slowfast.models.build import build_model_from_spec
from slowfast.models.complexity import model_info_line
from slowfast.models.norm import batch_running_stat_updates
from slowfast.multigrid.report import epochs_note, format_schedule_table
from slowfast.multigrid.sampler import MultigridBatchSampler
from slowfast.multigrid.schedule import first_differing_epoch
from slowfast.utils import distributed
from slowfast.utils.distributed import unwrap
from slowfast.utils.logging import MetricsWriter, get_logger

logger = get_logger(__name__)

__all__ = ["FROM_SCRATCH_WARNING", "RunContext", "Trainer"]

FROM_SCRATCH_WARNING = (
    "training from scratch: TRAIN.EXPECT_PRETRAINED is True but TRAIN.CHECKPOINT_FILE_PATH is empty and "
    "OUTPUT_DIR has no checkpoint to resume; set TRAIN.CHECKPOINT_FILE_PATH to the Kinetics-400 checkpoint "
    "this config fine-tunes (.pyth; a .pkl with TRAIN.CHECKPOINT_TYPE caffe2), or TRAIN.EXPECT_PRETRAINED "
    "False to train from scratch on purpose"
)


class Trainer(TrainerBase):
    """Builds everything once (model, optimizer, loaders, hooks) and trains to the schedule's end.

    The run's one schedule (``spec.schedule``, built once with the spec) drives the sampler, the LR,
    the hooks, precise BN's batches and the resume check.
    """

    def __init__(self, spec: RunSpec, ctx: RunContext) -> None:
        self.spec, self.ctx = spec, ctx
        schedule, solver, data, place = spec.schedule, spec.solver, spec.data, spec.place
        model = build_model_from_spec(spec.model, schedule.bn_groups)
        model = model.to(ctx.device, memory_format=solver.memory_format)
        batch_running_stat_updates(model)  # each training forward updates the BN running stats at once
        model = distributed.wrap_for_ranks(model, ctx.device)
        optimizer = build_optimizer(
            model, lr=schedule.base_lr, momentum=solver.momentum, dampening=solver.dampening,
            nesterov=solver.nesterov, weight_decay=solver.weight_decay, bn_weight_decay=solver.bn_weight_decay,
        )
        if solver.compile:
            shapes = training_batch_shapes(schedule, ctx.world_size)
            limit = compile_model(unwrap(model), len(shapes))
            logger.info(f"TRAIN.COMPILE: {len(shapes)} training shapes, each compiled at its first step "
                        f"(recompile limit {limit})")
        self.train_set = build_dataset(data, "train")
        self.val_set = build_dataset(data, "val")
        check_ranks_agree(len(self.train_set), "training videos", getattr(self.train_set, "source", "train list"))
        check_ranks_agree(len(self.val_set), "validation videos", getattr(self.val_set, "source", "val list"))
        self.sampler = MultigridBatchSampler(
            len(self.train_set), schedule, world_size=ctx.world_size, rank=ctx.rank,
            seed=place.rng_seed, grouped_bn=schedule.bn_groups.base_size is not None,
        )
        pin = data.pin_memory and ctx.device.type == "cuda"
        self.train_loader = build_train_loader(
            self.train_set, self.sampler, data.num_workers, pin, seed=place.rng_seed + ctx.rank,
        )
        self.val_loader = build_eval_loader(
            self.val_set, spec.test.batch_size // ctx.world_size, data.num_workers,
            pin, rank=ctx.rank, world_size=ctx.world_size,
        )
        super().__init__(
            model, optimizer, self.train_loader, self.sampler, schedule, loss_fn=build_loss(solver.loss_func),
            prepare=InputPreparer(spec.model, data, solver.memory_format, ctx.device),
            autocast=_autocast(solver, ctx.device), skip_non_finite=solver.skip_non_finite, device=ctx.device,
            world_size=ctx.world_size,
        )
        self._check_epochs_have_batches()
        self.register_hooks(self.build_hooks())

    def build_hooks(self) -> list[HookBase]:
        """The hooks, in the order they run at each event."""
        spec, ctx = self.spec, self.ctx
        place, data, train = spec.place, spec.data, spec.train
        stats_dir = place.output_dir if ctx.is_main else None
        writer = MetricsWriter(place.output_dir if ctx.is_main and place.tensorboard else None,
                               log_dir=place.tensorboard_log_dir, dataset=data.train_dataset)
        source = getattr(self.train_set, "source", "the train list")
        counter = FailedVideoCounter(data.options.max_missing_share, len(self.train_set), source)
        video_path = getattr(self.train_set, "video_path", lambda i: f"entry {i}")
        finite = FiniteLoss(ctx.device, place.output_dir, place.log_period)
        self.evaluation = Evaluation(
            self.val_set, self.val_loader, spec.model.num_classes, data.ensemble_method, spec.solver.head_act,
            self.prepare, self.autocast, stats_dir, writer,
        )
        hooks = [
            DataHealth(counter, self.sampler, video_path, place.log_period, ctx.world_size, ctx.device),
            EpochStats(stats_dir, data.multi_label),  # the epoch's record before an error stops the run
            DataTime(ctx.is_main),
            finite,  # before the iteration's record: none is written for a non-finite loss
            IterationLogger(place.log_period, stats_dir, writer, data.multi_label, self.sampler.batches_in),
            StepTimeSplit(spec.solver.compile, stats_dir, ctx.is_main),  # a step's seconds include its logging
            LastCheckpointer(place.output_dir, spec.config_yaml, train.checkpoint_minutes, finite, ctx.is_main,
                             ctx.world_size, ctx.device),
        ]
        if train.precise_bn:
            hooks.append(PreciseBN(self.train_set, self.sampler, self.schedule.spec.batch_size,
                                   train.precise_bn_batches, place.rng_seed, data.num_workers, self.prepare))
        return hooks + [self.evaluation, EpochCheckpointer(place.output_dir, spec.config_yaml, train.checkpoint_keep,
                                                           finite, ctx.is_main)]

    def fit(self) -> dict:
        """Resume or initialise, then train every remaining epoch; returns the last val stats."""
        self._log_setup()
        self.train(self._restore(), self.schedule.max_epoch)
        return self.evaluation.last_stats

    def _restore(self) -> int:
        """Load the run's newest checkpoint (TRAIN.AUTO_RESUME) or the initial weights; the epoch to start."""
        resumed, start_epoch, train = None, 0, self.spec.train
        if train.auto_resume:
            resumed = ckpt.resume_latest(self.spec.place.output_dir, unwrap(self.model), self.optimizer,
                                         self.spec.config_yaml)
        if resumed is not None:
            self._check_resumable_layout(resumed)
            start_epoch, self.start_batch = resumed["epoch"], resumed["start_batch"]
            self.state.load_state_dict(resumed["trainer_state"])
            self.load_hook_states(resumed["hooks"])
            if resumed["rng_state"] is not None:
                ckpt.restore_rng_state(distributed.state_of_this_rank(resumed["rng_state"]))
            if self.start_batch:
                logger.info(f"resumed from {resumed['path'].name}; continuing at epoch {start_epoch + 1}, "
                            f"batch {self.start_batch + 1}")
            else:
                logger.info(f"resumed from the checkpoint of epoch {start_epoch}; "
                            f"continuing at epoch {start_epoch + 1}")
        elif train.checkpoint_file_path:
            load_pretrained_weights(
                train.checkpoint_file_path, unwrap(self.model), train.checkpoint_type, train.checkpoint_inflate,
                reinit_head=train.checkpoint_reinit_head,
            )
            reinit = "; classifier re-initialised (TRAIN.CHECKPOINT_REINIT_HEAD)" if (
                train.checkpoint_reinit_head) else ""
            logger.info(f"initialised from {train.checkpoint_file_path}{reinit}")
        elif train.expect_pretrained and self.ctx.is_main:
            logger.warning(FROM_SCRATCH_WARNING)
        return start_epoch

    def _check_resumable_layout(self, resumed: dict) -> None:
        """Refuse a checkpoint whose trained epochs this config would lay out otherwise.

        SOLVER.MAX_EPOCH may change on resume, but under multigrid (or a cosine LR) it moves every
        stage and LR: the epochs already trained then belong to another schedule.
        """
        path, epoch, start_batch = resumed["path"], resumed["epoch"], resumed["start_batch"]
        trained_max, max_epoch = ckpt.saved_value(resumed["cfg"], "SOLVER.MAX_EPOCH"), self.schedule.spec.max_epoch
        if trained_max is not None and trained_max != max_epoch:
            trained = self.schedule.with_max_epoch(trained_max)
            differs = first_differing_epoch(trained, self.schedule, epoch + (start_batch > 0))
            if differs is not None:
                raise ckpt.CheckpointError(
                    f"SOLVER.MAX_EPOCH is {max_epoch} but checkpoint '{path}' was trained with "
                    f"{trained_max}, and the new schedule gives its epoch {differs + 1} other shapes, batch sizes "
                    f"or learning rates; resume with SOLVER.MAX_EPOCH {trained_max}, or start afresh in another "
                    "OUTPUT_DIR"
                )
        batches = self.sampler.batches_in(epoch)
        if start_batch > batches:
            raise ckpt.CheckpointError(
                f"checkpoint '{path}' stopped after batch {start_batch} of epoch {epoch + 1}, which now has "
                f"{batches} batches (did the training list change?); restore it, or move {path} away"
            )

    def _log_setup(self) -> None:
        if not self.ctx.is_main:
            return
        values = self.schedule.spec
        if self.spec.place.log_model_info:
            shapes = input_shapes(self.spec.model, values.num_frames, values.crop_size)
            logger.info(model_info_line(unwrap(self.model), shapes))
        table = format_schedule_table(self.schedule, self.ctx.world_size, len(self.train_set))
        logger.info("training schedule:\n" + table)
        note = epochs_note(self.schedule, values.max_epoch, values.epoch_factor)
        if note:
            logger.info(note)

    def _check_epochs_have_batches(self) -> None:
        """Every stage needs at least one batch: the train split must hold its first short-cycle batch."""
        num_videos = len(self.train_set)
        stage = max(self.schedule.stages, key=lambda s: s.short_cycle_batch_sizes[0])
        sizes = list(stage.short_cycle_batch_sizes)
        if num_videos >= sizes[0]:
            return
        batch, devices = self.schedule.spec.batch_size, self.ctx.world_size
        factor = sizes[0] // batch  # a stage's batches are whole multiples of TRAIN.BATCH_SIZE
        source = getattr(self.train_set, "source", "the train list")
        if sizes == [batch]:
            problem = f"TRAIN.BATCH_SIZE {batch} is more than the {num_videos} training videos {source} lists"
        else:
            problem = (f"multigrid stage {stage.index} (epochs {stage.start_epoch}-{stage.end_epoch - 1}) needs "
                       f"batches of {sizes} clips ({factor} x TRAIN.BATCH_SIZE {batch} first) but {source} lists "
                       f"{num_videos} training videos")
        largest = num_videos // factor // devices * devices  # a multiple of the devices, as validated
        if largest >= 1:
            raise DataError(f"{problem}; set TRAIN.BATCH_SIZE {largest} or lower, or add training videos")
        raise DataError(
            f"{problem}: the dataset is too small for this schedule (at the smallest TRAIN.BATCH_SIZE, {devices}, "
            f"stage {stage.index} needs {factor * devices} videos); add training videos"
            + (", or turn off MULTIGRID.SHORT_CYCLE or MULTIGRID.LONG_CYCLE, whose small shapes come in large "
               "batches" if factor > 1 else "")
        )


def _autocast(solver: SolverSpec, device: torch.device):
    """bf16 autocast on CUDA when TRAIN.MIXED_PRECISION (bf16 needs no loss scaling)."""
    if not solver.mixed_precision or device.type != "cuda":
        return nullcontext()
    if not torch.cuda.is_bf16_supported():
        raise RuntimeError("TRAIN.MIXED_PRECISION needs a GPU with bfloat16 support; set it to False")
    return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
