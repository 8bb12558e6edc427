"""Training statistics accumulated on the device, read back only when logged."""
import torch

from slowfast.utils import distributed


def top1_top5_correct(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Clips whose label is among the 1 and the 5 highest logits (fewer with < 5 classes), as a
    [2] tensor on the device (no host sync)."""
    k = min(5, logits.shape[1])
    hits = logits.topk(k, dim=1).indices == labels[:, None]
    return torch.stack([hits[:, 0].sum(), hits.any(dim=1).sum()])


def error_rates(results: dict) -> dict:
    """PySlowFast's ``top1_err``/``top5_err`` (%) of evaluation results holding top1/top5 accuracy."""
    return {f"{key}_err": 100.0 - results[key] for key in ("top1", "top5") if key in results}


class RunningSums:
    """Sample-weighted sums of loss and top-1/top-5 correct predictions since the last reset."""

    def __init__(self, device: torch.device) -> None:
        self.loss = torch.zeros((), device=device)
        self.correct = torch.zeros(2, device=device)
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
        loss, *correct = torch.cat([self.loss[None], self.correct]).cpu().tolist()
        return {"loss": loss, "correct": correct, "samples": self.samples, "steps": self.steps,
                "has_correct": self.has_correct}

    def load_state(self, state: dict) -> None:
        """Continue from what :meth:`state` returned (float32 values round-trip exactly)."""
        self.loss.fill_(state["loss"])
        correct = state["correct"]  # [top-1, top-5] counts, or one count that then stands for both
        self.correct.copy_(torch.tensor(correct if isinstance(correct, list) else [correct, correct]))
        self.samples, self.steps, self.has_correct = state["samples"], state["steps"], state["has_correct"]

    def means(self) -> dict:
        """Mean loss and top-1/top-5 error (%) over the samples of all ranks; syncs with the device once.

        In a multi-process run every rank must call it at the same point (one all-reduce).
        """
        if self.samples == 0:
            return {}
        samples = torch.tensor(float(self.samples), device=self.loss.device)
        totals = distributed.all_reduce_sum(torch.cat([self.loss[None], self.correct.float(), samples[None]]))
        loss, correct1, correct5, samples = totals.cpu().tolist()
        stats = {"loss": loss / samples}
        if self.has_correct:
            stats["top1_err"] = 100.0 * (1.0 - correct1 / samples)
            stats["top5_err"] = 100.0 * (1.0 - correct5 / samples)
        return stats
