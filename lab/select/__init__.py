"""Choosing settings on training data only: the two-tower settings sweep (`sweep`) and the photo
encoder ablation (`ablation`). Selection figures; holdout is never read here."""
