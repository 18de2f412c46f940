"""Command-line tools: development tokens, the `make run` banner, upload housekeeping."""

from __future__ import annotations

import secrets
from pathlib import Path

import click
from flask import Flask, current_app

from app.sample_video import write_sample_video
from blueprints._http.tokens import mint_token


def register_dev_commands(app: Flask) -> None:
    """Add `flask mint-token`, `flask banner` and `flask reclaim-uploads`."""

    @app.cli.command("reclaim-uploads")
    def reclaim_uploads_command():
        """Undo abandoned uploads: dead video uploads (lease expired), expired part sessions."""
        services = current_app.extensions["mediastore"]
        count = services.videos.uploads.reclaim_abandoned()
        click.echo(f"reclaimed {count} abandoned upload(s)")
        expired = services.parts.reclaim()
        click.echo(f"expired {expired} abandoned part upload session(s)")

    @app.cli.command("mint-token")
    @click.argument("subject")
    @click.option("--email", default=None, help="email claim")
    @click.option("--username", default=None, help="username claim (defaults to SUBJECT)")
    @click.option("--hours", default=24.0, show_default=True, help="lifetime")
    @click.option("--admin", is_flag=True, help='add "is_admin": true')
    @click.option(
        "--permission", "permissions", multiple=True, help="add to `permissions` (repeatable)"
    )
    def mint_token_command(
        subject: str,
        email: str | None,
        username: str | None,
        hours: float,
        admin: bool,
        permissions: tuple[str, ...],
    ):
        """Print a development bearer token for SUBJECT."""
        _refuse_in_production()
        claims = {"is_admin": True if admin else None, "permissions": list(permissions) or None}
        click.echo(mint_token(subject, hours=hours, email=email, username=username, **claims))

    @app.cli.command("banner")
    def banner_command():
        """Print where `make run` listens, a token and curl lines that work as printed."""
        _refuse_in_production()
        config = current_app.config
        base = config.get("PUBLIC_BASE_URL") or f"http://{config['HOST']}:{config['PORT']}"
        if config["JWT_ALGORITHM"] != "HS256":
            # Tokens come from the auth service that holds the private key.
            click.echo(
                f"mediastore listening on {base}; tokens: {config['JWT_ALGORITHM']}, "
                "verified with the configured public key (no development token)"
            )
            _demo_mode_line(base)
            return
        sample = write_sample_video(Path(config["DATA_DIR"]) / "sample.mp4")
        # DATA_DIR keeps what was uploaded, so each start names its sample anew: the lines
        # work as printed on every start, not only the first.
        name = f"sample-{secrets.token_hex(4)}.mp4"
        token = mint_token("dev-user", hours=24 * 30, email="dev@example.com", username="dev")
        auth = f'-H "Authorization: Bearer {token}"'
        click.echo(f"mediastore listening on {base} (data in {Path(config['DATA_DIR']).resolve()})")
        click.echo(f"development token (user dev-user, 30 days):\n  {token}\n")
        click.echo("try it:")
        click.echo(f"  curl -s {auth} -F 'file=@{sample};filename={name}' {base}/upload")
        click.echo(f"  curl -s {auth} {base}/storage-status")
        click.echo(f"  curl -s {auth} -r 0-1023 -o /tmp/part.mp4 -D - {base}/stream/video/{name}")
        _demo_mode_line(base)


def _demo_mode_line(base: str) -> None:
    if current_app.config["AUTH_DISABLED"]:
        click.echo(f"entities in demo mode (AUTH_DISABLED=true), no token: curl -s {base}/entity/")
    click.echo("")


def _refuse_in_production() -> None:
    if current_app.config["APP_ENV"] == "production":
        raise click.ClickException("development tokens are not minted in production")
