"""The training loss named by MODEL.LOSS_FUNC."""
from torch import nn


def build_loss(name: str) -> nn.Module:
    """The training loss named by MODEL.LOSS_FUNC."""
    losses = {"cross_entropy": nn.CrossEntropyLoss, "bce_logit": nn.BCEWithLogitsLoss}
    return losses[name](reduction="mean")
