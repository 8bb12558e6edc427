"""The multi-view test: every video, every temporal view x spatial crop, scores ensembled."""
import os

import torch
from fvcore.common.config import CfgNode

from slowfast.datasets.build import build_dataset
from slowfast.datasets.loader import build_eval_loader
from slowfast.datasets.spec import data_spec
from slowfast.engine import checkpoint as ckpt
from slowfast.engine.caffe2_weights import load_pretrained_weights
from slowfast.engine.context import RunContext, check_ranks_agree
from slowfast.engine.evaluator import run_views
from slowfast.engine.inputs import InputPreparer, memory_format
from slowfast.engine.metrics import ViewEnsemble
from slowfast.models import build_model
from slowfast.utils.logging import get_logger, log_json_stats
from slowfast.utils.progress import progress_bar

logger = get_logger(__name__)


def test_checkpoint_path(cfg: CfgNode) -> str | None:
    """TEST.CHECKPOINT_FILE_PATH, else the run's last checkpoint, else TRAIN.CHECKPOINT_FILE_PATH."""
    if cfg.TEST.CHECKPOINT_FILE_PATH:
        return cfg.TEST.CHECKPOINT_FILE_PATH
    last = ckpt.find_last_checkpoint(cfg.OUTPUT_DIR)
    if last is not None:
        return str(last)
    return cfg.TRAIN.CHECKPOINT_FILE_PATH or None


def check_test_checkpoint(cfg: CfgNode) -> None:
    """Before a test-only run starts: raise when it has no checkpoint to test, unless
    TEST.ALLOW_RANDOM_INIT, or when the one it would test does not exist."""
    if cfg.TRAIN.ENABLE or not cfg.TEST.ENABLE:
        return
    path = test_checkpoint_path(cfg)
    if path is None:
        if not cfg.TEST.ALLOW_RANDOM_INIT:
            raise ckpt.CheckpointError(_no_checkpoint_message(cfg))
    elif not os.path.isfile(path):
        kind = "Caffe2 checkpoint" if _checkpoint_type(cfg, path) == "caffe2" else "checkpoint"
        raise ckpt.CheckpointError(f"{kind} '{path}' does not exist; check the path")


def _no_checkpoint_message(cfg: CfgNode) -> str:
    return (f"no checkpoint to test: TEST.CHECKPOINT_FILE_PATH and TRAIN.CHECKPOINT_FILE_PATH are empty and "
            f"OUTPUT_DIR '{cfg.OUTPUT_DIR}' has no {ckpt.CHECKPOINT_SUBDIR}/checkpoint_epoch_*.pyth; set "
            "TEST.CHECKPOINT_FILE_PATH (or OUTPUT_DIR to the trained run's folder), or TEST.ALLOW_RANDOM_INIT "
            "True to test an untrained model")


def _checkpoint_type(cfg: CfgNode, path: str) -> str:
    """TEST/TRAIN.CHECKPOINT_TYPE for the file that key names; the run's own checkpoints are "pytorch"."""
    if path == cfg.TEST.CHECKPOINT_FILE_PATH:
        return cfg.TEST.CHECKPOINT_TYPE
    if path == cfg.TRAIN.CHECKPOINT_FILE_PATH:
        return cfg.TRAIN.CHECKPOINT_TYPE
    return "pytorch"


def run_test(cfg: CfgNode, ctx: RunContext) -> dict:
    """Load the checkpoint to test, score the test split and log a ``test_final`` line."""
    model = build_model(cfg).to(ctx.device, memory_format=memory_format(cfg))
    path = test_checkpoint_path(cfg)
    if path is None:
        if not cfg.TEST.ALLOW_RANDOM_INIT:
            raise ckpt.CheckpointError(_no_checkpoint_message(cfg))
        logger.warning(f"no checkpoint to test (none in {cfg.OUTPUT_DIR}, TEST/TRAIN.CHECKPOINT_FILE_PATH "
                       "empty): testing a randomly initialised model (TEST.ALLOW_RANDOM_INIT True)")
    else:
        load_pretrained_weights(path, model, _checkpoint_type(cfg, path), reset_head_if_classes_differ=False)
        logger.info(f"testing {path}")
    dataset = build_dataset(data_spec(cfg), "test")
    check_ranks_agree(len(dataset), "test entries", getattr(dataset, "source", "the test list"))
    pin = cfg.DATA_LOADER.PIN_MEMORY and ctx.device.type == "cuda"
    loader = build_eval_loader(
        dataset, cfg.TEST.BATCH_SIZE // ctx.world_size, cfg.DATA_LOADER.NUM_WORKERS, pin,
        rank=ctx.rank, world_size=ctx.world_size,
    )
    views, crops = cfg.TEST.NUM_ENSEMBLE_VIEWS, cfg.TEST.NUM_SPATIAL_CROPS
    ensemble = ViewEnsemble(dataset.num_videos, views * crops, cfg.MODEL.NUM_CLASSES, cfg.DATA.ENSEMBLE_METHOD)
    batches = progress_bar(len(loader), "multi-view test", unit="batch", enabled=ctx.is_main,
                           iterable=loader)  # a bar on a terminal, nothing in logs
    with batches:
        results = run_views(model, batches, InputPreparer(cfg, ctx.device), ensemble,
                            cfg.MODEL.HEAD_ACT, log_period=cfg.LOG_PERIOD)
    metric = "map" if cfg.DATA.MULTI_LABEL else "top1"
    logger.info(
        f"test: {views} temporal views x {crops} spatial crops of {cfg.DATA.NUM_FRAMES} frames at "
        f"{cfg.DATA.TEST_CROP_SIZE}px, "
        f"{results.get('num_videos')} videos, {metric} {results.get(metric, float('nan')):.2f}"
    )
    if cfg.TEST.SAVE_RESULTS_PATH and ctx.is_main:
        torch.save(ensemble.state(), f"{cfg.OUTPUT_DIR}/{cfg.TEST.SAVE_RESULTS_PATH}")
    record = {"split": "test_final", **_accuracy_keys(results)}
    log_json_stats(record, cfg.OUTPUT_DIR if ctx.is_main else None)
    return record


def _accuracy_keys(results: dict) -> dict:
    """PySlowFast's test_final keys: ``top1_acc``/``top5_acc`` (%) for top1/top5; others unchanged."""
    renamed = {"top1": "top1_acc", "top5": "top5_acc"}
    return {renamed.get(key, key): value for key, value in results.items()}
