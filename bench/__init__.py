"""Benchmarks of the running service against anchors started on the same data."""
