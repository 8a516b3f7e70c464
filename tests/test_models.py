"""The estimators follow scikit-learn's contract and learn something real."""

from __future__ import annotations

import numpy as np
import pytest

from core.models.baselines import ConstantModel, LinearConcat, MLPConcat, TwoTowerMLP
from core.models.estimators import NotFittedError
from core.models.two_tower import TwoTower, TwoTowerRelevance


def _pairs(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Text and image vectors that share a hidden topic; y says whether topics match."""
    rng = np.random.default_rng(seed)
    topics = rng.normal(size=(8, 16))
    t_topic, i_topic = rng.integers(0, 8, n), rng.integers(0, 8, n)
    i_topic[: n // 2] = t_topic[: n // 2]
    text = topics[t_topic] @ rng.normal(size=(16, 24)) + 0.1 * rng.normal(size=(n, 24))
    image = topics[i_topic] @ rng.normal(size=(16, 40)) + 0.1 * rng.normal(size=(n, 40))
    y = (t_topic == i_topic).astype(np.float32)
    return text.astype(np.float32), image.astype(np.float32), y


@pytest.mark.parametrize("make", [ConstantModel, LinearConcat, lambda: MLPConcat(epochs=5)])
def test_concat_models_fit_return_self_and_predict_in_unit_range(make) -> None:
    text, image, y = _pairs()
    X = np.hstack([text, image])
    model = make()
    with pytest.raises(NotFittedError):
        model.predict(X)
    assert model.fit(X, y) is model
    pred = model.predict(X)
    assert pred.shape == (len(X),) and pred.min() >= 0 and pred.max() <= 1


def test_fit_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="2-D"):
        LinearConcat().fit(np.zeros(5), np.zeros(5))
    with pytest.raises(ValueError, match="rows"):
        LinearConcat().fit(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match=r"0\.\.1"):
        LinearConcat().fit(np.zeros((5, 2)), np.full(5, 3.0))


def test_two_tower_learns_matching_pairs_and_is_deterministic() -> None:
    text, image, y = _pairs()
    match = y == 1
    groups = np.arange(len(text))
    tower = TwoTower(dim=8, hidden=32, epochs=20, batch_size=32, seed=1)
    tower.fit(text[match], image[match], groups[match])
    sims = tower.pair_similarity(text, image)
    assert sims[match].mean() > sims[~match].mean() + 0.2
    again = TwoTower(dim=8, hidden=32, epochs=20, batch_size=32, seed=1)
    again.fit(text[match], image[match], groups[match])
    np.testing.assert_allclose(again.pair_similarity(text, image), sims, atol=1e-5)
    restored = TwoTower.from_state(tower.state())
    np.testing.assert_allclose(restored.pair_similarity(text, image), sims, atol=1e-6)

    X = np.hstack([text, image])
    relevance = TwoTowerRelevance(tower, text.shape[1]).fit(X, y)
    pred = relevance.predict(X)
    assert 0 <= pred.min() and pred.max() <= 1
    assert pred[match].mean() > pred[~match].mean()
    head = TwoTowerMLP(tower, text.shape[1], epochs=5).fit(X, y)
    assert head.predict(X).shape == (len(X),)
