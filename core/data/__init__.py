"""Data: the course project's files, the extra corpus and holdout, read with checks. A user's
delimited files (`tables`: every mistake named with file and line), expert votes by majority and
crowd votes as a second signal, the 0..1 relevance target, captions, splits by image and the one
way to list a folder's photos (`dataset`)."""
