"""Request and response shapes of the part upload API (seed 002, a Django REST original)."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

MAX_PARTS = 10_000
PART_NUMBER = validate.Range(min=1, max=MAX_PARTS)


class LenientSchema(Schema):
    """Unknown body fields are ignored, as Django REST framework serializers ignore them."""

    class Meta:
        unknown = EXCLUDE


class MultipartCreateArgs(LenientSchema):
    filename = fields.String(required=True, metadata={"example": "recording.webm", "minLength": 1})
    content_type = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=255)
    )
    size = fields.Integer(
        strict=True, load_default=None, allow_none=True, validate=validate.Range(min=1)
    )
    # Accepted for the original's clients and ignored: the token says who the user is.
    user_id = fields.Raw(load_default=None, allow_none=True)


class MultipartPresignArgs(LenientSchema):
    part_number = fields.Integer(strict=True, required=True, validate=PART_NUMBER)


class MultipartRegisterArgs(LenientSchema):
    part_number = fields.Integer(strict=True, required=True, validate=PART_NUMBER)
    etag = fields.String(required=True, validate=validate.Length(min=1, max=100))


class MultipartPartArgs(LenientSchema):
    part_number = fields.Integer(strict=True, required=True, validate=PART_NUMBER)
    etag = fields.String(required=True, validate=validate.Length(min=1, max=100))


class MultipartCompleteArgs(LenientSchema):
    # Missing or empty is the service's "Parts list required".
    parts = fields.List(
        fields.Nested(MultipartPartArgs),
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=MAX_PARTS),
    )


class MultipartPartRead(Schema):
    part_number = fields.Integer()
    etag = fields.String(metadata={"example": "9e107d9d372bb6826bd81d3542a419d6"})
    size = fields.Integer()


class MultipartResultRead(Schema):
    file_url = fields.String()
    filename = fields.String()
    size = fields.Integer()


class MultipartSessionRead(Schema):
    id = fields.String()
    user_id = fields.String()
    filename = fields.String()
    content_type = fields.String(allow_none=True)
    size = fields.Integer(allow_none=True)
    s3_key = fields.String(metadata={"description": "the object name the video will have"})
    s3_upload_id = fields.String(metadata={"description": "where the session's parts live"})
    bucket = fields.String()
    part_size = fields.Integer(metadata={"description": "the part size the server advises"})
    status = fields.String(metadata={"example": "uploading"})
    created_at = fields.String()
    expires_at = fields.String()
    parts = fields.List(fields.Nested(MultipartPartRead))


class MultipartStatusRead(MultipartSessionRead):
    bytes_uploaded = fields.Integer()
    result = fields.Nested(MultipartResultRead, allow_none=True)


class MultipartPresignRead(Schema):
    presigned_url = fields.String()
    method = fields.String(metadata={"example": "PUT"})
    expires_at = fields.String()
    headers = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "headers the PUT must carry exactly (GCS: the length range)"},
    )
    max_bytes = fields.Integer(metadata={"description": "the most bytes this URL admits"})


class MultipartOkRead(Schema):
    status = fields.String(metadata={"example": "ok"})


class MultipartAbortRead(Schema):
    status = fields.String(metadata={"example": "aborted"})


class SimpleUploadRead(Schema):
    video_url = fields.String()
    filename = fields.String()
    size = fields.Integer()
