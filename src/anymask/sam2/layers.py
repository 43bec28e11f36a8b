"""Small building blocks shared by several network parts: MLP, channel-first LayerNorm, activations."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .linear import Activation, linear


class MLP(nn.Module):
    """A stack of `num_layers` linear layers with an activation between them."""

    def __init__(
        self,
        input_dim: int,
        hidden_dim: int,
        output_dim: int,
        num_layers: int,
        activation: type[nn.Module] = nn.ReLU,
        sigmoid_output: bool = False,
    ) -> None:
        super().__init__()
        hidden = [hidden_dim] * (num_layers - 1)
        self.layers = nn.ModuleList(
            nn.Linear(n_in, n_out) for n_in, n_out in zip([input_dim] + hidden, hidden + [output_dim])
        )
        self.act = activation()
        self.sigmoid_output = sigmoid_output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.layers) - 1
        fused = Activation.of(self.act)
        for index, layer in enumerate(self.layers):
            if index == last:
                x = linear(x, layer)
            elif fused is not None:
                x = linear(x, layer, fused)  # the activation inside the GEMM (see linear.py)
            else:
                x = self.act(layer(x))
        return torch.sigmoid(x) if self.sigmoid_output else x


class LayerNorm2d(nn.Module):
    """LayerNorm over the channel axis of an NCHW tensor."""

    def __init__(self, num_channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(num_channels))
        self.bias = nn.Parameter(torch.zeros(num_channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


def activation_fn(name: str):
    """The functional activation a config names."""
    table = {"relu": F.relu, "gelu": F.gelu}
    if name not in table:
        raise ValueError(f"unknown activation {name!r}")
    return table[name]
