"""POST /api/v1/media/invoices/generate-pdf: invoice PDFs for internal callers."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from blueprints._http.api import FASTAPI, Blueprint
from blueprints._http.auth import jwt_required
from blueprints._http.context import current_user, services
from blueprints.media.schemas import InvoiceArgs, InvoiceRead
from blueprints.media.urls import media_url
from services.core.errors import Forbidden
from services.media.invoice_request import InvoiceRequest

blp = Blueprint(
    "media_invoices", __name__, description="Invoice PDFs (seed 001)", error_style=FASTAPI
)

INTERNAL = "media_internal"
NOT_INTERNAL = "Only internal services may generate invoices"


def internal_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse callers without the `media_internal` permission (or admin) before the body."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not current_user().can(INTERNAL):
            raise Forbidden(NOT_INTERNAL)
        return view(*args, **kwargs)

    return guarded


@blp.route("/api/v1/media/invoices/generate-pdf", methods=["POST"])
@jwt_required()
@internal_only
@blp.doc(security=[{"bearerAuth": []}])
@blp.arguments(InvoiceArgs, location="json")
@blp.response(201, InvoiceRead)
@blp.alt_response(200, schema=InvoiceRead, description="Generated before: the same file")
@blp.errors(401, 403, 409, 422)
def generate_invoice_pdf(body: dict[str, Any]):
    """Generate (once per invoice_id) the invoice's PDF; a repeat answers the same file."""
    request = InvoiceRequest(str(body["invoice_id"]), body["invoice_number"], body["invoice_data"])
    media, created = services().media.invoices.generate(current_user(), request)
    answer = {"id": media.id, "url": media_url(media.id), "storage_path": media.object_name}
    return answer, 201 if created else 200
