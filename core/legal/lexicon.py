"""The law: photos of children under 16 may not be shown.

Two guards. A lexicon check refuses queries that ask for children and labels photos from their
captions; the child-photo classifiers (`core.legal.logistic`, `core.legal.network`), trained on those
labels, hide child photos from any result list, whatever the query.

Queries are checked in English and in Russian: Cyrillic words by their pymorphy3 lemmas, and
Latin words also as transliterated Russian ("deti", "malysh"). Captions (English) are checked in
English only, so the labels the classifiers learn from are unchanged.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pandas as pd

from core.data.dataset import DataError
from core.text import russian
from core.text.query import tokenize
from core.text.wordnet import is_animal_noun, is_person_noun, noun_lemma
from core.text.words import head_noun, stated_ages

DISCLAIMER = "This image is unavailable in your country in compliance with local legislation"

# Noun lemmas that name a child on their own. Left out on purpose, because they mostly name
# adults or are ambiguous in photo captions: student, pupil (also the eye), lad, minor,
# juvenile (mostly animals), brother, sister, family, mother, twin, babe; and places
# ("kindergarten", "elementary school"), which are not a request for a child.
CHILD_WORDS = frozenset("""
    child children kid kiddie kiddy kiddo boy girl baby toddler infant newborn
    teen teenager teenage teenaged preteen tween adolescent youngster youth
    schoolboy schoolgirl schoolchild schoolchildren schoolkid preschooler kindergartner
    kindergartener tot son daughter stepson stepdaughter grandchild grandkid
    grandson granddaughter childhood boyhood girlhood choirboy paperboy newsboy ballboy
    ballgirl tomboy babysitter babysit peewee brat boyscout girlscout
    """.split())
# Fixed phrases (as noun-lemma sequences) that name a child without a child word.
CHILD_PHRASES = (
    ("little", "one"), ("little", "man"), ("little", "guy"), ("little", "lady"),
    ("little", "fellow"), ("little", "league"), ("little", "leaguer"), ("young", "one"),
    ("pee", "wee"), ("cub", "scout"),
)
# After "young"/"little" these nouns name adults (or say nothing about age): "young man",
# "young woman", "young people" and "little old lady" must pass.
ADULT_WORDS = frozenset("""
    man men woman women lady ladies gentleman guy adult couple person people fellow mother
    father mom dad mum parent husband wife bride groom grandmother grandfather grandma grandpa
    blond blonde brunette redhead professional worker businessman businesswoman old male female
    soldier bearded
    """.split())
# Bare child words used as modifiers, with the nouns that make them something else ("baby
# blue", "kid gloves", "kiddie pool"); an animal after them always does ("newborn puppies").
_KIDDIE_THINGS = frozenset({"pool", "ride", "car", "table"})
_NOT_A_CHILD_AFTER = {"baby": frozenset({"blue", "pink", "grand"}), "kid": frozenset({"glove"}),
                      "kiddie": _KIDDIE_THINGS, "kiddy": _KIDDIE_THINGS, "newborn": frozenset(),
                      "infant": frozenset()}
# Words before "young" that say the person is an adult ("a bearded young skateboarder").
_ADULT_BEFORE = frozenset({"bearded", "mustached", "mustachioed", "balding"})
# Punctuation splits clauses: "two young, one old" holds no "young one".
_CLAUSE = re.compile(r"[,;:.!?()\[\]\"/]+")
# Person nouns whose first WordNet sense is something else (a climbing plant, ...).
_ROLE_WORDS = frozenset({"climber", "biker", "boarder", "leaguer", "camper", "fan", "rider", "team"})
_WINDOW = 3  # "young blond soccer player": the head noun is at most three words on
# Words that put a person in a caption (the groups of #9's probes): a photo that at least
# three captions give a person and fewer than two a child is an "adult" photo, the negatives the
# child check confuses most (#9).
PERSON = re.compile(r"\b(man|men|woman|women|person|people|guy|guys|lady|ladies|adult|adults|couple|"
                    r"crowd|player|players|worker|workers|biker|bikers|rider|riders|skier|snowboarder|"
                    r"surfer|climber|runner|runners|dancer|dancers|he|she)\b", re.IGNORECASE)
CHILD_AGE_LIMIT = 16  # the law protects children under 16

# Russian lemmas (ё written е) that name a child on their own, chosen as the English ones are.
# Left out for the same reasons: ученик, студент (pupil, student), брат, сестра, семья, мама,
# близнецы; "ребята", "парень", "девушка", "молодежь" (mostly young adults: guys, a young woman,
# young people); "крошка" (mostly crumbs, gravel); places ("детский сад", "ясли", "школа",
# "детская площадка"), which are not a request for a child.
CHILD_WORDS_RU = frozenset(russian.plain(w) for w in """
    ребёнок дитя дитё детишки детвора детка деточка ребятишки ребятня ребятёнок детский детство
    малыш малышка малышок малютка младенец новорождённый грудничок карапуз кроха
    мальчик мальчишка мальчонка мальчуган малец пацан пацанёнок девочка девчонка девчушка
    сын сынок сынишка сыночек дочь дочка дочурка доченька пасынок падчерица
    внук внучка внучок правнук правнучка школьник школьница первоклассник первоклассница
    первоклашка старшеклассник старшеклассница дошкольник дошкольница детсадовец
    подросток тинейджер тинэйджер юноша отрок несовершеннолетний малолетний малолетка
    бойскаут няня нянька
    """.split())
# After "юный" these nouns name adults: "юная девушка" must pass, as "young woman" does.
ADULT_WORDS_RU = frozenset(russian.plain(w) for w in """
    мужчина женщина девушка парень дама леди джентльмен взрослый пара человек люди муж жена
    невеста жених мать отец мама папа бабушка дедушка солдат
    """.split())
# "детская площадка" is a playground, "детский сад" a kindergarten: places, as in English.
_RU_NOT_A_CHILD_AFTER = {"детский": frozenset({"площадка", "сад", "садик"})}
_RU_SOFTLESS = {russian.strip_soft(w): w for w in CHILD_WORDS_RU}  # "malchik" -> мальчик


def _singular(token: str) -> str:
    """Noun lemma, with a plain plural rule for words WordNet lacks ('tweens', 'kiddos')."""
    word = token.split("'", 1)[0]  # "boy's" -> "boy"
    base = noun_lemma(word)
    if base == word and word.endswith("s") and word[:-1] in CHILD_WORDS:
        return word[:-1]
    return base


def _ages(text: str) -> list[str]:
    """Terms like '5-year-old' or 'six month old' that give an age under 16 (not of a puppy)."""
    return [phrase for phrase, years, after in stated_ages(text)
            if years < CHILD_AGE_LIMIT and not (after and is_animal_noun(noun_lemma(after)))]


def _other_sense(token: str, following: str) -> bool:
    """'baby elephant', 'baby blue', 'kid gloves': a bare child word used as a modifier (not in
    "the baby's dog" or "kids gloves", where a child is there)."""
    if token not in _NOT_A_CHILD_AFTER or not following:
        return False
    return following in _NOT_A_CHILD_AFTER[token] or is_animal_noun(following)


def _young_phrase(tokens: list[str], words: list[str], start: int) -> str:
    """'young soccer player' when the phrase after 'young'/'little' names a non-adult person."""
    if start > 0 and tokens[start - 1] in _ADULT_BEFORE:
        return ""
    head = head_noun(tokens, start + 1, _WINDOW, continues=lambda tok: _is_person(noun_lemma(tok)))
    if head < 0 or words[head] in CHILD_WORDS:  # "young boy" is found as "boy"
        return ""
    # The phrase and the word after it: "young adult skier", "young boxer dog".
    for word in words[start + 1 : head + 2]:
        if word in ADULT_WORDS or is_animal_noun(word, main_sense=True):
            return ""
    return " ".join(words[start : head + 1]) if _is_person(words[head]) else ""


def _is_person(word: str) -> bool:
    return word in _ROLE_WORDS or is_person_noun(word)


def child_terms(text: str) -> list[str]:
    """The child words, phrases and ages found in the text, in order, without repeats."""
    if not isinstance(text, str):
        raise TypeError(f"child_terms expects text, got {type(text).__name__}")
    found: list[str] = []
    for clause in _CLAUSE.split(text):
        found.extend(_clause_terms(tokenize(clause)))
    found.extend(_ages(text))
    return list(dict.fromkeys(found))


def _clause_terms(tokens: list[str]) -> list[str]:
    words = [_singular(tok) for tok in tokens]
    found: list[str] = []
    for i, word in enumerate(words):
        following = words[i + 1] if i + 1 < len(words) else ""
        if word in CHILD_WORDS and not _other_sense(tokens[i], following):
            found.append(word)
        for phrase in CHILD_PHRASES:
            if tuple(words[i : i + len(phrase)]) == phrase:
                found.append(" ".join(phrase))
        if word in {"young", "little"}:
            phrase = _young_phrase(tokens, words, i)
            found.extend([phrase] if phrase else [])
    return found


def mentions_child(text: str) -> bool:
    """Whether a caption (or any text) names a child."""
    return bool(child_terms(text))


def is_child_query(text: str) -> bool:
    """Whether a search asks for children, in English or in Russian; such searches get
    :data:`DISCLAIMER`."""
    return bool(query_child_terms(text))


def query_child_terms(text: str) -> list[str]:
    """The child terms of a query: English words (:func:`child_terms`), Russian words
    (:func:`russian_child_terms`) and Latin words read as transliterated Russian."""
    found = child_terms(text)
    if russian.has_cyrillic(text):
        found += russian_child_terms(text)
    found += russian_child_terms(text, transliterated=True)
    return list(dict.fromkeys(found))


def russian_child_terms(text: str, transliterated: bool = False) -> list[str]:
    """Russian child lemmas, "юный" phrases and ages under 16 in the text's Cyrillic words, or,
    ``transliterated``, in its Latin words read as Russian ("rebenok" -> ребенок)."""
    found: list[str] = []
    for clause in _CLAUSE.split(text):
        if transliterated:  # the ages in the whole clause read so: "10-letniy" -> "10-летний"
            source = russian.transliterate_text(clause)
            words = [russian.transliterate(w) for w in russian.latin_words(clause)]
        else:
            source, words = clause, russian.cyrillic_words(clause)
        found.extend(_russian_terms([w for w in words if w], transliterated))
        found.extend(phrase for phrase, years in russian.stated_ages(source) if years < CHILD_AGE_LIMIT)
    return list(dict.fromkeys(found))


def _russian_terms(words: list[str], transliterated: bool) -> list[str]:
    found = []
    for i, word in enumerate(words):
        following = russian.lemmas(words[i + 1]) if i + 1 < len(words) else frozenset()
        for lemma in sorted(russian.lemmas(word)):
            child = (_RU_SOFTLESS.get(russian.strip_soft(lemma)) if transliterated
                     else lemma if lemma in CHILD_WORDS_RU else None)
            if child and not following & _RU_NOT_A_CHILD_AFTER.get(child, frozenset()):
                found.append(child)
                break
        if "юный" in russian.lemmas(word):
            found.extend(_young_russian(words, i))
    return found


def _young_russian(words: list[str], start: int) -> list[str]:
    """'юный футболист': "юный" and the first living noun within three words, not an adult."""
    for head in range(start + 1, min(start + 1 + _WINDOW, len(words))):
        readings = russian.parses(words[head])
        if any(p.animate_noun for p in readings):
            if any(p.lemma in ADULT_WORDS_RU for p in readings):
                return []
            return [" ".join(words[start : head + 1])]
    return []


def caption_child_labels(captions: pd.DataFrame, min_mentions: int = 2) -> pd.Series:
    """Per image: True when at least ``min_mentions`` of its captions mention a child.

    One caption in five calling a woman a "girl" should not hide the photo; two are needed.
    """
    missing = {"image", "caption"} - set(captions.columns)
    if missing:
        raise ValueError(f"captions table lacks column(s) {', '.join(sorted(missing))}")
    if min_mentions < 1:
        raise ValueError(f"min_mentions must be >= 1, got {min_mentions}")
    hits = captions["caption"].astype(str).map(mentions_child)
    counts = hits.groupby(captions["image"], sort=True).sum()
    return (counts >= min_mentions).rename("child")


def caption_adult_labels(captions: pd.DataFrame, min_people: int = 3) -> pd.Series:
    """Per image: True when at least ``min_people`` captions name a person (:data:`PERSON`) and
    the photo is no child photo by :func:`caption_child_labels`."""
    people = captions["caption"].astype(str).map(lambda c: bool(PERSON.search(c)))
    counts = people.groupby(captions["image"], sort=True).sum()
    return ((counts >= min_people) & ~caption_child_labels(captions)).rename("adult")


def evaluate_query_check(path: Path) -> dict[str, Any]:
    """Recall and false-alarm rate of :func:`is_child_query` on a labelled TSV (query, label)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
    try:  # queries may hold quotes: they are plain characters here
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=csv.QUOTE_NONE,
                            encoding="utf-8")
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(path, f"not a query<TAB>label file: {exc}") from exc
    if list(table.columns) != ["query", "label"]:
        raise DataError(path, f"expected columns query<TAB>label, got {list(table.columns)}", line=1)
    bad = ~table["label"].isin(["child", "other"])
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise DataError(path, f"label must be child or other, got {table['label'].iloc[row]!r}",
                        line=row + 2)
    flagged = table["query"].map(is_child_query)
    child = table["label"] == "child"
    if not child.any() or child.all():
        raise DataError(path, "needs both child and other queries")
    return {
        "query_recall": float(flagged[child].mean()), "query_false_alarm": float(flagged[~child].mean()),
        "n_child": int(child.sum()), "n_other": int((~child).sum()),
        # The queries themselves, so a failing check can say which ones.
        "missed": table.loc[child & ~flagged, "query"].tolist(),
        "false_alarms": table.loc[~child & flagged, "query"].tolist(),
    }
