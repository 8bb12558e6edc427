"""Turn a uint8 clip batch into the model's float inputs, on whatever device the batch is on."""
from typing import Optional, Sequence, Union

import torch

Stats = Union[Sequence[float], torch.Tensor]


def normalize(clips: torch.Tensor, mean: Stats, std: Stats) -> torch.Tensor:
    """uint8 ``[N, C, T, H, W]`` to float32 ``(x / 255 - mean) / std`` per channel.

    ``mean`` and ``std`` may already be float32 tensors on the clips' device (no copy then).
    """
    if clips.dim() != 5 or clips.shape[1] != len(mean) or len(mean) != len(std):
        raise ValueError(
            f"expected clips [N, C, T, H, W] with C = len(mean) = len(std), got shape {tuple(clips.shape)}, "
            f"{len(mean)} means and {len(std)} stds"
        )
    shape = (1, len(mean), 1, 1, 1)
    mean_tensor = torch.as_tensor(mean, dtype=torch.float32, device=clips.device).view(shape)
    std_tensor = torch.as_tensor(std, dtype=torch.float32, device=clips.device).view(shape)
    return clips.to(torch.float32).div_(255.0).sub_(mean_tensor).div_(std_tensor)


def slow_pathway_indices(num_frames: int, alpha: int) -> list[int]:
    """Frames of the slow pathway: an exact stride, ``0, alpha, 2 * alpha, ...``, ``num_frames // alpha`` of them."""
    if num_frames < alpha:
        raise ValueError(f"a SlowFast clip needs at least SLOWFAST.ALPHA={alpha} frames, got {num_frames}")
    return list(range(0, (num_frames // alpha) * alpha, alpha))


def to_model_inputs(
    clips: torch.Tensor,
    mean: Stats,
    std: Stats,
    slowfast_alpha: Optional[int],
    reverse_channels: bool = False,
) -> list[torch.Tensor]:
    """Normalised model inputs: ``[slow, fast]`` for SlowFast (``slowfast_alpha`` set), else ``[clips]``.

    The fast pathway gets every frame; the slow one every ``alpha``-th, starting at the first.
    ``reverse_channels`` (DATA.REVERSE_INPUT_CHANNEL) flips the channel order after normalising,
    as PySlowFast: BGR frames read by OpenCV become RGB (MEAN/STD apply in the clip's order).
    """
    fast = normalize(clips, mean, std)
    if reverse_channels:
        fast = fast.flip(1)
    if slowfast_alpha is None:
        return [fast]
    indices = slow_pathway_indices(fast.shape[2], slowfast_alpha)
    slow = fast[:, :, indices[0] : indices[-1] + 1 : slowfast_alpha].contiguous()
    return [slow, fast]
