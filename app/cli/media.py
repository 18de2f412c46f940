"""`flask media ...`: the media API's housekeeping, for a scheduled Cloud Run job."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup


def register_media_commands(app: Flask) -> None:
    """Add `flask media purge-expired`."""
    group = AppGroup("media", help="Media API (seed 001) housekeeping.")

    @group.command("purge-expired")
    def purge_expired_command():
        """Delete expired files (objects and records), giving their bytes back to the quota.

        Also undoes media uploads abandoned by a dead process and announces files whose
        MediaUploaded event a crash left unrecorded. Idempotent: overlapping runs count
        every file once.
        """
        media = current_app.extensions["mediastore"].media
        announced = media.announcer.finish_pending()
        reclaimed = media.uploads.reclaim_abandoned() + media.invoices.reclaim_abandoned()
        purged = media.library.purge_expired()
        click.echo(
            f"purged {purged} expired file(s); reclaimed {reclaimed} abandoned upload(s); "
            f"announced {announced} file(s)"
        )

    app.cli.add_command(group)
