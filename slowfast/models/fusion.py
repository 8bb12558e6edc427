"""SlowFast lateral connection: fast-pathway features, strided in time, joined to the slow ones."""
import torch
import torch.nn as nn

from slowfast.models.norm import NormFactory


class FuseFastToSlow(nn.Module):
    """Conv [k,1,1] with temporal stride ``alpha`` on the fast pathway, BN, ReLU, concat to slow.

    The conv widens the fast features by ``channel_ratio``; the slow pathway's next stage
    therefore takes ``C_slow + channel_ratio * C_fast`` channels.
    """

    def __init__(
        self,
        dim_in: int,
        channel_ratio: int,
        kernel_size: int,
        alpha: int,
        norm: NormFactory,
        inplace_relu: bool = True,
    ) -> None:
        super().__init__()
        self.conv_f2s = nn.Conv3d(
            dim_in,
            dim_in * channel_ratio,
            kernel_size=(kernel_size, 1, 1),
            stride=(alpha, 1, 1),
            padding=(kernel_size // 2, 0, 0),
            bias=False,
        )
        self.bn = norm(dim_in * channel_ratio)
        self.relu = nn.ReLU(inplace=inplace_relu)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        slow, fast = xs
        lateral = self.relu(self.bn(self.conv_f2s(fast)))
        if lateral.shape[2:] != slow.shape[2:]:
            raise ValueError(
                f"SlowFast lateral connection: fast pathway of {fast.shape[2]} frames gives "
                f"{tuple(lateral.shape[2:])} (T, H, W) after the temporal stride, but the slow "
                f"pathway has {tuple(slow.shape[2:])}; the fast input needs SLOWFAST.ALPHA times "
                "the slow input's frames at the same crop size"
            )
        return [torch.cat([slow, lateral], dim=1), fast]
