"""The shared core: accounts and reservations, ingest, sniffing, names, paging."""
