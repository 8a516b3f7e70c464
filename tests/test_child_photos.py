"""core.legal.logistic and core.legal.network: the classifiers that keep child photos out of results."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.stats import beta
from sklearn.base import clone
from sklearn.exceptions import NotFittedError as SklearnNotFittedError

from core.data.dataset import load_flickr_captions
from core.encoders.cache import embed_images, embed_trunks
from core.foundation.settings import Settings
from core.legal.blend import BlendedChildClassifier, frozen_columns_of
from core.legal.lexicon import caption_child_labels
from core.legal.logistic import ChildPhotoClassifier, threshold_for_recall
from core.legal.network import ChildPhotoNet, load_child_classifier
from core.models.estimators import NotFittedError

# The network is checked on Lite0 trunks (the smallest); the default encoder reads Lite2's.
LITE0 = "efficientnet-lite0"


def _vectors(n: int = 400, dim: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two overlapping Gaussian clouds: a threshold has to trade recall against false alarms."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    X = rng.normal(size=(n, dim)) + np.outer(y, np.r_[1.2, 0.8, np.zeros(dim - 2)])
    return X, y


def test_point_threshold_is_the_highest_that_reaches_the_target() -> None:
    scores = np.linspace(0.1, 1.0, 10)
    assert threshold_for_recall(scores, 0.8, confidence=0) == pytest.approx(0.3)  # 8 of 10 stay
    assert threshold_for_recall(scores, 1.0, confidence=0) == pytest.approx(0.1)
    assert threshold_for_recall(scores, 0.85, confidence=0) == pytest.approx(0.2)  # 9 of 10 needed


def test_confident_threshold_keeps_a_clopper_pearson_margin() -> None:
    scores = np.random.default_rng(1).random(2000)
    point = threshold_for_recall(scores, 0.98, confidence=0)
    bound = threshold_for_recall(scores, 0.98, confidence=0.95)
    assert bound < point
    kept = int((scores >= bound).sum())
    n = len(scores)
    assert beta.ppf(0.05, kept, n - kept + 1) >= 0.98  # proven at 95%...
    assert beta.ppf(0.05, kept - 1, n - kept + 2) < 0.98  # ...and no lower threshold than needed
    # Too few positives to prove the target: every positive stays above the threshold.
    assert threshold_for_recall(scores[:50], 0.98) == pytest.approx(scores[:50].min())


@pytest.mark.parametrize("target", [0.9, 0.98])
def test_classifier_reaches_target_recall(target: float) -> None:
    X, y = _vectors()
    clf = ChildPhotoClassifier(target_recall=target, seed=3).fit(X, y)
    assert clf.cv_recall_ >= target  # on out-of-fold predictions, where the threshold was chosen
    assert clf.predict(X)[y].mean() >= target  # and on the training data
    assert 0 < clf.cv_false_positive_rate_ < 1
    proba = clf.predict_proba(X)[:, 1]  # the child column
    assert proba.shape == (len(X),) and ((proba >= 0) & (proba <= 1)).all()
    assert clf.predict(X).dtype == bool
    assert proba[y].mean() > proba[~y].mean()


def test_classifier_higher_target_lowers_threshold() -> None:
    X, y = _vectors()
    loose = ChildPhotoClassifier(target_recall=0.7).fit(X, y)
    strict = ChildPhotoClassifier(target_recall=0.99).fit(X, y)
    assert strict.threshold_ < loose.threshold_


def test_classifier_round_trip() -> None:
    X, y = _vectors(dim=8)
    clf = ChildPhotoClassifier(target_recall=0.95, C=0.5, seed=7).fit(X, y)
    state = json.loads(json.dumps(clf.to_state()))  # plain JSON, no pickle
    again = load_child_classifier(state)
    assert again.get_params() == clf.get_params()
    assert again.threshold_ == clf.threshold_
    np.testing.assert_allclose(again.predict_proba(X), clf.predict_proba(X))
    with pytest.raises(ValueError, match="valid: ChildPhotoNet, ChildPhotoClassifier, EncoderChildHead"):
        load_child_classifier({**state, "kind": "Something"})
    with pytest.raises(ValueError, match="malformed"):
        ChildPhotoClassifier.from_state({k: v for k, v in state.items() if k != "coef"})


def test_classifier_not_fitted() -> None:
    for clf, x in ((ChildPhotoClassifier(), np.zeros((1, 3))), (ChildPhotoNet(), np.zeros((1, 2, 7, 7)))):
        for method, args in ((clf.predict, (x,)), (clf.predict_proba, (x,)), (clf.to_state, ())):
            with pytest.raises(NotFittedError, match="not fitted"):
                method(*args)
    assert issubclass(NotFittedError, SklearnNotFittedError)


def test_classifier_is_a_sklearn_estimator() -> None:
    clf = ChildPhotoClassifier(target_recall=0.9, C=2.0, seed=1)
    assert clone(clf).get_params() == {"target_recall": 0.9, "confidence": 0.95, "C": 2.0, "folds": 10,
                                       "seed": 1, "augment": True, "shift_threshold": True}
    assert not hasattr(clf, "threshold_")  # __init__ stores parameters only
    assert not hasattr(ChildPhotoNet(epochs=2), "net_")


def test_classifier_rejects_bad_input() -> None:
    X, y = _vectors(n=60, dim=4)
    with pytest.raises(ValueError, match="one label per photo"):
        ChildPhotoClassifier().fit(X, y[:-1])
    with pytest.raises(ValueError, match="at least 10 photos of each class"):
        ChildPhotoClassifier().fit(X, np.zeros(len(X), dtype=bool))
    with pytest.raises(ValueError, match="booleans or 0/1"):
        ChildPhotoClassifier().fit(X, np.where(y, "child", "other"))
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ChildPhotoClassifier().fit(bad, y)
    with pytest.raises(ValueError, match="target_recall"):
        ChildPhotoClassifier(target_recall=1.5).fit(X, y)
    with pytest.raises(ValueError, match="confidence"):
        ChildPhotoClassifier(confidence=1.0).fit(X, y)
    clf = ChildPhotoClassifier().fit(X, y)
    with pytest.raises(ValueError, match="fitted on 4"):
        clf.predict(np.zeros((2, 5)))


@pytest.fixture(scope="module")
def practicum_trunks(practicum_dir: Path, flickr_dir: Path, tmp_path_factory: pytest.TempPathFactory
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Trunk outputs of 240 real practicum photos, labelled by their Flickr8k captions."""
    photos = sorted((practicum_dir / "train_images").iterdir())[:240]
    labels = caption_child_labels(load_flickr_captions(flickr_dir, {p.name for p in photos}))
    by_name = {p.name: p for p in photos}
    trunks, failures = embed_trunks([by_name[n] for n in labels.index], LITE0,
                                    tmp_path_factory.mktemp("cache"))
    assert not failures
    return trunks, labels.to_numpy(dtype=bool)


def test_net_learns_child_photos_and_keeps_its_recall(practicum_trunks) -> None:  # type: ignore[no-untyped-def]
    trunks, y = practicum_trunks
    assert trunks.shape[1:] == (192, 7, 7) and trunks.dtype == np.float16
    assert 30 <= y.sum() <= len(y) - 30  # both kinds are there to learn from
    net = ChildPhotoNet(LITE0, epochs=2, target_recall=0.9, confidence=0).fit(trunks, y)
    assert net.cv_recall_ >= 0.9  # out-of-fold, where the threshold was chosen
    assert net.cv_false_positive_rate_ < 1  # not simply flagging every photo
    probability = net.predict_proba(trunks)[:, 1]  # the child column
    assert probability[y].mean() > probability[~y].mean() + 0.2
    assert (net.predict(trunks) == (probability >= net.threshold_)).all()


def test_net_state_round_trips_through_a_weights_only_file(practicum_trunks, tmp_path) -> None:  # type: ignore[no-untyped-def]
    trunks, y = practicum_trunks
    net = ChildPhotoNet(LITE0, epochs=1, folds=2).fit(trunks, y)
    torch.save(net.to_state(), tmp_path / "net.pt")
    again = load_child_classifier(torch.load(tmp_path / "net.pt", weights_only=True))
    assert again.get_params() == net.get_params() and again.threshold_ == net.threshold_
    np.testing.assert_allclose(again.predict_proba(trunks[:20]), net.predict_proba(trunks[:20]), rtol=1e-5)
    with pytest.raises(ValueError, match="fitted on"):
        again.predict(trunks[:2, :, :5, :5])
    with pytest.raises(ValueError, match="channels, height, width"):
        again.predict(trunks[0])
    with pytest.raises(ValueError, match="epochs"):
        ChildPhotoNet(epochs=0).fit(trunks, y)
    state = net.to_state()
    with pytest.raises(ValueError, match="mapping of tensors"):
        load_child_classifier({**state, "weights": {}})
    wrong = load_child_classifier({**state, "weights": {"layer": torch.zeros(1)}})  # built on first use
    with pytest.raises(ValueError, match="do not fit efficientnet-lite0"):
        wrong.predict(trunks[:1])


def test_the_config_names_which_classifier_train_fits(practicum_dir: Path, flickr_dir: Path,
                                                      tmp_path: Path) -> None:
    """`[child] classifier`: "logistic" fits logistic regression on pooled vectors, "network" the
    fine-tuned block on trunks, "blend" the two logistic heads; on real photos, each keeping the
    recall rule out of fold."""
    from dataclasses import replace

    from core.foundation.settings import load_model_config
    from core.legal.training import fit_child_classifier

    photos = sorted((practicum_dir / "train_images").iterdir())[:160]
    labels = caption_child_labels(load_flickr_captions(flickr_dir, {p.name for p in photos}))
    by_name = {p.name: p for p in photos}
    # all fresh: Lite0 is frozen, it learnt no label
    training = ([by_name[n] for n in labels.index], labels.to_numpy(dtype=bool), np.ones(len(labels), bool))
    settings = Settings(cache_dir=tmp_path, image_encoder=LITE0)
    rule = replace(load_model_config().child, target_recall=0.9, confidence=0.0, epochs=1, folds=2)
    logistic = fit_child_classifier(settings, training=training, rule=replace(rule, classifier="logistic"))
    network = fit_child_classifier(settings, training=training, rule=replace(rule, classifier="network"))
    blend = fit_child_classifier(settings, training=training, rule=replace(rule, classifier="blend"))
    assert isinstance(logistic, ChildPhotoClassifier) and isinstance(network, ChildPhotoNet)
    assert isinstance(blend, BlendedChildClassifier) and blend.frozen_columns == (0, 1280)
    assert logistic.cv_recall_ >= 0.9 and network.cv_recall_ >= 0.9 and blend.cv_recall_ >= 0.9
    assert network.epochs == 1 and network.image_encoder == LITE0


def test_the_network_classifier_is_refused_where_it_would_relearn_a_whole_cnn(tmp_path: Path) -> None:
    """With both networks fine-tuned whole, "network" would train a whole CNN per fold (hours on
    2 cores): train refuses it at once, naming the classifier to use, before reading a photo."""
    from dataclasses import replace

    from core.foundation.model_config import ModelConfigError
    from core.foundation.settings import load_model_config
    from core.legal.training import fit_child_classifier

    missing = tmp_path / "not-a-photo.jpg"  # reading it would fail with another message
    training = ([missing, missing], np.array([True, False]), np.ones(2, bool))
    settings = Settings(cache_dir=tmp_path, image_encoder="efficientnet-lite0-captions+lite2-captions")
    rule = replace(load_model_config().child, classifier="network")
    with pytest.raises(ModelConfigError, match='use classifier = "logistic"'):
        fit_child_classifier(settings, training=training, rule=rule)


# --------------------------------------------------------------------------------------------
# The blended head (core.legal.blend): whole vector on fresh photos, frozen part on all
# --------------------------------------------------------------------------------------------


def test_frozen_columns_are_the_members_without_weights_of_our_own() -> None:
    assert frozen_columns_of("efficientnet-lite0-captions+lite2") == (1280, 2560)  # Lite2's half
    assert frozen_columns_of(LITE0) == (0, 1280)
    with pytest.raises(ValueError, match="no frozen part"):
        frozen_columns_of("efficientnet-lite0-captions")


@pytest.fixture(scope="module")
def joined_photos(practicum_dir: Path, flickr_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Vectors of 240 real photos by fine-tuned Lite0 beside frozen Lite2 (a frozen part), and labels."""
    photos = sorted((practicum_dir / "train_images").iterdir())[:240]
    labels = caption_child_labels(load_flickr_captions(flickr_dir, {p.name for p in photos}))
    by_name = {p.name: p for p in photos}
    vectors, failures = embed_images([by_name[n] for n in labels.index],
                                     "efficientnet-lite0-captions+lite2", Settings().cache_dir)
    assert not failures
    return vectors, labels.to_numpy(dtype=bool)


def test_blend_learns_the_whole_vector_from_fresh_photos_only(joined_photos) -> None:  # type: ignore[no-untyped-def]
    """Photos marked not fresh carry their label in the whole vector (the fine-tune learnt it):
    the whole-vector head must ignore them, the frozen-part head must use them, and the
    threshold must come from fresh photos alone."""
    from sklearn.linear_model import LogisticRegression

    X, y = joined_photos
    fresh = np.arange(len(y)) % 3 != 0  # a third "learnt"
    leaky = X.copy()
    leaky[~fresh, :1280] = 0
    leaky[~fresh, 0] = np.where(y[~fresh], 5.0, -5.0)  # their labels, written into the tuned half
    clf = BlendedChildClassifier(target_recall=0.9, confidence=0.0, seed=3).fit(leaky, y, fresh)
    leaky = leaky.astype(float)  # the classifier's own precision: the same fit, bit for bit
    unit = leaky / np.linalg.norm(leaky, axis=1, keepdims=True)
    alone = LogisticRegression(class_weight="balanced", max_iter=2000).fit(unit[fresh], y[fresh])
    assert np.allclose(clf.coef_, alone.coef_[0], atol=1e-4)  # the whole head: fresh photos only
    part = leaky[:, 1280:] / np.linalg.norm(leaky[:, 1280:], axis=1, keepdims=True)
    on_fresh = LogisticRegression(class_weight="balanced", max_iter=2000).fit(part[fresh], y[fresh])
    assert not np.allclose(clf.part_coef_, on_fresh.coef_[0], atol=1e-3)  # the part: every photo
    # the threshold keeps the recall rule on fresh photos' out-of-fold scores
    assert clf.cv_recall_ >= 0.9 and 0 < clf.cv_false_positive_rate_ < 1
    assert clf.predict(leaky[fresh])[y[fresh]].mean() >= 0.9


def test_blend_round_trips_and_checks_its_input(joined_photos) -> None:  # type: ignore[no-untyped-def]
    X, y = joined_photos
    clf = BlendedChildClassifier(target_recall=0.9, seed=1).fit(X, y)
    state = json.loads(json.dumps(clf.to_state()))  # plain numbers: what model.pt keeps
    back = load_child_classifier(state)
    assert isinstance(back, BlendedChildClassifier) and back.frozen_columns == (1280, 2560)
    assert np.allclose(back.decision_function(X), clf.decision_function(X), atol=1e-9)
    assert back.threshold_ == pytest.approx(clf.threshold_)
    with pytest.raises(ValueError, match="do not fit vectors of 16"):
        BlendedChildClassifier().fit(np.random.default_rng(0).random((60, 16)), y[:60])
    with pytest.raises(ValueError, match="one value per photo"):
        BlendedChildClassifier().fit(X, y, fresh=np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="part_coef"):
        load_child_classifier({**state, "part_coef": [0.0]})



def test_shifted_views_hold_the_threshold_for_every_view() -> None:
    """With the vectors of the same photos under shifts, the threshold keeps recall >= the target
    on each view out of fold, which a threshold chosen on the plain photos does not promise."""
    X, y = _vectors(n=600, dim=16, seed=4)
    rng = np.random.default_rng(5)
    shifted = [X + rng.normal(scale=scale, size=X.shape) - np.outer(y, np.r_[0.6, 0.4, np.zeros(14)])
               for scale in (0.5, 1.0)]  # noisier, and children look less like children
    plain = ChildPhotoClassifier(target_recall=0.95, seed=3).fit(X, y)
    held = ChildPhotoClassifier(target_recall=0.95, seed=3, augment=False).fit(X, y, shifted=shifted)
    assert held.threshold_ < plain.threshold_
    assert held.cv_recall_worst_shift_ >= 0.95 and held.cv_recall_ >= 0.95
    assert held.cv_false_positive_rate_worst_shift_ >= held.cv_false_positive_rate_
    reported = ChildPhotoClassifier(target_recall=0.95, seed=3, augment=False,
                                    shift_threshold=False).fit(X, y, shifted=shifted)
    assert reported.threshold_ == pytest.approx(plain.threshold_)  # only reports the views
    assert reported.cv_recall_worst_shift_ < 0.95  # ...where the plain rule falls short
    augmented = ChildPhotoClassifier(target_recall=0.95, seed=3, augment=True).fit(X, y, shifted=shifted)
    assert not np.allclose(augmented.coef_, held.coef_)  # it learnt from the shifted copies too
    assert augmented.cv_recall_worst_shift_ >= 0.95
    restored = ChildPhotoClassifier.from_state(held.to_state())
    assert restored.cv_recall_worst_shift_ == pytest.approx(held.cv_recall_worst_shift_)
    with pytest.raises(ValueError, match="shape of X"):
        ChildPhotoClassifier().fit(X, y, shifted=[X[:-1]])
