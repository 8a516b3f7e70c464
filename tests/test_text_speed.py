"""The cold-start shortcuts give the same answers as the slow paths: BERT run without transformers,
and WordNet's answers read from the prebuilt table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.data.dataset import load_flickr_captions
from core.encoders import bert
from core.encoders.registry import REGISTRY, get_encoder
from core.encoders.text import TransformerTextEncoder
from core.foundation.settings import PROJECT_ROOT
from core.text import query, word_table
from core.text import wordnet as text

TRICKY = ["kids", "children", "boxer", "cub", "seal", "kid", "bunny", "skier", "geese", "running",
          "women", "puppies", "teens", "blond", "climber", "xylophone", "qwzx", ""]


@pytest.fixture(scope="module")
def captions(flickr_dir: Path) -> list[str]:
    return load_flickr_captions(flickr_dir)["caption"].tolist()[:300]


@pytest.mark.parametrize("name", ["minilm", "minilm-captions"])
def test_plain_bert_gives_transformers_vectors(name: str, captions: list[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    encoder = get_encoder(name, "text")
    texts = [*captions, "", "word " * 100, "Ünïcode café naïve dogs!!"]  # empty, truncated, accents
    plain = encoder.encode(texts)
    assert encoder.plain  # the folder is a plain BERT: run without transformers
    monkeypatch.setattr(bert, "supported", lambda folder: False)
    reference = TransformerTextEncoder(REGISTRY[name], encoder._locate).encode(texts)
    assert float((plain * reference).sum(1).min()) > 0.9999
    assert float(np.abs(plain - reference).max()) < 1e-4


def test_a_folder_without_the_files_is_left_to_transformers(tmp_path: Path) -> None:
    assert not bert.supported(tmp_path)
    (tmp_path / "config.json").write_text('{"model_type": "roberta"}')
    for name in bert.FILES[1:]:
        (tmp_path / name).write_text("")
    assert not bert.supported(tmp_path)


def _live(word: str) -> tuple[object, ...]:
    return (text.live_lemma(word), text.live_noun_lemma(word), text.live_is_animal_noun(word, False),
            text.live_is_animal_noun(word, True), text.live_is_person_noun(word),
            text.live_word_classes(word))


def _table_facts(facts: word_table.WordFacts) -> tuple[object, ...]:
    return (facts.lemma, facts.noun_lemma, facts.animal, facts.animal_main, facts.person, facts.classes)


def test_the_word_table_holds_wordnets_answers(captions: list[str], tmp_path: Path) -> None:
    words = {w for c in captions for w in query.tokenize(c)} | set(TRICKY)
    path = tmp_path / "words.json"
    assert text.build_word_table(words, path) >= len(words) - 1  # "" is not a word
    table = word_table.read(path)
    assert set(TRICKY) - {""} <= set(table)
    for word, facts in table.items():
        assert _table_facts(facts) == _live(word), word
    assert table["kids"].noun_lemma == "kid" and table["skier"].person and table["cub"].animal


def test_the_projects_table_agrees_with_wordnet() -> None:
    """The table setup built (absent: nothing to check) answers as WordNet does."""
    table = word_table.read(word_table.table_path())
    if not table:
        pytest.skip("no word table here: scripts/setup.sh builds it")
    sample = sorted(table)[:: max(1, len(table) // 400)]
    for word in sample:
        assert _table_facts(table[word]) == _live(word), word
    # MiniLM's whole words are in it too (scripts/setup_wordnet.py), not only the captions' words
    assert {"cathedral", "vineyard"} <= set(table)
    assert word_table.facts("cathedral") == table["cathedral"]


def test_words_missing_from_the_table_are_looked_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(word_table, "table_path", lambda: tmp_path / "absent.json")
    for cached in (text.lemma, text.noun_lemma, text.is_animal_noun, text.is_person_noun,
                   text.word_classes):
        cached.cache_clear()
    try:
        assert word_table.facts("kids") is None
        assert text.noun_lemma("kids") == "kid" and text.is_person_noun("skier")
        assert text.is_animal_noun("boxer") and not text.is_animal_noun("boxer", main_sense=True)
    finally:
        for cached in (text.lemma, text.noun_lemma, text.is_animal_noun, text.is_person_noun,
                       text.word_classes):
            cached.cache_clear()


def test_a_search_from_the_shell_exits_with_its_code(trained_settings) -> None:  # type: ignore[no-untyped-def]
    """`python -m core search` ends without the interpreter's teardown: its output and exit
    status must still be whole."""
    env = {**os.environ, "WITHSENSE_DATA": str(trained_settings.data_dir),
           "WITHSENSE_ARTIFACTS": str(trained_settings.artifacts_dir),
           "WITHSENSE_CACHE": str(trained_settings.cache_dir)}
    done = subprocess.run([sys.executable, "-m", "core", "search", "a dog jumps", "--top", "2", "--json"],
                          capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert len(out["results"]) == 2 and out["load_ms"] > out["took_ms"] > 0
    bad = subprocess.run([sys.executable, "-m", "core", "search", "   "], capture_output=True,
                         text=True, env=env, cwd=PROJECT_ROOT, timeout=300)
    assert bad.returncode == 2 and "error:" in bad.stderr
