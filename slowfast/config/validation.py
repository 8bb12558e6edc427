"""Consistency checks run once after loading, so a bad config stops before training starts.

Each section of the config is checked by the module that owns it, each rule once, by building
that section: the model's keys by ``models/spec.py`` (``model_spec``), the schedule's (SOLVER,
MULTIGRID, TRAIN periods and batch, DATA shapes and jitter) by ``multigrid/spec.py``
(``schedule_spec``); then ``cross_checks.py`` checks the schedule's shapes against the model.
The rules written here are those of keys no builder owns, and the test views x crops rule
(``utils/checks.multi_view_test``), which ``datasets/options.py`` applies again when datasets are
built: ``datasets/build.py`` imports ``slowfast.config``, so validation cannot build that section.
Single-field helpers live in ``utils/checks.py``.
"""
from fvcore.common.config import CfgNode

from slowfast.utils.checks import ConfigError, at_least, multi_view_test, one_of, require

HEAD_ACTS = ("softmax", "sigmoid")
ENSEMBLE_METHODS = ("sum", "max")
# TRAIN.DATASET values whose layout SYNTHETIC.GENERATE can write.
SYNTHETIC_DATASETS = ("kinetics", "synthetic", "ssv2", "charades")
SYNTHETIC_MAX_CLASSES = 16
SYNTHETIC_DIFFICULTIES = 4  # datasets/synthetic/render.py DIFFICULTY_LEVELS


def validate_config(cfg: CfgNode) -> None:
    """Raise ConfigError for the first inconsistent value found."""
    # The section builders sit above config (and import torch): imported when validating.
    from slowfast.config.cross_checks import check_shapes_fit_model
    from slowfast.models.spec import model_spec
    from slowfast.multigrid.schedule import schedule_spec

    model = model_spec(cfg)
    try:
        schedule = schedule_spec(cfg)
    except ValueError as err:  # the schedule spec's messages name the key
        raise ConfigError(str(err)) from err
    for check in (_check_losses, _check_data, _check_batches, _check_solver, _check_run, _check_synthetic):
        check(cfg)
    check_shapes_fit_model(model, schedule, cfg.DATA.TEST_CROP_SIZE)


def _check_losses(cfg: CfgNode) -> None:
    from slowfast.engine.losses import LOSS_FUNCS

    one_of(cfg.MODEL.LOSS_FUNC, tuple(LOSS_FUNCS), "MODEL.LOSS_FUNC")
    one_of(cfg.MODEL.HEAD_ACT, HEAD_ACTS, "MODEL.HEAD_ACT")
    if cfg.DATA.MULTI_LABEL:
        require(cfg.MODEL.LOSS_FUNC == "bce_logit", "DATA.MULTI_LABEL True needs MODEL.LOSS_FUNC bce_logit")


def _check_data(cfg: CfgNode) -> None:
    # DATA.TRAIN_JITTER_SCALES' form is checked by the schedule spec, which has run.
    lo = cfg.DATA.TRAIN_JITTER_SCALES[0]
    require(cfg.DATA.TRAIN_CROP_SIZE <= lo,
             f"DATA.TRAIN_CROP_SIZE {cfg.DATA.TRAIN_CROP_SIZE} is larger than the smallest jitter scale "
             f"DATA.TRAIN_JITTER_SCALES[0] {lo}; lower the crop or raise the scale")
    require(len(cfg.DATA.MEAN) == 3 and len(cfg.DATA.STD) == 3 and min(cfg.DATA.STD) > 0,
             f"DATA.MEAN and DATA.STD need 3 values each (STD > 0), got {cfg.DATA.MEAN}, {cfg.DATA.STD}")
    one_of(cfg.DATA.DECODING_BACKEND, ("pyav",), "DATA.DECODING_BACKEND")
    one_of(cfg.DATA.ENSEMBLE_METHOD, ENSEMBLE_METHODS, "DATA.ENSEMBLE_METHOD")
    multi_view_test(cfg.TEST.NUM_SPATIAL_CROPS, cfg.TEST.NUM_ENSEMBLE_VIEWS)
    require(0.0 <= cfg.DATA.MAX_FAILED_SHARE <= 1.0,
            f"DATA.MAX_FAILED_SHARE must be in [0, 1], got {cfg.DATA.MAX_FAILED_SHARE}")
    require(cfg.DATA.DECODED_CACHE_GB >= 0,
            f"DATA.DECODED_CACHE_GB must be >= 0 (0 turns the cache off), got {cfg.DATA.DECODED_CACHE_GB}")
    require(cfg.DATA.DECODED_CACHE_GB == 0 or cfg.TRAIN.DATASET.lower() in ("kinetics", "synthetic"),
             f"DATA.DECODED_CACHE_GB caches decoded videos of kinetics-format lists; TRAIN.DATASET is "
             f"{cfg.TRAIN.DATASET!r}: set DATA.DECODED_CACHE_GB 0")
    require(not cfg.DATA.DECODED_CACHE_DIR or cfg.DATA.DECODED_CACHE_GB > 0,
            f"DATA.DECODED_CACHE_DIR {cfg.DATA.DECODED_CACHE_DIR!r} keeps the decoded cache, which is off "
            f"(DATA.DECODED_CACHE_GB 0): set DATA.DECODED_CACHE_GB above 0 or DATA.DECODED_CACHE_DIR ''")
    require(cfg.DATA_LOADER.NUM_WORKERS >= 0,
            f"DATA_LOADER.NUM_WORKERS must be >= 0, got {cfg.DATA_LOADER.NUM_WORKERS}")


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


def _check_synthetic(cfg: CfgNode) -> None:
    """The bundled generator's options, checked only when it will run (SYNTHETIC.GENERATE)."""
    if not cfg.SYNTHETIC.GENERATE:
        return
    synthetic = cfg.SYNTHETIC
    require(synthetic.NUM_CLASSES == cfg.MODEL.NUM_CLASSES,
            f"SYNTHETIC.NUM_CLASSES {synthetic.NUM_CLASSES} differs from MODEL.NUM_CLASSES "
            f"{cfg.MODEL.NUM_CLASSES}; set them equal")
    require(1 <= synthetic.NUM_CLASSES <= SYNTHETIC_MAX_CLASSES,
            f"SYNTHETIC.NUM_CLASSES must be in [1, {SYNTHETIC_MAX_CLASSES}], got {synthetic.NUM_CLASSES}")
    one_of(cfg.TRAIN.DATASET.lower(), SYNTHETIC_DATASETS, "TRAIN.DATASET (with SYNTHETIC.GENERATE True)")
    at_least(synthetic.CLIPS_PER_CLASS, 1, "SYNTHETIC.CLIPS_PER_CLASS")
    at_least(synthetic.TEST_CLIPS_PER_CLASS, 0, "SYNTHETIC.TEST_CLIPS_PER_CLASS")
    require(synthetic.TEST_CLIPS_PER_CLASS == 0 or cfg.TRAIN.DATASET.lower() in ("kinetics", "synthetic"),
            f"SYNTHETIC.TEST_CLIPS_PER_CLASS sizes the test split of the Kinetics layout only; TRAIN.DATASET "
            f"{cfg.TRAIN.DATASET!r} has no test split of its own: set it to 0")
    at_least(synthetic.NUM_FRAMES, 2, "SYNTHETIC.NUM_FRAMES")
    require(synthetic.SIZE >= 16 and synthetic.SIZE % 2 == 0,
            f"SYNTHETIC.SIZE must be even and >= 16, got {synthetic.SIZE}")
    one_of(synthetic.DIFFICULTY, range(SYNTHETIC_DIFFICULTIES), "SYNTHETIC.DIFFICULTY")
