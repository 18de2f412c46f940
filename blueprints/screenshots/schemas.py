"""Response shapes of the screenshot endpoints."""

from __future__ import annotations

from marshmallow import Schema, fields


class ScreenshotUploadRead(Schema):
    catalog_id = fields.String(required=True, metadata={"example": "c1"})
    screenshot_urls = fields.List(fields.String(), required=True)
    status = fields.String(metadata={"example": "success"})
    message = fields.String(metadata={"example": "Screenshots uploaded successfully"})


class ScreenshotListRead(Schema):
    catalog_id = fields.String(required=True, metadata={"example": "c1"})
    screenshot_urls = fields.List(fields.String(), required=True)
