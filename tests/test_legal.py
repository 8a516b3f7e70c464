"""core.legal.lexicon: the child-query lexicon, caption labels and the child-photo classifier."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core.data.dataset import DataError
from core.legal.lexicon import (
    DISCLAIMER,
    caption_adult_labels,
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
    # Adults, the negatives the child check confuses most: people in the captions, no child.
    adults = caption_adult_labels(captions)
    assert adults["1003163366_44323f5815.jpg"]  # "A man lays on a bench while his dog sits by him"
    assert not adults["1000268201_693b08cb0e.jpg"] and not adults["1001773457_577c3a7d70.jpg"]
    assert not (adults & labels).any() and 0 < adults.mean() < 1


def test_adult_labels_need_three_captions_with_a_person_and_no_child_label() -> None:
    captions = pd.DataFrame({
        "image": ["a"] * 5 + ["b"] * 5 + ["c"] * 5,
        "caption": ["A man rides", "Skier on a slope", "She skis", "A dog", "Snow",
                    "A boy and a man", "A child runs", "A man", "A man", "A man",
                    "A woman", "People", "A dog", "A dog", "A field"],
    })
    assert caption_adult_labels(captions).to_dict() == {"a": True, "b": False, "c": False}
    assert caption_adult_labels(captions, min_people=2).to_dict() == {"a": True, "b": False, "c": True}


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


