"""Watching for a non-finite loss at every iteration without a host sync per iteration.

Each step's loss is tested on the device; the first non-finite one (its value and position) is
kept there. The trainer asks :meth:`LossWatch.first_non_finite` at logged iterations and before
every checkpoint, so no checkpoint is written after a diverged step, and the error names the
exact iteration even when it was not a logged one.
"""
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from slowfast.utils import distributed


class NonFiniteLossError(RuntimeError):
    """The loss (or the weights) became NaN or infinite."""


@dataclass(frozen=True)
class BadStep:
    """Where the first non-finite loss of this rank appeared (None fields: on another rank)."""

    value: Optional[float]
    epoch: Optional[int]
    iteration: Optional[int]
    batch_shape: Optional[tuple]


class LossWatch:
    """Device-side record of the first non-finite loss since the run (or the last clear) began."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self._first = torch.full((), -1, dtype=torch.int64, device=device)
        self._value = torch.zeros((), device=device)
        self._index = torch.zeros((), dtype=torch.int64, device=device)  # steps since the last check
        self._steps: list[tuple[int, int, tuple]] = []  # (epoch, iteration, batch shape) since the last check

    def observe(self, loss: torch.Tensor, epoch: int, iteration: int, batch_shape: tuple) -> None:
        """Record this step's loss (no host sync)."""
        new = ~torch.isfinite(loss.detach()) & (self._first < 0)
        self._value = torch.where(new, loss.detach().float(), self._value)
        self._first = torch.where(new, self._index, self._first)
        self._index += 1  # on the device: building a tensor from len(self._steps) would sync
        self._steps.append((epoch, iteration, batch_shape))

    def first_non_finite(self) -> Optional[BadStep]:
        """The first non-finite step since the last check, on any rank (all ranks must call it together)."""
        first = int(self._first.item())
        any_rank = distributed.all_reduce_sum(torch.tensor([float(first >= 0)], device=self.device)).item() > 0
        steps, self._steps = self._steps, []
        self._index.zero_()
        if not any_rank:
            self._first.fill_(-1)
            return None
        if first < 0:
            return BadStep(None, None, None, None)
        epoch, iteration, shape = steps[first]
        return BadStep(float(self._value.item()), epoch, iteration, shape)


def weights_are_finite(model: nn.Module) -> bool:
    """Whether every floating-point parameter and buffer is finite (one host sync)."""
    flags = [torch.isfinite(t).all() for t in model.state_dict().values() if t.is_floating_point()]
    return bool(torch.stack(flags).all().item()) if flags else True
