"""Where a run goes and where a process stands in it: the place section of the config
(``place_spec(cfg) -> PlaceSpec``: machines, devices, seed, output folder, logging) and a process's
device and rank (``RunContext``)."""
from dataclasses import dataclass

import torch
from fvcore.common.config import CfgNode

from slowfast.datasets.errors import DataError
from slowfast.utils import distributed
from slowfast.utils.checks import require


@dataclass(frozen=True)
class PlaceSpec:
    """The run's processes and what they write, in checked plain values; field comments name the keys."""

    num_gpus: int  # NUM_GPUS (0: the CPU)
    num_shards: int  # NUM_SHARDS
    shard_id: int  # SHARD_ID
    rng_seed: int  # RNG_SEED
    output_dir: str  # OUTPUT_DIR
    log_period: int  # LOG_PERIOD
    log_model_info: bool  # LOG_MODEL_INFO
    tensorboard: bool  # TENSORBOARD.ENABLE
    tensorboard_log_dir: str  # TENSORBOARD.LOG_DIR

    @property
    def num_devices(self) -> int:
        """Training processes over all machines, what TRAIN/TEST.BATCH_SIZE are split over."""
        return distributed.num_devices(self.num_gpus, self.num_shards)


def place_spec(cfg: CfgNode) -> PlaceSpec:
    """The place keys, each rule checked once; ConfigError naming the key for the first bad value."""
    require(cfg.NUM_GPUS >= 0, f"NUM_GPUS must be >= 0 (0 = CPU), got {cfg.NUM_GPUS}")
    require(cfg.NUM_SHARDS >= 1 and 0 <= cfg.SHARD_ID < cfg.NUM_SHARDS,
            f"SHARD_ID {cfg.SHARD_ID} must be in [0, NUM_SHARDS {cfg.NUM_SHARDS})")
    require(cfg.LOG_PERIOD >= 1, f"LOG_PERIOD must be >= 1, got {cfg.LOG_PERIOD}")
    return PlaceSpec(
        num_gpus=cfg.NUM_GPUS,
        num_shards=cfg.NUM_SHARDS,
        shard_id=cfg.SHARD_ID,
        rng_seed=cfg.RNG_SEED,
        output_dir=cfg.OUTPUT_DIR,
        log_period=cfg.LOG_PERIOD,
        log_model_info=cfg.LOG_MODEL_INFO,
        tensorboard=cfg.TENSORBOARD.ENABLE,
        tensorboard_log_dir=cfg.TENSORBOARD.LOG_DIR,
    )


@dataclass(frozen=True)
class RunContext:
    """A process's device and its place among the run's processes."""

    device: torch.device
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def check_ranks_agree(count: int, what: str, source: str) -> None:
    """Every rank must see the same list: the sampler's permutation and the shards depend on its length."""
    counts = distributed.gather_ints(count)
    if len(set(counts)) > 1:
        shown = ", ".join(f"rank {rank} has {n}" for rank, n in enumerate(counts))
        raise DataError(
            f"ranks disagree on the number of {what} ({shown}; this rank read {source}); give every "
            "machine the same DATA.PATH_TO_DATA_DIR contents"
        )
