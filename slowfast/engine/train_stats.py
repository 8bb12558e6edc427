"""Training statistics accumulated on the device, read back only when logged."""
import torch

from slowfast.utils import distributed


def top1_correct(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Number of clips whose highest logit is the label, as a 0-d tensor (no host sync)."""
    return (logits.argmax(dim=1) == labels).sum()


class RunningSums:
    """Sample-weighted sums of loss and correct predictions since the last reset."""

    def __init__(self, device: torch.device) -> None:
        self.loss = torch.zeros((), device=device)
        self.correct = torch.zeros((), device=device)
        self.samples = 0
        self.steps = 0
        self.has_correct = False

    def add(self, loss: torch.Tensor, correct: torch.Tensor | None, batch_size: int) -> None:
        self.loss += loss.float() * batch_size
        if correct is not None:
            self.correct += correct
            self.has_correct = True
        self.samples += batch_size
        self.steps += 1

    def state(self) -> dict:
        """The sums as plain numbers, for the mid-epoch checkpoint (syncs with the device)."""
        loss, correct = torch.stack([self.loss, self.correct]).cpu().tolist()
        return {"loss": loss, "correct": correct, "samples": self.samples, "steps": self.steps,
                "has_correct": self.has_correct}

    def load_state(self, state: dict) -> None:
        """Continue from what :meth:`state` returned (float32 values round-trip exactly)."""
        self.loss.fill_(state["loss"])
        self.correct.fill_(state["correct"])
        self.samples, self.steps, self.has_correct = state["samples"], state["steps"], state["has_correct"]

    def means(self) -> dict:
        """Mean loss and top-1 error (%) over the samples of all ranks; syncs with the device once.

        In a multi-process run every rank must call it at the same point (one all-reduce).
        """
        if self.samples == 0:
            return {}
        samples = torch.tensor(float(self.samples), device=self.loss.device)
        totals = distributed.all_reduce_sum(torch.stack([self.loss, self.correct.float(), samples]))
        loss, correct, samples = totals.cpu().tolist()
        stats = {"loss": loss / samples}
        if self.has_correct:
            stats["top1_err"] = 100.0 * (1.0 - correct / samples)
        return stats
