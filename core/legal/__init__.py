"""Legal: what the law forbids showing. The child lexicon that refuses queries and labels photos
from captions (`lexicon`), the child-photo classifiers (`logistic`, `blend`, `network`) with the
recall rule that sets their threshold, and the photos they learn from (`training`)."""
