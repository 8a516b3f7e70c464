"""Lay Debian's WordNet 3.0 (wordnet-base, wordnet-sense-index) out as an nltk_data folder.

NLTK's WordNet reader wants corpora/wordnet/ with the database files plus a `lexnames` file
that Debian does not ship; its 45 lines are printed in the lexnames(5WN) man page.
Then prebuilds WordNet's answers for the words of the captions and queries and MiniLM's whole
words (core.text.word_table), so a command-line search starts without loading NLTK; without the data,
the lexicon's and MiniLM's words.
Usage: python scripts/setup_wordnet.py [NLTK_DATA_DIR]
"""

from __future__ import annotations

import gzip
import re
import shutil
import sys
from pathlib import Path

SOURCE = Path("/usr/share/wordnet")
MAN_PAGE = Path("/usr/share/man/man5/lexnames.5WN.gz")
FILES = [
    "adj.exc", "adv.exc", "noun.exc", "verb.exc", "cntlist.rev",
    "data.adj", "data.adv", "data.noun", "data.verb",
    "index.adj", "index.adv", "index.noun", "index.verb", "index.sense",
]
# Syntactic category numbers NLTK expects in the third column of lexnames.
CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}


def lexnames_from_man_page(text: str) -> list[str]:
    lines = []
    for match in re.finditer(r"^(\d\d)\t([a-z]+)\.(\w+)", text, flags=re.MULTILINE):
        number, pos, name = match.groups()
        lines.append(f"{number}\t{pos}.{name}\t{CATEGORY[pos]}")
    if len(lines) != 45:
        raise RuntimeError(f"expected 45 lexnames in {MAN_PAGE}, found {len(lines)}")
    return lines


def main() -> int:
    target = Path(sys.argv[1] if len(sys.argv) > 1 else ".nltk_data") / "corpora" / "wordnet"
    missing = [name for name in FILES if not (SOURCE / name).is_file()]
    if missing or not MAN_PAGE.is_file():
        sys.stderr.write(
            "WordNet not found: apt-get install wordnet-base wordnet-sense-index "
            f"(missing {', '.join(missing) or MAN_PAGE})\n"
        )
        return 1
    target.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copyfile(SOURCE / name, target / name)
    text = gzip.open(MAN_PAGE, "rt", encoding="utf-8", errors="replace").read()
    (target / "lexnames").write_text("\n".join(lexnames_from_man_page(text)) + "\n")
    print(f"WordNet laid out in {target}")
    size = build_word_table(target.parent.parent)
    print(f"WordNet's answers for {size:,} words in {target.parent.parent}")
    return 0


def build_word_table(nltk_data: Path) -> int:
    """core.text.word_table for the extra corpus' captions and the practicum's queries (never holdout's),
    the child lexicon's words and the whole words of MiniLM's vocabulary (~22k: most of what
    people type; a word outside the table costs a search about 1.3 s to load WordNet)."""
    import os

    os.environ["NLTK_DATA"] = str(nltk_data.resolve())
    from core.data import dataset as data
    from core.encoders.base import WeightsUnavailableError
    from core.encoders.text import minilm_path
    from core.foundation.settings import Settings
    from core.legal import lexicon as legal
    from core.text.query import tokenize
    from core.text.word_table import table_path
    from core.text.wordnet import build_word_table as build_table

    settings = Settings()
    texts: list[str] = []
    for read in (lambda: data.load_flickr_captions(settings.flickr_dir)["caption"],
                 lambda: data.load_train_pairs(settings.practicum_dir)["query_text"],
                 lambda: data.load_test_queries(settings.practicum_dir)["query_text"]):
        try:
            texts.extend(read().astype(str))
        except (OSError, data.DataError):
            pass  # no data linked yet: the lexicon alone
    words = {word for text in texts for word in tokenize(text)}
    try:
        vocabulary = (Path(minilm_path()) / "vocab.txt").read_text(encoding="utf-8").split()
        words |= {token for token in vocabulary if len(token) > 1 and token.isascii() and token.isalpha()}
    except (WeightsUnavailableError, OSError):
        pass  # MiniLM not installed yet: the captions' words only
    words |= legal.CHILD_WORDS | legal.ADULT_WORDS | {w for p in legal.CHILD_PHRASES for w in p}
    return build_table(words, table_path())


if __name__ == "__main__":
    raise SystemExit(main())
