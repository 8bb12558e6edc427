"""Where a process stands in a run: its device, rank and the pieces every engine part needs."""
from dataclasses import dataclass

import torch
from fvcore.common.config import CfgNode
from torch import nn

from slowfast.datasets.errors import DataError
from slowfast.datasets.pathways import to_model_inputs
from slowfast.utils import distributed


@dataclass(frozen=True)
class RunContext:
    """A process's device and its place among the run's processes."""

    device: torch.device
    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


class InputPreparer:
    """Moves a uint8 clip batch to the device and turns it into the model's pathway list."""

    def __init__(self, cfg: CfgNode, device: torch.device) -> None:
        self.device = device
        self.alpha = cfg.SLOWFAST.ALPHA if cfg.MODEL.ARCH == "slowfast" else None
        self.reverse_channels = cfg.DATA.REVERSE_INPUT_CHANNEL
        self.memory_format = memory_format(cfg)
        # On the device once, not rebuilt from Python floats at every step.
        self.mean = torch.tensor(cfg.DATA.MEAN, dtype=torch.float32, device=device)
        self.std = torch.tensor(cfg.DATA.STD, dtype=torch.float32, device=device)

    def __call__(self, clips: torch.Tensor) -> list[torch.Tensor]:
        clips = clips.to(self.device, non_blocking=True)
        inputs = to_model_inputs(clips, self.mean, self.std, self.alpha, self.reverse_channels)
        return [pathway.contiguous(memory_format=self.memory_format) for pathway in inputs]


def memory_format(cfg: CfgNode) -> torch.memory_format:
    """Layout of the model's weights and inputs: channels_last_3d with TRAIN.CHANNELS_LAST."""
    return torch.channels_last_3d if cfg.TRAIN.CHANNELS_LAST else torch.contiguous_format


def input_shapes(cfg: CfgNode, num_frames: int, crop_size: int) -> list[tuple[int, ...]]:
    """Per-pathway input shapes of one clip, for FLOP counting."""
    if cfg.MODEL.ARCH == "slowfast":
        slow = num_frames // cfg.SLOWFAST.ALPHA
        return [(3, slow, crop_size, crop_size), (3, num_frames, crop_size, crop_size)]
    return [(3, num_frames, crop_size, crop_size)]


def build_loss(name: str) -> nn.Module:
    """The training loss named by MODEL.LOSS_FUNC."""
    losses = {"cross_entropy": nn.CrossEntropyLoss, "bce_logit": nn.BCEWithLogitsLoss}
    return losses[name](reduction="mean")


def unwrap(model: nn.Module) -> nn.Module:
    """The bare model inside a DistributedDataParallel wrapper."""
    return model.module if hasattr(model, "module") else model


def check_ranks_agree(count: int, what: str, source: str) -> None:
    """Every rank must see the same list: the sampler's permutation and the shards depend on its length."""
    counts = distributed.gather_ints(count)
    if len(set(counts)) > 1:
        shown = ", ".join(f"rank {rank} has {n}" for rank, n in enumerate(counts))
        raise DataError(
            f"ranks disagree on the number of {what} ({shown}; this rank read {source}); give every "
            "machine the same DATA.PATH_TO_DATA_DIR contents"
        )
