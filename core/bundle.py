"""The trained artifact: the model config it was trained from (encoders by name, with their
preprocessing and weights revision), the two-tower, its calibration and the child-photo
classifier, saved as one file (plain tensors and lists, loaded with weights_only=True)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.encoders.cache import runtime_variant
from core.encoders.own_weights import sha256_file
from core.encoders.registry import REGISTRY, get_encoder
from core.foundation.atomic import atomic_torch_save
from core.foundation.model_config import ModelConfig, ModelConfigError, config_from_dict
from core.foundation.settings import ArtifactsMissingError
from core.legal.logistic import ChildPhotoClassifier
from core.legal.network import ChildPhotoNet, load_child_classifier
from core.models.two_tower import TwoTower
from core.text.wordnet import lemmatize

BUNDLE_FILE = "model.pt"
# 2: the child classifier is a fine-tuned network; 3: the model config and each encoder's
# preprocessing and weights revision are stored (older files: retrain)
FORMAT_VERSION = 3


def encoder_record(name: str) -> dict[str, str]:
    """What model.pt keeps of an encoder: vectors it was trained on depend on all of it."""
    spec = REGISTRY[name]
    return {"name": name, "revision": spec.revision, "preprocessing": spec.preprocessing,
            "weights_source": spec.weights_source}


@dataclass
class ModelBundle:
    config: ModelConfig  # encoders, lemmatize, tower, calibration, child rule, seed: what train read
    tower: TwoTower
    # The calibration as knots: the score is linear between them, clipped at the ends.
    calibration_x: np.ndarray
    calibration_y: np.ndarray
    child_classifier: ChildPhotoNet | ChildPhotoClassifier
    info: dict[str, Any] = field(default_factory=dict)
    sha256: str = ""  # of model.pt, once saved or loaded: galleries record which model made them

    def __post_init__(self) -> None:
        self._text = get_encoder(self.text_encoder, "text")

    @property
    def text_encoder(self) -> str:
        return self.config.text_encoder

    @property
    def image_encoder(self) -> str:
        return self.config.image_encoder

    @property
    def lemmatize(self) -> bool:
        return self.config.lemmatize

    def fingerprint(self) -> dict[str, str]:
        """What a gallery's vectors and child flags depend on: this model file and the image
        encoder's weights and preprocessing. A gallery with another fingerprint must be re-indexed."""
        spec = REGISTRY[self.image_encoder]
        revision = spec.revision + runtime_variant(self.image_encoder)
        return {"model_sha256": self.sha256, "text_encoder": self.text_encoder,
                "image_encoder": self.image_encoder, "image_revision": revision,
                "image_preprocessing": spec.preprocessing}

    def prepare_text(self, text: str) -> str:
        return lemmatize(text) if self.lemmatize else text

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Raw text vectors projected by the text tower (L2-normalised float32)."""
        raw = self._text.encode([self.prepare_text(t) for t in texts])
        return self.tower.embed_text(raw)

    def score(self, similarity: np.ndarray | float) -> np.ndarray:
        """Cosine similarity -> calibrated 0..1 relevance."""
        return np.interp(np.asarray(similarity, dtype=np.float64), self.calibration_x,
                         self.calibration_y).astype(np.float32)

    def embed_photos(
        self, paths: Sequence[Path], progress: Callable[[int], None] | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, str]]:
        """(projected vectors, child flags from the classifier, child probabilities, failures).

        One forward pass per photo gives both the search vector and the child check, so photos
        are always encoded here rather than read from the vector cache. Only a child network
        reads the trunk: without one, no trunk is asked for, so an exported network may run
        (core.encoders.runtime)."""
        encoder = get_encoder(self.image_encoder, "image")
        probability = np.ones(len(paths), np.float32)  # unreadable photos count as flagged
        by_net = self.child_reads_trunks

        def check(rows: list[int], trunk: Any) -> None:
            probability[rows] = self.child_classifier.predict_proba(trunk)[:, 1]  # the child column

        raw, failures = encoder.encode_paths(paths, progress=progress, on_trunk=check if by_net else None)
        if not by_net:
            self._classify(raw, probability, failures)
        return self._judged(raw, probability, failures)

    @property
    def child_reads_trunks(self) -> bool:
        """Whether the child classifier reads the image encoder's trunk (else the pooled vector)."""
        return isinstance(self.child_classifier, ChildPhotoNet)

    def embed_encoded(self, raw: np.ndarray, trunks: np.ndarray | None, failures: dict[int, str]
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, str]]:
        """As :meth:`embed_photos`, for photos this image encoder already encoded (`raw` vectors
        and, when the child classifier reads them, `trunks`): train's photos are in its cache."""
        probability = np.ones(len(raw), np.float32)
        self._classify(trunks if self.child_reads_trunks else raw, probability, failures)
        return self._judged(raw, probability, failures)

    def _classify(self, features: Any, probability: np.ndarray, failures: dict[int, str]) -> None:
        good = [i for i in range(len(probability)) if i not in failures]
        if good:
            probability[good] = self.child_classifier.predict_proba(features[good])[:, 1]

    def _judged(self, raw: np.ndarray, probability: np.ndarray, failures: dict[int, str]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, str]]:
        if not len(raw) or len(failures) == len(raw):
            empty = np.zeros((len(raw), self.tower.dim), dtype=np.float32)
            return empty, np.ones(len(raw), bool), probability, failures
        flags = probability >= self.child_classifier.threshold_
        flags[list(failures)] = True  # never show what could not be checked
        return self.tower.embed_image(raw), flags, probability, failures

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        payload = {
            "format": FORMAT_VERSION,
            "config": self.config.to_dict(),
            "encoders": {"text": encoder_record(self.text_encoder),
                         "image": encoder_record(self.image_encoder)},
            "tower": self.tower.state(),
            "calibration_x": torch.from_numpy(np.asarray(self.calibration_x, np.float64)),
            "calibration_y": torch.from_numpy(np.asarray(self.calibration_y, np.float64)),
            "child_classifier": self.child_classifier.to_state(),
            "info": self.info,
        }
        path = folder / BUNDLE_FILE
        atomic_torch_save(path, payload)
        self.sha256 = sha256_file(path)
        return path

    @classmethod
    def load(cls, folder: Path) -> ModelBundle:
        path = Path(folder) / BUNDLE_FILE
        if not path.is_file():
            raise ArtifactsMissingError(
                f"No trained model at {path}. Build it with: python -m core train"
            )
        try:  # one read: the hash is of the very bytes loaded, even if a `train` replaces the file
            raw = path.read_bytes()
        except OSError as exc:
            raise ArtifactsMissingError(f"The model file {path} cannot be read ({exc}); rebuild "
                                        "it with: python -m core train") from exc
        return cls.from_bytes(raw, path)

    @classmethod
    def from_bytes(cls, raw: bytes, path: Path) -> ModelBundle:
        """The bundle a model.pt's bytes hold (``path`` names it in messages): a Ray worker loads
        the very file its driver loaded, so both give a gallery the same fingerprint."""
        try:
            payload = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises many types for a damaged file
            raise ArtifactsMissingError(
                f"The model file {path} cannot be read ({exc}); rebuild it with: python -m core train"
            ) from exc
        if payload.get("format") != FORMAT_VERSION:
            raise ArtifactsMissingError(
                f"{path} is model format {payload.get('format')}, this version reads format "
                f"{FORMAT_VERSION} (it stores the model config); retrain it with: python -m core train")
        try:
            config = config_from_dict(payload["config"], str(path))
        except (KeyError, ModelConfigError) as exc:
            raise ArtifactsMissingError(f"{path} holds no valid model config ({exc}); retrain it "
                                        "with: python -m core train") from exc
        _check_encoders(path, payload.get("encoders", {}))
        return cls(
            config=config,
            tower=TwoTower.from_state(payload["tower"]),
            calibration_x=payload["calibration_x"].numpy(),
            calibration_y=payload["calibration_y"].numpy(),
            child_classifier=load_child_classifier(payload["child_classifier"]),
            info=payload["info"],
            sha256=hashlib.sha256(raw).hexdigest(),
        )


def _check_encoders(path: Path, stored: dict[str, Any]) -> None:
    """The tower learnt from vectors of these encoders' weights and preprocessing: if the
    registry's have changed since, the model no longer fits its inputs."""
    for kind in ("text", "image"):
        record = stored.get(kind) or {}
        name = record.get("name")
        current = encoder_record(name) if name in REGISTRY else None
        if current is None or any(record.get(k) != current[k] for k in ("revision", "preprocessing")):
            now = f"revision {current['revision']!r}" if current else "unknown here"
            raise ArtifactsMissingError(
                f"{path} was trained on the {kind} encoder {name!r} revision {record.get('revision')!r} "
                f"({record.get('preprocessing')}); this code has {now}. Retrain it with: "
                "python -m core train")
