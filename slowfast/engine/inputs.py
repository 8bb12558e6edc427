"""Model inputs: a uint8 clip batch on the device as the model's pathway list, and its shapes."""
import torch

from slowfast.datasets.pathways import to_model_inputs
from slowfast.datasets.spec import DataSpec
from slowfast.models.spec import ModelSpec


class InputPreparer:
    """Moves a uint8 clip batch to the device and turns it into the model's pathway list."""

    def __init__(self, model: ModelSpec, data: DataSpec, memory_format: torch.memory_format,
                 device: torch.device) -> None:
        self.device = device
        self.alpha = model.fusion.alpha if model.fusion is not None else None
        self.reverse_channels = data.reverse_input_channel
        self.memory_format = memory_format
        # On the device once, not rebuilt from Python floats at every step.
        self.mean = torch.tensor(data.mean, dtype=torch.float32, device=device)
        self.std = torch.tensor(data.std, dtype=torch.float32, device=device)

    def __call__(self, clips: torch.Tensor) -> list[torch.Tensor]:
        clips = clips.to(self.device, non_blocking=True)
        inputs = to_model_inputs(clips, self.mean, self.std, self.alpha, self.reverse_channels)
        return [pathway.contiguous(memory_format=self.memory_format) for pathway in inputs]


def input_shapes(model: ModelSpec, num_frames: int, crop_size: int) -> list[tuple[int, ...]]:
    """Per-pathway input shapes of one RGB clip of ``num_frames`` x ``crop_size``, for FLOP counting."""
    return [(3, frames, crop_size, crop_size) for frames in model.pathway_frames(num_frames)]
