"""`flask fsck`: the consistency audit, for a person or a scheduled Cloud Run job."""

from __future__ import annotations

import json

import click
from flask import Flask, current_app


def register_audit_commands(app: Flask) -> None:
    """Add `flask fsck [--repair] [--json]`."""

    @app.cli.command("fsck")
    @click.option("--repair", is_flag=True, help="fix what can be fixed, say what was done")
    @click.option("--json", "as_json", is_flag=True, help="print a machine-readable report")
    def fsck_command(repair: bool, as_json: bool):
        """Check quota, objects, leases and events across the whole store.

        Exits 1 when problems are found (with --repair: when problems remain after it).
        With --json the report is one JSON object on the last line of stdout (the log, which
        repairs write to, may print lines before it).
        """
        report = current_app.extensions["mediastore"].audit.run(repair=repair)
        click.echo(json.dumps(report.as_dict()) if as_json else report.as_text())
        if not report.clean:
            raise SystemExit(1)
