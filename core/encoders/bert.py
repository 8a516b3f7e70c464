"""BERT-family text encoders for inference in plain torch, read from a Hugging Face folder (its
config.json, model.safetensors and tokenizer.json) without importing transformers: that import
alone costs about 2 s of a cold start, more than the rest of a command-line search.

Parameter names are transformers' own (``encoder.layer.3.attention.self.query.weight``...), so
the project's fine-tuned layers load into this model as into transformers'; a test checks that
both give the same vectors. Other architectures, and training, still use transformers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

FILES = ("config.json", "model.safetensors", "tokenizer.json")


class _Embeddings(nn.Module):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        hidden = config["hidden_size"]
        self.word_embeddings = nn.Embedding(config["vocab_size"], hidden)
        self.position_embeddings = nn.Embedding(config["max_position_embeddings"], hidden)
        self.token_type_embeddings = nn.Embedding(config["type_vocab_size"], hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=config["layer_norm_eps"])

    def forward(self, ids: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)[None, :]
        summed = self.word_embeddings(ids) + self.position_embeddings(positions)
        return self.LayerNorm(summed + self.token_type_embeddings(types))


class _DenseNorm(nn.Module):
    """A projection, then the residual sum normalised (BERT's 'output' blocks)."""

    def __init__(self, inputs: int, hidden: int, eps: float) -> None:
        super().__init__()
        self.dense = nn.Linear(inputs, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dense(x) + residual)


class _SelfAttention(nn.Module):
    def __init__(self, hidden: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        batch, length, hidden = x.shape

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(batch, length, self.heads, hidden // self.heads).transpose(1, 2)

        # keep: (batch, 1, 1, length), True where a token is real (padding is never attended to)
        out = F.scaled_dot_product_attention(split(self.query(x)), split(self.key(x)),
                                             split(self.value(x)), attn_mask=keep)
        return out.transpose(1, 2).reshape(batch, length, hidden)


class _Attention(nn.Module):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        hidden = config["hidden_size"]
        self.self = _SelfAttention(hidden, config["num_attention_heads"])
        self.output = _DenseNorm(hidden, hidden, config["layer_norm_eps"])

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        return self.output(self.self(x, keep), x)


class _Intermediate(nn.Module):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.dense = nn.Linear(config["hidden_size"], config["intermediate_size"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.dense(x))  # BERT's "gelu": the exact (erf) form


class _Layer(nn.Module):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.attention = _Attention(config)
        self.intermediate = _Intermediate(config)
        self.output = _DenseNorm(config["intermediate_size"], config["hidden_size"],
                                 config["layer_norm_eps"])

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        attended = self.attention(x, keep)
        return self.output(self.intermediate(attended), attended)


class _Encoder(nn.Module):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.layer = nn.ModuleList(_Layer(config) for _ in range(config["num_hidden_layers"]))


class BertEncoder(nn.Module):
    """BERT up to its last hidden state (no pooler: the encoders mean-pool the tokens)."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self.embeddings = _Embeddings(config)
        self.encoder = _Encoder(config)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor) -> torch.Tensor:
        x = self.embeddings(input_ids, token_type_ids)
        keep = attention_mask.bool()[:, None, None, :]
        for layer in self.encoder.layer:
            x = layer(x, keep)
        return x


def supported(folder: Path) -> bool:
    """Whether `folder` holds a plain BERT this module can run (else: use transformers)."""
    if not all((folder / name).is_file() for name in FILES):
        return False
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (config.get("model_type") == "bert" and config.get("hidden_act") == "gelu"
            and config.get("position_embedding_type", "absolute") == "absolute")


def load(folder: Path, max_length: int) -> tuple[Any, BertEncoder]:
    """(tokenizer, model in eval mode) of a folder that :func:`supported` accepts. The tokenizer
    truncates to `max_length` tokens and pads each batch to its longest text."""
    from safetensors.torch import load_file
    from tokenizers import Tokenizer

    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    model = BertEncoder(config)
    state = {k: v for k, v in load_file(str(folder / "model.safetensors")).items()
             if not k.startswith("pooler.") and not k.endswith("position_ids")}
    model.load_state_dict({k.removeprefix("bert."): v for k, v in state.items()})
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=max_length)
    tokenizer.enable_padding(pad_id=int(config.get("pad_token_id", 0)))
    return tokenizer, model.eval()


def tokens(tokenizer: Any, texts: list[str]) -> dict[str, torch.Tensor]:
    """input_ids, attention_mask and token_type_ids of a batch, as transformers' tokenizer gives."""
    encoded = tokenizer.encode_batch(texts)
    return {"input_ids": torch.tensor([e.ids for e in encoded]),
            "attention_mask": torch.tensor([e.attention_mask for e in encoded]),
            "token_type_ids": torch.tensor([e.type_ids for e in encoded])}

