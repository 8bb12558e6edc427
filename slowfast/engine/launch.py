"""Run a loaded config: prepare the output folder and data, train, then test."""
import os

from fvcore.common.config import CfgNode

from slowfast.engine.context import RunContext
from slowfast.utils.env import seed_everything, select_device
from slowfast.utils.logging import get_logger, setup_logging

logger = get_logger(__name__)


def run(cfg: CfgNode) -> dict:
    """Train if TRAIN.ENABLE, then test if TEST.ENABLE, in this process; returns the results."""
    if cfg.NUM_GPUS > 1 or cfg.NUM_SHARDS > 1:
        raise RuntimeError(
            f"NUM_GPUS {cfg.NUM_GPUS} x NUM_SHARDS {cfg.NUM_SHARDS}: this version trains in one "
            "process (NUM_GPUS 0 for the CPU or 1 for one GPU, NUM_SHARDS 1); multi-process "
            "training is not available yet"
        )
    ctx = RunContext(device=select_device(cfg.NUM_GPUS))
    prepare_output_dir(cfg)
    setup_logging(cfg.OUTPUT_DIR, rank=ctx.rank)
    logger.info(f"running on {ctx.device}; config written to {os.path.join(cfg.OUTPUT_DIR, 'config.yaml')}")
    prepare_data(cfg)
    results: dict = {}
    if cfg.TRAIN.ENABLE:
        from slowfast.engine.trainer import Trainer

        seed_everything(cfg.RNG_SEED + ctx.rank)
        results["val"] = Trainer(cfg, ctx).fit()
    if cfg.TEST.ENABLE:
        from slowfast.engine.tester import run_test

        seed_everything(cfg.RNG_SEED + ctx.rank)
        results["test"] = run_test(cfg, ctx)
    return results


def prepare_output_dir(cfg: CfgNode) -> None:
    """Create OUTPUT_DIR/checkpoints and dump the frozen config to OUTPUT_DIR/config.yaml."""
    os.makedirs(os.path.join(cfg.OUTPUT_DIR, "checkpoints"), exist_ok=True)
    with open(os.path.join(cfg.OUTPUT_DIR, "config.yaml"), "w") as file:
        file.write(cfg.dump())


def prepare_data(cfg: CfgNode) -> None:
    """Generate the bundled synthetic dataset (in TRAIN.DATASET's layout) on first use when the config asks for it."""
    from slowfast.datasets.build import ensure_synthetic_data

    ensure_synthetic_data(cfg)
