"""core.legal: the child-query lexicon, caption labels and the child-photo classifier."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from core import legal
from core.data import DataError
from core.legal import (
    DISCLAIMER,
    ChildPhotoClassifier,
    ClassifierNotFittedError,
    caption_child_labels,
    child_terms,
    evaluate_query_check,
    is_child_query,
    mentions_child,
)

LABELLED = Path(__file__).with_name("legal_queries.tsv")


def test_disclaimer_text() -> None:
    assert DISCLAIMER == "This image is unavailable in your country in compliance with local legislation"


def test_labelled_queries() -> None:
    result = evaluate_query_check(LABELLED)
    assert result["n_child"] >= 100 and result["n_other"] >= 150
    assert result["n_child"] + result["n_other"] >= 300
    assert result["query_recall"] == 1.0, f"missed child queries: {result['missed']}"
    assert result["query_false_alarm"] <= 0.02, f"false alarms: {result['false_alarms']}"


@pytest.mark.parametrize(
    "query",
    ["children playing", "a kid", "Two boys", "TODDLERS!", "a little girl", "teenage skaters",
     "the baby's blanket", "a 7-year-old on a bike", "six month old", "little ones on a slide",
     "a young soccer player", "Little League", "schoolchildren", "preteens", "kiddos", "my son",
     "girls' team", "a boy,", "young swimmers", "teen", "grandkids", "a newborn", "infants"],
)
def test_child_queries(query: str) -> None:
    assert is_child_query(query), child_terms(query)


@pytest.mark.parametrize(
    "query",
    ["a man", "a dog", "old woman", "young man", "young woman", "young men", "ladies",
     "a group of people", "a baby elephant", "newborn puppies", "baby blue shirt", "a cowboy",
     "are you kidding", "a 30-year-old man", "twenty-five-year-old woman", "a young dog",
     "little old lady", "young blond man", "a young couple", "a dog in a kiddie pool",
     "two young, one old", "a young boxer dog", "students", "a family", "brothers", "bride"],
)
def test_adult_and_neutral_queries(query: str) -> None:
    assert not is_child_query(query), child_terms(query)


def test_child_terms_names_what_matched() -> None:
    terms = child_terms("Two little girls, a young skier and a 5-year-old with her Babies")
    assert terms == ["girl", "young skier", "baby", "5-year-old"]
    assert child_terms("a man and his dog") == []
    with pytest.raises(TypeError, match="expects text"):
        child_terms(None)  # type: ignore[arg-type]


def test_mentions_child_on_captions() -> None:
    assert mentions_child("A young boy wades in the ocean .")
    assert mentions_child("A mother is asking her daughter to make a nice face for the camera .")
    assert not mentions_child("A young woman holds a camera .")


def test_evaluate_query_check_rejects_bad_labels(tmp_path: Path) -> None:
    path = tmp_path / "queries.tsv"
    path.write_text("query\tlabel\na boy\tchild\na man\tadult\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"queries.tsv, line 3: label must be child or other"):
        evaluate_query_check(path)
    with pytest.raises(DataError, match="file not found"):
        evaluate_query_check(tmp_path / "absent.tsv")


# ---------------------------------------------------------------- caption labels


def test_caption_labels_on_real_captions(flickr_dir: Path) -> None:
    train_split = set((flickr_dir / "Flickr_8k.trainImages.txt").read_text().split())
    rows = []
    with (flickr_dir / "Flickr8k.token.txt").open(encoding="utf-8") as handle:
        for line in handle:
            caption_id, caption = line.rstrip("\n").split("\t", 1)
            image = caption_id.split("#")[0]
            if image in train_split:  # never the dev split (holdout)
                rows.append((image, caption))
            if len(rows) >= 200:
                break
    captions = pd.DataFrame(rows, columns=["image", "caption"])
    labels = caption_child_labels(captions)
    assert labels.index.is_unique and len(labels) == captions["image"].nunique()
    assert labels["1000268201_693b08cb0e.jpg"]  # "A little girl climbing into a wooden playhouse"
    assert labels["1002674143_1b742ab4b8.jpg"]
    assert not labels["1001773457_577c3a7d70.jpg"]  # two dogs
    assert not labels["1003163366_44323f5815.jpg"]  # a man on a bench
    counts = captions.assign(hit=captions["caption"].map(mentions_child)).groupby("image")["hit"].sum()
    assert (labels == (counts >= 2)).all()
    assert 0 < labels.mean() < 1


def test_caption_labels_need_min_mentions() -> None:
    captions = pd.DataFrame({
        "image": ["a"] * 5 + ["b"] * 5,
        "caption": ["A girl in a bikini", "A woman on the beach", "A woman smiles", "A lady", "A person",
                    "A boy runs", "A child runs", "A man", "A man", "A man"],
    })
    assert caption_child_labels(captions).to_dict() == {"a": False, "b": True}
    assert caption_child_labels(captions, min_mentions=1).to_dict() == {"a": True, "b": True}
    with pytest.raises(ValueError, match="lacks column"):
        caption_child_labels(captions.rename(columns={"caption": "text"}))
    with pytest.raises(ValueError, match="min_mentions"):
        caption_child_labels(captions, min_mentions=0)


# ---------------------------------------------------------------- the classifier


def _vectors(n: int = 400, dim: int = 16, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two overlapping Gaussian clouds: a threshold has to trade recall against false alarms."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.3
    X = rng.normal(size=(n, dim)) + np.outer(y, np.r_[1.2, 0.8, np.zeros(dim - 2)])
    return X, y


def test_threshold_for_recall_is_the_highest_that_reaches_it() -> None:
    scores = np.linspace(0.1, 1.0, 10)
    assert legal._threshold_for_recall(scores, 0.8) == pytest.approx(0.3)  # 8 of 10 stay >= 0.3
    assert legal._threshold_for_recall(scores, 1.0) == pytest.approx(0.1)
    assert legal._threshold_for_recall(scores, 0.85) == pytest.approx(0.2)  # 9 needed: 0.85 * 10 = 8.5


@pytest.mark.parametrize("target", [0.9, 0.98])
def test_classifier_reaches_target_recall(target: float) -> None:
    X, y = _vectors()
    clf = ChildPhotoClassifier(target_recall=target, seed=3).fit(X, y)
    assert clf.cv_recall_ >= target  # on out-of-fold predictions, where the threshold was chosen
    assert clf.predict(X)[y].mean() >= target  # and on the training data
    assert 0 < clf.cv_false_positive_rate_ < 1
    proba = clf.predict_proba(X)
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
    state = json.loads(json.dumps(clf.to_dict()))  # plain JSON, no pickle
    again = ChildPhotoClassifier.from_dict(state)
    assert again.get_params() == clf.get_params()
    assert again.threshold_ == clf.threshold_
    np.testing.assert_allclose(again.predict_proba(X), clf.predict_proba(X))
    assert (again.predict(X) == clf.predict(X)).all()
    with pytest.raises(ValueError, match="not a ChildPhotoClassifier"):
        ChildPhotoClassifier.from_dict({**state, "kind": "Something"})
    with pytest.raises(ValueError, match="malformed"):
        ChildPhotoClassifier.from_dict({k: v for k, v in state.items() if k != "coef"})


def test_classifier_not_fitted() -> None:
    clf = ChildPhotoClassifier()
    for call in (lambda: clf.predict(np.zeros((1, 3))), lambda: clf.predict_proba(np.zeros((1, 3))),
                 clf.to_dict):
        with pytest.raises(ClassifierNotFittedError, match="not fitted"):
            call()
    assert issubclass(ClassifierNotFittedError, NotFittedError)


def test_classifier_is_a_sklearn_estimator() -> None:
    clf = ChildPhotoClassifier(target_recall=0.9, C=2.0, seed=1)
    assert clone(clf).get_params() == {"target_recall": 0.9, "C": 2.0, "seed": 1}
    assert not hasattr(clf, "threshold_")  # __init__ stores parameters only


def test_classifier_rejects_bad_input() -> None:
    X, y = _vectors(n=60, dim=4)
    with pytest.raises(ValueError, match="one label per row"):
        ChildPhotoClassifier().fit(X, y[:-1])
    with pytest.raises(ValueError, match="at least 5 photos of each class"):
        ChildPhotoClassifier().fit(X, np.zeros(len(X), dtype=bool))
    with pytest.raises(ValueError, match="booleans or 0/1"):
        ChildPhotoClassifier().fit(X, np.where(y, "child", "other"))
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ChildPhotoClassifier().fit(bad, y)
    with pytest.raises(ValueError, match="target_recall"):
        ChildPhotoClassifier(target_recall=1.5).fit(X, y)
    clf = ChildPhotoClassifier().fit(X, y)
    with pytest.raises(ValueError, match="fitted on 4"):
        clf.predict(np.zeros((2, 5)))
