"""Section 3b: the models of part4.ipynb (small data, a first convolution, CIFAR-10's one-convolution baseline).

Every model takes a float32 batch ``x`` of shape (N, C, H, W) and returns float32 logits of shape (N, num_classes)
(no softmax: ``nn.CrossEntropyLoss`` applies it). The autograder builds each model with ``torch.manual_seed`` set and
checks its architecture (the layer types and how many of each, the spatial size after the pooling layer, the output
shape); it never trains them.

* ``FC_only(num_classes=3)``: (N, 1, 28, 28) -> (N, num_classes); only fully connected layers (``nn.Linear``) and
  activations, no convolution.
* ``Grayscale1Convolution(num_classes=3, activation=nn.ReLU)``: (N, 1, 28, 28) -> (N, num_classes); exactly one
  ``nn.Conv2d`` (keeping the 28 x 28 size: padding), one ``activation()``, exactly one ``nn.MaxPool2d`` that halves the
  height and the width (28 x 28 -> 14 x 14), then the classifier (``nn.Linear``). ``activation`` is an ``nn.Module``
  class such as ``nn.ReLU``, ``nn.Tanh`` or ``nn.Sigmoid``: build it with ``activation()`` and use it, so that passing
  another class changes the network.
* ``CifarOneConv(num_classes=10)``: (N, 3, 32, 32) -> (N, num_classes); exactly one ``nn.Conv2d``, one activation,
  exactly one ``nn.MaxPool2d`` halving 32 x 32 to 16 x 16, then the classifier.

Build the layers in ``__init__`` as attributes (an ``nn.Sequential`` is fine) and use them in ``forward``.
"""
from __future__ import annotations

import torch
from torch import nn


class FC_only(nn.Module):  # noqa: N801 -- the homework's name
    """Fully connected classifier for 28 x 28 grayscale images.

    Args:
        num_classes: number of output logits.
    Shapes:
        forward(x): x float32 (N, 1, 28, 28) -> logits float32 (N, num_classes).
    """

    def __init__(self, num_classes: int = 3):
        super().__init__()
        # BEGIN SOLUTION
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(28 * 28, 128),
            nn.ReLU(),
            nn.Linear(128, num_classes),
        )
        # END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # BEGIN SOLUTION
        return self.net(x)
        # END SOLUTION


class Grayscale1Convolution(nn.Module):
    """One convolution, one activation, one max-pooling that halves H and W, then a fully connected classifier.

    Args:
        num_classes: number of output logits.
        activation: an ``nn.Module`` class (``nn.ReLU``, ``nn.Tanh``, ``nn.Sigmoid``, ...), instantiated with
            ``activation()`` and applied after the convolution.
    Shapes:
        forward(x): x float32 (N, 1, 28, 28) -> conv -> (N, K, 28, 28) -> pool -> (N, K, 14, 14) -> logits float32
        (N, num_classes).
    """

    def __init__(self, num_classes: int = 3, activation=nn.ReLU):
        super().__init__()
        # BEGIN SOLUTION
        channels = 8
        self.features = nn.Sequential(
            nn.Conv2d(1, channels, kernel_size=3, padding=1),
            activation(),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(channels * 14 * 14, num_classes))
        # END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # BEGIN SOLUTION
        return self.classifier(self.features(x))
        # END SOLUTION


class CifarOneConv(nn.Module):
    """CIFAR-10 baseline: one convolution, one activation, one max-pooling (32 x 32 -> 16 x 16), then a linear layer.

    Args:
        num_classes: number of output logits.
    Shapes:
        forward(x): x float32 (N, 3, 32, 32) -> logits float32 (N, num_classes).
    """

    def __init__(self, num_classes: int = 10):
        super().__init__()
        # BEGIN SOLUTION
        channels = 16
        self.features = nn.Sequential(
            nn.Conv2d(3, channels, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(channels * 16 * 16, num_classes))
        # END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # BEGIN SOLUTION
        return self.classifier(self.features(x))
        # END SOLUTION
