"""Model inputs: a uint8 clip batch on the device as the model's pathway list, and its shapes."""
import torch
from fvcore.common.config import CfgNode

from slowfast.datasets.pathways import to_model_inputs


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
