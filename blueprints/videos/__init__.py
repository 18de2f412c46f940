"""The video API (seed 003): upload, delete, storage status, download and streaming."""
