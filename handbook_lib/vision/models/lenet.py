"""LeNet-5 (LeCun et al., 1998), the network of the CNN chapter (torchvision has no LeNet)."""
from __future__ import annotations

from ... import nn
from ..._tensor import Tensor
from ...nn import functional as F

__all__ = ["LeNet5"]


class LeNet5(nn.Module):
    """LeNet-5 with ReLU and max pooling, as in most modern tutorials: 44,426 parameters.

    conv 6@5×5 → ReLU → max-pool 2 → conv 16@5×5 → ReLU → max-pool 2 → 120 → 84 → ``num_classes``.
    For 28×28 MNIST digits the last feature map is 16×4×4; ``input_size=32`` gives the original
    paper's 32×32 input and a 16×5×5 map (61,706 parameters).
    """

    def __init__(self, num_classes: int = 10, input_size: int = 28) -> None:
        super().__init__()
        side = ((input_size - 4) // 2 - 4) // 2
        if side <= 0:
            raise ValueError(f"LeNet5 needs input_size >= 16, got {input_size}")
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * side * side, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.flatten(1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)
