"""The multipart forms of POST and PUT /entity: the file streamed, the text fields validated."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Request
from marshmallow import Schema, ValidationError
from webargs.flaskparser import abort

from blueprints._http.multipart import MultipartForm
from blueprints.entities.schemas import FORM_FIELD_BYTES
from services.entities import EntityFields

# A form without a file may also come URL-encoded (curl -d), as FastAPI's forms accept.
URLENCODED = "application/x-www-form-urlencoded"
URLENCODED_MAX_BYTES = 2 * sum(FORM_FIELD_BYTES.values())
# Room for the multipart envelope and text fields around the largest allowed file.
ENVELOPE_BYTES = 1024 * 1024


class EntityForm:
    """One entity form as it arrives (services.entities.SubmittedForm).

    `image` is the file's bytes, or None when the form has no file (a file part without a
    name, which is what a browser sends for an empty file input, counts as none). The text
    fields may come before or after the file, so they are judged once it has been read.
    """

    def __init__(self, request: Request, schema: Schema, max_file_bytes: int) -> None:
        self._schema = schema
        self.image: Iterator[bytes] | None = None
        if request.mimetype == URLENCODED:
            request.max_content_length = URLENCODED_MAX_BYTES  # werkzeug answers 413 beyond
            self._values = request.form.to_dict()
            return
        # The entity API's own limit, not the video API's (the app-wide default).
        request.max_content_length = max_file_bytes + ENVELOPE_BYTES
        form = MultipartForm(
            request.stream,
            request.content_type or "",
            files={"image": 1},
            fields=FORM_FIELD_BYTES,
        )
        self._values = form.values  # complete once the file part has been read
        part = next(form.file_parts(), None)
        if part is not None and not part.filename:
            for _ in part.chunks:  # an empty file input: read past it
                pass
            part = None
        self.image = part.chunks if part is not None else None

    def fields(self) -> EntityFields:
        """Every text field, validated (422 naming the field); empty optional ones omitted."""
        values = {
            name: value
            for name, value in self._values.items()
            if value != "" or name == "is_collection"
        }
        try:
            loaded = self._schema.load(values)
        except ValidationError as error:
            abort(422, messages={"form": error.messages})
        return EntityFields(**loaded)
