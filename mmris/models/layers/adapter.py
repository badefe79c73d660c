"""Bottleneck adapter with a channel-wise scaler (RISCLIP Sec. 3.1).

RISCLIP Sec. 3.1 ("Adapters") and App. A.1 / Table A1: a Houlsby /
AdaptFormer adapter ``A(x) = s * W_up(ReLU(W_down(x)))`` with the down
projection initialised Kaiming-normal, the up projection with zeros (so an
untrained adapter outputs 0) and a learnable channel-wise scaler ``s``
initialised to 0.6. Biases start at zero (reference reading A4).
"""
import torch
import torch.nn as nn
from torch import Tensor

__all__ = ['Adapter']


class Adapter(nn.Module):
    """``s * W_up(act(W_down(x)))``.

    Args:
        dims (int): Input and output width.
        hidden_dims (int): Bottleneck width (RISCLIP: ``dims // 2``).
        scale_init (float): Initial value of the channel-wise scaler.
            Defaults to 0.6 (Table A1).
    """

    def __init__(self, dims: int, hidden_dims: int,
                 scale_init: float = 0.6) -> None:
        super().__init__()
        if dims <= 0 or hidden_dims <= 0:
            raise ValueError(f'Adapter widths must be positive, got dims='
                             f'{dims}, hidden_dims={hidden_dims}')
        self.down = nn.Linear(dims, hidden_dims)
        self.act = nn.ReLU(inplace=True)
        self.up = nn.Linear(hidden_dims, dims)
        self.scale = nn.Parameter(torch.full((dims, ), float(scale_init)))
        self.init_weights()

    def init_weights(self) -> None:
        """Kaiming-normal down projection, zero up projection and biases."""
        nn.init.kaiming_normal_(self.down.weight)
        nn.init.zeros_(self.down.bias)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x: Tensor) -> Tensor:
        """Args:
            x (Tensor): (..., dims).

        Returns:
            Tensor: (..., dims), zero for an untrained adapter.
        """
        return self.scale * self.up(self.act(self.down(x)))
