"""The domain and its adapters; nothing in this package imports Flask."""
