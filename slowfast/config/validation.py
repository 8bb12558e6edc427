"""Consistency checks run once after loading, so a bad config stops before training starts.

Each section of the config is checked by the module that owns it, each rule once, by building
that section: the model's keys by ``models/spec.py`` (``model_spec``), the schedule's (SOLVER,
MULTIGRID, TRAIN periods and batch, DATA shapes and jitter) by ``multigrid/spec.py``
(``schedule_spec``), the data's (DATA, DATA_LOADER, SYNTHETIC, TRAIN/TEST.DATASET, the test's
views) by ``datasets/spec.py`` (``data_spec``); then ``cross_checks.py`` checks the schedule's
shapes against the model. The rules written here are those of keys no builder owns yet.
Single-field helpers live in ``utils/checks.py``.
"""
from fvcore.common.config import CfgNode

from slowfast.utils.checks import ConfigError, one_of, require

HEAD_ACTS = ("softmax", "sigmoid")


def validate_config(cfg: CfgNode) -> None:
    """Raise ConfigError for the first inconsistent value found."""
    # The section builders sit above config (and import torch): imported when validating.
    from slowfast.config.cross_checks import check_shapes_fit_model
    from slowfast.datasets.spec import data_spec
    from slowfast.models.spec import model_spec
    from slowfast.multigrid.schedule import schedule_spec

    model = model_spec(cfg)
    try:
        schedule = schedule_spec(cfg)
    except ValueError as err:  # the schedule spec's messages name the key
        raise ConfigError(str(err)) from err
    _check_losses(cfg)
    data = data_spec(cfg)
    for check in (_check_batches, _check_solver, _check_run):
        check(cfg)
    check_shapes_fit_model(model, schedule, data.options.test_crop_size)


def _check_losses(cfg: CfgNode) -> None:
    from slowfast.engine.losses import LOSS_FUNCS

    one_of(cfg.MODEL.LOSS_FUNC, tuple(LOSS_FUNCS), "MODEL.LOSS_FUNC")
    one_of(cfg.MODEL.HEAD_ACT, HEAD_ACTS, "MODEL.HEAD_ACT")


def _check_batches(cfg: CfgNode) -> None:
    from slowfast.utils.distributed import num_devices

    devices = num_devices(cfg.NUM_GPUS, cfg.NUM_SHARDS)
    for key in ("TRAIN.BATCH_SIZE", "TEST.BATCH_SIZE"):
        node, leaf = key.split(".")
        value = cfg[node][leaf]
        require(value >= 1 and value % devices == 0,
                 f"{key} {value} must be a positive multiple of the number of devices {devices} "
                 f"(NUM_GPUS {cfg.NUM_GPUS} x NUM_SHARDS {cfg.NUM_SHARDS})")


def _check_solver(cfg: CfgNode) -> None:
    # SOLVER.LR_POLICY, STEPS, LRS, MAX_EPOCH, COSINE_END_LR, warmup: checked by the schedule.
    one_of(cfg.SOLVER.OPTIMIZING_METHOD, ("sgd",), "SOLVER.OPTIMIZING_METHOD")
    require(cfg.SOLVER.BASE_LR > 0, f"SOLVER.BASE_LR must be > 0, got {cfg.SOLVER.BASE_LR}")
    require(cfg.SOLVER.WARMUP_EPOCHS <= cfg.SOLVER.MAX_EPOCH,
             f"SOLVER.WARMUP_EPOCHS {cfg.SOLVER.WARMUP_EPOCHS} must be in "
             f"[0, SOLVER.MAX_EPOCH {cfg.SOLVER.MAX_EPOCH}]")


def _check_run(cfg: CfgNode) -> None:
    require(cfg.NUM_GPUS >= 0, f"NUM_GPUS must be >= 0 (0 = CPU), got {cfg.NUM_GPUS}")
    require(cfg.NUM_SHARDS >= 1 and 0 <= cfg.SHARD_ID < cfg.NUM_SHARDS,
             f"SHARD_ID {cfg.SHARD_ID} must be in [0, NUM_SHARDS {cfg.NUM_SHARDS})")
    one_of(cfg.TRAIN.NON_FINITE_LOSS, ("stop", "skip"), "TRAIN.NON_FINITE_LOSS")
    require(cfg.LOG_PERIOD >= 1, f"LOG_PERIOD must be >= 1, got {cfg.LOG_PERIOD}")
    require(cfg.BN.NUM_BATCHES_PRECISE >= 0, f"BN.NUM_BATCHES_PRECISE must be >= 0, got {cfg.BN.NUM_BATCHES_PRECISE}")
    # MULTIGRID.BN_BASE_SIZE, TRAIN.EVAL_PERIOD/CHECKPOINT_PERIOD: checked by the schedule spec.
    require(cfg.TRAIN.CHECKPOINT_MINUTES >= 0,
            f"TRAIN.CHECKPOINT_MINUTES must be >= 0 (0 = off), got {cfg.TRAIN.CHECKPOINT_MINUTES}")
    require(cfg.TRAIN.CHECKPOINT_KEEP >= 0,
            f"TRAIN.CHECKPOINT_KEEP must be >= 0 (0 = keep all), got {cfg.TRAIN.CHECKPOINT_KEEP}")
