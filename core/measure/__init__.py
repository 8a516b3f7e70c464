"""Measure: every figure the README shows. `evaluate` (models, retrieval, the child check;
holdout read last), the metrics schema and its labels (`reports`), and latency, throughput and
memory (`bench`, `bench_photos`)."""
