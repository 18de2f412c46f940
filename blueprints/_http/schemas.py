"""Request and response shapes, declared once; the OpenAPI document is built from them."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


def multipart_body(field: str, *, repeated: bool = False) -> dict:
    """The OpenAPI requestBody of a streamed multipart upload (parsed by hand, not by webargs)."""
    binary = {"type": "string", "format": "binary"}
    schema = {"type": "array", "items": binary, "minItems": 1} if repeated else binary
    return {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "required": [field], "properties": {field: schema}}
            }
        },
    }


class ErrorRead(Schema):
    """The video API's error body (seed 003)."""

    error = fields.String(required=True, metadata={"example": "Unauthorized"})


class DetailRead(Schema):
    """The error body of the APIs whose originals were FastAPI or Django REST framework."""

    detail = fields.String(required=True, metadata={"example": "Not found"})


class UploadRead(Schema):
    message = fields.String(metadata={"example": "File uploaded successfully"})
    storage_80_alert = fields.Boolean()
    bandwidth_80_alert = fields.Boolean()
    storage_percentage_used = fields.Float()
    total_bandwidth_used = fields.Integer()
    bandwidth_total_limit = fields.Integer()
    bandwidth_percentage_used = fields.Float()
    filename = fields.String()
    size = fields.Integer()
    content_type = fields.String()


class DeleteArgs(Schema):
    filename = fields.String(
        required=True,
        validate=validate.Length(min=1, error="No filename provided"),
        error_messages={"required": "No filename provided", "null": "No filename provided"},
    )


class DeleteRead(Schema):
    message = fields.String(metadata={"example": "File deleted successfully"})
    email = fields.String(allow_none=True)
    file_deleted = fields.String()
    file_size = fields.Integer()
    timestamp = fields.String()
    date = fields.String()
    updated_deletion_volume = fields.Integer()
    total_deletion_count = fields.Integer()


class StoredFileRead(Schema):
    filename = fields.String(metadata={"example": "username/video.mp4"})
    name = fields.String(metadata={"example": "video.mp4"})
    size = fields.Integer()
    content_type = fields.String()
    uploaded_at = fields.DateTime()


class StatusRead(Schema):
    total_storage = fields.Integer(metadata={"example": 52428800})
    used_storage = fields.Integer()
    storage_percentage = fields.Float()
    bandwidth_used_today = fields.Integer()
    bandwidth_limit = fields.Integer()
    files = fields.List(fields.Nested(StoredFileRead))
    # More stored files than `files` lists: ask again with files_after=files_next.
    files_truncated = fields.Boolean()
    files_next = fields.String(allow_none=True)
    # The media API's files (seed 001): used_storage = sizes of `files` + media_bytes.
    media_bytes = fields.Integer(metadata={"example": 0})
    media_count = fields.Integer(metadata={"example": 0})


class SignedUrlRead(Schema):
    url = fields.String(required=True)


class HealthRead(Schema):
    status = fields.String(metadata={"example": "healthy"})


class ReadyRead(Schema):
    status = fields.String(metadata={"example": "ready"})
    down = fields.List(fields.String())
    checks = fields.Dict(keys=fields.String(), values=fields.String())


class ValidationDetailRead(Schema):
    """FastAPI's 422: a list of {loc, msg, type}, or one message for a rule of the data."""

    detail = fields.Raw(
        required=True,
        metadata={
            "oneOf": [
                {"type": "string"},
                {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["loc", "msg", "type"],
                        "properties": {
                            "loc": {
                                "type": "array",
                                "items": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
                            },
                            "msg": {"type": "string"},
                            "type": {"type": "string"},
                        },
                    },
                },
            ]
        },
    )
