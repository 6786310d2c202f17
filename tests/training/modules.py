"""Small modules with a ``log_prob`` written plainly for the training-loop tests, and the
embedded digits they train on."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class Coin(nn.Module):
    """Independent Bernoulli pixels: the MLE is the vector of pixel means."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(d))

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        return -F.binary_cross_entropy_with_logits(self.logits.expand_as(x), x,
                                                   reduction="none").sum(-1)


class ClassCoin(nn.Module):
    """Independent Bernoulli pixels given a digit label; batches are dicts or (x, y) tuples."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.logits = nn.Parameter(torch.zeros(10, d))

    def log_prob(self, batch) -> torch.Tensor:
        x, y = (batch["image"], batch["label"]) if isinstance(batch, dict) else batch
        x = x.flatten(1)
        return -F.binary_cross_entropy_with_logits(self.logits[y], x, reduction="none").sum(-1)


class TinyNADE(nn.Module):
    """A small NADE written plainly: h_i = sigmoid(c + sum_{j<i} W_j x_j), with dropout on the
    hidden units so that training also draws from torch's global generator."""

    def __init__(self, d: int, hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(d * 31 + hidden)
        self.W = nn.Parameter(torch.randn(d, hidden, generator=g) * 0.05)
        self.V = nn.Parameter(torch.randn(d, hidden, generator=g) * 0.05)
        self.b = nn.Parameter(torch.zeros(d))
        self.c = nn.Parameter(torch.zeros(hidden))
        self.drop = nn.Dropout(dropout)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        contrib = x.unsqueeze(-1) * self.W                        # (B, D, H)
        a = self.c + torch.cumsum(contrib, dim=1) - contrib       # exclusive running sum
        h = self.drop(torch.sigmoid(a))
        logits = (h * self.V).sum(-1) + self.b
        return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)


def weights(model: nn.Module):
    return {k: v.clone() for k, v in model.state_dict().items()}


def same_weights(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
