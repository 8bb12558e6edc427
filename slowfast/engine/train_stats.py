"""Training statistics accumulated on the device, read back only when logged."""
import torch


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

    def means(self) -> dict:
        """Mean loss and top-1 error (%) over the samples added; syncs with the device once."""
        if self.samples == 0:
            return {}
        values = torch.stack([self.loss, self.correct]).cpu().tolist()
        stats = {"loss": values[0] / self.samples}
        if self.has_correct:
            stats["top1_err"] = 100.0 * (1.0 - values[1] / self.samples)
        return stats
