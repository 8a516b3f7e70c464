"""From raw data to artifacts/: features, the two-tower, its calibration, the child-photo
classifier and the indexed galleries. Training steps reuse the on-disk embedding cache; gallery
photos are encoded afresh, because the same forward pass checks them for children."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from core.bundle import ModelBundle
from core.data import dataset as data
from core.encoders.cache import embed_images, embed_texts, embed_trunks, file_key
from core.encoders.registry import REGISTRY, get_encoder
from core.foundation.model_config import ModelConfig
from core.foundation.settings import Settings, load_model_config, photo_runtime
from core.gallery.store import StoredGallery, write_gallery
from core.legal.lexicon import mentions_child
from core.legal.training import fit_child_classifier
from core.models.two_tower import TwoTower, TwoTowerRelevance, calibration_knots
from core.search.service import GALLERY_ROOTS, LIBRARY

Progress = Callable[[int], None]
ProgressFactory = Callable[[str, int], Progress]
# Training photos whose activations set int8's ranges: past ~200, R@10 and the vectors' cosine to
# PyTorch's stop moving (lab probe runtime_quality), and each photo costs calibration time.
CALIBRATION_PHOTOS = 256


def no_progress(stage: str, total: int) -> Progress:
    return lambda n: None


@dataclass
class PairFeatures:
    """Rows of (text vector, image vector) with the image each row belongs to."""

    text: np.ndarray
    image: np.ndarray
    images: np.ndarray  # image file name per row

    @property
    def X(self) -> np.ndarray:
        return np.hstack([self.text, self.image]).astype(np.float32)


def image_vectors(settings: Settings, folder: Path, names: list[str],
                  progress: ProgressFactory = no_progress) -> dict[str, np.ndarray]:
    unique = sorted(set(names))
    vectors, failures = embed_images([folder / n for n in unique], settings.image_encoder,
                                     settings.cache_dir, progress=progress(folder.name, len(unique)))
    if failures:
        first = next(iter(failures.values()))
        raise data.DataError(folder, f"{len(failures)} image(s) cannot be read, e.g. {first}")
    return dict(zip(unique, vectors, strict=True))


def pair_features(settings: Settings, texts: list[str], images: list[str], folder: Path,
                  lemmatize: bool, progress: ProgressFactory = no_progress) -> PairFeatures:
    by_name = image_vectors(settings, folder, images, progress)
    text = embed_texts(texts, settings.text_encoder, settings.cache_dir, lemmatized=lemmatize,
                       progress=progress("texts", len(texts)))
    return PairFeatures(text, np.stack([by_name[n] for n in images]), np.asarray(images))


def corpus_features(settings: Settings, lemmatize: bool,
                    progress: ProgressFactory = no_progress) -> tuple[PairFeatures, pd.DataFrame]:
    """Caption-photo pairs of the flickr8k extra corpus (never practicum or holdout photos)."""
    captions = data.load_flickr_captions(settings.flickr_dir)
    feats = pair_features(settings, captions["caption"].tolist(), captions["image"].tolist(),
                          settings.flickr_dir / "images", lemmatize, progress)
    return feats, captions


def relevance_features(settings: Settings, lemmatize: bool, progress: ProgressFactory = no_progress
                       ) -> tuple[PairFeatures, pd.DataFrame, data.TargetReport]:
    table, report = data.load_relevance(settings.practicum_dir)
    feats = pair_features(settings, table["query_text"].tolist(), table["image"].tolist(),
                          settings.practicum_dir / "train_images", lemmatize, progress)
    return feats, table, report


def own_caption_features(settings: Settings, lemmatize: bool, images: set[str] | None = None,
                         progress: ProgressFactory = no_progress) -> PairFeatures:
    """Captions of practicum train photos paired with their photo (true matches): the practicum
    captions whose query id names the photo, and the photo's Flickr8k captions. `images` keeps
    only some photos (a fold's training part), so no held-out photo's caption is ever learnt."""
    pairs = data.load_train_pairs(settings.practicum_dir).drop_duplicates("query_id")
    present = {p.name for p in data.list_photos(settings.practicum_dir / "train_images")}
    wanted = present if images is None else present & set(images)
    frames = [pd.DataFrame({"image": pairs["query_id"].str.split("#").str[0],
                            "caption": pairs["query_text"]})]
    if (settings.flickr_dir / "Flickr8k.token.txt").is_file():
        frames.append(data.load_flickr_captions(settings.flickr_dir, wanted)[["image", "caption"]])
    own = pd.concat(frames).drop_duplicates()
    own = own[own["image"].isin(wanted)]
    return pair_features(settings, own["caption"].tolist(), own["image"].tolist(),
                         settings.practicum_dir / "train_images", lemmatize, progress)


def combine(a: PairFeatures, b: PairFeatures) -> PairFeatures:
    return PairFeatures(np.vstack([a.text, b.text]), np.vstack([a.image, b.image]),
                        np.concatenate([a.images, b.images]))


def fit_tower(corpus: PairFeatures, seed: int, progress: ProgressFactory = no_progress,
              **params: float) -> TwoTower:
    tower = TwoTower(seed=seed, **params)  # type: ignore[arg-type]
    return tower.fit(corpus.text, corpus.image, corpus.images,
                     progress=progress("two-tower epochs", tower.epochs))


def practicum_captions(settings: Settings, gallery: str) -> pd.DataFrame:
    """Descriptions a practicum gallery has of its own photos: captions whose id names them, and
    their Flickr8k captions (the token file describes these photos too; holdout's are never read)."""
    if gallery == "test":
        queries = data.load_test_queries(settings.practicum_dir)
        folder = settings.practicum_dir / "test_images"
    else:
        queries = data.load_train_pairs(settings.practicum_dir)
        folder = settings.practicum_dir / "train_images"
    own = queries["query_id"].str.split("#").str[0]
    frames = [pd.DataFrame({"image": own, "caption": queries["query_text"]})]
    if (settings.flickr_dir / "Flickr8k.token.txt").is_file():
        names = {p.name for p in data.list_photos(folder)}
        frames.append(data.load_flickr_captions(settings.flickr_dir, names)[["image", "caption"]])
    return pd.concat(frames).drop_duplicates()


def caption_flags(names: list[str], captions: pd.DataFrame | None) -> np.ndarray | None:
    """Per photo: True/False when it has captions of its own (any one mentioning a child
    flags it), None-valued rows (NaN) when it has none. Returns None if no photo has captions."""
    if captions is None or not len(captions):
        return None
    mention = captions.assign(child=captions["caption"].map(mentions_child))
    by_image = mention.groupby("image")["child"].any()
    return np.array([by_image.get(n, np.nan) for n in names], dtype=float)


def build_gallery(settings: Settings, bundle: ModelBundle, name: str, root: Path,
                  captions: pd.DataFrame | None, progress: ProgressFactory = no_progress,
                  cached: bool = False) -> StoredGallery:
    """Index every photo of a folder with its child flag. A photo with descriptions of its own is
    judged by them (five people describing it is stronger evidence than the classifier, which at
    recall 0.98 also withholds about half of the other photos); any other photo by the classifier.
    `cached`: the photos' encoder outputs come from the embedding cache (train encoded them
    moments ago, with the same network), not from a second forward pass."""
    paths = data.list_photos(root)
    if cached:
        step = progress(f"gallery {name}", len(paths))
        trunks = None
        if bundle.child_reads_trunks:
            trunks, _ = embed_trunks(paths, settings.image_encoder, settings.cache_dir, step)
        raw, failures = embed_images(paths, settings.image_encoder, settings.cache_dir,
                                     None if trunks is not None else step)
        encoded = bundle.embed_encoded(raw, trunks, failures)
    else:
        encoded = bundle.embed_photos(paths, progress(f"gallery {name}", len(paths)))
    projected, classifier_flags, probability, failures = encoded
    names = [p.name for p in paths]
    by_caption = caption_flags(names, captions)
    flags = classifier_flags.copy()
    if by_caption is not None:
        described = ~np.isnan(by_caption)
        flags[described] = by_caption[described].astype(bool)
    keep = [i for i in range(len(paths)) if i not in failures]
    described_count = 0 if by_caption is None else int((~np.isnan(by_caption[keep])).sum())
    gallery = StoredGallery.empty(name, root, bundle.tower.dim, bundle.fingerprint()).with_rows(
        [], [names[i] for i in keep], [file_key(paths[i]) for i in keep], projected[keep], flags[keep],
        probability[keep], judged_by_captions=described_count,
        judged_by_classifier=len(keep) - described_count,
        classifier_would_flag=int(classifier_flags[keep].sum()),
        skipped={names[i]: reason for i, reason in failures.items()})
    write_gallery(settings, gallery)
    return gallery


def calibration_photos(settings: Settings, count: int = CALIBRATION_PHOTOS) -> list[Path]:
    """A seeded sample of training photos (practicum training photos and the extra corpus; never
    holdout or test) for calibrating the int8 runtime."""
    photos = (data.list_photos(settings.practicum_dir / "train_images")
              + data.list_photos(settings.flickr_dir / "images"))
    chosen = np.random.default_rng(settings.seed).choice(len(photos), min(count, len(photos)), replace=False)
    return [photos[i] for i in sorted(chosen)]


def prepare_runtime(settings: Settings, progress: ProgressFactory = no_progress) -> None:
    """Where $WITHSENSE_RUNTIME asks for int8: calibrate the photo networks on training photos
    now, before any photo is encoded, unless this encoder's int8 networks are in the cache."""
    if photo_runtime() != "onnx-int8":
        return
    encoder = get_encoder(settings.image_encoder, "image")
    if not hasattr(encoder, "calibrate_int8") or encoder.int8_ready():
        return
    photos = calibration_photos(settings)
    step = progress("int8 calibration", len(photos))
    encoder.calibrate_int8(photos)
    step(len(photos))


def train(settings: Settings | None = None, config: ModelConfig | None = None,
          progress: ProgressFactory = no_progress) -> ModelBundle:
    """Build artifacts/ for the model `config` describes (default: :func:`load_model_config`,
    configs/default.toml): about 3.5 minutes on 2 cores with a warm cache. `settings` give the
    folders; the config names the encoders and the seed, and model.pt keeps it."""
    config = config or load_model_config()
    config.check_encoders({name: spec.kind for name, spec in REGISTRY.items()})
    settings = replace(settings or Settings(), text_encoder=config.text_encoder,
                       image_encoder=config.image_encoder, seed=config.seed)
    lemmatize = config.lemmatize
    prepare_runtime(settings, progress)  # every photo below is encoded in the runtime in use
    # first: a network's pass also fills the vector cache
    child = fit_child_classifier(settings, progress, rule=config.child)
    corpus, _ = corpus_features(settings, lemmatize, progress)
    own = own_caption_features(settings, lemmatize, progress=progress)
    tower = fit_tower(combine(corpus, own), settings.seed, progress, **asdict(config.tower))
    feats, table, report = relevance_features(settings, lemmatize, progress)
    relevance = TwoTowerRelevance(tower, corpus.text.shape[1]).fit(feats.X, table["target"].to_numpy())
    calibration = config.calibration  # kind "sigmoid": the only one model_config accepts
    knots = calibration_knots(relevance.calibrator_, calibration.low, calibration.high, calibration.knots)
    bundle = ModelBundle(
        config=config, tower=tower,
        calibration_x=knots[0], calibration_y=knots[1],
        child_classifier=child,
        info={"model": "two_tower", "corpus_pairs": len(corpus.text), "own_caption_pairs": len(own.text),
              "calibration_pairs": len(table), "targets": report.__dict__,
              "child_threshold": float(child.threshold_)},
    )
    bundle.save(settings.artifacts_dir)
    captions = []
    for name, (part, folder) in GALLERY_ROOTS.items():
        root = settings.data_dir / part / folder
        captions.append(practicum_captions(settings, name))
        # its photos were encoded above (tower and child data): their vectors are in the cache
        build_gallery(settings, bundle, name, root, captions[-1], progress, cached=True)
    library = link_library(settings)
    corpus = {p.name for p in data.list_photos(library)} - {n for c in captions for n in c["image"]}
    captions.append(data.load_flickr_captions(settings.flickr_dir, corpus))
    build_gallery(settings, bundle, LIBRARY, library, pd.concat(captions), progress, cached=True)
    return bundle


def link_library(settings: Settings) -> Path:
    """artifacts/library: a link to every photo the demo may show, the practicum folders and the
    extra corpus (never holdout), made afresh; a copy where the file system has no links."""
    folder = settings.artifacts_dir / "library"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    sources = [settings.data_dir / part / sub for part, sub in GALLERY_ROOTS.values()]
    sources.append(settings.flickr_dir / "images")
    for source in sources:
        for photo in data.list_photos(source):
            link = folder / photo.name
            if link.exists():
                continue
            try:
                os.symlink(photo.resolve(), link)
            except OSError:
                shutil.copy2(photo, link)
    return folder
