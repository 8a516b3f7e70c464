"""What a child-photo classifier learns from, and fitting the one the model config names: photos
labelled by their own Flickr8k captions (never holdout), split into those the photo encoder
learnt from and the "fresh" ones it never saw, whose vectors do not already carry their labels."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.data import dataset as data
from core.encoders.cache import embed_images, embed_trunks
from core.encoders.registry import REGISTRY, photos_learnt
from core.foundation.model_config import ChildConfig, ModelConfigError
from core.foundation.settings import Settings
from core.legal.blend import BlendedChildClassifier, frozen_columns_of
from core.legal.lexicon import caption_child_labels
from core.legal.logistic import ChildPhotoClassifier, EncoderChildHead
from core.legal.network import ChildPhotoNet, relearns_whole_network
from core.legal.shifts import SHIFTS, shift_variant

Progress = Callable[[int], None]
ProgressFactory = Callable[[str, int], Progress]


def child_training_photos(settings: Settings) -> tuple[list[Path], np.ndarray, np.ndarray]:
    """Photos a child classifier may learn from, each labelled by its five Flickr8k captions (a
    child when at least two mention one): the extra corpus and both practicum folders, which the
    token file describes too; never holdout. Returns (paths, labels, fresh): `fresh` marks the
    photos the photo encoder never learnt from (the others' labels are in its vectors)."""
    folders = [settings.flickr_dir / "images", settings.practicum_dir / "train_images",
               settings.practicum_dir / "test_images"]
    by_name = {p.name: p for folder in folders for p in data.list_photos(folder)}
    learnt = photos_learnt(settings.image_encoder)
    labels = caption_child_labels(data.load_flickr_captions(settings.flickr_dir, set(by_name)))
    return ([by_name[n] for n in labels.index], labels.to_numpy(dtype=bool),
            np.array([n not in learnt for n in labels.index], dtype=bool))


ChildTraining = tuple[list[Path], np.ndarray, np.ndarray]  # paths, labels, fresh


def fresh_only(training: ChildTraining) -> tuple[list[Path], np.ndarray]:
    """The photos of a child training set the photo encoder never learnt from, with labels."""
    paths, labels, fresh = training
    return [p for p, keep in zip(paths, fresh, strict=True) if keep], labels[fresh]


def child_training_set(settings: Settings) -> tuple[list[Path], np.ndarray]:
    """:func:`child_training_photos` less those the photo encoder learnt from."""
    return fresh_only(child_training_photos(settings))


def require_all_read(paths: list[Path], failures: dict[int, str]) -> None:
    """Training photos must all be readable: a DataError naming how many were not, and why."""
    if failures:
        first = next(iter(failures.values()))
        raise data.DataError(paths[0].parent, f"{len(failures)} image(s) cannot be read, e.g. {first}")


def shifted_vectors(settings: Settings, paths: list[Path], progress: ProgressFactory | None = None
                    ) -> dict[str, np.ndarray]:
    """Each shift's vectors of `paths` (core.legal.shifts), rows aligned with `paths`; cached
    by content and shift, so a second call costs nothing."""
    progress = progress or (lambda stage, total: lambda n: None)
    views = {}
    for name, transform in SHIFTS.items():
        vectors, failures = embed_images(paths, settings.image_encoder, settings.cache_dir,
                                         progress(f"photos shifted: {name}", len(paths)),
                                         shift=(shift_variant(name), transform))
        require_all_read(paths, failures)
        views[name] = vectors
    return views


def fit_child_classifier(settings: Settings, progress: ProgressFactory | None = None,
                         training: ChildTraining | None = None, rule: ChildConfig | None = None
                         ) -> ChildPhotoNet | ChildPhotoClassifier | EncoderChildHead:
    """The fine-tuned encoder's own head when it has one (trained and thresholded by `finetune`);
    else the classifier the model config's `rule` names (default: the network, with
    ChildPhotoNet's defaults), fitted on `training` (default :func:`child_training_photos`):
    "blend" learns from all of it (see core.legal.blend), the others from its fresh photos only.
    Either pass also fills the vector cache for what follows."""
    own = REGISTRY[settings.image_encoder].own_weights
    if own is not None:
        return EncoderChildHead.from_encoder(own)
    progress = progress or (lambda stage, total: lambda n: None)
    kind = rule.classifier if rule is not None else "network"
    if kind == "network" and relearns_whole_network(settings.image_encoder):
        raise ModelConfigError(  # refused before any photo is read, not hours into train
            f'[child] classifier = "network" with image encoder {settings.image_encoder} would '
            "fine-tune a whole CNN from the pixels once per fold and again for the final model "
            '(unfinished after 35 minutes on 2 cores): use classifier = "logistic" '
            "(docs/experiments.md, 'Legal')")
    if training is None:
        training = child_training_photos(settings)
    fresh = training[2]
    paths, labels = training[:2] if kind == "blend" else fresh_only(training)
    embed = embed_trunks if kind == "network" else embed_images
    features, failures = embed(paths, settings.image_encoder, settings.cache_dir,
                               progress("child-photo features", len(paths)))
    require_all_read(paths, failures)
    if rule is not None and kind in ("logistic", "blend"):
        common = {"target_recall": rule.target_recall, "confidence": rule.confidence,
                  "folds": rule.folds, "seed": settings.seed}
        if kind == "blend":
            return BlendedChildClassifier(frozen_columns_of(settings.image_encoder), **common
                                          ).fit(features, labels, fresh)
        # The shifted copies cost train time only (cached); checking a photo still reads one vector.
        shifted = (list(shifted_vectors(settings, paths, progress).values())
                   if rule.shifts or rule.augment else [])
        return ChildPhotoClassifier(augment=rule.augment, shift_threshold=rule.shifts, **common
                                    ).fit(features, labels, shifted=shifted)
    net = ChildPhotoNet(image_encoder=settings.image_encoder, seed=settings.seed,
                        **(rule.network_params() if rule is not None else {}))
    return net.fit(features, labels, progress("child classifier epochs", net.epochs * (net.folds + 1)))
