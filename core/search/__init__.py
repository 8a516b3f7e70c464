"""Search: a query or a photo in, typed results out. The search service (`service`), why a photo
matched as a heat map (`explain`), and what the dataset says of a photo (`details`)."""
