"""Non-local block (Wang et al., CVPR 2018): every position attends to every (pooled) position."""
from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from slowfast.models.norm import NormFactory

# NONLOCAL.INSTANTIATION values (checked in models/spec.py).
NONLOCAL_INSTANTIATIONS = ("softmax", "dot_product")


class Nonlocal(nn.Module):
    """``x + bn(conv_out(f(theta(x), phi(x')) g(x')))`` with ``x'`` = max-pooled ``x``.

    ``softmax``: f = softmax(theta^T phi / sqrt(dim_inner)) over keys (the embedded Gaussian);
    ``dot_product``: f = theta^T phi / (number of keys). theta, phi, g, out are 1x1x1 convs with
    bias; ``bn`` is the block's final BN (zero gamma at init makes the block an identity).
    """

    def __init__(
        self,
        dim: int,
        dim_inner: int,
        pool_size: Sequence[int] | None,
        instantiation: str,
        norm: NormFactory,
    ) -> None:
        super().__init__()
        self.dim_inner = dim_inner
        self.instantiation = instantiation
        self.conv_theta = nn.Conv3d(dim, dim_inner, kernel_size=1)
        self.conv_phi = nn.Conv3d(dim, dim_inner, kernel_size=1)
        self.conv_g = nn.Conv3d(dim, dim_inner, kernel_size=1)
        self.conv_out = nn.Conv3d(dim_inner, dim, kernel_size=1)
        self.bn = norm(dim)
        self.pool = None
        if pool_size is not None and any(size > 1 for size in pool_size):
            self.pool = nn.MaxPool3d(kernel_size=tuple(pool_size), stride=tuple(pool_size))

    @property
    def final_bn(self) -> nn.Module:
        """The BN whose output is added to the identity path."""
        return self.bn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, t, h, w = x.shape
        keys_source = self.pool(x) if self.pool is not None else x
        theta = self.conv_theta(x).flatten(2)  # [N, C', THW]
        phi = self.conv_phi(keys_source).flatten(2)  # [N, C', T'H'W']
        g = self.conv_g(keys_source).flatten(2)  # [N, C', T'H'W']
        if self.instantiation == "softmax":
            # softmax(theta^T phi / sqrt(C')) g^T; SDPA's default scale is 1/sqrt(C').
            attended = F.scaled_dot_product_attention(
                theta.transpose(1, 2).unsqueeze(1),
                phi.transpose(1, 2).unsqueeze(1),
                g.transpose(1, 2).unsqueeze(1),
            )
            y = attended.squeeze(1).transpose(1, 2)
        else:
            # (theta^T phi / M) g^T reassociated as (g phi^T) theta / M: no [THW x M] matrix.
            y = torch.bmm(torch.bmm(g, phi.transpose(1, 2)), theta) / phi.shape[2]
        y = y.reshape(n, self.dim_inner, t, h, w)
        return x + self.bn(self.conv_out(y))
