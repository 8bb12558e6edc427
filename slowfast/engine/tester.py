"""The multi-view test: every video, every temporal view x spatial crop, scores ensembled."""
import os

import torch

from slowfast.datasets.build import build_dataset
from slowfast.datasets.loader import build_eval_loader
from slowfast.engine import checkpoint as ckpt
from slowfast.engine.caffe2_weights import load_pretrained_weights
from slowfast.engine.context import RunContext, check_ranks_agree
from slowfast.engine.evaluator import run_views
from slowfast.engine.inputs import InputPreparer
from slowfast.engine.metrics import ViewEnsemble
from slowfast.engine.run_spec import RunSpec
from slowfast.models.build import build_model_from_spec
from slowfast.utils.logging import get_logger, log_json_stats
from slowfast.utils.progress import progress_bar

logger = get_logger(__name__)


def test_checkpoint_path(spec: RunSpec) -> str | None:
    """TEST.CHECKPOINT_FILE_PATH, else the run's last checkpoint, else TRAIN.CHECKPOINT_FILE_PATH."""
    if spec.test.checkpoint_file_path:
        return spec.test.checkpoint_file_path
    last = ckpt.find_last_checkpoint(spec.place.output_dir)
    if last is not None:
        return str(last)
    return spec.train.checkpoint_file_path or None


def check_test_checkpoint(spec: RunSpec) -> None:
    """Before a test-only run starts: raise when it has no checkpoint to test, unless
    TEST.ALLOW_RANDOM_INIT, or when the one it would test does not exist."""
    if spec.train.enable or not spec.test.enable:
        return
    path = test_checkpoint_path(spec)
    if path is None:
        if not spec.test.allow_random_init:
            raise ckpt.CheckpointError(_no_checkpoint_message(spec.place.output_dir))
    elif not os.path.isfile(path):
        kind = "Caffe2 checkpoint" if _checkpoint_type(spec, path) == "caffe2" else "checkpoint"
        raise ckpt.CheckpointError(f"{kind} '{path}' does not exist; check the path")


def _no_checkpoint_message(output_dir: str) -> str:
    return (f"no checkpoint to test: TEST.CHECKPOINT_FILE_PATH and TRAIN.CHECKPOINT_FILE_PATH are empty and "
            f"OUTPUT_DIR '{output_dir}' has no {ckpt.CHECKPOINT_SUBDIR}/checkpoint_epoch_*.pyth; set "
            "TEST.CHECKPOINT_FILE_PATH (or OUTPUT_DIR to the trained run's folder), or TEST.ALLOW_RANDOM_INIT "
            "True to test an untrained model")


def _checkpoint_type(spec: RunSpec, path: str) -> str:
    """TEST/TRAIN.CHECKPOINT_TYPE for the file that key names; the run's own checkpoints are "pytorch"."""
    if path == spec.test.checkpoint_file_path:
        return spec.test.checkpoint_type
    if path == spec.train.checkpoint_file_path:
        return spec.train.checkpoint_type
    return "pytorch"


def run_test(spec: RunSpec, ctx: RunContext) -> dict:
    """Load the checkpoint to test, score the test split and log a ``test_final`` line."""
    data, place, test, solver = spec.data, spec.place, spec.test, spec.solver
    model = build_model_from_spec(spec.model, spec.schedule.bn_groups)
    model = model.to(ctx.device, memory_format=solver.memory_format)
    path = test_checkpoint_path(spec)
    if path is None:
        if not test.allow_random_init:
            raise ckpt.CheckpointError(_no_checkpoint_message(place.output_dir))
        logger.warning(f"no checkpoint to test (none in {place.output_dir}, TEST/TRAIN.CHECKPOINT_FILE_PATH "
                       "empty): testing a randomly initialised model (TEST.ALLOW_RANDOM_INIT True)")
    else:
        load_pretrained_weights(path, model, _checkpoint_type(spec, path), reset_head_if_classes_differ=False)
        logger.info(f"testing {path}")
    dataset = build_dataset(data, "test")
    check_ranks_agree(len(dataset), "test entries", getattr(dataset, "source", "the test list"))
    pin = data.pin_memory and ctx.device.type == "cuda"
    loader = build_eval_loader(
        dataset, test.batch_size // ctx.world_size, data.num_workers, pin,
        rank=ctx.rank, world_size=ctx.world_size,
    )
    views, crops = data.options.num_ensemble_views, data.options.num_spatial_crops
    ensemble = ViewEnsemble(dataset.num_videos, views * crops, spec.model.num_classes, data.ensemble_method)
    batches = progress_bar(len(loader), "multi-view test", unit="batch", enabled=ctx.is_main,
                           iterable=loader)  # a bar on a terminal, nothing in logs
    prepare = InputPreparer(spec.model, data, solver.memory_format, ctx.device)
    with batches:
        results = run_views(model, batches, prepare, ensemble, solver.head_act, log_period=place.log_period)
    metric = "map" if data.multi_label else "top1"
    logger.info(
        f"test: {views} temporal views x {crops} spatial crops of {data.options.num_frames} frames at "
        f"{data.options.test_crop_size}px, "
        f"{results.get('num_videos')} videos, {metric} {results.get(metric, float('nan')):.2f}"
    )
    if test.save_results_path and ctx.is_main:
        torch.save(ensemble.state(), f"{place.output_dir}/{test.save_results_path}")
    record = {"split": "test_final", **_accuracy_keys(results)}
    log_json_stats(record, place.output_dir if ctx.is_main else None)
    return record


def _accuracy_keys(results: dict) -> dict:
    """PySlowFast's test_final keys: ``top1_acc``/``top5_acc`` (%) for top1/top5; others unchanged."""
    renamed = {"top1": "top1_acc", "top5": "top5_acc"}
    return {renamed.get(key, key): value for key, value in results.items()}
