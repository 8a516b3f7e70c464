"""Every estimator in core/ is one sklearn can clone and check (issue #13)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.utils import estimator_checks
from sklearn.utils.validation import check_is_fitted

from core.legal.blend import BlendedChildClassifier
from core.legal.logistic import ChildPhotoClassifier, EncoderChildHead
from core.legal.network import ChildPhotoNet
from core.measure.evaluate import FoldModel
from core.models.baselines import ConstantModel, LinearConcat, MLPConcat, TwoTowerMLP
from core.models.estimators import NotFittedError
from core.models.two_tower import SigmoidCalibrator, TwoTower, TwoTowerRelevance

TEXT_DIM, IMAGE_DIM = 6, 10


def _relevance_data(n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of [text | image] whose hidden topics match for half of them; y in 0..1 says so."""
    rng = np.random.default_rng(seed)
    topics = rng.normal(size=(4, 5))
    t_topic, i_topic = rng.integers(0, 4, n), rng.integers(0, 4, n)
    i_topic[: n // 2] = t_topic[: n // 2]
    text = topics[t_topic] @ rng.normal(size=(5, TEXT_DIM)) + 0.1 * rng.normal(size=(n, TEXT_DIM))
    image = topics[i_topic] @ rng.normal(size=(5, IMAGE_DIM)) + 0.1 * rng.normal(size=(n, IMAGE_DIM))
    y = np.clip(0.2 + 0.6 * (t_topic == i_topic) + 0.05 * rng.normal(size=n), 0, 1)
    return np.hstack([text, image]).astype(np.float32), y.astype(np.float32), np.arange(n)


@pytest.fixture(scope="module")
def tower() -> TwoTower:
    X, y, photos = _relevance_data()
    match = y > 0.5
    return TwoTower(dim=4, hidden=8, epochs=2, batch_size=16, seed=1).fit(
        X[match, :TEXT_DIM], X[match, TEXT_DIM:], photos[match])


def _relevance_models(tower: TwoTower) -> list[BaseEstimator]:
    frozen = FrozenEstimator(tower)  # sklearn's way to keep a fitted sub-estimator through clone
    return [ConstantModel(), LinearConcat(alpha=3.0), MLPConcat(hidden=8, epochs=2, seed=3),
            TwoTowerRelevance(frozen, TEXT_DIM), TwoTowerMLP(frozen, TEXT_DIM, hidden=8, epochs=2)]


def _same_params(a: BaseEstimator, b: BaseEstimator) -> None:
    """Equal parameters; a sub-estimator counts as equal when its own parameters are."""
    pa, pb = a.get_params(deep=False), b.get_params(deep=False)
    assert pa.keys() == pb.keys()
    for name, value in pa.items():
        if isinstance(value, BaseEstimator):
            assert type(pb[name]) is type(value)
            _same_params(value, pb[name])
        elif isinstance(value, float):
            assert pb[name] == pytest.approx(value)
        else:
            assert pb[name] == value, name


def _assert_unfitted(model: BaseEstimator) -> None:
    with pytest.raises(SklearnNotFittedError):
        check_is_fitted(model)


def test_clone_gives_an_unfitted_copy_of_every_relevance_model(tower: TwoTower) -> None:
    X, y, _ = _relevance_data()
    for model in _relevance_models(tower):
        model.fit(X, y)
        copy = clone(model)
        assert copy is not model
        _same_params(model, copy)
        _assert_unfitted(copy)
        # The copy fits to the same predictions: every model is seeded by its parameters.
        np.testing.assert_allclose(copy.fit(X, y).predict(X), model.predict(X), atol=1e-5)


def test_clone_of_the_tower_and_a_head_holding_it_bare(tower: TwoTower) -> None:
    copy = clone(tower)
    _same_params(tower, copy)
    _assert_unfitted(copy)
    # A bare tower is a sub-estimator like any other: clone copies it unfitted.
    head = clone(TwoTowerRelevance(tower, TEXT_DIM))
    _same_params(head.tower, tower)
    _assert_unfitted(head.tower)
    # Frozen, the very same fitted tower is kept.
    assert clone(TwoTowerRelevance(FrozenEstimator(tower), TEXT_DIM)).tower.estimator is tower


def _child_classifiers() -> list[tuple[BaseEstimator, np.ndarray]]:
    """Each child classifier, fitted or restored cheaply, with inputs of the shape it reads."""
    rng = np.random.default_rng(2)
    vectors = rng.normal(size=(60, 8))
    labels = (vectors[:, 0] + 0.3 * rng.normal(size=60)) > 0.4
    logistic = ChildPhotoClassifier(target_recall=0.9, folds=3, seed=5).fit(vectors, labels)
    head = EncoderChildHead.from_state({
        "kind": "EncoderChildHead", "params": {"target_recall": 0.97}, "threshold": 0.4,
        "coef": rng.normal(size=8).tolist(), "intercept": -0.2})
    net = ChildPhotoNet.from_state({
        "kind": "ChildPhotoNet", "params": {"epochs": 2, "folds": 2}, "threshold": 0.5,
        "trunk_shape": [2, 3, 3], "weights": {"placeholder": torch.zeros(1)}})
    # A stand-in network: the real tail would load the image encoder's weights.
    net.net_ = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(18, 1)).eval()
    trunks = rng.normal(size=(7, 2, 3, 3)).astype(np.float32)
    return [(logistic, vectors), (head, vectors), (net, trunks)]


def test_clone_gives_an_unfitted_copy_of_every_child_classifier() -> None:
    for clf, X in _child_classifiers():
        copy = clone(clf)
        _same_params(clf, copy)
        assert copy.get_params(deep=True) == copy.get_params(deep=False)  # no sub-estimators
        with pytest.raises(NotFittedError, match="not fitted"):
            copy.predict(X)


def test_predict_proba_has_sklearns_two_columns() -> None:
    for clf, X in _child_classifiers():
        proba = clf.predict_proba(X)
        assert proba.shape == (len(X), 2)
        assert list(clf.classes_) == [False, True]  # column 1 is "shows a child"
        assert ((proba >= 0) & (proba <= 1)).all()
        np.testing.assert_allclose(proba.sum(1), 1, atol=1e-9)
        np.testing.assert_array_equal(clf.predict(X), proba[:, 1] >= clf.threshold_)


def test_one_not_fitted_error_for_the_project(tower: TwoTower) -> None:
    assert issubclass(NotFittedError, SklearnNotFittedError)
    X, _, _ = _relevance_data(n=4)
    for model in [*_relevance_models(tower), TwoTower(), SigmoidCalibrator()]:
        method = model.embed_text if isinstance(model, TwoTower) else model.predict
        with pytest.raises(NotFittedError, match="not fitted"):
            method(X[:, :TEXT_DIM] if isinstance(model, TwoTower) else X)


SKLEARN_CHECKS: list[Callable[[str, Any], None]] = [
    estimator_checks.check_parameters_default_constructible,
    estimator_checks.check_no_attributes_set_in_init,
    estimator_checks.check_get_params_invariance,
    estimator_checks.check_set_params,
    estimator_checks.check_estimators_unfitted,  # predict before fit raises NotFittedError
]


@pytest.mark.parametrize("check", SKLEARN_CHECKS, ids=lambda c: c.__name__)
def test_sklearn_estimator_checks(check: Callable[[str, Any], None], tower: TwoTower) -> None:
    estimators = [*_relevance_models(tower), FoldModel(lambda rows: LinearConcat()),
                  ChildPhotoClassifier(), EncoderChildHead(), BlendedChildClassifier(), ChildPhotoNet()]
    for estimator in estimators:
        check(type(estimator).__name__, estimator)
