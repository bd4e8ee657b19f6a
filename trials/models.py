"""Small networks: MLP and CNN for 28x28 digits, a CNN for photos.

Hidden layers are He-initialised for ReLU; the classifier head starts at zero (see init_weights).
"""

from __future__ import annotations

from torch import Tensor, nn

IMAGE_SIZE = 28


def init_weights(module: nn.Module, head: nn.Linear) -> None:
    """He-initialise the hidden layers and zero the classifier head.

    Kaiming-normal weights (zero biases) keep activations at their scale through the ReLUs. The
    head feeds no ReLU: Kaiming weights there gave large random logits and a first loss of 2-7
    (0.8-3 with batch norm) instead of ln(num_classes). A zero head predicts the uniform
    distribution, i.e. exactly the chance loss, and its own gradient is not zero, so it moves on
    the first step and the rest of the network learns from the second step on.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    nn.init.zeros_(head.weight)
    if head.bias is not None:
        nn.init.zeros_(head.bias)


class MLP(nn.Module):
    """Fully connected ReLU network on flattened pixels."""

    def __init__(
        self,
        hidden_units: int,
        hidden_layers: int,
        dropout: float,
        batch_norm: bool,
        num_classes: int = 10,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = IMAGE_SIZE * IMAGE_SIZE
        for _ in range(hidden_layers):
            # A bias before batch norm is cancelled by its mean subtraction.
            layers.append(nn.Linear(width, hidden_units, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm1d(hidden_units))
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = hidden_units
        head = nn.Linear(width, num_classes)
        self.net = nn.Sequential(*layers, head)
        init_weights(self, head)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class MnistCNN(nn.Module):
    """Two conv-(bn)-relu-maxpool blocks (channels, 2*channels), then dropout and a linear head."""

    def __init__(
        self, channels: int, dropout: float, batch_norm: bool, num_classes: int = 10
    ) -> None:
        super().__init__()
        blocks: list[nn.Module] = []
        c_in = 1
        for c_out in (channels, 2 * channels):
            blocks.append(nn.Conv2d(c_in, c_out, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                blocks.append(nn.BatchNorm2d(c_out))
            blocks += [nn.ReLU(), nn.MaxPool2d(2)]
            c_in = c_out
        side = IMAGE_SIZE // 4
        self.features = nn.Sequential(*blocks)
        head = nn.Linear(c_in * side * side, num_classes)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), head)
        init_weights(self, head)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))


class PhotoCNN(nn.Module):
    """Conv-(bn)-relu-maxpool blocks doubling the channels, global average pooling, dropout, linear.

    Global pooling makes the head independent of the image size (data.image_size).
    """

    def __init__(
        self,
        channels: int,
        blocks: int,
        dropout: float,
        batch_norm: bool,
        num_classes: int = 2,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = in_channels
        for i in range(blocks):
            c_out = channels * 2**i
            layers.append(nn.Conv2d(c_in, c_out, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(c_out))
            # ceil_mode keeps a 1x1 map at 1x1, so small images survive many blocks.
            layers += [nn.ReLU(inplace=True), nn.MaxPool2d(2, ceil_mode=True)]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        head = nn.Linear(c_in, num_classes)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), head)
        init_weights(self, head)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))
