"""Storage adapters: the object stores (GCS, local directory) and the document store."""
