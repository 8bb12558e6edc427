"""The training loss named by MODEL.LOSS_FUNC."""
from torch import nn

# MODEL.LOSS_FUNC -> loss class (config validation checks the name against this table).
LOSS_FUNCS = {"cross_entropy": nn.CrossEntropyLoss, "bce_logit": nn.BCEWithLogitsLoss}


def build_loss(name: str) -> nn.Module:
    """The training loss named by MODEL.LOSS_FUNC."""
    return LOSS_FUNCS[name](reduction="mean")
