"""The training loop: epochs of steps; everything periodic is a hook (detectron2's TrainerBase + HookBase).

The loop knows the model, the optimizer, the loader (whose batch sampler lays out each epoch), the
schedule (the LR of every iteration) and a list of hooks, called in their order at each event.
A hook that raises stops the run. Nothing here reads the config: see ``trainer.py``.
"""
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Callable, Iterable, Optional

import torch
from torch import nn

from slowfast.engine.optimizer import set_lr
from slowfast.engine.state import TrainerState
from slowfast.models.norm import batched_running_stats
from slowfast.multigrid.schedule import Schedule


@dataclass
class Step:
    """One iteration, as the hooks see it: its batch, the wait for it and what the step gave."""

    epoch: int
    iteration: int  # 0-based in the epoch; a resumed epoch starts at its first untrained batch
    num_batches: int  # of the whole epoch
    clips: torch.Tensor  # uint8, on the host, as the loader gave them
    labels: torch.Tensor  # on the device once the step has run
    used_videos: torch.Tensor  # the list index each clip came from (a failed video is replaced)
    data_seconds: float  # the wait for the batch
    ready: float  # time.perf_counter() when the batch arrived
    lr: float = 0.0
    loss: Optional[torch.Tensor] = None  # detached; None when the update was skipped
    logits: Optional[torch.Tensor] = None
    correct: Optional[torch.Tensor] = None  # top-1/top-5 hits, once a hook has counted them

    @property
    def skipped(self) -> bool:
        return self.loss is None


class HookBase:
    """Something done at fixed points of the loop; ``self.trainer`` is set when registered."""

    trainer: "TrainerBase"

    def before_train(self) -> None:
        pass

    def before_epoch(self) -> None:
        pass

    def before_step(self) -> None:
        pass

    def after_step(self) -> None:
        pass

    def after_epoch(self) -> None:
        pass

    def after_train(self) -> None:
        pass

    def epoch_state(self) -> dict:
        """What a mid-epoch checkpoint keeps of this hook's epoch so far (plain Python)."""
        return {}

    def epoch_record(self) -> dict:
        """Fields this hook adds to the epoch's ``train_epoch`` record."""
        return {}


def finite_on_every_rank(loss: torch.Tensor) -> bool:
    """Whether the loss is finite on all ranks (so every rank skips or steps together)."""
    bad = (~torch.isfinite(loss.detach())).float().reshape(1)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.all_reduce(bad)
    return bad.item() == 0


class TrainerBase:
    """Runs epochs of steps and calls the hooks; the state it keeps is ``self.state``."""

    def __init__(
        self, model: nn.Module, optimizer: torch.optim.Optimizer, loader: Iterable, schedule: Schedule,
        hooks: Iterable[HookBase] = (), *, loss_fn: Callable, prepare: Callable = lambda clips: [clips],
        autocast: AbstractContextManager = nullcontext(), skip_non_finite: bool = False,
        device: torch.device = torch.device("cpu"), world_size: int = 1,
    ) -> None:
        self.model, self.optimizer, self.loader, self.schedule = model, optimizer, loader, schedule
        self.loss_fn, self.prepare, self.autocast = loss_fn, prepare, autocast
        self.skip_non_finite, self.device, self.world_size = skip_non_finite, device, world_size
        self.state = TrainerState()
        self.hooks: list[HookBase] = []
        self.register_hooks(hooks)
        self.start_batch = 0  # where a run resumed mid-epoch re-enters its first epoch
        self.resumed_epoch_state: Optional[dict] = None  # the hooks' epoch_state() it saved
        self.epoch, self.num_batches, self.lr = 0, 0, 0.0
        self.step: Optional[Step] = None

    def register_hooks(self, hooks: Iterable[HookBase]) -> None:
        for hook in hooks:
            hook.trainer = self
            self.hooks.append(hook)

    def call_hooks(self, event: str) -> None:
        for hook in self.hooks:
            getattr(hook, event)()

    def train(self, start_epoch: int, max_epoch: int) -> None:
        """Train epochs ``start_epoch`` to ``max_epoch - 1``."""
        self.call_hooks("before_train")
        for epoch in range(start_epoch, max_epoch):
            self.train_epoch(epoch)
        self.call_hooks("after_train")

    def train_epoch(self, epoch: int) -> None:
        """One pass over the batches the loader's sampler lays out for ``epoch``."""
        start_batch, self.start_batch = self.start_batch, 0
        self.loader.batch_sampler.set_epoch(epoch, start_batch=start_batch)
        self.epoch, self.num_batches = epoch, self.loader.batch_sampler.batches_in_epoch
        self.lr = self.schedule.lr_at(epoch + max(start_batch - 1, 0) / self.num_batches)
        self.call_hooks("before_epoch")
        self.resumed_epoch_state = None
        self.model.train()
        tic = time.perf_counter()
        for iteration, (clips, labels, used_videos) in enumerate(self.loader, start=start_batch):
            ready = time.perf_counter()
            self.step = Step(epoch, iteration, self.num_batches, clips, labels, used_videos, ready - tic, ready)
            self.call_hooks("before_step")
            self.run_step()
            self.call_hooks("after_step")
            tic = time.perf_counter()
        self.call_hooks("after_epoch")

    def run_step(self) -> None:
        """This iteration's LR, then the update; count the step (also a skipped one)."""
        step = self.step
        step.lr = self.lr = self.schedule.lr_at(step.epoch + step.iteration / step.num_batches)
        set_lr(self.optimizer, step.lr)
        step.labels = step.labels.to(self.device, non_blocking=True)
        result = self.train_step(self.prepare(step.clips), step.labels)
        if result is None:
            self.state.skipped_steps += 1
        else:
            step.loss, step.logits = result
        self.state.global_iter += 1
        self.state.samples_seen += step.clips.shape[0] * self.world_size

    def train_step(
        self, inputs: list[torch.Tensor], labels: torch.Tensor,
    ) -> Optional[tuple[torch.Tensor, torch.Tensor]]:
        """Forward, loss, backward, update; the detached loss and logits, or None when the loss is
        not finite on some rank and such steps are skipped (the update is not made)."""
        with self.autocast, batched_running_stats():
            logits = self.model(inputs)
            loss = self.loss_fn(logits.float(), labels)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.skip_non_finite and not finite_on_every_rank(loss):
            self.optimizer.zero_grad(set_to_none=True)
            return None
        self.optimizer.step()
        return loss.detach(), logits.detach()

    def epoch_state(self) -> dict:
        """The hooks' state of the epoch so far, for a mid-epoch checkpoint."""
        return {key: value for hook in self.hooks for key, value in hook.epoch_state().items()}
