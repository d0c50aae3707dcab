"""What a network costs: parameters and forward FLOPs (counted by ``torch.utils.flop_counter``).

Shared by the OD3 chapter (PolicyNetGenerator's budgets) and TRL-HPO (the best models' cost).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_params(net: nn.Module) -> int:
    """Number of parameters (frozen ones included: a teacher is frozen while it teaches)."""
    return int(sum(p.numel() for p in net.parameters()))


def count_flops(net: nn.Module, input_shape: tuple[int, ...]) -> int:
    """FLOPs of one forward pass on one input of ``input_shape`` (2 per multiply-add of convolutions
    and linear layers; biases, activations and pooling are not counted), by ``FlopCounterMode``."""
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        net(torch.zeros(1, *input_shape))
    return int(counter.get_total_flops())
