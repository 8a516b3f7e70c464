"""Gallery: photos a person can search. Gallery files on disk, written atomically (`store`), what
an indexing run is given and may refuse (`inputs`), and new photos encoded, checked for children
and added (`ingest`), by an engine: in this process (`engines`) or on Ray (`ray_engine`)."""
