"""The small-request anchor: a bare Flask app that answers a short JSON hello."""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/health")
def health():
    """Answer the readiness probe."""
    return {"status": "healthy"}


@app.get("/hello")
def hello():
    """Answer a short JSON body, about the size of a small /storage-status."""
    return {"hello": "world"}
