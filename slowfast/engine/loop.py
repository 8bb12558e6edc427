"""The training loop: epochs of steps; everything periodic is a hook (detectron2's TrainerBase + HookBase).

The loop knows the model, the optimizer, the loader and its batch sampler (which lays out each
epoch), the schedule (the LR of every iteration) and a list of hooks, called in their order at
each event. A hook that raises stops the run; ``after_train`` runs all the same. Hooks that hold
state keep it themselves (``state_dict``), and checkpoints store it by hook name. Nothing here
reads the config or its spec: see ``trainer.py``.
"""
import time
import weakref
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Protocol

import torch
from torch import nn

from slowfast.engine.optimizer import set_lr
from slowfast.engine.state import TrainerState
from slowfast.multigrid.schedule import Schedule
from slowfast.utils import distributed
from slowfast.utils.logging import get_logger

logger = get_logger(__name__)


class EpochSampler(Protocol):
    """What the loop asks of the batch sampler its loader iterates: lay out an epoch (from a
    batch on, to resume inside it) and say how many batches the whole epoch has."""

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None: ...

    @property
    def batches_in_epoch(self) -> int: ...


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
    """Something done at fixed points of the loop; ``self.trainer`` is set when registered.

    The hook holds its trainer weakly (the trainer holds its hooks), so dropping the trainer frees
    it and its datasets without waiting for the cyclic garbage collector. ``after_train`` also
    runs when the run stops with an error, so it must not wait for other ranks.

    A hook with state to resume defines ``state_dict`` (tensors and plain Python) and
    ``load_state_dict``; checkpoints keep it under ``name``, next to the model, optimizer and RNG
    states. With ``state_per_rank`` every rank's state is saved and each rank resumes its own
    (counts of this rank's clips); otherwise rank 0's (state the ranks share, such as weights).
    """

    state_per_rank = False
    _trainer: Optional[weakref.ref] = None
    _name: Optional[str] = None

    @property
    def name(self) -> str:
        """The key of this hook's state in a checkpoint: its class name unless set."""
        return self._name or type(self).__name__

    @name.setter
    def name(self, name: str) -> None:
        self._name = name

    @property
    def trainer(self) -> "TrainerBase":
        trainer = self._trainer() if self._trainer is not None else None
        if trainer is None:
            raise ReferenceError(f"hook {self.name} has no trainer: it was never registered, or its trainer is gone")
        return trainer

    @trainer.setter
    def trainer(self, trainer: "TrainerBase") -> None:
        self._trainer = weakref.ref(trainer)

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

    def state_dict(self) -> dict:
        """What a checkpoint keeps of this hook, to continue exactly after a resume."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Continue from :meth:`state_dict` (called before ``before_train``)."""

    def epoch_record(self) -> dict:
        """Fields this hook adds to the epoch's ``train_epoch`` record."""
        return {}


def has_state(hook: HookBase) -> bool:
    """Whether ``hook`` defines state of its own to checkpoint."""
    return type(hook).state_dict is not HookBase.state_dict


def finite_on_every_rank(loss: torch.Tensor) -> bool:
    """Whether the loss is finite on all ranks (so every rank skips or steps together)."""
    bad = (~torch.isfinite(loss.detach())).float().reshape(1)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.all_reduce(bad)
    return bad.item() == 0


class TrainerBase:
    """Runs epochs of steps and calls the hooks; the state it keeps is ``self.state``."""

    def __init__(
        self, model: nn.Module, optimizer: torch.optim.Optimizer, loader: Iterable, sampler: EpochSampler,
        schedule: Schedule, hooks: Iterable[HookBase] = (), *, loss_fn: Callable,
        prepare: Callable = lambda clips: [clips], autocast: AbstractContextManager = nullcontext(),
        skip_non_finite: bool = False, device: torch.device = torch.device("cpu"), world_size: int = 1,
    ) -> None:
        self.model, self.optimizer, self.loader, self.sampler = model, optimizer, loader, sampler
        self.schedule, self.loss_fn, self.prepare, self.autocast = schedule, loss_fn, prepare, autocast
        self.skip_non_finite, self.device, self.world_size = skip_non_finite, device, world_size
        self.state = TrainerState()
        self.hooks: list[HookBase] = []
        self.register_hooks(hooks)
        self.start_batch = 0  # where a run resumed mid-epoch re-enters its first epoch
        self.first_batch = 0  # the batch the current epoch started at (> 0 only in the epoch a run resumed in)
        self.epoch, self.num_batches, self.lr = 0, 0, 0.0
        self.step: Optional[Step] = None

    def register_hooks(self, hooks: Iterable[HookBase]) -> None:
        names = {hook.name for hook in self.hooks if has_state(hook)}
        for hook in hooks:
            if has_state(hook):
                if hook.name in names:
                    raise ValueError(f"two hooks with state are named {hook.name!r}; checkpoints keep hook "
                                     "state by name: give one another name")
                names.add(hook.name)
            hook.trainer = self
            self.hooks.append(hook)

    def call_hooks(self, event: str) -> None:
        for hook in self.hooks:
            getattr(hook, event)()

    def train(self, start_epoch: int, max_epoch: int) -> None:
        """Train epochs ``start_epoch`` to ``max_epoch - 1``; ``after_train`` runs however it ends."""
        try:
            self.call_hooks("before_train")
            for epoch in range(start_epoch, max_epoch):
                self.train_epoch(epoch)
        except BaseException:
            self._after_train_on_error()
            raise
        self.call_hooks("after_train")

    def _after_train_on_error(self) -> None:
        """Every hook's ``after_train`` (close writers, log the time split) while an error stops the
        run; an error of one of them is logged, so the run's own error is the one raised."""
        for hook in self.hooks:
            try:
                hook.after_train()
            except Exception:
                logger.exception(f"{hook.name}.after_train failed while the run stopped on an error")

    def train_epoch(self, epoch: int) -> None:
        """One pass over the batches the sampler lays out for ``epoch``."""
        self.first_batch, self.start_batch = self.start_batch, 0
        self.sampler.set_epoch(epoch, start_batch=self.first_batch)
        self.epoch, self.num_batches = epoch, self.sampler.batches_in_epoch
        self.lr = self.schedule.lr_at(epoch + max(self.first_batch - 1, 0) / self.num_batches)
        self.call_hooks("before_epoch")
        self.model.train()
        tic = time.perf_counter()
        for iteration, (clips, labels, used_videos) in enumerate(self.loader, start=self.first_batch):
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
        with self.autocast:
            logits = self.model(inputs)
            loss = self.loss_fn(logits.float(), labels)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.skip_non_finite and not finite_on_every_rank(loss):
            self.optimizer.zero_grad(set_to_none=True)
            return None
        self.optimizer.step()
        return loss.detach(), logits.detach()

    def hook_states(self) -> dict[str, dict]:
        """Every hook's state by name, for a checkpoint; per-rank states gathered from all ranks
        (a collective call: every rank calls it at the same point)."""
        states = {}
        for hook in filter(has_state, self.hooks):
            state = hook.state_dict()
            states[hook.name] = distributed.states_of_all_ranks(state) if hook.state_per_rank else state
        return states

    def load_hook_states(self, states: dict[str, dict]) -> None:
        """Give each hook the state a checkpoint kept under its name (this rank's, for per-rank state)."""
        names = {hook.name for hook in self.hooks}
        unknown = sorted(set(states) - names)
        if unknown:
            logger.warning(f"the checkpoint holds the state of hooks this run does not have: {unknown}; ignored")
        for hook in self.hooks:
            if hook.name in states and has_state(hook):
                hook.load_state_dict(distributed.state_of_this_rank(states[hook.name]))
