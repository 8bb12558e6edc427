"""Consistency checks run once after loading, so a bad config stops before training starts."""
from fvcore.common.config import CfgNode

from slowfast.config.loading import ConfigError

ARCHS = {"c2d": 1, "i3d": 1, "slow": 1, "slowfast": 2}
MODEL_NAMES = {"ResNet": ("c2d", "i3d", "slow"), "SlowFast": ("slowfast",)}
DEPTHS = (18, 50, 101)
LOSSES = ("cross_entropy", "bce_logit")
LR_POLICIES = ("cosine", "steps_with_relative_lrs")
ENSEMBLE_METHODS = ("sum", "max")
HEAD_ACTS = ("softmax", "sigmoid")
TRANS_FUNCS = ("bottleneck_transform", "basic_transform", "plain_basic_transform")
NONLOCAL_INSTANTIATIONS = ("dot_product", "softmax")
# TRAIN.DATASET values whose layout SYNTHETIC.GENERATE can write.
SYNTHETIC_DATASETS = ("kinetics", "synthetic", "ssv2", "charades")
SYNTHETIC_MAX_CLASSES = 16
SYNTHETIC_DIFFICULTIES = 4  # datasets/synthetic_render.py DIFFICULTY_LEVELS


def validate_config(cfg: CfgNode) -> None:
    """Raise ConfigError for the first inconsistent value found."""
    for check in (_check_model, _check_data, _check_batches, _check_solver, _check_run, _check_synthetic):
        check(cfg)
    _check_schedule(cfg)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _one_of(value, allowed, key: str) -> None:
    _require(value in allowed, f"{key} is {value!r}; expected one of {list(allowed)}")


def _check_model(cfg: CfgNode) -> None:
    _one_of(cfg.MODEL.ARCH, ARCHS, "MODEL.ARCH")
    _one_of(cfg.MODEL.MODEL_NAME, MODEL_NAMES, "MODEL.MODEL_NAME")
    _require(
        cfg.MODEL.ARCH in MODEL_NAMES[cfg.MODEL.MODEL_NAME],
        f"MODEL.ARCH {cfg.MODEL.ARCH!r} does not go with MODEL.MODEL_NAME {cfg.MODEL.MODEL_NAME!r}; "
        f"use MODEL_NAME {'SlowFast' if cfg.MODEL.ARCH == 'slowfast' else 'ResNet'}",
    )
    _one_of(cfg.RESNET.DEPTH, DEPTHS, "RESNET.DEPTH")
    _one_of(cfg.RESNET.TRANS_FUNC, TRANS_FUNCS, "RESNET.TRANS_FUNC")
    _require(cfg.RESNET.TRANS_FUNC == "bottleneck_transform" or cfg.RESNET.NUM_GROUPS == 1,
             f"RESNET.NUM_GROUPS {cfg.RESNET.NUM_GROUPS} needs RESNET.TRANS_FUNC bottleneck_transform; "
             f"{cfg.RESNET.TRANS_FUNC} blocks take 1")
    _one_of(cfg.NONLOCAL.INSTANTIATION, NONLOCAL_INSTANTIATIONS, "NONLOCAL.INSTANTIATION")
    _one_of(cfg.BN.NORM_TYPE, ("batchnorm",), "BN.NORM_TYPE")
    _one_of(cfg.MODEL.LOSS_FUNC, LOSSES, "MODEL.LOSS_FUNC")
    _one_of(cfg.MODEL.HEAD_ACT, HEAD_ACTS, "MODEL.HEAD_ACT")
    _require(cfg.MODEL.NUM_CLASSES >= 1, f"MODEL.NUM_CLASSES must be >= 1, got {cfg.MODEL.NUM_CLASSES}")
    _require(0.0 <= cfg.MODEL.DROPOUT_RATE < 1.0, f"MODEL.DROPOUT_RATE must be in [0, 1), got {cfg.MODEL.DROPOUT_RATE}")
    pathways = ARCHS[cfg.MODEL.ARCH]
    for key in ("NUM_BLOCK_TEMP_KERNEL", "SPATIAL_STRIDES", "SPATIAL_DILATIONS"):
        value = cfg.RESNET[key]
        _require(
            len(value) == 4 and all(len(stage) == pathways for stage in value),
            f"RESNET.{key} must list 4 stages x {pathways} pathway(s) for MODEL.ARCH {cfg.MODEL.ARCH}, got {value}",
        )
    _require(
        len(cfg.NONLOCAL.LOCATION) == 4 and all(len(stage) == pathways for stage in cfg.NONLOCAL.LOCATION),
        f"NONLOCAL.LOCATION must list 4 stages x {pathways} pathway(s), got {cfg.NONLOCAL.LOCATION}",
    )
    _require(
        len(cfg.DATA.INPUT_CHANNEL_NUM) >= pathways,
        f"DATA.INPUT_CHANNEL_NUM needs {pathways} entries for MODEL.ARCH {cfg.MODEL.ARCH}, got {cfg.DATA.INPUT_CHANNEL_NUM}",
    )
    if cfg.MODEL.ARCH == "slowfast":
        alpha = cfg.SLOWFAST.ALPHA
        _require(alpha >= 1 and cfg.DATA.NUM_FRAMES % alpha == 0,
                 f"DATA.NUM_FRAMES {cfg.DATA.NUM_FRAMES} must be a multiple of SLOWFAST.ALPHA {alpha}")
        _require(cfg.RESNET.WIDTH_PER_GROUP % cfg.SLOWFAST.BETA_INV == 0,
                 f"RESNET.WIDTH_PER_GROUP {cfg.RESNET.WIDTH_PER_GROUP} must be a multiple of SLOWFAST.BETA_INV {cfg.SLOWFAST.BETA_INV}")


def _check_data(cfg: CfgNode) -> None:
    lo, hi = (list(cfg.DATA.TRAIN_JITTER_SCALES) + [None, None])[:2]
    _require(len(cfg.DATA.TRAIN_JITTER_SCALES) == 2 and 0 < lo <= hi,
             f"DATA.TRAIN_JITTER_SCALES must be [min, max] with 0 < min <= max, got {cfg.DATA.TRAIN_JITTER_SCALES}")
    _require(cfg.DATA.TRAIN_CROP_SIZE <= lo,
             f"DATA.TRAIN_CROP_SIZE {cfg.DATA.TRAIN_CROP_SIZE} is larger than the smallest jitter scale "
             f"DATA.TRAIN_JITTER_SCALES[0] {lo}; lower the crop or raise the scale")
    _require(cfg.DATA.NUM_FRAMES >= 1 and cfg.DATA.SAMPLING_RATE >= 1,
             f"DATA.NUM_FRAMES and DATA.SAMPLING_RATE must be >= 1, got {cfg.DATA.NUM_FRAMES}, {cfg.DATA.SAMPLING_RATE}")
    _require(len(cfg.DATA.MEAN) == 3 and len(cfg.DATA.STD) == 3 and min(cfg.DATA.STD) > 0,
             f"DATA.MEAN and DATA.STD need 3 values each (STD > 0), got {cfg.DATA.MEAN}, {cfg.DATA.STD}")
    _one_of(cfg.DATA.DECODING_BACKEND, ("pyav",), "DATA.DECODING_BACKEND")
    _one_of(cfg.DATA.ENSEMBLE_METHOD, ENSEMBLE_METHODS, "DATA.ENSEMBLE_METHOD")
    _one_of(cfg.TEST.NUM_SPATIAL_CROPS, (1, 3), "TEST.NUM_SPATIAL_CROPS")
    _require(cfg.TEST.NUM_ENSEMBLE_VIEWS >= 1, f"TEST.NUM_ENSEMBLE_VIEWS must be >= 1, got {cfg.TEST.NUM_ENSEMBLE_VIEWS}")
    _require(0.0 <= cfg.DATA.MAX_FAILED_SHARE <= 1.0, f"DATA.MAX_FAILED_SHARE must be in [0, 1], got {cfg.DATA.MAX_FAILED_SHARE}")
    _require(cfg.DATA.DECODED_CACHE_GB >= 0, f"DATA.DECODED_CACHE_GB must be >= 0 (0 turns the cache off), got {cfg.DATA.DECODED_CACHE_GB}")
    _require(cfg.DATA.DECODED_CACHE_GB == 0 or cfg.TRAIN.DATASET.lower() in ("kinetics", "synthetic"),
             f"DATA.DECODED_CACHE_GB caches decoded videos of kinetics-format lists; TRAIN.DATASET is "
             f"{cfg.TRAIN.DATASET!r}: set DATA.DECODED_CACHE_GB 0")
    _require(cfg.DATA_LOADER.NUM_WORKERS >= 0, f"DATA_LOADER.NUM_WORKERS must be >= 0, got {cfg.DATA_LOADER.NUM_WORKERS}")
    if cfg.DATA.MULTI_LABEL:
        _require(cfg.MODEL.LOSS_FUNC == "bce_logit", "DATA.MULTI_LABEL True needs MODEL.LOSS_FUNC bce_logit")


def num_devices(cfg: CfgNode) -> int:
    """Training processes over all machines (one per GPU, or one per machine on CPU)."""
    return max(cfg.NUM_GPUS, 1) * cfg.NUM_SHARDS


def _check_batches(cfg: CfgNode) -> None:
    devices = num_devices(cfg)
    for key in ("TRAIN.BATCH_SIZE", "TEST.BATCH_SIZE"):
        node, leaf = key.split(".")
        value = cfg[node][leaf]
        _require(value >= 1 and value % devices == 0,
                 f"{key} {value} must be a positive multiple of the number of devices {devices} "
                 f"(NUM_GPUS {cfg.NUM_GPUS} x NUM_SHARDS {cfg.NUM_SHARDS})")


def _check_solver(cfg: CfgNode) -> None:
    _one_of(cfg.SOLVER.LR_POLICY, LR_POLICIES, "SOLVER.LR_POLICY")
    _one_of(cfg.SOLVER.OPTIMIZING_METHOD, ("sgd",), "SOLVER.OPTIMIZING_METHOD")
    _require(cfg.SOLVER.MAX_EPOCH >= 1, f"SOLVER.MAX_EPOCH must be >= 1, got {cfg.SOLVER.MAX_EPOCH}")
    _require(cfg.SOLVER.BASE_LR > 0, f"SOLVER.BASE_LR must be > 0, got {cfg.SOLVER.BASE_LR}")
    if cfg.SOLVER.LR_POLICY == "cosine":
        _require(cfg.SOLVER.COSINE_END_LR < cfg.SOLVER.BASE_LR,
                 f"SOLVER.COSINE_END_LR {cfg.SOLVER.COSINE_END_LR} must be below SOLVER.BASE_LR {cfg.SOLVER.BASE_LR}")
    _require(0 <= cfg.SOLVER.WARMUP_EPOCHS <= cfg.SOLVER.MAX_EPOCH,
             f"SOLVER.WARMUP_EPOCHS {cfg.SOLVER.WARMUP_EPOCHS} must be in [0, SOLVER.MAX_EPOCH {cfg.SOLVER.MAX_EPOCH}]")


def _check_run(cfg: CfgNode) -> None:
    _require(cfg.NUM_GPUS >= 0, f"NUM_GPUS must be >= 0 (0 = CPU), got {cfg.NUM_GPUS}")
    _require(cfg.NUM_SHARDS >= 1 and 0 <= cfg.SHARD_ID < cfg.NUM_SHARDS,
             f"SHARD_ID {cfg.SHARD_ID} must be in [0, NUM_SHARDS {cfg.NUM_SHARDS})")
    _one_of(cfg.TRAIN.NON_FINITE_LOSS, ("stop", "skip"), "TRAIN.NON_FINITE_LOSS")
    _require(cfg.LOG_PERIOD >= 1, f"LOG_PERIOD must be >= 1, got {cfg.LOG_PERIOD}")
    _require(cfg.BN.NUM_BATCHES_PRECISE >= 0, f"BN.NUM_BATCHES_PRECISE must be >= 0, got {cfg.BN.NUM_BATCHES_PRECISE}")
    _require(cfg.MULTIGRID.BN_BASE_SIZE >= 1, f"MULTIGRID.BN_BASE_SIZE must be >= 1, got {cfg.MULTIGRID.BN_BASE_SIZE}")
    _require(cfg.TRAIN.EVAL_PERIOD >= 1 and cfg.TRAIN.CHECKPOINT_PERIOD >= 1,
             "TRAIN.EVAL_PERIOD and TRAIN.CHECKPOINT_PERIOD must be >= 1")
    _require(cfg.TRAIN.CHECKPOINT_MINUTES >= 0,
             f"TRAIN.CHECKPOINT_MINUTES must be >= 0 (0 = off), got {cfg.TRAIN.CHECKPOINT_MINUTES}")
    _require(cfg.TRAIN.CHECKPOINT_KEEP >= 0,
             f"TRAIN.CHECKPOINT_KEEP must be >= 0 (0 = keep all), got {cfg.TRAIN.CHECKPOINT_KEEP}")


def _check_synthetic(cfg: CfgNode) -> None:
    """The bundled generator's options, checked only when it will run (SYNTHETIC.GENERATE)."""
    if not cfg.SYNTHETIC.GENERATE:
        return
    synthetic = cfg.SYNTHETIC
    _require(synthetic.NUM_CLASSES == cfg.MODEL.NUM_CLASSES,
             f"SYNTHETIC.NUM_CLASSES {synthetic.NUM_CLASSES} differs from MODEL.NUM_CLASSES "
             f"{cfg.MODEL.NUM_CLASSES}; set them equal")
    _require(1 <= synthetic.NUM_CLASSES <= SYNTHETIC_MAX_CLASSES,
             f"SYNTHETIC.NUM_CLASSES must be in [1, {SYNTHETIC_MAX_CLASSES}], got {synthetic.NUM_CLASSES}")
    _one_of(cfg.TRAIN.DATASET.lower(), SYNTHETIC_DATASETS, "TRAIN.DATASET (with SYNTHETIC.GENERATE True)")
    _require(synthetic.CLIPS_PER_CLASS >= 1, f"SYNTHETIC.CLIPS_PER_CLASS must be >= 1, got {synthetic.CLIPS_PER_CLASS}")
    _require(synthetic.NUM_FRAMES >= 2, f"SYNTHETIC.NUM_FRAMES must be >= 2, got {synthetic.NUM_FRAMES}")
    _require(synthetic.SIZE >= 16 and synthetic.SIZE % 2 == 0,
             f"SYNTHETIC.SIZE must be even and >= 16, got {synthetic.SIZE}")
    _one_of(synthetic.DIFFICULTY, range(SYNTHETIC_DIFFICULTIES), "SYNTHETIC.DIFFICULTY")


def _check_schedule(cfg: CfgNode) -> None:
    """Building the training schedule surfaces bad multigrid and LR-step settings early."""
    from slowfast.multigrid.schedule import build_schedule

    try:
        build_schedule(cfg)
    except ValueError as err:
        raise ConfigError(str(err)) from err
