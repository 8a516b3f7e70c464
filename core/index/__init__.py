"""Index: nearest photo vectors. The exact in-process index with snapshot updates (`exact`),
pgvector in PostgreSQL (`pgvector`) and how its database is reached (`pgconnect`)."""
