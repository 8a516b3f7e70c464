"""Text: what a person types, before any encoder sees it. Query checks and tokens (`query`),
WordNet lemmas and word classes (`wordnet`), the prebuilt table of WordNet's answers that lets a
search start without NLTK (`word_table`), phrase helpers: head nouns, stated ages (`words`), and
Russian words: Cyrillic tokens, pymorphy3 lemmas, ages, transliteration from Latin (`russian`)."""
