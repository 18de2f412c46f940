"""Command-line tools: dev tokens and banner, upload housekeeping, events, media, fsck."""

from __future__ import annotations

from flask import Flask

from app.cli.audit import register_audit_commands
from app.cli.dev import register_dev_commands
from app.cli.events import register_event_commands
from app.cli.media import register_media_commands


def register_cli(app: Flask) -> None:
    """Add every `flask --app wsgi ...` command."""
    register_dev_commands(app)
    register_event_commands(app)
    register_media_commands(app)
    register_audit_commands(app)
