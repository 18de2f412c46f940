"""The upload anchor: werkzeug parses the multipart body into request.files, then drops it."""

from __future__ import annotations

import os

from flask import Flask, request

app = Flask(__name__)


@app.get("/health")
def health():
    """Answer the readiness probe."""
    return {"status": "healthy"}


@app.post("/upload")
def upload():
    """Parse the body with request.files and answer the file field's size."""
    file = request.files["file"]
    file.stream.seek(0, os.SEEK_END)
    return {"filename": file.filename, "size": file.stream.tell()}
