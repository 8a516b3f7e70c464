"""Lay Debian's WordNet 3.0 (wordnet-base, wordnet-sense-index) out as an nltk_data folder.

NLTK's WordNet reader wants corpora/wordnet/ with the database files plus a `lexnames` file
that Debian does not ship; its 45 lines are printed in the lexnames(5WN) man page.
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
