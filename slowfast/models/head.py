"""Classification head: global average pool per pathway, concat, dropout, linear projection."""
from collections.abc import Sequence

import torch
import torch.nn as nn


class ResNetBasicHead(nn.Module):
    """Returns raw logits ``[N, num_classes]`` in training and in eval.

    Pooling is always adaptive (``AdaptiveAvgPool3d((1, 1, 1))``) so any T, H, W works, which
    multigrid needs; callers apply softmax or sigmoid themselves.
    """

    def __init__(self, dims_in: Sequence[int], num_classes: int, dropout_rate: float = 0.0) -> None:
        super().__init__()
        self.num_pathways = len(dims_in)
        for p in range(self.num_pathways):
            self.add_module(f"pathway{p}_avgpool", nn.AdaptiveAvgPool3d((1, 1, 1)))
        self.dropout = nn.Dropout(dropout_rate) if dropout_rate > 0 else None
        self.projection = nn.Linear(sum(dims_in), num_classes, bias=True)

    def forward(self, xs: Sequence[torch.Tensor]) -> torch.Tensor:
        pooled = [getattr(self, f"pathway{p}_avgpool")(x) for p, x in enumerate(xs)]
        features = torch.cat(pooled, dim=1).flatten(1)
        if self.dropout is not None:
            features = self.dropout(features)
        return self.projection(features)
